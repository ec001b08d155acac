"""The run's plugin distributions as described in a host run, reused while nothing changed.

Inside a host run each plugin distribution is described afresh: METADATA and RECORD
read, every listed file hashed, the package directories listed for files RECORD does
not list (``distribution.integrity``, without bytecode), ``direct_url.json`` read
(``source``). That description is a pure function of: the bytes and kinds of every file
and directory below the distribution's package directories and its ``*.dist-info``
directory, every file RECORD lists, the interpreter, and the code that computes it.

An entry keeps, for each plugin distribution, the description with the status
(:mod:`._cache_directory`: device, inode, size, mode, modification and change times, taken
without following symlinks) of each of those files and directories, and of each
directory on the way to them. A later run serves a description only if every status is
equal and settled (git's racy-timestamp rule, :func:`._cache_directory.settled`): a file written,
replaced, added, removed, renamed or changed in mode since then changes its status or
its directory's. Entries are written only for what status can prove:

- a ``*.dist-info`` directory whose RECORD's rows all lie in the site directory (no
  scripts, no ``..``: nothing else is read), not editable, with no problem;
- integrity ``verified``: every listed file there, regular, and matching RECORD;
- every file and directory concerned regular or a directory (no symlink anywhere), on a
  Linux file system whose change time only the kernel sets, and changed more than
  :data:`._cache_directory.SETTLED_NS` before the description began.

Anything else is described afresh in every run, as before. The entry is named by the
status of the defining modules' sources (an edit changes the name), the interpreter,
and the plugins' metadata directories. ``record`` and ``verify`` never use it: it
serves only what the hook records, where bytecode is not checked.
``docs/decisions.md`` (issue 12, "proving the plugins' files unchanged in a run")
gives the reasoning.
"""

from __future__ import annotations

import hashlib
import operator
import os
import stat
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from insidellms_provenance.fingerprint._cache_directory import (
    Status,
    file_status,
    keeps_change_time,
    load_entry,
    settled,
    status_of,
    store_entry,
)

if TYPE_CHECKING:
    from insidellms_provenance.field.schema import DistributionInfo, Source

__all__ = ["Described", "PluginDescriptions"]

Described = tuple["DistributionInfo", frozenset[str], "Source"]
"""A distribution's description, the normalized paths its RECORD lists, and its source."""

_FORMAT: Final = b"insidellms-provenance plugin descriptions 2"
# What a status is made of, in ``_cache_directory.Status``'s order.
_STATUS_FIELDS: Final = operator.attrgetter(
    "st_mode", "st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns"
)
# The modules whose code decides a description, and this entry.
_DEFINING_MODULES: Final = (
    "insidellms_provenance._canonical",
    "insidellms_provenance._safe_io",
    "insidellms_provenance.errors",
    "insidellms_provenance.field._build",
    "insidellms_provenance.field.schema",
    "insidellms_provenance.fingerprint._discover",
    "insidellms_provenance.fingerprint._dist_files",
    "insidellms_provenance.fingerprint._distribution",
    "insidellms_provenance.fingerprint._hashing",
    "insidellms_provenance.fingerprint._install_layout",
    "insidellms_provenance.fingerprint._integrity",
    "insidellms_provenance.fingerprint._legacy",
    "insidellms_provenance.fingerprint._plugin_cache",
    "insidellms_provenance.fingerprint._record_file",
    "insidellms_provenance.fingerprint._recorder",
    "insidellms_provenance.fingerprint._redact",
    "insidellms_provenance.fingerprint._source",
    "insidellms_provenance.fingerprint._cache_directory",
)


class PluginDescriptions:
    """The stored descriptions of one set of plugin distributions, and the new ones.

    ``directory``: the cache directory (``None``: nothing is read or stored);
    ``plugin_dirs``: the metadata directories of the run's plugin distributions.
    """

    __slots__ = ("_added", "_code", "_directory", "_name", "_stored")

    def __init__(self, directory: Path | None, plugin_dirs: list[str]) -> None:
        self._directory = directory
        self._name, self._code = _entry_name(plugin_dirs) if directory is not None else (None, [])
        self._added: dict[str, dict[str, Any]] = {}
        stored = None
        if directory is not None and self._name is not None:
            found = load_entry(directory, self._name)
            plugins = found.get("plugins") if found is not None else None
            stored = plugins if isinstance(plugins, dict) else None
        self._stored: dict[str, Any] = stored or {}

    def get(self, dist: metadata.Distribution, site: str) -> Described | None:
        """The stored description of ``dist`` (in ``site``), if every status proves it holds."""
        path = _metadata_dir(dist)
        entry = self._stored.get(path) if path is not None else None
        if path is None or not isinstance(entry, dict):
            return None
        evidence, checked_ns = entry.get("evidence"), entry.get("checked")
        description, paths, source = (
            entry.get("description"),
            entry.get("paths"),
            entry.get("source"),
        )
        if not (
            entry.get("site") == site
            and isinstance(evidence, list)
            and type(checked_ns) is int
            and isinstance(description, dict)
            and isinstance(paths, list)
            and all(isinstance(item, str) for item in paths)
            and isinstance(source, dict)
        ):
            return None
        if not _unchanged(site, evidence, checked_ns):
            return None
        self._added[path] = entry  # kept when the entry is written again
        return (
            cast("DistributionInfo", description),
            frozenset(paths),
            cast("Source", source),
        )

    def add(
        self, dist: metadata.Distribution, site: str, described: Described, checked_ns: int
    ) -> None:
        """Keep ``described`` (begun at ``checked_ns``) if status can prove it next time."""
        path = _metadata_dir(dist)
        if path is None or self._name is None or not settled(self._code, checked_ns, checked_ns):
            return  # our own code edited just before: the entry's name might not say so
        evidence = _evidence(dist, site, described, checked_ns)
        if evidence is None:
            return
        info, paths, source = described
        self._added[path] = {
            "site": site,
            "checked": checked_ns,
            "evidence": evidence,
            "description": info,
            "paths": sorted(paths),
            "source": source,
        }

    def store(self) -> None:
        """Write the entry, if anything was described afresh that status can prove."""
        if self._directory is None or self._name is None or self._added == self._stored:
            return
        if not self._added:
            return
        store_entry(self._directory, self._name, {"plugins": self._added})


