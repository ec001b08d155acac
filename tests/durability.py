"""Observers of durability for tests: what reached the disk, and what was synced when.

Nothing here patches the code under test.

- :func:`dirty_pages` asks the kernel whether a file's pages in the page cache are dirty
  or under writeback (``/proc/self/pagemap`` gives each mapped page's frame,
  ``/proc/kpageflags`` that frame's flags). A file whose data was ``fsync``-ed has none:
  its bytes are on the disk. Written but not synced, its pages stay dirty until the
  kernel's flusher writes them back (seconds later), so a missing ``fsync`` shows. It
  needs root and a disk-backed file system; :func:`page_cache_observable` calibrates
  on a probe file and says whether this machine can tell.
- :class:`SyncObserver` records, with ``sys.setprofile``, every ``os.fsync`` and
  ``os.replace`` the current thread calls, and for each ``fsync`` the real paths of the
  descriptors its caller holds (``/proc/self/fd``). At each ``replace`` it can also take
  :func:`dirty_pages` of the files its caller names: the new content must be on disk
  *before* the rename, or a crash could leave the name pointing at unwritten data (on
  ext4 a later directory ``fsync`` flushes the data too, so looking only after the call
  returns would miss a missing file ``fsync``). A directory's entry (the rename) cannot
  be seen in the page cache, so "fsync the directory after the rename" is observed at
  the interpreter's boundary with the OS instead.

A crash-simulating file system (LazyFS, dm-log-writes) would observe both directly; it
is not available where these tests run.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import struct
import sys
from pathlib import Path
from types import FrameType
from typing import Any

_DIRTY = 1 << 4
_WRITEBACK = 1 << 8
_PFN_MASK = (1 << 55) - 1


def dirty_pages(path: Path) -> list[bool]:
    """For each page of ``path``: is it dirty or under writeback in the page cache?"""
    fd = os.open(path, os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        mapping = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)
    try:
        view = ctypes.c_char.from_buffer(mapping)
        base = ctypes.addressof(view)
        found = []
        with open("/proc/self/pagemap", "rb") as pagemap, open("/proc/kpageflags", "rb") as kflags:
            for offset in range(0, size, mmap.PAGESIZE):
                _ = mapping[offset]  # fault the page in (a read never dirties it)
                pagemap.seek((base + offset) // mmap.PAGESIZE * 8)
                (entry,) = struct.unpack("<Q", pagemap.read(8))
                kflags.seek((entry & _PFN_MASK) * 8)
                (flags,) = struct.unpack("<Q", kflags.read(8))
                found.append(bool(flags & (_DIRTY | _WRITEBACK)))
        del view
        return found
    finally:
        mapping.close()


def page_cache_observable(directory: Path) -> bool:
    """Whether :func:`dirty_pages` tells synced from unsynced files in ``directory``."""
    probe = directory / ".durability-probe"
    try:
        fd = os.open(probe, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
        try:
            os.write(fd, os.urandom(2 * mmap.PAGESIZE))
            before = dirty_pages(probe)
            os.fsync(fd)
            after = dirty_pages(probe)
        finally:
            os.close(fd)
    except (OSError, ValueError, struct.error):
        return False  # not root, no /proc/kpageflags, or no page frames shown
    finally:
        probe.unlink(missing_ok=True)
    return all(before) and not any(after)


class SyncObserver:
    """``with SyncObserver() as observed:`` records ``("fsync", paths)`` and ``("replace",)``."""

    def __init__(self, *, pages_at_replace: bool = False) -> None:
        self.events: list[tuple[str, frozenset[str]]] = []
        self.pages_at_replace = pages_at_replace
        self.dirty_at_replace: dict[str, list[bool]] = {}

    def __enter__(self) -> SyncObserver:  # noqa: PYI034 - typing.Self is 3.11+
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *_: object) -> None:
        sys.setprofile(None)

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "c_call":
            return
        name = getattr(arg, "__name__", "")
        if name == "fsync" and getattr(arg, "__module__", "") == "posix":
            self.events.append(("fsync", _held_paths(frame)))
        elif name == "replace" and getattr(arg, "__module__", "") == "posix":
            self.events.append(("replace", frozenset()))
            if self.pages_at_replace:
                for path in _named_files(frame):
                    self.dirty_at_replace[path] = dirty_pages(Path(path))


def _named_files(frame: FrameType) -> list[str]:
    """Regular files named by the caller's ``str`` or ``Path`` local variables."""
    return [
        os.path.realpath(value)
        for value in frame.f_locals.values()
        if isinstance(value, (str, Path)) and os.path.isfile(value)
    ]


def _held_paths(frame: FrameType) -> frozenset[str]:
    """Real paths of the open descriptors among the caller's local variables."""
    paths = set()
    for value in frame.f_locals.values():
        fd = value if type(value) is int else getattr(value, "fileno", None)
        if callable(fd):
            try:
                fd = fd()
            except (OSError, ValueError):
                continue
        if type(fd) is int and fd > 2:
            try:
                paths.add(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                continue
    return frozenset(paths)
