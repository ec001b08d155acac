"""The one definition of the field's shape: ``TypedDict``s, and the builders that fill them.

Everything else derives from this module: the recording path builds the field with the
functions below (typed, so mypy checks every key), readers validate what they read against
the same classes (:mod:`insidellms_provenance.field._validate`), the shipped JSON Schema is
generated from them (:mod:`insidellms_provenance.field.jsonschema`), and a test checks the
key tables of ``docs/field.md`` against them. It imports nothing but :mod:`typing`, as
packaging's ``RawMetadata`` does, so recording inside a host run stays lean.

Typical usage::

    load = schema.load_outcome(status="loaded")          # a LoadOutcome, keys in order

Rules for a new key: add it to the class (in the order it should be written), to the
builder, and to ``docs/field.md``. A key that may be absent goes in a ``total=False`` base
class (``typing.NotRequired`` is not in Python 3.10's ``typing``); readers and the JSON
Schema then treat it as optional. A one-value ``Literal`` is a constant, and
``Annotated[str, Pattern(...)]`` constrains a string.
"""

# No ``from __future__ import annotations``: TypedDict would compile every string
# annotation at import (≈ 1.5 ms for these classes inside every host run); the classes
# are defined in dependency order, so every annotation is a plain object.
from collections.abc import Iterable
from typing import Annotated, Final, Literal, TypedDict

__all__ = [
    "DEFAULT_GROUP",
    "FIELD_KEY",
    "MANIFEST_NAME",
    "REGISTRY_KINDS",
    "SCHEMA_V1",
    "SCHEMA_V2",
    "BytecodeCheck",
    "Conflict",
    "ConflictOutcome",
    "Dependency",
    "Determinism",
    "DistributionInfo",
    "EntryPointRef",
    "Integrity",
    "IntegrityStatus",
    "LoadOutcome",
    "LoadStatus",
    "ManifestStatus",
    "ManifestSummary",
    "Origin",
    "OriginStatus",
    "Pattern",
    "PluginFingerprint",
    "PluginObservation",
    "Provenance",
    "RegistryKeys",
    "RegistryKind",
    "Requires",
    "Source",
    "SourceKind",
    "UnsatisfiedReason",
    "UnsatisfiedRequirement",
    "conflict",
    "dependency",
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
    "unsatisfied_requirement",
]

DEFAULT_GROUP: Final = "insidellms.plugins"
"""The host's entry-point group: insideLLMs loads its plugins from it."""

SCHEMA_V1: Final = "insidellms-provenance/plugins/v1"
"""The ``schema`` string of the fields 0.1.0 wrote: read, and upgraded to v2."""

SCHEMA_V2: Final = "insidellms-provenance/plugins/v2"
"""The ``schema`` string of the field this package writes."""

MANIFEST_NAME: Final = "manifest.json"
"""The run file the host writes and the field is embedded in."""

FIELD_KEY: Final = "plugin_provenance"
"""The field's key under the manifest's free-form ``custom`` object."""

RegistryKind = Literal["models", "probes", "datasets"]
REGISTRY_KINDS: Final[tuple[RegistryKind, ...]] = ("models", "probes", "datasets")
"""The host's three registries, in the order the field lists them."""

DETERMINISM_CLASSES: Final = ("deterministic", "best_effort", "non_deterministic")
"""The classes ``determinism.class`` may name, most deterministic first: the order
policies and diffs compare them by (an undeclared or unknown class ranks below all)."""

ManifestStatus = Literal["ok", "missing", "invalid", "error"]
LoadStatus = Literal["loaded", "failed", "skipped", "disabled"]
OriginStatus = Literal["ok", "shadowed", "unknown"]
SourceKind = Literal["index", "archive", "directory", "vcs", "unknown"]
ConflictOutcome = Literal["failed", "overwritten"]


class Pattern:
    """``Annotated[str, Pattern(regex)]``: a string that must match ``regex`` in full."""

    __slots__ = ("regex",)

    def __init__(self, regex: str) -> None:
        self.regex = regex


