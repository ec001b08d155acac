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
from insidellms_provenance.fingerprint._install_layout import climbing_root

# The integrity check's own path markers, flags and package roots: what is plain, how a
# file is opened and which directories are walked must be exactly the check's.
from insidellms_provenance.fingerprint._integrity import (
    _DIRECTORY_FLAGS,
    _FILE_FLAGS,
    _NOT_PLAIN_PATHS,
    _package_roots,
    check_files,
    directories_above,
    init_files,
)
from insidellms_provenance.fingerprint._record_file import (
    _UNHASHED_IN_DIST_INFO,
    Hash,
    RecordEntry,
    _b64,
    _is_canonical_b64,
    on_disk_path,
    parse_record,
    record_fields,
)

if TYPE_CHECKING:
    from typing import Protocol

    class VerifyTarget(Protocol):
        """What the walk reads of ``analyze._verify.VerifyTarget`` (named here, not imported)."""

        @property
        def site_dir(self) -> str | os.PathLike[str]: ...
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
_SHA256_FIELD: Final = "sha256="
_SHA256_BYTES: Final = 32
# The most digits of a size ``parse_record`` reads as written (its plain reading's bound).
_SIZE_DIGITS: Final = 18
# Files up to this size are read whole here, in one read; larger ones by ``hash_fd``.
_ONE_READ: Final = 1 << 20

# A RECORD row as compared here: its hash field ("sha256=<value>", or "") and size field,
# as written, by path.
_Rows = dict[str, tuple[str, str]]


