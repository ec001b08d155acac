"""The provenance field as frozen records: the typed model every reader uses.

The JSON shape is derived from these classes by :mod:`insidellms_provenance.field.converter`;
the recording path builds the same shape as plain values with
:mod:`insidellms_provenance.field.schema` (a test keeps both identical). ``docs/field.md``
documents every key and ``field/schemas/plugin-provenance-v2.schema.json`` validates it.
"""

from __future__ import annotations

from typing import Literal

import attrs

from insidellms_provenance.field.schema import DEFAULT_GROUP, SCHEMA_V1, SCHEMA_V2

__all__ = [
    "DEFAULT_GROUP",
    "SCHEMA_V1",
    "SCHEMA_V2",
    "BytecodeCheck",
    "Conflict",
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
    "PluginFingerprint",
    "PluginObservation",
    "Provenance",
    "RegistryKeys",
    "Requires",
    "Source",
    "SourceKind",
]

ManifestStatus = Literal["ok", "missing", "invalid", "error"]
LoadStatus = Literal["loaded", "failed", "skipped", "disabled"]
OriginStatus = Literal["ok", "shadowed", "unknown"]
SourceKind = Literal["index", "archive", "directory", "vcs", "unknown"]
IntegrityStatus = Literal["verified", "modified", "unverifiable"]
BytecodeCheck = Literal["checked", "not_checked"]


def _sorted_unique(values: object) -> tuple[str, ...]:
    """Normalize a collection of strings to a sorted tuple without duplicates."""
    return tuple(sorted(set(values)))  # type: ignore[call-overload]


@attrs.frozen(kw_only=True)
class EntryPointRef:
    """An entry point as declared in ``entry_points.txt``."""

    group: str
    name: str
    value: str

    @property
    def sort_key(self) -> tuple[str, str]:
        """The host's load order: by name, then value."""
        return (self.name, self.value)


@attrs.frozen(kw_only=True)
class Integrity:
    """The installed files checked against RECORD when the field was recorded.

    ``paths`` are the files at fault, relative to the site directory (``{prefix}/`` for
    files outside it; RECORD itself when it is missing or has rows that were rejected).
    ``bytecode`` says whether the caches Python would load were compared with their
    sources (``docs/verify.md``).
    """

    status: IntegrityStatus
    paths: tuple[str, ...] = attrs.field(default=(), converter=_sorted_unique)
    bytecode: BytecodeCheck


@attrs.frozen(kw_only=True)
class DistributionInfo:
    """The installed distribution that provides an entry point.

    ``record_digest`` is the digest of the installer-independent canonical form of
    RECORD (see ``docs/record-digest.md``); it is ``None`` only when RECORD is absent.
    ``problems`` lists what was wrong with RECORD or METADATA.
    """

    name: str
    normalized_name: str
    version: str
    record_digest: str | None
    problems: tuple[str, ...] = attrs.field(default=(), converter=_sorted_unique)
    integrity: Integrity | None = None


@attrs.frozen(kw_only=True)
class Source:
    """Where the distribution came from, after PEP 610 ``direct_url.json``.

    ``url`` is kept only for remote URLs (credentials removed); a local file or directory
    is named by its last path component in ``local_name`` so no absolute path is recorded.
    ``editable_digest`` covers the source tree of an editable install.
    """

    kind: SourceKind
    url: str | None = None
    local_name: str | None = None
    vcs: str | None = None
    commit: str | None = None
    requested_revision: str | None = None
    editable: bool = False
    editable_digest: str | None = None
    problems: tuple[str, ...] = attrs.field(default=(), converter=_sorted_unique)


@attrs.frozen(kw_only=True)
class Origin:
    """Whether the imported module really came from the distribution's files."""

    status: OriginStatus
    duplicate_versions: tuple[str, ...] = attrs.field(default=(), converter=_sorted_unique)


@attrs.frozen(kw_only=True)
class RegistryKeys:
    """Registry keys per kind: declared capabilities or observed registrations."""

    models: tuple[str, ...] = attrs.field(default=(), converter=_sorted_unique)
    probes: tuple[str, ...] = attrs.field(default=(), converter=_sorted_unique)
    datasets: tuple[str, ...] = attrs.field(default=(), converter=_sorted_unique)


@attrs.frozen(kw_only=True)
class Requires:
    """What a plugin manifest says it needs."""

    python: str | None = None
    extras: tuple[str, ...] = attrs.field(default=(), converter=_sorted_unique)
    env: tuple[str, ...] = attrs.field(default=(), converter=_sorted_unique)


@attrs.frozen(kw_only=True)
class Determinism:
    """The declared determinism class (``class`` in JSON) and free-text notes."""

    level: str | None = None
    notes: str | None = None


@attrs.frozen(kw_only=True)
class ManifestSummary:
    """What ``plugin_manifest()`` returned, digested, validated and summarized for policy."""

    status: ManifestStatus
    digest: str | None = None
    problems: tuple[str, ...] = attrs.field(default=(), converter=_sorted_unique)
    name: str | None = None
    version: str | None = None
    sdk_version: str | None = None
    insidellms: str | None = None
    capabilities: RegistryKeys | None = None
    requires: Requires | None = None
    determinism: Determinism | None = None


@attrs.frozen(kw_only=True)
class LoadOutcome:
    """How loading the entry point went."""

    status: LoadStatus
    error_type: str | None = None
    error_message: str | None = None


@attrs.frozen(kw_only=True)
class PluginFingerprint:
    """Everything recorded about one entry point of the group."""

    entry_point: EntryPointRef
    distribution: DistributionInfo | None
    source: Source | None
    origin: Origin
    manifest: ManifestSummary
    load: LoadOutcome
    registered: RegistryKeys | None = None
    replaced: RegistryKeys | None = None


@attrs.frozen(kw_only=True)
class PluginObservation:
    """What a host run showed about one plugin: how registration went and what it did.

    Not part of the field itself: the recorder copies it into ``load``, ``registered``
    and ``replaced`` of the plugin's fingerprint.
    """

    load: LoadOutcome
    registered: RegistryKeys | None = None
    replaced: RegistryKeys | None = None


@attrs.frozen(kw_only=True)
class Conflict:
    """Two or more plugins registering the same key (observed inside a host run)."""

    kind: str
    key: str
    plugins: tuple[str, ...]
    outcome: Literal["failed", "overwritten"]
    winner: str | None = None


@attrs.frozen(kw_only=True)
class Provenance:
    """The field: every plugin of one group, sorted in load order, with one digest.

    ``observed_in_run`` says load outcomes, registrations and conflicts were observed
    inside a host run (otherwise plugins were imported, never registered).
    """

    schema: str
    group: str
    digest: str
    observed_in_run: bool
    plugins: tuple[PluginFingerprint, ...]
    conflicts: tuple[Conflict, ...] = ()