Sha256Digest = Annotated[str, Pattern("^sha256:[0-9a-f]{64}$")]


class EntryPointRef(TypedDict):
    """An entry point as declared in ``entry_points.txt``."""

    group: str
    name: str
    value: str


IntegrityStatus = Literal["verified", "modified", "unverifiable"]
BytecodeCheck = Literal["checked", "not_checked"]


class Integrity(TypedDict):
    """The installed files checked against RECORD when the field was recorded.

    ``paths`` are the files at fault, relative to the site directory (``{prefix}/`` for
    files outside it, ``{pycache_prefix}/`` for caches under ``sys.pycache_prefix``;
    RECORD itself when it is missing or has rows that were rejected).
    ``bytecode`` says whether the caches Python would load were compared with their
    sources (``docs/verify.md``).
    """

    status: IntegrityStatus
    paths: list[str]
    bytecode: BytecodeCheck


class DistributionInfo(TypedDict):
    """The installed distribution that provides an entry point.

    ``record_digest`` is the digest of the installer-independent canonical form of
    RECORD (see ``docs/record-digest.md``); it is ``None`` only when RECORD is absent.
    ``code_digest`` is the same digest over the rows outside the distribution's own
    metadata directory (code, data, scripts), so a rebuild that changes only packaging
    metadata keeps it. Both are ``None`` when RECORD is absent; ``code_digest`` also in
    fields upgraded from v1, which did not record it. ``problems`` lists what was wrong
    with RECORD or METADATA. ``integrity`` is ``None`` only in fields upgraded from v1,
    which did not record it, and for dependencies (``Dependency``), whose files are not
    checked while recording.
    """

    name: str
    normalized_name: str
    version: str
    record_digest: str | None
    code_digest: str | None
    problems: list[str]
    integrity: Integrity | None


class Source(TypedDict):
    """Where the distribution came from, after PEP 610 ``direct_url.json``.

    ``url`` is kept only for remote URLs (credentials removed); a local archive is named
    by its file name in ``local_name`` so no absolute path is recorded, and a local
    directory not at all (its name is machine-specific; ``editable_digest`` covers it).
    ``editable_digest`` covers the source tree of an editable install.
    """

    kind: SourceKind
    url: str | None
    local_name: str | None
    vcs: str | None
    commit: str | None
    requested_revision: str | None
    editable: bool
    editable_digest: str | None
    problems: list[str]


class Origin(TypedDict):
    """Whether the imported module really came from the distribution's files."""

    status: OriginStatus
    duplicate_versions: list[str]


class RegistryKeys(TypedDict):
    """Registry keys per kind: declared capabilities or observed registrations."""

    models: list[str]
    probes: list[str]
    datasets: list[str]


class Requires(TypedDict):
    """What a plugin manifest says it needs."""

    python: str | None
    extras: list[str]
    env: list[str]


# ``class`` is a keyword, so this one is spelt in the functional form.
Determinism = TypedDict("Determinism", {"class": str | None, "notes": str | None})
Determinism.__doc__ = """The declared determinism class (``class`` in JSON) and free-text notes."""


class ManifestSummary(TypedDict):
    """What ``plugin_manifest()`` returned, digested, validated and summarized for policy."""

    status: ManifestStatus
    digest: str | None
    problems: list[str]
    name: str | None
    version: str | None
    sdk_version: str | None
    insideLLMs: str | None
    capabilities: RegistryKeys | None
    requires: Requires | None
    determinism: Determinism | None


class LoadOutcome(TypedDict):
    """How loading the entry point went."""

    status: LoadStatus
    error_type: str | None
    error_message: str | None


UnsatisfiedReason = Literal["missing", "version", "invalid"]


class UnsatisfiedRequirement(TypedDict):
    """A requirement in a plugin's dependency closure that the environment does not meet.

    ``reason``: ``missing`` (no distribution of that name is installed), ``version`` (the
    ``installed`` version is outside the specifier) or ``invalid`` (the requirement or its
    marker cannot be read; ``name`` is then ``None`` if even the name is unreadable).
    ``requirement`` is the ``Requires-Dist`` value as written by ``required_by``.
    """

    name: str | None
    requirement: str
    required_by: str
    installed: str | None
    reason: UnsatisfiedReason