def _unchanged(site: str, evidence: list[Any], checked_ns: int) -> bool:
    """Whether ``[paths, statuses]`` below ``site`` still hold, on trusted file systems, settled.

    Each path is looked at once (``lstat``); equal statuses are of a regular file or a
    directory, as stored.
    """
    if not (isinstance(evidence, list) and len(evidence) == 2):
        return False
    paths, statuses = evidence
    prefix = site + os.sep
    lstat = os.lstat
    try:
        current = [list(_STATUS_FIELDS(lstat(prefix + path))) for path in paths]
    except (OSError, ValueError, TypeError):
        return False
    if current != statuses or not current:
        return False
    devices = {status[1] for status in current}
    return all(map(keeps_change_time, devices)) and settled(current, checked_ns, time.time_ns())


def _metadata_dir(dist: metadata.Distribution) -> str | None:
    """The ``*.dist-info`` directory of ``dist`` on disk, or ``None``."""
    path = getattr(dist, "_path", None)
    if not isinstance(path, Path) or not path.name.endswith(".dist-info"):
        return None
    return str(path)


def _lstatus(path: str) -> Status | None:
    """Evidence of the file or directory at ``path`` (never through a final symlink)."""
    try:
        found = os.stat(path, follow_symlinks=False)
    except (OSError, ValueError):
        return None
    if not (stat.S_ISREG(found.st_mode) or stat.S_ISDIR(found.st_mode)):
        return None
    return status_of(found)


def _evidence(
    dist: metadata.Distribution, site: str, described: Described, checked_ns: int
) -> list[Any] | None:
    """``[paths, statuses]`` of all the description depends on, if status proves it."""
    from insidellms_provenance.fingerprint._dist_files import read_dist_text
    from insidellms_provenance.fingerprint._distribution import may_read_files
    from insidellms_provenance.fingerprint._integrity import _package_roots

    info, listed, source = described
    integrity = info["integrity"]
    record = read_dist_text(dist, "RECORD")
    info_dir = Path(str(_metadata_dir(dist))).name
    if (
        source["editable"]
        or source["problems"]
        or info["problems"]
        or info["record_digest"] is None
        or integrity is None
        or integrity["status"] != "verified"
        or record is None
        or may_read_files(record)
        or any(path.startswith(("/", "../")) or path == ".." for path in listed)
    ):
        return None
    paths = {info_dir}
    for path in listed:
        parts = path.split("/")
        paths.update("/".join(parts[: index + 1]) for index in range(len(parts)))
    for root in _package_roots(set(listed), info_dir):
        walked = _walk(site, root)
        if walked is None:
            return None
        paths.update(walked)
    ordered = sorted(paths)
    statuses = []
    for path in ordered:
        status = _lstatus(os.path.join(site, path))
        # Changed while (or just before) it was described: never stored. Checked at
        # once: a fresh install or a first import's bytecode caches stop the walk early.
        if status is None or not settled([status], checked_ns, checked_ns):
            return None
        statuses.append(status)
    return [ordered, statuses]


def _walk(site: str, root: str) -> list[str] | None:
    """Every entry below ``root`` (relative to ``site``), symlinks not followed, or ``None``."""
    found = []
    pending = [root]
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(os.path.join(site, relative)) as entries:
                listed = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
        except OSError:
            return None
        for name, is_directory in listed:
            path = f"{relative}/{name}"
            found.append(path)
            if is_directory:
                pending.append(path)
    return found


def _sources() -> Iterator[str]:
    package = os.path.dirname(os.path.dirname(__file__))
    for module in _DEFINING_MODULES:
        yield package + os.sep + os.sep.join(module.split(".")[1:]) + ".py"


def _entry_name(plugin_dirs: list[str]) -> tuple[str | None, list[Status]]:
    """A digest of the code's status, the interpreter, and the plugins, and that status.

    ``None`` where status cannot prove the code unchanged.
    """
    found = [file_status(source) for source in _sources()]
    code = [status for status in found if status is not None]
    if len(code) != len(found):
        return None, []
    implementation = sys.implementation
    interpreter = repr(
        (
            sys.version,
            implementation.name,
            implementation.cache_tag,
            sys.platform,
            sys.pycache_prefix,
            sys.flags.optimize,
        )
    ).encode()
    digest = hashlib.sha256(_FORMAT)
    parts = (repr(code).encode(), interpreter, *(os.fsencode(path) for path in sorted(plugin_dirs)))
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest(), code
