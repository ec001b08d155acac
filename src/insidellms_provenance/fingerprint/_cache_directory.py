"""Where the tool keeps what it remembers, which directory it trusts, what proves a file.

The description cache (:mod:`~insidellms_provenance.fingerprint._digest_cache`), the
run's closures (:mod:`~insidellms_provenance.fingerprint._closure_cache`), the plugins'
in-run descriptions (:mod:`~insidellms_provenance.fingerprint._plugin_cache`) and the
remembered bytecode matches
(:mod:`~insidellms_provenance.fingerprint._bytecode_verdicts`) live here; none is read
from a directory someone else could write into.

**Status evidence.** The caches that let a host run skip work prove what they read
unchanged by status where the file system allows it: device, inode, size, mode,
modification and change times, every change time older than the reading by more than
:data:`SETTLED_NS` (git's racy-timestamp rule), on a Linux file system whose change time
only the kernel sets (``docs/decisions.md``, issue 17). Entries are JSON objects in the
cache directory. Standard library and orjson only: this runs inside host runs.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import orjson

__all__ = [
    "CACHE_VARIABLE",
    "SETTLED_NS",
    "Status",
    "cache_directory",
    "file_status",
    "keeps_change_time",
    "load_entry",
    "settled",
    "status_of",
    "store_entry",
    "trusted_directory",
]

CACHE_VARIABLE: Final = "INSIDELLMS_PROVENANCE_CACHE"


def cache_directory(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where entries live: ``$INSIDELLMS_PROVENANCE_CACHE``, else the user's cache directory.

    ``off`` (or an empty value) disables the cache.
    """
    configured = environ.get(CACHE_VARIABLE)
    if configured is not None:
        return None if configured in ("", "off") else Path(configured)
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "insidellms-provenance", "descriptions")


def trusted_directory(directory: Path) -> bool:
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


SETTLED_NS: Final = 3_000_000_000
"""How much older than the reading every change time must be for status evidence to count.

More than the coarsest timestamp granularity of the file systems trusted (two seconds)
plus the lag of the kernel's coarse clock (a scheduler tick): a change made after the
reading then always gets a later change time than the one recorded.
"""
_MAX_ENTRY_BYTES: Final = 1 << 20
_OPEN_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
# Linux file systems whose change time (st_ctime) only the kernel sets, to its clock, on
# every change to a file's content or status (docs/decisions.md, issue 17). Anything
# else (network and FUSE file systems, FAT, other systems) is checked by content.
_CHANGE_TIME_FILE_SYSTEMS: Final = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "zfs", "f2fs", "bcachefs", "overlay"}
)

Status = list[int]
"""``[st_mode, st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns]`` of one file."""


def settled(evidence: list[Status], checked_ns: int, now_ns: int) -> bool:
    """Whether status ``evidence`` taken at ``checked_ns`` proves the files unchanged since.

    Every change time must be older than the reading by more than :data:`SETTLED_NS`
    (a change within the same timestamp tick as the recorded one could keep it), and
    the reading must not lie in the future (a clock set back).
    """
    return checked_ns <= now_ns and all(status[5] <= checked_ns - SETTLED_NS for status in evidence)


def file_status(path: str, *, directory: bool = False) -> Status | None:
    """The status of a regular file (or a ``directory``) as evidence, or ``None``.

    ``None`` when it is missing, of another kind, or on a file system whose change
    time does not prove it unchanged (:func:`keeps_change_time`).
    """
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    if not (stat.S_ISDIR(found.st_mode) if directory else stat.S_ISREG(found.st_mode)):
        return None
    return status_of(found)


_DEVICES: dict[int, bool] = {}


def keeps_change_time(device: int) -> bool:
    """Whether ``device`` holds a Linux file system of :data:`_CHANGE_TIME_FILE_SYSTEMS`.

    Looked up in ``/proc/self/mountinfo`` once a process; a device not listed there
    (a btrfs subvolume that is not a mount point, another system) is not trusted.
    """
    if not _DEVICES and sys.platform == "linux":
        try:
            with open("/proc/self/mountinfo", "rb") as mounts:
                text = mounts.read(1 << 20).decode("utf-8", "replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            fields, _, file_system = line.partition(" - ")
            parts = fields.split(" ")
            if len(parts) < 3 or ":" not in parts[2]:
                continue
            major, _, minor = parts[2].partition(":")
            if major.isdigit() and minor.isdigit():
                kind = file_system.partition(" ")[0]
                number = os.makedev(int(major), int(minor))
                # A device mounted twice with different types is trusted only if both are.
                _DEVICES[number] = _DEVICES.get(number, True) and (
                    kind in _CHANGE_TIME_FILE_SYSTEMS
                )
        _DEVICES.setdefault(-1, False)  # looked up, even if nothing was found
    return _DEVICES.get(device, False)


def status_of(found: os.stat_result) -> Status | None:
    """``found`` as evidence, or ``None`` on a file system whose change time proves nothing."""
    if not keeps_change_time(found.st_dev):
        return None
    return [
        found.st_mode,
        found.st_dev,
        found.st_ino,
        found.st_size,
        found.st_mtime_ns,
        found.st_ctime_ns,
    ]


def load_entry(directory: Path, name: str, *, trusted: bool = False) -> dict[str, Any] | None:
    """The JSON object stored as ``name`` in ``directory``, if it is ours and names itself so.

    ``directory`` must be one only we may write into (checked here unless ``trusted``
    says the caller already has).
    """
    if not trusted and not trusted_directory(directory):
        return None
    data = _read_entry(directory / f"{name}.json")
    try:
        value = orjson.loads(data) if data is not None else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict) or value.get("key") != name:
        return None
    return value


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


def store_entry(directory: Path, name: str, value: dict[str, Any]) -> None:
    """Write ``value`` as ``name`` atomically; a cache that cannot be written is not used."""
    import tempfile  # only when writing: it imports ``random``, which a host run need not

    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not trusted_directory(directory):
            return
        data = orjson.dumps({"key": name, **value})
        if len(data) > _MAX_ENTRY_BYTES:  # it would never be read
            return
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".entry-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temporary, directory / f"{name}.json")
        except OSError:
            os.unlink(temporary)
    except (OSError, orjson.JSONEncodeError):  # a value orjson refuses is not stored
        return