class Dependency(TypedDict):
    """A distribution in some plugin's dependency closure, recorded once for all of them."""

    distribution: DistributionInfo
    source: Source | None


class _PluginFingerprintCore(TypedDict):
    """Everything recorded about one entry point of the group."""

    entry_point: EntryPointRef
    distribution: DistributionInfo | None
    source: Source | None
    origin: Origin
    manifest: ManifestSummary
    load: LoadOutcome
    registered: RegistryKeys | None
    replaced: RegistryKeys | None


class PluginFingerprint(_PluginFingerprintCore, total=False):
    """Everything recorded about one entry point of the group.

    ``dependencies`` (the PEP 503 names of its installed dependency closure) and
    ``unsatisfied`` are absent only from fields written before they existed.
    """

    dependencies: list[str]
    unsatisfied: list[UnsatisfiedRequirement]


class PluginObservation(TypedDict):
    """What a host run showed about one plugin: how registration went and what it did.

    Not part of the field itself: the recorder copies it into ``load``, ``registered``
    and ``replaced`` of the plugin's fingerprint.
    """

    load: LoadOutcome
    registered: RegistryKeys | None
    replaced: RegistryKeys | None


class Conflict(TypedDict):
    """Two or more plugins registering the same key (observed inside a host run)."""

    kind: str
    key: str
    plugins: list[str]
    outcome: ConflictOutcome
    winner: str | None


class _ProvenanceCore(TypedDict):
    """The field: every plugin of one group, sorted in load order, with one digest.

    ``digest`` covers every other key. ``observed_in_run`` says load outcomes,
    registrations and conflicts were observed inside a host run (otherwise plugins were
    imported, never registered).
    """

    schema: Literal["insidellms-provenance/plugins/v2"]
    group: str
    digest: Sha256Digest
    observed_in_run: bool
    plugins: list[PluginFingerprint]
    conflicts: list[Conflict]


class Provenance(_ProvenanceCore, total=False):
    """The field: every plugin of one group, sorted in load order, with one digest.

    ``dependencies`` (every plugin's dependencies, described once, by PEP 503 name) is
    absent only from fields written before it existed.
    """

    dependencies: dict[str, Dependency]


# Builders: one per class, keyword arguments in key order, defaults for what may be empty.
# Lists of names come out sorted and free of duplicates, as the field promises.


