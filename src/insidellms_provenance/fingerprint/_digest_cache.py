"""A cache of what dependencies' metadata decides, so host runs stay cheap.

Recording a run's dependency closures reads, for each dependency, its ``Requires-Dist``
(the walk) and its description (``record_digest``, ``code_digest``, name, version,
problems). Both are pure functions of bytes this module reads: RECORD, METADATA, the
``*.dist-info`` directory name, and the source of the code that computes them. An entry
holds both, with the SHA-256 of exactly those inputs (its *content key*), and is computed
from the very bytes that were hashed (a snapshot), so an entry can never describe other
bytes than its content key's.

An entry is found by the metadata directory's path, and proves its bytes unchanged in
one of two ways:

- **by status** (Linux, on file systems known to keep a kernel-maintained change time):
  the directory, RECORD and METADATA still have the device, inode, size, mode,
  modification and change times recorded with the entry, and every change time was
  older than the reading by more than :data:`SETTLED_NS` (git's racy-timestamp rule).
  Nothing is read but the entry: three ``stat`` calls;
- **by content**, everywhere else: RECORD and METADATA are read and hashed, and the
  content key must equal the entry's (then the status evidence is refreshed).

Only RECORDs whose digest reads nothing else are stored (``may_read_files``): rows that
climb out of the site directory, or name a ``--target`` directory's scripts, make the
digest read scripts from disk, which the key does not cover. Editable installs and
``.egg-info`` directories (whose ``requires.txt`` the key does not cover) are computed
every time. ``docs/decisions.md`` (issue 17) gives the reasoning and the threat model:
the cache is as trusted as the environment it describes; ``verify`` never uses it.

Typical usage::

    cache = DescriptionCache(cache_directory())
    name, version, requires = cache.facts(dist) or read_them_yourself(dist)
    description = cache.describe(dist, editable=False)
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Final, cast

from insidellms_provenance.field.schema import DistributionInfo
from insidellms_provenance.fingerprint._cache_directory import (
    _CHANGE_TIME_FILE_SYSTEMS,  # noqa: F401 - tests read it here
    CACHE_VARIABLE,
    SETTLED_NS,
    Status,
    cache_directory,
    file_status,
    load_entry,
    settled,
    store_entry,
)
from insidellms_provenance.fingerprint._cache_directory import (
    keeps_change_time as _keeps_change_time,  # noqa: F401 - tests read it here
)
from insidellms_provenance.fingerprint._cache_directory import (
    trusted_directory as _trusted_directory,
)
from insidellms_provenance.fingerprint._discover import dist_info_name
from insidellms_provenance.fingerprint._dist_files import read_dist_text
from insidellms_provenance.fingerprint._distribution import (
    MetadataFacts,
    describe_distribution,
    may_read_files,
    metadata_facts,
    read_regular_file,
)

__all__ = [
    "CACHE_VARIABLE",
    "SETTLED_NS",
    "DescriptionCache",
    "Status",
    "cache_directory",
    "describe_cached",
    "file_status",
    "load_entry",
    "metadata_status",
    "settled",
    "source_definition",
    "store_entry",
]

_FORMAT: Final = b"insidellms-provenance description cache 3"
# The modules whose code decides an entry (their source is part of every key).
_DEFINING_MODULES: Final = (
    "insidellms_provenance._safe_io",
    "insidellms_provenance._canonical",
    "insidellms_provenance.field.schema",
    "insidellms_provenance.fingerprint._digest_cache",
    "insidellms_provenance.fingerprint._dist_files",
    "insidellms_provenance.fingerprint._distribution",
    "insidellms_provenance.fingerprint._install_layout",
    "insidellms_provenance.fingerprint._record_file",
    "insidellms_provenance.fingerprint._redact",
)
_DESCRIPTION_KEYS: Final = DistributionInfo.__annotations__.keys()
# What the status of the directory, RECORD and METADATA is compared by.
_STATUS_FILES: Final = ("", "RECORD", "METADATA")


def describe_cached(
    dist: metadata.Distribution, *, editable: bool, directory: Path | None
) -> DistributionInfo:
    """``describe_distribution(dist, editable=..., integrity=False)[0]``, cached if it applies."""
    return DescriptionCache(directory).describe(dist, editable=editable)


class _Entry:
    """An entry as read: its content key, status evidence, and what it holds.

    A plain class: a ``NamedTuple`` would compile its annotations at import, in every
    host run that walks a closure.
    """

    __slots__ = ("checked_ns", "content", "description", "evidence", "facts")

    def __init__(
        self,
        content: str,
        evidence: list[Status] | None,
        checked_ns: int,
        facts: MetadataFacts,
        description: DistributionInfo,
    ) -> None:
        self.content = content
        self.evidence = evidence
        self.checked_ns = checked_ns
        self.facts = facts
        self.description = description


class _Found:
    """A distribution looked up: its entry's name, and what is known of it.

    ``snapshot`` and ``content`` are the bytes read and their key (``None`` after a
    hit by status, which reads nothing); ``evidence`` is the status taken around that
    reading at ``checked_ns``, if it held still; ``facts`` and ``description`` come from
    the entry, or are ``None`` until computed.
    """

    __slots__ = ("checked_ns", "content", "description", "evidence", "facts", "name", "snapshot")

    def __init__(  # noqa: PLR0913 - the fields
        self,
        name: str,
        *,
        snapshot: _Snapshot | None,
        content: str | None,
        evidence: list[Status] | None,
        checked_ns: int,
        entry: _Entry | None,
    ) -> None:
        self.name = name
        self.snapshot = snapshot
        self.content = content
        self.evidence = evidence
        self.checked_ns = checked_ns
        self.facts = entry.facts if entry is not None else None
        self.description = entry.description if entry is not None else None


class DescriptionCache:
    """The cache directory as one recording uses it: each distribution looked up once.

    ``directory`` ``None`` turns the cache off: nothing is read or written, and
    :meth:`facts` returns ``None`` (the caller reads METADATA itself). ``clock`` gives
    the time of each reading (nanoseconds since the epoch; tests move it).
    """

    def __init__(self, directory: Path | None, *, clock: Callable[[], int] = time.time_ns) -> None:
        self._directory = directory
        self._clock = clock
        self._trusted: bool | None = None
        self._found: dict[str, _Found | None] = {}
        self.complete = True
        """Whether every fact and description so far is what the key's bytes decide."""

    def facts(self, dist: metadata.Distribution) -> MetadataFacts | None:
        """Name, Version and ``Requires-Dist`` values of ``dist``'s METADATA, or ``None``.

        ``None`` where the cache does not apply: the caller reads them itself.
        """
        found = self._lookup(dist)
        if found is None:
            self.complete = False
            return None
        if found.facts is not None:
            return found.facts
        return metadata_facts(_read(found, "METADATA"))

    def describe(self, dist: metadata.Distribution, *, editable: bool) -> DistributionInfo:
        """``describe_distribution(dist, editable=..., integrity=False)[0]``, cached if it applies.

        Without integrity: an entry is keyed by RECORD's and METADATA's bytes, never by
        the files they list, so it may only hold what those bytes decide.
        """
        found = None if editable else self._lookup(dist)
        if found is not None and found.description is not None:
            return found.description
        if found is None or found.snapshot is None or may_read_files(_read(found, "RECORD")):
            self.complete = False
            return describe_distribution(dist, editable=editable, integrity=False)[0]
        # Stored only when nothing but the key's bytes decide it; a hit therefore needs
        # no such check (the same bytes and code give the same verdict).
        description = describe_distribution(found.snapshot, integrity=False)[0]
        if self._directory is not None and found.content is not None:
            facts = metadata_facts(_read(found, "METADATA"))
            entry = _Entry(found.content, found.evidence, found.checked_ns, facts, description)
            _store(self._directory, found.name, entry)
        return description

    def _lookup(self, dist: metadata.Distribution) -> _Found | None:
        where = str(getattr(dist, "_path", ""))
        if where not in self._found:
            self._found[where] = self._look_up(dist) if self._directory is not None else None
        return self._found[where]

    def _look_up(self, dist: metadata.Distribution) -> _Found | None:
        directory = getattr(dist, "_path", None)
        definition = _definition()
        if (
            self._directory is None
            or definition is None
            or not isinstance(directory, Path)
            or dist_info_name(dist) is None
        ):
            return None
        if self._trusted is None:
            self._trusted = _trusted_directory(self._directory)
        name = _entry_name(definition, os.fsencode(directory))
        entry = _load(self._directory, name) if self._trusted else None
        checked_ns = self._clock()
        evidence = metadata_status(directory)
        if (
            entry is not None
            and evidence is not None
            and entry.evidence == evidence
            and settled(evidence, entry.checked_ns, checked_ns)
        ):
            return _Found(
                name,
                snapshot=None,
                content=None,
                evidence=None,
                checked_ns=entry.checked_ns,
                entry=entry,
            )
        snapshot = _snapshot(dist)
        if snapshot is None:
            return None
        content = _content_key(definition, snapshot)
        if evidence != metadata_status(directory):
            evidence = None  # changed while it was read: the next reading checks by content
        if entry is None or entry.content != content:
            return _Found(
                name,
                snapshot=snapshot,
                content=content,
                evidence=evidence,
                checked_ns=checked_ns,
                entry=None,
            )
        if evidence is not None and settled(evidence, checked_ns, checked_ns):
            # Same bytes, and status evidence that would now count (we are here because
            # the entry's did not: a copy, a touch, or a change within its tick).
            refreshed = _Entry(content, evidence, checked_ns, entry.facts, entry.description)
            _store(self._directory, name, refreshed)
        return _Found(
            name,
            snapshot=snapshot,
            content=content,
            evidence=evidence,
            checked_ns=checked_ns,
            entry=entry,
        )


