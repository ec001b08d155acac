"""A content-addressed cache of what dependencies' metadata decides, so host runs stay cheap.

Recording a run's dependency closures reads, for each dependency, its ``Requires-Dist``
(the walk) and its description (``record_digest``, ``code_digest``, name, version,
problems). Both are pure functions of bytes this module reads first: RECORD, METADATA,
the ``*.dist-info`` directory name, and the source of the code that computes them. An
entry holds both, keyed by the SHA-256 of exactly those inputs, and is computed from the
very bytes that were hashed (a snapshot), so an entry can never describe other bytes
than its key's: a changed RECORD or METADATA is a new key, never a stale hit. A hit
leaves three reads per distribution (RECORD, METADATA, the entry) and a hash; the
10,000 rows of a ``torch`` RECORD are not parsed again.

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
import stat
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Final, cast

import orjson

from insidellms_provenance.field.schema import DistributionInfo
from insidellms_provenance.fingerprint._cache_directory import (
    CACHE_VARIABLE,
    cache_directory,
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

__all__ = ["CACHE_VARIABLE", "DescriptionCache", "cache_directory", "describe_cached"]

_MAX_ENTRY_BYTES: Final = 1 << 20
_FORMAT: Final = b"insidellms-provenance description cache 2"
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
_OPEN_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def describe_cached(
    dist: metadata.Distribution, *, editable: bool, directory: Path | None
) -> DistributionInfo:
    """``describe_distribution(dist, editable=..., integrity=False)[0]``, cached if it applies."""
    return DescriptionCache(directory).describe(dist, editable=editable)


class _Found:
    """A distribution looked up: the bytes read, their key, and the entry if there was one.

    A plain class: a ``NamedTuple`` would compile its annotations at import, in every
    host run that walks a closure.
    """

    __slots__ = ("description", "facts", "key", "snapshot")

    def __init__(
        self,
        snapshot: _Snapshot,
        key: str,
        facts: MetadataFacts | None,
        description: DistributionInfo | None,
    ) -> None:
        self.snapshot = snapshot
        self.key = key
        self.facts = facts
        self.description = description


class DescriptionCache:
    """The cache directory as one recording uses it: each distribution looked up once.

    ``directory`` ``None`` turns the cache off: nothing is read or written, and
    :meth:`facts` returns ``None`` (the caller reads METADATA itself).
    """

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._trusted: bool | None = None
        self._found: dict[str, _Found | None] = {}

    def facts(self, dist: metadata.Distribution) -> MetadataFacts | None:
        """Name, Version and ``Requires-Dist`` values of ``dist``'s METADATA, or ``None``.

        ``None`` where the cache does not apply: the caller reads them itself.
        """
        found = self._lookup(dist)
        if found is None:
            return None
        if found.facts is not None:
            return found.facts
        return metadata_facts(found.snapshot.read_text("METADATA") or "")

    def describe(self, dist: metadata.Distribution, *, editable: bool) -> DistributionInfo:
        """``describe_distribution(dist, editable=..., integrity=False)[0]``, cached if it applies.

        Without integrity: an entry is keyed by RECORD's and METADATA's bytes, never by
        the files they list, so it may only hold what those bytes decide.
        """
        found = None if editable else self._lookup(dist)
        if found is None:
            return describe_distribution(dist, editable=editable, integrity=False)[0]
        if found.description is not None:
            return found.description
        if may_read_files(found.snapshot.read_text("RECORD") or ""):
            return describe_distribution(dist, integrity=False)[0]
        # Stored only when nothing but the key's bytes decide it; a hit therefore needs
        # no such check (the same bytes and code give the same verdict).
        description = describe_distribution(found.snapshot, integrity=False)[0]
        if self._directory is not None:
            facts = metadata_facts(found.snapshot.read_text("METADATA") or "")
            _store(self._directory, found.key, facts, description)
        return description

    def _lookup(self, dist: metadata.Distribution) -> _Found | None:
        where = str(getattr(dist, "_path", ""))
        if where not in self._found:
            self._found[where] = self._look_up(dist) if self._directory is not None else None
        return self._found[where]

    def _look_up(self, dist: metadata.Distribution) -> _Found | None:
        snapshot = _snapshot(dist)
        key = _key(snapshot) if snapshot is not None else None
        if snapshot is None or key is None or self._directory is None:
            return None
        if self._trusted is None:
            self._trusted = _trusted_directory(self._directory)
        entry = _load(self._directory / f"{key}.json", key) if self._trusted else None
        if entry is None:
            return _Found(snapshot, key, None, None)
        return _Found(snapshot, key, entry[0], entry[1])


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
    if not isinstance(getattr(dist, "_path", None), Path) or dist_info_name(dist) is None:
        return None
    problems: list[str] = []
    record = read_dist_text(dist, "RECORD", problems)
    if problems or record is None:
        return None
    text = read_dist_text(dist, "METADATA", problems)
    if problems or text is None:
        return None
    return _Snapshot(dist, {"RECORD": record, "METADATA": text, "PKG-INFO": None})


def _key(snapshot: _Snapshot) -> str | None:
    definition = _definition()
    if definition is None:
        return None
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


_DEFINITION: dict[str, bytes | None] = {}


def _definition() -> bytes | None:
    """SHA-256 of the source of every module that decides an entry, once a process.

    Each source is found in this package's directory by the module's name, imported or
    not: some are imported only for the RECORDs that need them, and a module missing
    from ``sys.modules`` must not turn the cache off. A source that cannot be read (a
    zip import, a symlink) does.
    """
    if "value" not in _DEFINITION:
        package = Path(__file__).parent.parent
        digest = hashlib.sha256()
        for name in _DEFINING_MODULES:
            *directories, module = name.split(".")[1:]
            data = read_regular_file(package.joinpath(*directories), f"{module}.py")
            if data is None:
                _DEFINITION["value"] = None
                break
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        else:
            _DEFINITION["value"] = digest.digest()
    return _DEFINITION["value"]


def _load(entry: Path, key: str) -> tuple[MetadataFacts, DistributionInfo] | None:
    """The facts and description an entry holds, if it is ours, for ``key``, and well formed."""
    data = _read_entry(entry)
    try:
        value = orjson.loads(data) if data is not None else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict) or value.get("key") != key:
        return None
    description, facts = value.get("description"), value.get("facts")
    if not isinstance(description, dict) or description.keys() != _DESCRIPTION_KEYS:
        return None
    if not (isinstance(facts, list) and len(facts) == 3 and all(map(_is_str, facts[:2]))):
        return None
    if not isinstance(facts[2], list) or not all(map(_is_str, facts[2])):
        return None
    return (facts[0], facts[1], facts[2]), cast("DistributionInfo", description)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _read_entry(entry: Path) -> bytes | None:
    """The entry's bytes, if it is a small regular file of ours (no symlink followed)."""
    try:
        fd = os.open(entry, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if (
            not stat.S_ISREG(info.st_mode)
            or info.st_uid != os.geteuid()
            or info.st_size > _MAX_ENTRY_BYTES
        ):
            return None
        return os.read(fd, _MAX_ENTRY_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def _store(directory: Path, key: str, facts: MetadataFacts, description: DistributionInfo) -> None:
    """Write the entry atomically; a cache that cannot be written is simply not used."""
    import tempfile  # only when writing: it imports ``random``, which a host run need not

    value = {"key": key, "facts": facts, "description": description}
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted_directory(directory):
            return
        data = orjson.dumps(value)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".entry-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temporary, directory / f"{key}.json")
        except OSError:
            os.unlink(temporary)
    except (OSError, orjson.JSONEncodeError):  # a value orjson refuses is not stored
        return
