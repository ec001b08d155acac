"""An in-toto v1 Statement with SLSA v1 provenance whose resolved dependencies are the plugins.

The subject is the run's manifest (or record file) by its SHA-256; each plugin
distribution, and each dependency of their closures (issue 17), is one
``ResourceDescriptor`` in ``predicate.buildDefinition.resolvedDependencies``, ready to be
merged into the host's own attestation; a dependency's annotations name the plugins
that need it (``required_by``). ``record_digest`` is an annotation, not a digest-set
entry: it is not a hash of any file a consumer could hash (``docs/export.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from insidellms_provenance.analyze._reproduce import WheelMatch
from insidellms_provenance.analyze.export._common import NAMESPACE, purl
from insidellms_provenance.field.schema import Provenance

__all__ = [
    "BUILDER_ID",
    "BUILD_TYPE",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "resolved_dependencies",
    "statement_value",
]

STATEMENT_TYPE: Final = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE: Final = "https://slsa.dev/provenance/v1"
BUILD_TYPE: Final = "urn:insidellms-provenance:build-type:plugins:v1"
BUILDER_ID: Final = "urn:insidellms-provenance:builder:insidellms"


def statement_value(
    provenance: Provenance,
    matches: Sequence[WheelMatch],
    *,
    subject_name: str,
    subject_sha256: str,
    with_wheels: bool,
) -> dict[str, Any]:
    """The statement; ``subject_sha256`` is the hex SHA-256 of the run's manifest file."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_name, "digest": {"sha256": subject_sha256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {"group": provenance["group"]},
                "internalParameters": {"field_digest": provenance["digest"]},
                "resolvedDependencies": resolved_dependencies(matches, with_wheels=with_wheels),
            },
            "runDetails": {"builder": {"id": BUILDER_ID}},
        },
    }


def resolved_dependencies(
    matches: Sequence[WheelMatch], *, with_wheels: bool
) -> list[dict[str, Any]]:
    """One ResourceDescriptor per distribution, sorted by name and version."""
    descriptors = []
    for match in sorted(matches, key=lambda m: (m.normalized_name, m.version)):
        descriptor: dict[str, Any] = {}
        annotations: dict[str, Any] = {
            "name": match.name,
            "plugins": list(match.plugins),
            "record_digest": match.record_digest,
        }
        if match.required_by:
            annotations["required_by"] = list(match.required_by)
        if match.exact and match.wheel is not None and match.wheel.digest is not None:
            descriptor["name"] = match.wheel.filename
            descriptor["uri"] = purl(match.normalized_name, match.version)
            descriptor["digest"] = {"sha256": match.wheel.digest.removeprefix("sha256:")}
        else:
            descriptor["name"] = match.normalized_name
            descriptor["uri"] = purl(match.normalized_name, match.version)
        source = match.source
        if source is not None:
            annotations["source"] = source["kind"]
            if source["kind"] == "vcs" and source["url"]:
                descriptor["downloadLocation"] = source["url"]
            if source["commit"]:
                annotations["commit"] = source["commit"]
                if source["vcs"] == "git":
                    descriptor.setdefault("digest", {})["gitCommit"] = source["commit"]
        if with_wheels:
            annotations["match"] = match.status
        descriptor["annotations"] = {NAMESPACE: annotations}
        descriptors.append(descriptor)
    return descriptors