def _read(found: _Found, filename: str) -> str:
    return (found.snapshot.read_text(filename) if found.snapshot is not None else None) or ""


class _Snapshot(metadata.Distribution):
    """A distribution whose metadata files are served from texts already read."""

    def __init__(self, dist: metadata.Distribution, files: dict[str, str | None]) -> None:
        self._dist = dist
        self._files = files
        # dist_info_name() reads the directory's name from here; not a Path, so that
        # read_dist_text() asks read_text() (the snapshot) instead of the disk.
        self._path = PurePosixPath(getattr(dist, "_path", ""))

    def read_text(self, filename: str) -> str | None:
        return self._files.get(filename)

    def locate_file(self, path: str | os.PathLike[str]) -> Path:
        return Path(str(self._dist.locate_file(path)))


def _snapshot(dist: metadata.Distribution) -> _Snapshot | None:
    """RECORD and METADATA read once; ``None`` where caching cannot apply.

    Read exactly as ``describe_distribution`` reads them (``read_dist_text``); anything
    that reading would report as a problem (not a regular file, over its size cap, not
    UTF-8), and a directory without METADATA (an ``.egg-info``, whose ``PKG-INFO`` and
    ``requires.txt`` are read instead), is left to the ordinary path.
    """
    problems: list[str] = []
    record = read_dist_text(dist, "RECORD", problems)
    if problems or record is None:
        return None
    text = read_dist_text(dist, "METADATA", problems)
    if problems or text is None:
        return None
    return _Snapshot(dist, {"RECORD": record, "METADATA": text, "PKG-INFO": None})


