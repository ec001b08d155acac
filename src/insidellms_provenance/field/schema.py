"""The field's parts as plain JSON values: what the recording path builds.

Recording runs inside every host run, so it stays within the standard library: each
function here builds exactly what :mod:`insidellms_provenance.field.converter` makes of the
record of the same name in :mod:`insidellms_provenance.field.model` (same keys, same order,
same defaults, collections sorted and de-duplicated). Readers structure those values
into the frozen records; ``tests/test_values.py`` checks that both sides agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "DEFAULT_GROUP",
    "SCHEMA_V1",
    "SCHEMA_V2",
    "JsonObject",
    "conflict",
    "determinism",
    "distribution",
    "entry_point",
    "fingerprint",
    "integrity",
    "load_outcome",
    "manifest_summary",
    "observation",
    "origin",
    "registry_keys",
    "requires",
    "source",
]

JsonObject = dict[str, Any]

DEFAULT_GROUP = "insidellms.plugins"
SCHEMA_V1 = "insidellms-provenance/plugins/v1"
SCHEMA_V2 = "insidellms-provenance/plugins/v2"


def _sorted_unique(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


def entry_point(*, group: str, name: str, value: str) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.EntryPointRef`."""
    return {"group": group, "name": name, "value": value}


def distribution(  # noqa: PLR0913 - mirrors the record
    *,
    name: str,
    normalized_name: str,
    version: str,
    record_digest: str | None,
    problems: Iterable[str] = (),
    integrity: JsonObject | None = None,
) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.DistributionInfo`."""
    return {
        "name": name,
        "normalized_name": normalized_name,
        "version": version,
        "record_digest": record_digest,
        "problems": _sorted_unique(problems),
        "integrity": integrity,
    }


def integrity(*, status: str, paths: Iterable[str] = (), bytecode: str) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.Integrity`."""
    return {"status": status, "paths": _sorted_unique(paths), "bytecode": bytecode}


def source(  # noqa: PLR0913 - mirrors the record's optional keys
    *,
    kind: str,
    url: str | None = None,
    local_name: str | None = None,
    vcs: str | None = None,
    commit: str | None = None,
    requested_revision: str | None = None,
    editable: bool = False,
    editable_digest: str | None = None,
    problems: Iterable[str] = (),
) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.Source`."""
    return {
        "kind": kind,
        "url": url,
        "local_name": local_name,
        "vcs": vcs,
        "commit": commit,
        "requested_revision": requested_revision,
        "editable": editable,
        "editable_digest": editable_digest,
        "problems": _sorted_unique(problems),
    }


def origin(*, status: str, duplicate_versions: Iterable[str] = ()) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.Origin`."""
    return {"status": status, "duplicate_versions": _sorted_unique(duplicate_versions)}


def registry_keys(
    *, models: Iterable[str] = (), probes: Iterable[str] = (), datasets: Iterable[str] = ()
) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.RegistryKeys`."""
    return {
        "models": _sorted_unique(models),
        "probes": _sorted_unique(probes),
        "datasets": _sorted_unique(datasets),
    }


def requires(
    *, python: str | None = None, extras: Iterable[str] = (), env: Iterable[str] = ()
) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.Requires`."""
    return {"python": python, "extras": _sorted_unique(extras), "env": _sorted_unique(env)}


def determinism(*, level: str | None = None, notes: str | None = None) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.Determinism` (``level`` is ``class`` in JSON)."""
    return {"class": level, "notes": notes}


def manifest_summary(  # noqa: PLR0913 - mirrors the record's optional keys
    *,
    status: str,
    digest: str | None = None,
    problems: Iterable[str] = (),
    name: str | None = None,
    version: str | None = None,
    sdk_version: str | None = None,
    insidellms: str | None = None,
    capabilities: JsonObject | None = None,
    requires: JsonObject | None = None,
    determinism: JsonObject | None = None,
) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.ManifestSummary` (``insideLLMs`` in JSON)."""
    return {
        "status": status,
        "digest": digest,
        "problems": _sorted_unique(problems),
        "name": name,
        "version": version,
        "sdk_version": sdk_version,
        "insideLLMs": insidellms,
        "capabilities": capabilities,
        "requires": requires,
        "determinism": determinism,
    }


def load_outcome(
    *, status: str, error_type: str | None = None, error_message: str | None = None
) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.LoadOutcome`."""
    return {"status": status, "error_type": error_type, "error_message": error_message}


def fingerprint(  # noqa: PLR0913 - mirrors the record
    *,
    entry_point: JsonObject,
    distribution: JsonObject | None,
    source: JsonObject | None,
    origin: JsonObject,
    manifest: JsonObject,
    load: JsonObject,
    registered: JsonObject | None = None,
    replaced: JsonObject | None = None,
) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.PluginFingerprint`."""
    return {
        "entry_point": entry_point,
        "distribution": distribution,
        "source": source,
        "origin": origin,
        "manifest": manifest,
        "load": load,
        "registered": registered,
        "replaced": replaced,
    }


def observation(
    *, load: JsonObject, registered: JsonObject | None = None, replaced: JsonObject | None = None
) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.PluginObservation`."""
    return {"load": load, "registered": registered, "replaced": replaced}


def conflict(
    *, kind: str, key: str, plugins: Iterable[str], outcome: str, winner: str | None = None
) -> JsonObject:
    """:class:`~insidellms_provenance.field.model.Conflict` (``plugins`` keep their order)."""
    return {
        "kind": kind,
        "key": key,
        "plugins": list(plugins),
        "outcome": outcome,
        "winner": winner,
    }
