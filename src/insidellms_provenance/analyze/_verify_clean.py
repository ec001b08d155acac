"""Prove quickly that a distribution has nothing to report; else the integrity check says what.

``verify`` checks every installed file of every distribution, and almost all of them
match their RECORD. :func:`proved_clean` answers only "nothing to report" or "not
proved": it walks the distribution's own directories once (the listing the
unexpected-file check needs), hashing each listed file as it meets it, and gives up at
the first thing that is not the plain, clean case (a mismatch, an unlisted or special
file, a symlink, a bytecode cache, an unusual RECORD). A distribution not proved clean
is checked again, whole, by the one integrity check
(:func:`insidellms_provenance.fingerprint._integrity.check_files`), which alone words
every finding. So the fast path can only be stricter than the check it stands in for:
every answer it gives is one the check gives (``tests/test_verify_clean.py`` holds both
side by side on clean and damaged installs).

Rows outside the walked directories (top-level modules, namespace parts, scripts and
data files that climb out of the site directory) are handed to ``check_files`` itself,
with no directory to walk.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from hashlib import sha256
from stat import S_ISREG
from typing import TYPE_CHECKING, Final

from insidellms_provenance.fingerprint._hashing import hash_fd

# The integrity check's own path markers, flags and package roots: what is plain, how a
# file is opened and which directories are walked must be exactly the check's.
from insidellms_provenance.fingerprint._integrity import (
    _DIRECTORY_FLAGS,
    _FILE_FLAGS,
    _NOT_PLAIN_PATHS,
    _package_roots,
    check_files,
)
from insidellms_provenance.fingerprint._record_file import (
    Hash,
    RecordEntry,
    _b64,
    on_disk_path,
    parse_record,
    plain_rows,
)

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Protocol

    class VerifyTarget(Protocol):
        """What the walk reads of ``analyze._verify.VerifyTarget`` (named here, not imported)."""

        @property
        def site_dir(self) -> Path: ...
        @property
        def dist_info(self) -> str: ...
        @property
        def record_text(self) -> str | None: ...
        @property
        def depth(self) -> int: ...
        @property
        def record_problem(self) -> str | None: ...
        @property
        def relocated_depth(self) -> int: ...


__all__ = ["proved_clean"]

# Deeper directories are left to the check, which bounds the descriptors it keeps open;
# this walk keeps one open a level.
_MAX_DEPTH: Final = 16
_CACHE_DIRECTORY: Final = "__pycache__"
_SHA256: Final = "sha256"
# Files up to this size are read whole here, in one read; larger ones by ``hash_fd``.
_ONE_READ: Final = 1 << 20

# A RECORD row as compared here: (sha256 value or "", size or ""), by path.
_Rows = dict[str, tuple[str, str]]


def proved_clean(  # noqa: PLR0911 - each return is one reason to leave it to the check
    target: VerifyTarget,
    site_fd: int,
    uv_links: bool | Callable[[], bool],
    read: Mapping[str, bytes] | None = None,
) -> bool:
    """Whether ``target`` certainly has no finding (``False``: not proved, check it whole).

    ``site_fd`` is its site directory, open; ``uv_links`` as ``check_files`` takes it.
    ``read``: files of its metadata directory already read, by name, as regular files
    without following a symlink (``entry_points.txt``, read to decide its group): hashed
    from those bytes if the walk finds them there as regular files.
    """
    text = target.record_text
    if text is None or target.record_problem is not None or sys.pycache_prefix is not None:
        return False  # the check reports the RECORD, or looks for caches elsewhere
    found = plain_rows(text)
    if found is None:
        found = _sha256_rows(text)
        if found is None:
            return False
    rows = {path: (value, size) for path, value, size in found}
    if len(rows) != len(found):
        return False  # a path listed twice: each row is checked by itself
    climbing = _climbing_rows(rows)
    if climbing is None or _moved_in(climbing, target.relocated_depth):
        return False
    dist_info = target.dist_info
    roots = frozenset(_package_roots(set(rows), dist_info))
    if "" in roots:
        return False
    if not _clean_roots(site_fd, roots, rows, dist_info, read):
        return False
    rest = {**rows, **climbing}
    if not rest:
        return True
    # No metadata directory given: no directory is walked, and only the wheel spec's
    # hash-less rows of bytecode caches are accepted (RECORD itself was walked above).
    found_there = check_files(
        os.fspath(target.site_dir),
        "",
        [_entry(path, value, size) for path, (value, size) in rest.items()],
        target.depth,
        bytecode=True,
        relocated_depth=target.relocated_depth,
        uv_links=uv_links,
        site_fd=site_fd,
    )
    return not found_there


def _clean_roots(
    site_fd: int,
    roots: frozenset[str],
    rows: _Rows,
    dist_info: str,
    read: Mapping[str, bytes] | None,
) -> bool:
    """Whether the trees at ``roots`` are clean (:func:`_clean_tree`) and hold their rows.

    The rows the walk meets are taken out of ``rows``; those left must lie elsewhere.
    """
    for root in sorted(roots):
        fd = _open_directory(site_fd, root)
        if fd is None:
            return False
        try:
            if not _clean_tree(
                fd, root, rows, dist_info, 0, read=read if root == dist_info else None
            ):
                return False
        finally:
            os.close(fd)
    for path in rows:
        directory = path.rpartition("/")[0]
        while directory and directory not in roots:
            directory = directory.rpartition("/")[0]
        if directory:
            return False  # listed in a walked tree, and not there
    return True


def _sha256_rows(text: str) -> list[tuple[str, str, str]] | None:
    """:func:`plain_rows`'s texts from any RECORD ``parse_record`` reads whole with sha256.

    (pip ends RECORD's lines with CR LF, which the regular expression does not take.)
    """
    entries, rejected = parse_record(text)
    if rejected or any(e.hash_ is not None and e.hash_.name != _SHA256 for e in entries):
        return None
    return [
        (
            entry.path,
            "" if entry.hash_ is None else entry.hash_.value,
            "" if entry.size is None else str(entry.size),
        )
        for entry in entries
    ]


def _entry(path: str, value: str, size: str) -> RecordEntry:
    """The entry ``parse_record`` makes of these texts."""
    return RecordEntry(path, Hash(_SHA256, value) if value else None, int(size) if size else None)


def _climbing_rows(rows: _Rows) -> _Rows | None:
    """The rows climbing out of the site directory, taken out of ``rows``.

    ``None`` when any other path is not plain (``a/./b``, ``a//b``: left to the check).
    Climbing rows (scripts, data files) are checked by ``check_files`` row by row.
    """
    if _plain(rows):
        return {}
    climbing = {path: rows.pop(path) for path in [p for p in rows if p.startswith("../")]}
    return climbing if _plain(rows) else None


def _moved_in(climbing: _Rows, relocated_depth: int) -> bool:
    """Whether a climbing row names a file pip moved into a ``--target`` directory.

    Such a row lies in the site directory (:func:`on_disk_path`) and may make a package
    root the check walks: left to the check.
    """
    return bool(relocated_depth) and any(
        on_disk_path(path, relocated_depth)[1] for path in climbing
    )


def _plain(paths: Iterable[str]) -> bool:
    """Whether no path holds a marker of the check's per-row work (``_NOT_PLAIN_PATHS``)."""
    # Each path between line ends is in the joined text: a marker in any path is found.
    joined = "\n" + "\n".join(paths) + "\n"
    return not any(marker in joined for marker in _NOT_PLAIN_PATHS)


def _open_directory(site_fd: int, path: str) -> int | None:
    """An fd of directory ``path`` below ``site_fd``, no symlink followed; ``None`` if not."""
    fd = site_fd
    for part in path.split("/"):
        try:
            opened: int | None = os.open(part, _DIRECTORY_FLAGS, dir_fd=fd)
        except OSError:
            opened = None
        if fd != site_fd:
            os.close(fd)
        if opened is None:
            return None
        fd = opened
    return fd


def _sha256_of(fd: int) -> tuple[str, str] | None:
    """RECORD's texts for the regular file open as ``fd``: its sha256 value and its size.

    A small file is read in one read of its size and one byte more, as :func:`hash_fd`
    reads it; a large one by ``hash_fd``. ``None`` for anything but a regular file, and
    for a file whose size changed since ``fstat``: not proved.
    """
    try:
        status = os.fstat(fd)
        size = status.st_size
        if not S_ISREG(status.st_mode):
            return None
        if size >= _ONE_READ:
            result = hash_fd(fd, _SHA256)
            return None if isinstance(result, str) else (_b64(result[0]), str(result[1]))
        data = os.read(fd, size + 1)
    except OSError:
        return None
    if len(data) != size:
        return None
    return _b64(sha256(data).digest()), str(size)


def _clean_tree(  # noqa: C901, PLR0911, PLR0912, PLR0913 - one pass, giving up at the first doubt
    fd: int,
    directory: str,
    rows: _Rows,
    dist_info: str,
    depth: int,
    *,
    read: Mapping[str, bytes] | None = None,
) -> bool:
    """Whether the tree at ``directory`` (open as ``fd``) holds listed files only, all right.

    Each listed file is hashed where the listing shows it as a regular file (opened
    with ``O_NOFOLLOW``; ``hash_fd``'s ``fstat`` refuses anything else), as the check's
    common row is; its row is taken out of ``rows``.
    """
    prefix = directory + "/"
    below: list[str] = []
    with os.scandir(fd) as listing:
        for item in listing:
            name = item.name
            if not item.is_file(follow_symlinks=False):
                if not item.is_dir(follow_symlinks=False) or name == _CACHE_DIRECTORY:
                    return False  # a symlink or special file; caches are the check's
                below.append(name)
                continue
            row = rows.pop(prefix + name, None)
            if row is None:
                return False  # not listed
            value, size = row
            if not value:
                if not RecordEntry(prefix + name, None, None).may_lack_hash(dist_info):
                    return False
                continue
            data = read.get(name) if read is not None else None
            if data is not None:
                found: tuple[str, str] | None = (_b64(sha256(data).digest()), str(len(data)))
            else:
                try:
                    opened = os.open(name, _FILE_FLAGS, dir_fd=fd)
                except OSError:
                    return False
                try:
                    found = _sha256_of(opened)
                finally:
                    os.close(opened)
            if found is None or found[0] != value or (size and size != found[1]):
                return False
    if below and depth >= _MAX_DEPTH:
        return False
    for name in below:
        child = _open_directory(fd, name)
        if child is None:
            return False
        try:
            if not _clean_tree(child, prefix + name, rows, dist_info, depth + 1):
                return False
        finally:
            os.close(child)
    return True