def _entry_name(definition: bytes, directory: bytes) -> str:
    """Where a metadata directory's entry lives: a digest of the code and the path."""
    digest = hashlib.sha256(_FORMAT + b" by path")
    for part in (definition, directory):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _content_key(definition: bytes, snapshot: _Snapshot) -> str:
    """SHA-256 over the code, the ``*.dist-info`` name, RECORD and METADATA."""
    digest = hashlib.sha256(_FORMAT)
    parts = [
        definition,
        *(
            (text or "").encode("utf-8", "surrogatepass")
            for text in (
                dist_info_name(snapshot),
                snapshot.read_text("RECORD"),
                snapshot.read_text("METADATA"),
            )
        ),
    ]
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def metadata_status(directory: str | os.PathLike[str]) -> list[Status] | None:
    """Status of the directory, RECORD and METADATA, where it can prove them unchanged.

    ``None`` (check by content) unless all three lie on a file system that keeps a
    kernel-maintained change time, and the directory is one and the files are regular
    (``stat`` follows symlinks, as reading them does).
    """
    evidence = []
    for filename in _STATUS_FILES:
        status = file_status(os.path.join(directory, filename), directory=not filename)
        if status is None:
            return None
        evidence.append(status)
    return evidence


_DEFINITIONS: dict[tuple[str, ...], bytes | None] = {}


def _definition() -> bytes | None:
    return source_definition(_DEFINING_MODULES)


def source_definition(modules: tuple[str, ...]) -> bytes | None:
    """SHA-256 of the source of ``modules`` (what decides an entry), once a process.

    Each source is found in this package's directory by the module's name, imported or
    not: some are imported only for the RECORDs that need them, and a module missing
    from ``sys.modules`` must not turn the cache off. A source that cannot be read (a
    zip import, a symlink) does.
    """
    if modules not in _DEFINITIONS:
        package = Path(__file__).parent.parent
        digest = hashlib.sha256()
        for name in modules:
            *directories, module = name.split(".")[1:]
            data = read_regular_file(package.joinpath(*directories), f"{module}.py")
            if data is None:
                _DEFINITIONS[modules] = None
                break
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        else:
            _DEFINITIONS[modules] = digest.digest()
    return _DEFINITIONS[modules]


def _load(directory: Path, name: str) -> _Entry | None:
    """The entry stored as ``name``, if it is ours, well formed, and names itself so."""
    value = load_entry(directory, name, trusted=True)  # DescriptionCache checked it
    if value is None:
        return None
    content, evidence, checked_ns = (
        value.get("content"),
        value.get("evidence"),
        value.get("checked_ns"),
    )
    description, facts = value.get("description"), value.get("facts")
    if not (
        isinstance(content, str)
        and type(checked_ns) is int
        and (evidence is None or _is_evidence(evidence))
        and isinstance(description, dict)
        and description.keys() == _DESCRIPTION_KEYS
        and isinstance(facts, list)
        and len(facts) == 3
        and all(map(_is_str, facts[:2]))
        and isinstance(facts[2], list)
        and all(map(_is_str, facts[2]))
    ):
        return None
    return _Entry(
        content,
        evidence,
        checked_ns,
        (facts[0], facts[1], facts[2]),
        cast("DistributionInfo", description),
    )


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_int(value: object) -> bool:
    return type(value) is int


def _is_evidence(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == len(_STATUS_FILES)
        and all(
            isinstance(status, list) and len(status) == 6 and all(map(_is_int, status))
            for status in value
        )
    )


def _store(directory: Path, name: str, entry: _Entry) -> None:
    store_entry(
        directory,
        name,
        {
            "content": entry.content,
            "evidence": entry.evidence,
            "checked_ns": entry.checked_ns,
            "facts": entry.facts,
            "description": entry.description,
        },
    )
