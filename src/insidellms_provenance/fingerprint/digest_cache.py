"""A content-addressed cache of large dependencies' descriptions, so host runs stay cheap.

Describing a distribution parses its RECORD (``torch`` lists over 10,000 rows: about
0.2 s here), too slow for every host run. The description is a pure function of bytes
this module reads first: RECORD, METADATA (or PKG-INFO), the ``*.dist-info`` directory
name, whether the install is editable, and the source of the code that computes it.
The cache key is the SHA-256 of exactly those inputs, and the description is computed
from the very bytes that were hashed (a snapshot), so an entry can never describe
other bytes than its key's: a changed RECORD is a new key, never a stale hit.

Only RECORDs whose digest reads nothing else are cached (``may_read_files``): rows that
climb out of the site directory, or name a ``--target`` directory's scripts, make the
digest read scripts from disk, which the key does not cover. ``docs/decisions.md``
(issue 17) gives the reasoning and the threat model: the cache is as trusted as the
environment it describes; ``verify`` never uses it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Final, cast

import orjson

from insidellms_provenance.field.schema import DistributionInfo
from insidellms_provenance.fingerprint.discover import dist_info_name
from insidellms_provenance.fingerprint.dist_files import read_dist_text
from insidellms_provenance.fingerprint.distribution import (
    describe_distribution,
    may_read_files,
    read_regular_file,
)

__all__ = ["CACHE_VARIABLE", "MIN_RECORD_BYTES", "cache_directory", "describe_cached"]

CACHE_VARIABLE: Final = "INSIDELLMS_PROVENANCE_CACHE"
# Below this, parsing RECORD costs about what reading a cache entry does.
MIN_RECORD_BYTES: Final = 32 * 1024
_MAX_ENTRY_BYTES: Final = 1 << 20
_FORMAT: Final = b"insidellms-provenance description cache 1"
# The modules whose code decides a description (their source is part of every key).
_DEFINING_MODULES: Final = (
    "insidellms_provenance._safe_io",
    "insidellms_provenance.canonical",
    "insidellms_provenance.field.schema",
    "insidellms_provenance.fingerprint.digest_cache",
    "insidellms_provenance.fingerprint.dist_files",
    "insidellms_provenance.fingerprint.distribution",
    "insidellms_provenance.fingerprint.install_layout",
    "insidellms_provenance.fingerprint.record_file",
    "insidellms_provenance.fingerprint.redact",
)
_DESCRIPTION_KEYS: Final = DistributionInfo.__annotations__.keys()
_OPEN_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def cache_directory(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where entries live: ``$INSIDELLMS_PROVENANCE_CACHE``, else the user's cache directory.

    ``off`` (or an empty value) disables the cache.
    """
    configured = environ.get(CACHE_VARIABLE)
    if configured is not None:
        return None if configured in ("", "off") else Path(configured)
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "insidellms-provenance", "descriptions")


def describe_cached(
    dist: metadata.Distribution, *, editable: bool, directory: Path | None
) -> DistributionInfo:
    """``describe_distribution(dist, editable=..., integrity=False)[0]``, cached where it applies.

    Without integrity: an entry is keyed by RECORD's and METADATA's bytes, never by the
    files they list, so it may only hold what those bytes decide.
    """
    snapshot = _snapshot(dist) if directory is not None else None
    if snapshot is None or directory is None:
        return describe_distribution(dist, editable=editable, integrity=False)[0]
    key = _key(snapshot, editable=editable)
    if key is None:
        return describe_distribution(dist, editable=editable, integrity=False)[0]
    entry = directory / f"{key}.json"
    found = _load(entry, key) if _trusted_directory(directory) else None
    if found is not None:
        return found
    description = describe_distribution(snapshot, editable=editable, integrity=False)[0]
    _store(directory, entry, key, description)
    return description


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
    """RECORD and METADATA (or PKG-INFO) read once; ``None`` where caching cannot apply.

    Read exactly as ``describe_distribution`` reads them (``read_dist_text``); anything
    that reading would report as a problem (not a regular file, over its size cap, not
    UTF-8) is left to the ordinary path, so the problems come out the same.
    """
    if not isinstance(getattr(dist, "_path", None), Path) or dist_info_name(dist) is None:
        return None
    problems: list[str] = []
    record = read_dist_text(dist, "RECORD", problems)
    if problems or record is None or len(record) < MIN_RECORD_BYTES or may_read_files(record):
        return None
    files: dict[str, str | None] = {"RECORD": record, "METADATA": None, "PKG-INFO": None}
    files["METADATA"] = read_dist_text(dist, "METADATA", problems)
    if files["METADATA"] is None and not problems:
        files["PKG-INFO"] = read_dist_text(dist, "PKG-INFO", problems)
    return None if problems else _Snapshot(dist, files)


def _key(snapshot: _Snapshot, *, editable: bool) -> str | None:
    definition = _definition()
    if definition is None:
        return None
    digest = hashlib.sha256(_FORMAT)
    parts = [
        definition,
        (dist_info_name(snapshot) or "").encode("utf-8", "surrogatepass"),
        b"editable" if editable else b"installed",
    ]
    for name in ("RECORD", "METADATA", "PKG-INFO"):
        data = snapshot._files[name]  # noqa: SLF001 - our own snapshot
        parts.append(b"-" if data is None else b"+" + data.encode("utf-8", "surrogatepass"))
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


_DEFINITION: dict[str, bytes | None] = {}


def _definition() -> bytes | None:
    """SHA-256 of the source of every module that decides a description, once a process."""
    if "value" not in _DEFINITION:
        digest = hashlib.sha256()
        for name in _DEFINING_MODULES:
            module = sys.modules.get(name)
            source = getattr(module, "__file__", None)
            data = read_regular_file(Path(source).parent, Path(source).name) if source else None
            if data is None:
                _DEFINITION["value"] = None
                break
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        else:
            _DEFINITION["value"] = digest.digest()
    return _DEFINITION["value"]


def _trusted_directory(directory: Path) -> bool:
    """Only a real directory of ours that nobody else may write into is read."""
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _load(entry: Path, key: str) -> DistributionInfo | None:
    data = _read_entry(entry)
    try:
        value = orjson.loads(data) if data is not None else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict) or value.get("key") != key:
        return None
    description = value.get("description")
    if not isinstance(description, dict) or description.keys() != _DESCRIPTION_KEYS:
        return None
    return cast("DistributionInfo", description)


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


def _store(directory: Path, entry: Path, key: str, description: DistributionInfo) -> None:
    """Write the entry atomically; a cache that cannot be written is simply not used."""
    import tempfile  # only when writing: it imports ``random``, which a host run need not

    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted_directory(directory):
            return
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".entry-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(orjson.dumps({"key": key, "description": description}))
            os.replace(temporary, entry)
        except OSError:
            os.unlink(temporary)
    except OSError:
        return