def proved_clean(  # noqa: C901, PLR0911 - each return is one reason to leave it to the check
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
    fields = record_fields(text)
    if fields is None:
        fields = _sha256_fields(text)
        if fields is None:
            return False
    paths, hashes, sizes = fields
    rows = dict(zip(paths, zip(hashes, sizes, strict=True), strict=True))
    if len(rows) != len(paths) or "" in rows:
        return False  # a path listed twice (each row is checked by itself), or empty
    climbing = _climbing_rows(rows, paths)
    if climbing is None or _moved_in(climbing, target.relocated_depth):
        return False
    dist_info = target.dist_info
    roots = _package_roots(rows.keys(), dist_info)
    if "" in roots:
        return False
    if not _clean_roots(site_fd, roots, rows, dist_info, read):
        return False
    if _left_to_the_check(site_fd, roots, dist_info, rows):
        return False
    if not rows and not climbing:
        return True  # every row was met by the walk
    rest = {**rows, **climbing}
    made = [_entry(path, field, size) for path, (field, size) in rest.items()]
    entries = [entry for entry in made if entry is not None]
    if len(entries) != len(made):
        return False  # a row parse_record rejects: the check reports it
    # No metadata directory given: no directory is walked, and only the wheel spec's
    # hash-less rows of bytecode caches are accepted (RECORD itself was walked above).
    found_there = check_files(
        climbing_root(os.fspath(target.site_dir), target.depth),
        "",
        entries,
        target.depth,
        bytecode=True,
        relocated_depth=target.relocated_depth,
        uv_links=uv_links,
        site_fd=site_fd,
    )
    return not found_there


def _clean_roots(
    site_fd: int,
    roots: list[str],
    rows: _Rows,
    dist_info: str,
    read: Mapping[str, bytes] | None,
) -> bool:
    """Whether the trees at ``roots`` are clean (:func:`_clean_tree`) and hold their rows.

    The rows the walk meets are taken out of ``rows``; those left must lie elsewhere.
    """
    for root in roots:
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
    if rows:
        walked = frozenset(roots)
        for path in rows:
            directory = path.rpartition("/")[0]
            while directory and directory not in walked:
                directory = directory.rpartition("/")[0]
            if directory:
                return False  # listed in a walked tree, and not there
    return True


def _left_to_the_check(site_fd: int, roots: list[str], dist_info: str, rows: _Rows) -> bool:
    """Whether what the walk cannot judge is there: the check then looks at it whole.

    An ``__init__`` (or an unreachable directory) in a namespace directory above a walked
    package; a ``.pth`` file in the site directory among the rows left (``rows``, after
    the walk), which may be an editable install's redirection (the check judges where
    it leads, knowing the metadata directory).
    """
    if _namespace_init_above(site_fd, roots, dist_info):
        return True
    return any(path.endswith(".pth") and "/" not in path for path in rows)


def _namespace_init_above(site_fd: int, roots: list[str], dist_info: str) -> bool:
    """Whether a directory above a walked package may hold an ``__init__`` (or not be reached).

    The check's namespace lookup (``_integrity._namespace_inits``) for the packages the
    walk met; rows left for the check itself are looked up there.
    """
    packages = [root for root in roots if root != dist_info]
    for directory in directories_above(packages):
        fd = _open_directory(site_fd, directory)
        if fd is None:
            return True
        try:
            if init_files(fd):
                return True
        finally:
            os.close(fd)
    return False


def _sha256_fields(text: str) -> tuple[list[str], list[str], list[str]] | None:
    """:func:`record_fields`' columns from any RECORD ``parse_record`` reads whole with sha256.

    (pip ends RECORD's lines with CR LF, which :func:`record_fields` does not take.)
    """
    entries, rejected = parse_record(text)
    if rejected or any(e.hash_ is not None and e.hash_.name != _SHA256 for e in entries):
        return None
    return (
        [entry.path for entry in entries],
        ["" if entry.hash_ is None else _SHA256_FIELD + entry.hash_.value for entry in entries],
        ["" if entry.size is None else str(entry.size) for entry in entries],
    )


def _is_size(size: str) -> bool:
    """Whether a size field is one ``parse_record`` reads as written: none, or up to 18 digits."""
    return not size or (len(size) <= _SIZE_DIGITS and size.isascii() and size.isdigit())


def _entry(path: str, field: str, size: str) -> RecordEntry | None:
    """The entry ``parse_record`` makes of a plain row's fields; ``None`` if it rejects them.

    Stricter than ``parse_record`` where they differ (a size with more digits than
    ``int`` reads at once): such a row is only ever left to the check.
    """
    if not _is_size(size):
        return None
    if not field:
        return RecordEntry(path, None, int(size) if size else None)
    value = field[len(_SHA256_FIELD) :]
    if not field.startswith(_SHA256_FIELD) or not _is_canonical_b64(value, _SHA256_BYTES):
        return None
    return RecordEntry(path, Hash(_SHA256, value), int(size) if size else None)


def _climbing_rows(rows: _Rows, paths: list[str]) -> _Rows | None:
    """The rows climbing out of the site directory, taken out of ``rows`` (of ``paths``).

    ``None`` when any other path is not plain (``a/./b``, ``a//b``: left to the check).
    Climbing rows (scripts, data files) are checked by ``check_files`` row by row.
    """
    if _plain(paths):
        return {}
    climbing = {path: rows.pop(path) for path in paths if path.startswith("../")}
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
    for marker in _NOT_PLAIN_PATHS:  # noqa: SIM110 - a loop: no generator a distribution
        if marker in joined:
            return False
    return True


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


def _large_file_matches(fd: int, field: str, size: str) -> bool:
    """Whether the large regular file open as ``fd`` has the hash ``field`` and ``size``."""
    result = hash_fd(fd, _SHA256)
    if isinstance(result, str):
        return False
    return (not size or size == str(result[1])) and field == _SHA256_FIELD + _b64(result[0])


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

    Each listed file is hashed where the listing shows it as a regular file, as the
    check's common row is: opened without following a symlink or blocking on a FIFO,
    ``fstat`` refusing anything but a regular file, a small file read in one read of its
    size and one byte more (as :func:`hash_fd` reads it), a large one by ``hash_fd``; a
    file whose size changed since ``fstat`` is not proved. Its row is taken out of
    ``rows``. A file's fields are compared as written: equal to the ones made of its
    bytes, they are valid by construction.
    """
    prefix = directory + "/"
    below: list[str] = []
    take = rows.pop
    with os.scandir(fd) as listing:
        for item in listing:
            name = item.name
            if not item.is_file(follow_symlinks=False):
                if not item.is_dir(follow_symlinks=False) or name == _CACHE_DIRECTORY:
                    return False  # a symlink or special file; caches are the check's
                below.append(name)
                continue
            row = take(prefix + name, None)
            if row is None:
                return False  # not listed
            field, size = row
            if not field:
                if not _is_size(size) or not (
                    (directory == dist_info and name in _UNHASHED_IN_DIST_INFO)
                    or RecordEntry(prefix + name, None, None).may_lack_hash(dist_info)
                ):
                    return False
                continue
            data = read.get(name) if read is not None else None
            if data is None:
                # The file's hashing, written out here: this loop runs for every file.
                try:
                    file = os.open(name, _FILE_FLAGS, dir_fd=fd)
                except OSError:
                    return False
                try:
                    status = os.fstat(file)
                    length = status.st_size
                    if not S_ISREG(status.st_mode):
                        return False
                    if length >= _ONE_READ:
                        if _large_file_matches(file, field, size):
                            continue
                        return False
                    data = os.read(file, length + 1)
                except OSError:
                    return False
                finally:
                    os.close(file)
                if len(data) != length:
                    return False
            if (size and size != str(len(data))) or field != _SHA256_FIELD + _b64(
                sha256(data).digest()
            ):
                return False
    if below and depth >= _MAX_DEPTH:
        return False
    for name in below:
        try:
            child = os.open(name, _DIRECTORY_FLAGS, dir_fd=fd)
        except OSError:
            return False
        try:
            if not _clean_tree(child, prefix + name, rows, dist_info, depth + 1):
                return False
        finally:
            os.close(child)
    return True
