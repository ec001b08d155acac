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
from collections.abc import Callable
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
from insidellms_provenance.fingerprint._record_file import RecordEntry, parse_record

if TYPE_CHECKING:
    from insidellms_provenance.analyze._verify import VerifyTarget

__all__ = ["proved_clean"]

# Deeper directories are left to the check, which bounds the descriptors it keeps open;
# this walk keeps one open a level.
_MAX_DEPTH: Final = 16
_CACHE_DIRECTORY: Final = "__pycache__"


def proved_clean(  # noqa: PLR0911 - each return is one reason to leave it to the check
    target: VerifyTarget, site_fd: int, uv_links: bool | Callable[[], bool]
) -> bool:
    """Whether ``target`` certainly has no finding (``False``: not proved, check it whole).

    ``site_fd`` is its site directory, open; ``uv_links`` as ``check_files`` takes it.
    """
    text = target.record_text
    if text is None or target.record_problem is not None or sys.pycache_prefix is not None:
        return False  # the check reports the RECORD, or looks for caches elsewhere
    entries, rejected = parse_record(text)
    if rejected:
        return False
    plain, rest = _plain_rows(entries)
    if plain is None:
        return False
    listed = {entry.path for entry in plain}
    if len(listed) != len(plain):
        return False  # a path listed twice: each row is checked by itself
    dist_info = target.dist_info
    roots = _package_roots(listed, dist_info)
    if "" in roots:
        return False
    walked = _walked_rows(plain, frozenset(roots), rest)
    if not _clean_roots(site_fd, roots, walked, dist_info):
        return False
    if not rest:
        return True
    # No metadata directory given: no directory is walked, and only the wheel spec's
    # hash-less rows of bytecode caches are accepted (RECORD itself was walked above).
    found = check_files(
        os.fspath(target.site_dir),
        "",
        rest,
        target.depth,
        bytecode=True,
        relocated_depth=target.relocated_depth,
        uv_links=uv_links,
        site_fd=site_fd,
    )
    return not found


def _plain_rows(
    entries: list[RecordEntry],
) -> tuple[list[RecordEntry] | None, list[RecordEntry]]:
    """The rows with plain paths, and those that climb out of the site directory.

    ``None`` when any other path is not plain (``a/./b``, ``a//b``: left to the check).
    Climbing rows (scripts, data files) are checked by ``check_files`` row by row.
    """
    climbing = [entry for entry in entries if entry.path.startswith("../")]
    plain = (
        [entry for entry in entries if not entry.path.startswith("../")] if climbing else entries
    )
    # Each path between line ends is in the joined text: a marker in any path is found.
    joined = "\n" + "\n".join(entry.path for entry in plain) + "\n"
    if any(marker in joined for marker in _NOT_PLAIN_PATHS):
        return None, []
    return plain, climbing


def _walked_rows(
    plain: list[RecordEntry], roots: frozenset[str], rest: list[RecordEntry]
) -> dict[str, dict[str, RecordEntry]]:
    """Rows by directory and name, for directories at or below ``roots``; others to ``rest``."""
    walked: dict[str, dict[str, RecordEntry]] = {}
    below: dict[str, bool] = {}
    for entry in plain:
        directory, _, name = entry.path.rpartition("/")
        inside = below.get(directory)
        if inside is None:
            parent = directory
            while parent and parent not in roots:
                parent = parent.rpartition("/")[0]
            inside = below[directory] = bool(parent)
        if inside:
            walked.setdefault(directory, {})[name] = entry
        else:
            rest.append(entry)
    return walked


def _clean_roots(
    site_fd: int, roots: list[str], walked: dict[str, dict[str, RecordEntry]], dist_info: str
) -> bool:
    """Whether every tree at ``roots`` is clean (:func:`_clean_tree`) and holds every row."""
    for root in roots:
        fd = _open_directory(site_fd, root)
        if fd is None:
            return False
        try:
            if not _clean_tree(fd, root, walked, dist_info, 0):
                return False
        finally:
            os.close(fd)
    return not walked  # else rows in directories the walk did not reach


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


def _clean_tree(  # noqa: C901, PLR0911, PLR0912 - one pass, giving up at the first doubt
    fd: int,
    directory: str,
    walked: dict[str, dict[str, RecordEntry]],
    dist_info: str,
    depth: int,
) -> bool:
    """Whether the tree at ``directory`` (open as ``fd``) holds its rows' files and no other.

    Each listed file is hashed where the listing shows it as a regular file (opened
    with ``O_NOFOLLOW``; ``hash_fd``'s ``fstat`` refuses anything else), as the check's
    common row is. Its rows are taken out of ``walked``.
    """
    rows = walked.pop(directory, {})
    below: list[str] = []
    with os.scandir(fd) as listing:
        for item in listing:
            name = item.name
            if item.is_dir(follow_symlinks=False):
                if name == _CACHE_DIRECTORY:
                    return False  # caches are compared with their sources by the check
                below.append(name)
                continue
            entry = rows.pop(name, None)
            if entry is None or not item.is_file(follow_symlinks=False):
                return False  # not listed, or not a regular file
            hash_ = entry.hash_
            if hash_ is None:
                if not entry.may_lack_hash(dist_info):
                    return False
                continue
            try:
                opened = os.open(name, _FILE_FLAGS, dir_fd=fd)
            except OSError:
                return False
            try:
                result = hash_fd(opened, hash_.name)
            finally:
                os.close(opened)
            if isinstance(result, str) or entry.mismatch(*result) is not None:
                return False
    if rows or (below and depth >= _MAX_DEPTH):
        return False  # a listed file is missing or not a file; or too deep for this walk
    for name in below:
        child = _open_directory(fd, name)
        if child is None:
            return False
        try:
            if not _clean_tree(child, f"{directory}/{name}", walked, dist_info, depth + 1):
                return False
        finally:
            os.close(child)
    return True