def _sorted_unique(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


def entry_point(*, group: str, name: str, value: str) -> EntryPointRef:
    """An :class:`EntryPointRef`."""
    return {"group": group, "name": name, "value": value}


def distribution(  # noqa: PLR0913 - one argument per key
    *,
    name: str,
    normalized_name: str,
    version: str,
    record_digest: str | None,
    code_digest: str | None = None,
    problems: Iterable[str] = (),
    integrity: Integrity | None = None,
) -> DistributionInfo:
    """A :class:`DistributionInfo`."""
    return {
        "name": name,
        "normalized_name": normalized_name,
        "version": version,
        "record_digest": record_digest,
        "code_digest": code_digest,
        "problems": _sorted_unique(problems),
        "integrity": integrity,
    }


def integrity(
    *, status: IntegrityStatus, paths: Iterable[str] = (), bytecode: BytecodeCheck
) -> Integrity:
    """An :class:`Integrity`."""
    return {"status": status, "paths": _sorted_unique(paths), "bytecode": bytecode}


def source(  # noqa: PLR0913 - one argument per key
    *,
    kind: SourceKind,
    url: str | None = None,
    local_name: str | None = None,
    vcs: str | None = None,
    commit: str | None = None,
    requested_revision: str | None = None,
    editable: bool = False,
    editable_digest: str | None = None,
    problems: Iterable[str] = (),
) -> Source:
    """A :class:`Source`."""
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


def origin(*, status: OriginStatus, duplicate_versions: Iterable[str] = ()) -> Origin:
    """An :class:`Origin`."""
    return {"status": status, "duplicate_versions": _sorted_unique(duplicate_versions)}


def registry_keys(
    *, models: Iterable[str] = (), probes: Iterable[str] = (), datasets: Iterable[str] = ()
) -> RegistryKeys:
    """A :class:`RegistryKeys`."""
    return {
        "models": _sorted_unique(models),
        "probes": _sorted_unique(probes),
        "datasets": _sorted_unique(datasets),
    }


def requires(
    *, python: str | None = None, extras: Iterable[str] = (), env: Iterable[str] = ()
) -> Requires:
    """A :class:`Requires`."""
    return {"python": python, "extras": _sorted_unique(extras), "env": _sorted_unique(env)}


def determinism(*, level: str | None = None, notes: str | None = None) -> Determinism:
    """A :class:`Determinism` (``level`` is ``class`` in JSON)."""
    return {"class": level, "notes": notes}


def manifest_summary(  # noqa: PLR0913 - one argument per key
    *,
    status: ManifestStatus,
    digest: str | None = None,
    problems: Iterable[str] = (),
    name: str | None = None,
    version: str | None = None,
    sdk_version: str | None = None,
    insidellms: str | None = None,
    capabilities: RegistryKeys | None = None,
    requires: Requires | None = None,
    determinism: Determinism | None = None,
) -> ManifestSummary:
    """A :class:`ManifestSummary` (``insidellms`` is ``insideLLMs`` in JSON)."""
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
    *, status: LoadStatus, error_type: str | None = None, error_message: str | None = None
) -> LoadOutcome:
    """A :class:`LoadOutcome`."""
    return {"status": status, "error_type": error_type, "error_message": error_message}


def fingerprint(  # noqa: PLR0913 - one argument per key
    *,
    entry_point: EntryPointRef,
    distribution: DistributionInfo | None,
    source: Source | None,
    origin: Origin,
    manifest: ManifestSummary,
    load: LoadOutcome,
    registered: RegistryKeys | None = None,
    replaced: RegistryKeys | None = None,
    dependencies: Iterable[str] | None = None,
    unsatisfied: Iterable[UnsatisfiedRequirement] | None = None,
) -> PluginFingerprint:
    """A :class:`PluginFingerprint`; the closure keys are written when given."""
    value: PluginFingerprint = {
        "entry_point": entry_point,
        "distribution": distribution,
        "source": source,
        "origin": origin,
        "manifest": manifest,
        "load": load,
        "registered": registered,
        "replaced": replaced,
    }
    if dependencies is not None:
        value["dependencies"] = _sorted_unique(dependencies)
    if unsatisfied is not None:
        value["unsatisfied"] = sorted(
            unsatisfied, key=lambda u: (u["required_by"], u["name"] or "", u["requirement"])
        )
    return value


def unsatisfied_requirement(
    *,
    name: str | None,
    requirement: str,
    required_by: str,
    installed: str | None,
    reason: UnsatisfiedReason,
) -> UnsatisfiedRequirement:
    """An :class:`UnsatisfiedRequirement`."""
    return {
        "name": name,
        "requirement": requirement,
        "required_by": required_by,
        "installed": installed,
        "reason": reason,
    }


def dependency(*, distribution: DistributionInfo, source: Source | None) -> Dependency:
    """A :class:`Dependency`."""
    return {"distribution": distribution, "source": source}


def observation(
    *,
    load: LoadOutcome,
    registered: RegistryKeys | None = None,
    replaced: RegistryKeys | None = None,
) -> PluginObservation:
    """A :class:`PluginObservation`."""
    return {"load": load, "registered": registered, "replaced": replaced}


def conflict(
    *,
    kind: str,
    key: str,
    plugins: Iterable[str],
    outcome: ConflictOutcome,
    winner: str | None = None,
) -> Conflict:
    """A :class:`Conflict` (``plugins`` keep their order: the load order)."""
    return {
        "kind": kind,
        "key": key,
        "plugins": list(plugins),
        "outcome": outcome,
        "winner": winner,
    }
