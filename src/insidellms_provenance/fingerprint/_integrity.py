"""Check a distribution's installed files against its RECORD: the one integrity check.

Typical usage::

    entries, rejected = parse_record(text)
    findings = check_files(site_dir, dist_info, entries, depth, bytecode=True)
    summary = integrity_summary(findings, rejected, dist_info, bytecode=True)

``record`` (also inside a host run) and ``verify`` both call :func:`check_files`; the
rules, and what they prove, are in ``docs/verify.md``. Standard library only: this runs
inside every host run. Nothing here imports or executes plugin code: bytecode caches are
read with :mod:`marshal` and compared with what :func:`compile` makes of the source,
never run.
"""

from __future__ import annotations

import functools
import marshal
import operator
import os
import posixpath
import stat
import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from types import CodeType
from typing import TYPE_CHECKING, Final

from insidellms_provenance._safe_io import FileRefusedError, read_open_file
from insidellms_provenance.field import schema
from insidellms_provenance.field._names import path_text
from insidellms_provenance.field.schema import Integrity, IntegrityStatus
from insidellms_provenance.fingerprint._hashing import hash_fd, read_file
from insidellms_provenance.fingerprint._record_file import (
    RecordEntry,
    check_path,
    is_bytecode_cache,
    is_cache_outside_root,
    on_disk_path,
)

if TYPE_CHECKING:
    from insidellms_provenance.fingerprint._bytecode_verdicts import BytecodeVerdicts

__all__ = [
    "BYTECODE_CHECKED",
    "BYTECODE_NOT_CHECKED",
    "PYCACHE_PREFIX_MARKER",
    "Finding",
    "cached_code_problem",
    "check_files",
    "directories_above",
    "init_files",
    "integrity_summary",
    "is_uv_link",
    "same_code",
]

BYTECODE_CHECKED: Final = "checked"
BYTECODE_NOT_CHECKED: Final = "not_checked"

# What each problem means for ``integrity.status``: the bytes on disk are not the
# recorded ones (``modified``), or they could not be compared (``unverifiable``).
# Rows whose path is refused are RECORD's fault: the file is never opened.
_REFUSED_ROW_PREFIXES: Final = ("refused: absolute", "refused: backslash", "refused: path")
_NO_HASH: Final = "no hash in RECORD"
_SPECIAL_FILE: Final = "refused: special file (not opened)"


class Finding(tuple[str, str]):
    """One integrity problem: a path relative to the site directory and what is wrong.

    A tuple with named fields, written out: a ``NamedTuple`` class costs ≈ 0.2 ms to
    create, in every host run (see ``_record_file.Hash``).
    """

    __slots__ = ()

    def __new__(cls, path: str, problem: str) -> Finding:  # noqa: PYI034 - final in effect
        return tuple.__new__(cls, (path, problem))

    if TYPE_CHECKING:

        @property
        def path(self) -> str: ...
        @property
        def problem(self) -> str: ...

    else:
        path = property(operator.itemgetter(0))
        problem = property(operator.itemgetter(1))

    def __getnewargs__(self) -> tuple[str, str]:
        return (self[0], self[1])

    def __repr__(self) -> str:
        return f"Finding(path={self[0]!r}, problem={self[1]!r})"

    @property
    def refused_row(self) -> bool:
        """Whether RECORD's row was refused (its path is unsafe), so nothing was opened."""
        return self.problem.startswith(_REFUSED_ROW_PREFIXES)

    @property
    def modified(self) -> bool:
        """Whether the problem means different bytes (not just bytes we could not check)."""
        return not (
            self.refused_row or self.problem.startswith("unreadable") or self.problem == _NO_HASH
        )


def check_files(  # noqa: C901, PLR0913 - where the files are, what RECORD lists, how to read
    site_dir: str,
    dist_info: str,
    entries: Iterable[RecordEntry],
    depth: int,
    *,
    bytecode: bool,
    relocated_depth: int = 0,
    uv_links: bool | Callable[[], bool] = False,
    site_fd: int | None = None,
    verdicts: BytecodeVerdicts | None = None,
) -> list[Finding]:
    """Every finding for one distribution's RECORD rows, unexpected files and caches.

    ``depth`` is the site directory's depth below the environment prefix (see
    :func:`check_path`); ``relocated_depth`` that of a ``--target`` directory's rows,
    resolved as ``record_digest`` resolves them (:func:`on_disk_path`). With
    ``bytecode``, each cache this interpreter would load in place of a listed source is
    compared with the source's compiled code. ``uv_links`` (the distribution's INSTALLER
    says ``uv``; or a function that reads it, called only when a listed file is a
    symlink): a listed file that is itself a symlink to a regular file is read through
    its link, as uv's symlink link mode installs every file; a symlink in a directory
    component is never followed (``docs/verify.md``). ``site_fd``: ``site_dir`` already
    open, used and left open (a caller checking many distributions of one site
    directory opens it once). ``verdicts``: bytecode matches found before by this code
    on these very bytes (``record`` only; never ``verify``).
    """
    entries = list(entries)
    archive = _archive_problem(site_dir, site_fd)
    if archive is not None:
        return [Finding(path_text(f"{dist_info}/RECORD"), archive)]
    plain_rows, on_disk, normalized = _row_paths(entries, relocated_depth)
    listed = set(normalized)
    roots = _package_roots(listed, dist_info)
    findings: list[Finding] = []
    files = _SiteFiles(site_dir, roots, uv_links, site_fd)
    place = files.place
    last_directory: str | None = None
    listing: dict[str, int] | None = None
    try:
        for entry, path, normal, plain in zip(
            entries, on_disk, normalized, plain_rows, strict=True
        ):
            hash_ = entry.hash_
            if plain and hash_ is not None:
                # The common row, inline: a hashed file its directory's listing shows
                # as a regular file, opened without a stat (hash_fd's fstat checks what
                # was opened). Anything else, or a failed open, takes _row_problem.
                directory, _, name = normal.rpartition("/")
                if directory != last_directory:
                    last_directory = directory
                    place_fd, listing = place(directory)
                    dir_fd = place_fd if isinstance(place_fd, int) else -1
                if listing is not None and listing.get(name) == _REGULAR:
                    try:
                        opened = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
                    except OSError:
                        pass
                    else:
                        try:
                            result = hash_fd(opened, hash_.name)
                        finally:
                            os.close(opened)
                        problem = result if isinstance(result, str) else entry.mismatch(*result)
                        if problem is not None:
                            findings.append(Finding(entry.path, problem))
                        continue
            last_directory = None  # the directories kept open may change below
            problem = _row_problem(files, dist_info, depth, entry, path, normal)
            if problem is not None:
                findings.append(Finding(entry.path, problem))
        findings = _without_recompiled_caches(findings, entries, normalized)
        findings += _unexpected_files(files, roots, listed, dist_info)
        findings += _shadowing_entries(files, listed)
        findings += _namespace_inits(files, listed)
        findings += _editable_redirects(files, dist_info, listed)
        if bytecode:
            findings += _bytecode_findings(files, entries, normalized, verdicts)
    finally:
        files.close()
    return _shown(findings)


def _shown(findings: list[Finding]) -> list[Finding]:
    """``findings`` with each path as ``field._names.path_text`` writes it (one to one).

    Names read from the disk need not be UTF-8, and RECORD's may hold a backslash.
    """
    return [Finding(path_text(path), problem) for path, problem in findings]


# The problem of a distribution Python imports from an archive file on ``sys.path``.
_IN_ARCHIVE: Final = "unreadable (inside an archive file: the files it lists are not checked)"


def _archive_problem(site_dir: str, site_fd: int | None) -> str | None:
    """Why nothing of a distribution inside an archive (a zip on ``sys.path``) is checked.

    ``zipimport`` loads such a distribution and ``importlib.metadata`` reads its RECORD,
    but its files are members of the archive, not files below a directory: checked one
    by one, each would be "missing" and an intact archive would read as tampered. One
    ``fstat`` (or ``stat``) for every other distribution.
    """
    path = site_dir.rstrip("/") or "/"
    try:
        info = os.fstat(site_fd) if site_fd is not None else os.stat(path)
    except OSError:
        info = None
    if info is not None:
        return _IN_ARCHIVE if stat.S_ISREG(info.st_mode) else None
    while True:  # a directory inside the archive (``plugins.zip/lib``): the file above
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
        try:
            info = os.stat(path)
        except OSError:
            continue
        return _IN_ARCHIVE if stat.S_ISREG(info.st_mode) else None


def _row_paths(
    entries: list[RecordEntry], relocated_depth: int
) -> tuple[list[bool], list[str], list[str]]:
    """Which rows' paths are plain, and each as :func:`on_disk_path` has it, normalized.

    Plain: the path does not climb (:func:`on_disk_path`), change under ``normpath``,
    or is one :func:`check_path` refuses, so it is used as it is. Most RECORDs are plain
    throughout: one scan of the joined paths says so (each marker at a path's edge is
    next to a line end); in the others (scripts and data files climb out with ``..``)
    each path is looked at.
    """
    paths = [entry.path for entry in entries]
    joined = "\n" + "\n".join(paths) + "\n"
    if not any(marker in joined for marker in _NOT_PLAIN_PATHS):
        return [True] * len(paths), paths, paths
    plain = [not any(marker in f"\n{path}\n" for marker in _NOT_PLAIN_PATHS) for path in paths]
    if relocated_depth:
        paths = [on_disk_path(path, relocated_depth)[0] for path in paths]
    return plain, paths, list(map(posixpath.normpath, paths))


def _row_problem(  # noqa: PLR0913, PLR0917 - the row, where it lies, and how to check it
    files: _SiteFiles, dist_info: str, depth: int, entry: RecordEntry, path: str, normal: str
) -> str | None:
    """What is wrong with one row's file, if anything.

    ``path`` is the row's path as :func:`on_disk_path` resolves it, ``normal`` the same
    normalized. The file is reached component by component from the site directory
    (``dir_fd`` and ``O_NOFOLLOW``), so a symlink anywhere in its path is refused, not
    followed.
    """
    # The only paths check_path may refuse (its own tests, cheaper than its call).
    if "\x00" in path or "\\" in path or ".." in path or path[:1] == "/" or path[1:2] == ":":
        refusal = check_path(path, depth)
        if refusal is not None:
            # A hash-less cache pip listed under a pycache prefix outside the environment
            # claims no bytes: never opened (record_file.is_cache_outside_root).
            return None if is_cache_outside_root(entry, path, refusal) else f"refused: {refusal}"
    hash_ = entry.hash_
    if hash_ is None:
        return _unhashed_problem(files, dist_info, entry, normal)
    opened = files.open(normal)
    if isinstance(opened, str):
        return opened
    try:
        result = hash_fd(opened, hash_.name)
    finally:
        os.close(opened)
    return result if isinstance(result, str) else entry.mismatch(*result)


def _unhashed_problem(
    files: _SiteFiles, dist_info: str, entry: RecordEntry, normal: str
) -> str | None:
    """The problem of a row without a hash (at ``normal``), if any: nothing is hashed.

    A name its directory's listing shows as a regular file is not opened (the listing
    already says what opening it would: RECORD itself, on every distribution).
    """
    if files.listed_regular(normal):
        return None if entry.may_lack_hash(dist_info) else _NO_HASH
    opened = files.open(normal)
    if opened == "missing":
        return None if is_bytecode_cache(entry.path) else "missing"
    if isinstance(opened, str):
        return opened
    os.close(opened)
    return None if entry.may_lack_hash(dist_info) else _NO_HASH


def integrity_summary(
    findings: Iterable[Finding], *, record_problem: bool, dist_info: str, bytecode: bool
) -> Integrity:
    """``distribution.integrity``: status, the paths at fault, whether caches were checked.

    ``record_problem`` says RECORD itself is missing, not CSV, or has rows that were
    rejected or refused: RECORD is then at fault and what it lists cannot all be checked.
    """
    findings = list(findings)
    # A refused row's path is RECORD's text, not a file (it may be absolute): RECORD is
    # at fault, and the field never holds an absolute path.
    paths = {finding.path for finding in findings if not finding.refused_row}
    if record_problem or any(finding.refused_row for finding in findings):
        paths.add(path_text(f"{dist_info}/RECORD"))
    status: IntegrityStatus = "verified"
    if any(finding.modified for finding in findings):
        status = "modified"
    elif paths:
        status = "unverifiable"
    return schema.integrity(
        status=status,
        paths=(_field_path(path) for path in paths),
        bytecode=BYTECODE_CHECKED if bytecode else BYTECODE_NOT_CHECKED,
    )


def _field_path(path: str) -> str:
    """A path as the field shows it: ``../../../bin/x`` becomes ``{prefix}/bin/x``."""
    if path.startswith("../"):
        stripped = path
        while stripped.startswith("../"):
            stripped = stripped[3:]
        return "{prefix}/" + stripped
    return path


# What a path (in RECORD's joined paths, each between "\n"s) needs per-row work for:
# NUL, backslash, a drive letter, ".." (check_path; on_disk_path), and what normpath
# changes: "//", "." components, a trailing "/", a leading "/", an empty path.
_NOT_PLAIN_PATHS: Final = (
    "\x00",
    "\\",
    ":",
    "..",
    "//",
    "/./",
    "/.\n",
    "\n./",
    "\n.\n",
    "/\n",
    "\n/",
    "\n\n",
)
_INIT: Final = "__init__.py"
_INIT_PATH: Final = "/" + _INIT
_DIRECTORY_FLAGS: Final = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


# Directories kept open by :class:`_SiteFiles`: a bound, so no descriptor limit is reached.
_KEPT_DIRECTORIES: Final = 16
_REGULAR, _DIRECTORY, _OTHER = 0, 1, 2


class _SiteFiles:
    """Files below a site directory, reached without following a symlink in any component.

    Directories are opened component by component from the site directory (leading
    ``..`` components climb from it first), never through a symlink, and the last few
    are kept open, so the files of one directory cost one ``open`` each, as RECORD lists
    a package's files together. The directories at or below ``roots`` (the ones
    :func:`_unexpected_files` walks) are listed once, and a name listed as a regular file
    is opened without a ``stat`` first: that listing is the walk's too. Everything else,
    and anything that changed since it was listed, goes through :func:`_open_file`'s
    checks, with the same answers.
    """

    def __init__(
        self,
        root: str,
        roots: Iterable[str],
        uv_links: bool | Callable[[], bool],
        root_fd: int | None = None,
    ) -> None:
        self.root = root
        self._roots = frozenset(roots)
        self._uv_links = uv_links
        self._open: dict[tuple[int, str], int] = {}
        # ``root_fd``, the root already open, is the caller's to close.
        self._borrowed = -1 if root_fd is None else root_fd
        if root_fd is not None:
            self._open[0, ""] = root_fd
        # Listings of the directories at or below the roots; None: not listable.
        self._listings: dict[str, dict[str, int] | None] = {}
        self._below_roots: dict[str, bool] = {}
        # The directory of the last file opened, its fd and listing: RECORD lists a
        # package's files together. Forgotten whenever a kept directory is closed.
        self._last: tuple[str, int | str, dict[str, int] | None] | None = None

    def uv_links(self) -> bool:
        """Whether a listed file may be read through a symlink into uv's cache.

        Asked only when a listed file is a symlink (or a cache's source is read): the
        answer may need a file of its own read (INSTALLER).
        """
        if not isinstance(self._uv_links, bool):
            self._uv_links = bool(self._uv_links())
        return self._uv_links

    def close(self) -> None:
        """Close the directories kept open."""
        self._last = None
        for fd in self._open.values():
            if fd != self._borrowed:
                os.close(fd)
        self._open.clear()

    def open(self, path: str) -> int | str:
        """An fd of the regular file at normalized ``path``, or why it was not opened.

        The file itself is read through a symlink only with ``uv_links`` (see
        :func:`check_files`).
        """
        if path == ".." or path.startswith("../"):
            return self._open_above(path)
        directory, _, name = path.rpartition("/")
        dir_fd, listing = self.place(directory)
        if isinstance(dir_fd, str):
            return dir_fd
        if listing is not None and listing.get(name) == _REGULAR:
            try:
                return os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
            except OSError:
                pass  # changed since it was listed: the checks below say how
        return _open_file(name, dir_fd, self.uv_links)

    def listed_regular(self, path: str) -> bool:
        """Whether the listing of the normalized ``path``'s directory shows a regular file."""
        if path == ".." or path.startswith("../"):
            return False
        directory, _, name = path.rpartition("/")
        listing = self.place(directory)[1]
        return listing is not None and listing.get(name) == _REGULAR

    def place(self, directory: str) -> tuple[int | str, dict[str, int] | None]:
        """The fd (or why not) and the kept listing (if below the roots) of ``directory``.

        A listing is returned only with an fd. The fd stays open until another
        directory is reached (a bounded number are kept open).
        """
        last = self._last
        if last is not None and last[0] == directory:
            return last[1], last[2]
        dir_fd = self._directory(0, directory)
        listing = None if isinstance(dir_fd, str) else self._listing(directory, dir_fd)
        self._last = (directory, dir_fd, listing)
        return dir_fd, listing

    def _open_above(self, path: str) -> int | str:
        """:meth:`open` for a path climbing out of the site directory (scripts, data)."""
        parts = path.split("/")
        climb = 0
        while climb < len(parts) and parts[climb] == "..":
            climb += 1
        if climb == len(parts):  # a row naming a directory above the site directory
            return _SPECIAL_FILE
        dir_fd = self._directory(climb, "/".join(parts[climb:-1]))
        if isinstance(dir_fd, str):
            return dir_fd
        return _open_file(parts[-1], dir_fd, self.uv_links)

    def listing(self, directory: str) -> dict[str, int] | None:
        """Name to kind (``_REGULAR``, ``_DIRECTORY``, ``_OTHER``) in ``directory``.

        ``None`` if it is not a directory reached without a symlink, or cannot be read.
        Kept for the directories at or below the roots.
        """
        if directory in self._listings:
            return self._listings[directory]
        parent, _, name = directory.rpartition("/")
        if parent in self._listings:
            above = self._listings[parent]
            if above is None or above.get(name) != _DIRECTORY:
                return None  # its parent's listing says it is not a directory
        dir_fd = self._directory(0, directory)
        if isinstance(dir_fd, str):
            return None
        return self._listing(directory, dir_fd, always=True)

    def _listing(
        self, directory: str, dir_fd: int, *, always: bool = False
    ) -> dict[str, int] | None:
        """The listing of ``directory`` open as ``dir_fd``: kept if below the roots.

        Without ``always``, ``None`` for a directory not below the roots.
        """
        if directory in self._listings:
            return self._listings[directory]
        below = self._below_roots.get(directory)
        if below is None:
            below = self._below_roots[directory] = self.is_below_roots(directory)
        if not below and not always:
            return None
        try:
            with os.scandir(dir_fd) as entries:
                listing: dict[str, int] | None = {
                    entry.name: _REGULAR
                    if entry.is_file(follow_symlinks=False)
                    else _DIRECTORY
                    if entry.is_dir(follow_symlinks=False)
                    else _OTHER
                    for entry in entries
                }
        except OSError:
            listing = None
        if below:
            self._listings[directory] = listing
        return listing

    def is_below_roots(self, directory: str) -> bool:
        """Whether ``directory`` is a root or below one (walked for unexpected files)."""
        while directory:
            if directory in self._roots:
                return True
            directory = directory.rpartition("/")[0]
        return False

    def _directory(self, climb: int, directory: str) -> int | str:
        """An fd of ``directory`` below the site directory's ``climb``-th parent, or why not."""
        fd = self._open.get((climb, directory))
        if fd is not None:
            return fd
        parent, _, name = directory.rpartition("/")
        parent_fd = self._open.get((climb, parent)) if directory else None
        if parent_fd is not None:  # the usual case: the next directory down
            opened = _open_directory(name, parent_fd)
            if not isinstance(opened, str):
                self._keep((climb, directory), opened)
            return opened
        return self._open_down(climb, directory.split("/") if directory else [])

    def _open_down(self, climb: int, parts: list[str]) -> int | str:
        """:meth:`_directory` from the deepest directory kept open above it."""
        fd = None
        done = len(parts) - 1
        while done >= 0:  # the deepest open directory above it
            fd = self._open.get((climb, "/".join(parts[:done])))
            if fd is not None:
                break
            done -= 1
        if fd is None:
            base = self.root
            for _ in range(climb):
                base = os.path.dirname(base)
            try:
                fd = os.open(base, os.O_RDONLY)
            except OSError:
                return "missing"
            self._keep((climb, ""), fd)
            done = 0
        for index in range(done, len(parts)):
            opened = _open_directory(parts[index], fd)
            if isinstance(opened, str):
                return opened
            fd = opened
            self._keep((climb, "/".join(parts[: index + 1])), fd)
        return fd

    def _keep(self, key: tuple[int, str], fd: int) -> None:
        """Keep ``fd`` open for later files; close the oldest beyond the bound."""
        self._open[key] = fd
        if len(self._open) > _KEPT_DIRECTORIES:
            oldest = self._open.pop(next(iter(self._open)))
            self._last = None
            if oldest != self._borrowed:
                os.close(oldest)


def _open_directory(name: str, dir_fd: int) -> int | str:
    """The fd of directory ``name`` in ``dir_fd`` (never through a symlink), or why not."""
    try:
        return os.open(name, _DIRECTORY_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        if _is_symlink(name, dir_fd):
            return "refused: symlink in path (not followed)"
        if isinstance(error, NotADirectoryError):
            return "missing"
        return f"unreadable ({error.strerror})"


def _open_file(name: str, dir_fd: int, uv_links: Callable[[], bool]) -> int | str:
    """The fd of regular file ``name`` in ``dir_fd`` (not special, not a symlink).

    If ``uv_links()`` says so, a symlink to a regular file is read through
    (:func:`check_files`).
    """
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return f"unreadable ({error.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return _open_uv_link(name, dir_fd) if uv_links() else "refused: symlink (not followed)"
    if not stat.S_ISREG(info.st_mode):
        return _SPECIAL_FILE
    try:
        return os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        return f"unreadable ({error.strerror})"


def _into_uv_archive(target: str) -> bool:
    """Whether a link target lies in an unpacked archive of uv's cache (``…/archive-vN/…``).

    uv's symlink link mode links each installed file to its copy under the cache's
    ``archive-v0/<id>/`` tree; a link elsewhere (``/etc/passwd``, another package) is not
    one of uv's and stays refused.
    """
    parts = target.split("/")
    return target.startswith("/") and any(
        part.startswith("archive-v") and part[len("archive-v") :].isdigit() for part in parts[:-2]
    )


def _open_uv_link(name: str, dir_fd: int) -> int | str:
    """The fd of the regular file symlink ``name`` points to (uv's symlink link mode)."""
    try:
        if not _into_uv_archive(os.readlink(name, dir_fd=dir_fd)):
            return "refused: symlink (not into uv's cache)"
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0), dir_fd=dir_fd)
    except OSError:
        return "refused: symlink (not followed)"
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        regular = False
    if not regular:
        os.close(fd)
        return "refused: symlink (not followed)"
    return fd


def is_uv_link(path: str) -> bool:
    """Whether ``path`` is a symlink :func:`check_files` reads through with ``uv_links``."""
    try:
        return (
            os.path.islink(path)
            and _into_uv_archive(os.readlink(path))
            and stat.S_ISREG(os.stat(path).st_mode)
        )
    except (OSError, ValueError):
        return False


def _is_symlink(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _cache_source(cache_path: str) -> str:
    """``pkg/__pycache__/mod.cpython-311.opt-1.pyc`` → ``pkg/mod.py``."""
    directory, _, name = cache_path.rpartition("/__pycache__/")
    stem = name.split(".", 1)[0]
    return f"{directory}/{stem}.py" if directory else f"{stem}.py"


def _package_roots(listed: Collection[str], dist_info: str) -> list[str]:
    """The directories :func:`_unexpected_files` walks, sorted, then ``dist_info``.

    Package directories are those whose ``__init__.py`` RECORD lists (so namespace
    directories shared with other distributions are not claimed), plus the
    ``*.dist-info`` directory. A package inside another is walked with it.
    """
    packages = {
        path[: -len(_INIT_PATH)]
        for path in listed
        if path.endswith(_INIT_PATH) and not path.startswith("../")
    }
    if _INIT in listed:
        packages.add("")  # a top-level __init__.py: the site directory's own
    # Sorted with a "/" after each, a package's subpackages follow it at once.
    roots: list[str] = []
    kept = None
    for package in sorted([package + "/" for package in packages]):
        if kept is None or not package.startswith(kept):
            roots.append(package[:-1])
            kept = package
    roots.sort()
    if dist_info:
        roots.append(dist_info)
    return roots


def _unexpected_files(
    files: _SiteFiles, roots: list[str], listed: set[str], dist_info: str
) -> list[Finding]:
    """Files in the distribution's own package directories that RECORD does not list.

    ``roots`` are :func:`_package_roots`, ``listed`` the normalized paths RECORD lists.
    A bytecode cache is expected when RECORD lists its source; a ``.pyc`` that no listed
    source explains is reported. A file another distribution of the site directory
    lists is that distribution's (:func:`_claimed_by_others`).
    """
    found = [
        path
        for root in roots
        for path in _entries_below(files, root, listed)
        if not (is_bytecode_cache(path) and _cache_source(path) in listed)
    ]
    if found:
        claimed = _claimed_by_others(files, found, listed, dist_info)
        found = [path for path in found if path not in claimed]
    return [
        Finding(
            path,
            "unexpected bytecode: no listed source explains it"
            if path.endswith(".pyc")
            else "unexpected file: not listed in RECORD",
        )
        for path in found
    ]


def _claimed_by_others(
    files: _SiteFiles, found: list[str], listed: set[str], dist_info: str
) -> set[str]:
    """The unlisted files ``found`` that another RECORD of the site directory accounts for.

    Portions of a ``pkgutil`` namespace each list the shared ``ns/__init__.py``, so each
    walks the others' subpackages; a distribution may install a subpackage into another's
    package. Such a file is accounted for when a ``*.dist-info/RECORD`` beside ours
    lists it with a hash its bytes match; a bytecode cache, when that RECORD so lists its
    source and the cache is the source's code (or one Python would not load). Only in a
    directory where our RECORD lists nothing but ``__init__`` modules (a shared
    namespace, or another's subpackage), so never in our metadata directory or beside
    our modules; and never a module Python would import in place of or before one our
    RECORD lists (same module name, or an ``__init__`` above it): another RECORD, which
    anyone able to add the file could add too, never excuses what would run instead of
    this distribution's code (``docs/verify.md``).

    Other RECORDs are read only here, when the walk found unlisted files, and only of
    projects named after a directory above them (``zz_beta`` for ``zz/beta/…``), at
    most :data:`_MOST_OWNERS`: a site directory may hold thousands of distributions,
    and a file in each would otherwise read every RECORD once per distribution. A
    RECORD that names none of the files as text is not parsed.
    """
    # Directories where RECORD lists more than ``__init__`` modules: this distribution's
    # own, never shared (a file dropped there is reported, whoever claims it).
    own = {
        directory
        for directory, _, name in (path.rpartition("/") for path in listed)
        if not name.startswith("__init__.")
    }
    wanted: dict[str, str] = {}  # unlisted file -> the path another RECORD must list
    for path in found:
        owned = _cache_source(path) if is_bytecode_cache(path) else path
        if owned.rpartition("/")[0] not in own and not path.startswith(f"{dist_info}/"):
            wanted[path] = owned
    if wanted:
        from importlib.machinery import all_suffixes

        suffixes = all_suffixes()
        taken = _names_taken(listed, suffixes)
        wanted = {
            path: owned
            for path, owned in wanted.items()
            if taken.isdisjoint(_module_paths(owned, suffixes))
        }
    if not wanted:
        return set()
    words = {word for path in wanted for part in path.split("/")[:-1] for word in _words(part)}
    others = [name for name in _named_after(files, words) if name != dist_info]
    from insidellms_provenance._safe_io import RECORD_FILE_LIMIT
    from insidellms_provenance.fingerprint._record_file import parse_record

    claimed: set[str] = set()
    for name in others:
        if not wanted:
            break
        text = _read_text(files, f"{name}/RECORD", RECORD_FILE_LIMIT)
        if text is None or not any(owned in text for owned in wanted.values()):
            continue
        rows = {
            posixpath.normpath(entry.path): entry
            for entry in parse_record(text)[0]
            if entry.hash_ is not None
        }
        for path, owned in list(wanted.items()):
            entry = rows.get(owned)
            if entry is not None and _claim_holds(files, path, owned, entry):
                claimed.add(path)
                del wanted[path]
    return claimed


# The most other RECORDs read for one distribution's unlisted files.
_MOST_OWNERS: Final = 16
# A word more projects than this are named with is no clue to the owner.
_COMMON_WORD: Final = 64


def _words(name: str) -> list[str]:
    """The words of a directory or project name: lower case, split at ``-``, ``_``, ``.``."""
    return [word for word in name.lower().replace("-", "_").replace(".", "_").split("_") if word]


def _named_after(files: _SiteFiles, words: Collection[str]) -> list[str]:
    """The site directory's ``*.dist-info`` whose project name has one of ``words``.

    ``zz_beta-1.0.dist-info`` for ``zz/beta/…``, ``azure_storage_blob`` for
    ``azure/storage/``. Most words in common first, then by name; at most
    :data:`_MOST_OWNERS`. A word more than :data:`_COMMON_WORD` projects have is no clue.
    """
    site_fd = files.place("")[0]
    if isinstance(site_fd, str):
        return []
    try:
        status = os.fstat(site_fd)
    except OSError:
        return []
    index = _projects_by_word(files.root, (status.st_dev, status.st_ino, status.st_mtime_ns))
    counts: dict[str, int] = {}
    for word in words:
        named = index.get(word, ())
        if len(named) > _COMMON_WORD:
            continue  # says nothing of the owner (``bench`` of ``bench_dist_0001``)
        for name in named:
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda name: (-counts[name], name))[:_MOST_OWNERS]


@functools.lru_cache(maxsize=4)
def _projects_by_word(site_dir: str, identity: tuple[int, int, int]) -> dict[str, list[str]]:
    """Word to the ``*.dist-info`` names of ``site_dir`` whose project name has it.

    Kept per directory state (``identity``: device, inode, modification time, which
    changes with every name added or removed), so a site directory of thousands of
    distributions is listed once, not once for each distribution with an unlisted file.
    """
    del identity  # the cache key only
    try:
        names = os.listdir(site_dir)
    except OSError:
        return {}
    index: dict[str, list[str]] = {}
    for name in names:
        if name.endswith(".dist-info"):
            for word in set(_words(name.partition("-")[0])):
                index.setdefault(word, []).append(name)
    return index


def _names_taken(listed: Collection[str], suffixes: list[str]) -> set[str]:
    """Module paths a file excused as another distribution's must not have.

    Each module RECORD lists (:func:`_module_paths`: ``mod.py`` and ``mod.<ext>.so``, or a
    package ``mod/__init__.py``), and each directory above a listed path: a file of such
    a module path is one Python would import in place of, or before, a listed module.
    """
    modules = {module for path in listed for module in _module_paths(path, suffixes)}
    return modules | set(directories_above(listed))


def _module_paths(path: str, suffixes: list[str]) -> Iterator[str]:
    """``pkg/mod`` for ``pkg/mod<import suffix>``, ``pkg`` for ``pkg/__init__<suffix>``.

    One for each import suffix the name ends with (``.so`` and ``.abi3.so``).
    """
    directory, _, name = path.rpartition("/")
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            if stem == "__init__":
                yield directory
            else:
                yield f"{directory}/{stem}" if directory else stem


def _claim_holds(files: _SiteFiles, path: str, owned: str, entry: RecordEntry) -> bool:
    """Whether the file ``owned`` matches ``entry``, another RECORD's row (with a hash).

    And the cache ``path``, if it is not ``owned``, is its source's code or one Python
    would not load (as :func:`_bytecode_findings` judges a listed source's cache).
    """
    if entry.hash_ is None:
        return False
    opened = files.open(owned)
    if isinstance(opened, str):
        return False
    try:
        result = hash_fd(opened, entry.hash_.name)
    finally:
        os.close(opened)
    if isinstance(result, str) or entry.mismatch(*result) is not None:
        return False
    if path == owned:
        return True
    data = _read_cache(files, path)
    if not isinstance(data, bytes):
        return False
    level = 2 if path.endswith(".opt-2.pyc") else 1 if path.endswith(".opt-1.pyc") else 0
    return _loaded_code_problem(os.path.join(files.root, owned), data, level) is None


def _shadowing_entries(files: _SiteFiles, listed: set[str]) -> list[Finding]:
    """Unlisted entries Python would import in place of a listed module outside the roots.

    A top-level module or a module of a namespace directory (``nsx/plug.py``) lies in a
    directory the unexpected-file walk does not claim (others' files live there too).
    Beside it, an extension module of the same name (``plug.cpython-311-x86_64-linux-
    gnu.so``) or a package directory (``plug/__init__.py``) is imported first, and the
    listed file never runs. Each is looked up by name (a few ``lstat`` calls a module),
    not listed: a site directory can hold thousands of entries.
    """
    findings = []
    for path in listed:
        if not path.endswith(".py") or path.startswith("../"):
            continue
        directory, _, name = path.rpartition("/")
        stem = name[:-3]
        if stem == "__init__" or not stem.isidentifier() or files.is_below_roots(directory):
            continue
        dir_fd = files.place(directory)[0]
        if isinstance(dir_fd, str):
            continue  # the listed file's own row says why its directory cannot be reached
        prefix = f"{directory}/" if directory else ""
        findings += [
            Finding(prefix + found, f"unexpected file: Python imports it in place of {name}")
            for found in _shadows(dir_fd, stem)
            if prefix + found not in listed
        ]
    return findings


def _shadows(dir_fd: int, stem: str) -> list[str]:
    """Entries of the directory ``dir_fd`` that Python's path finder prefers to ``stem.py``."""
    from importlib.machinery import EXTENSION_SUFFIXES, all_suffixes

    found = [stem + suffix for suffix in EXTENSION_SUFFIXES if _exists(stem + suffix, dir_fd)]
    package = (f"{stem}/__init__{suffix}" for suffix in all_suffixes())
    found += [init for init in package if _exists(init, dir_fd)][:1]
    return found


def _editable_redirects(files: _SiteFiles, dist_info: str, listed: set[str]) -> list[Finding]:
    """Where an editable install's ``.pth`` files send Python outside its source directory.

    Only for a distribution whose RECORD lists a ``.pth`` file in the site directory and
    whose ``direct_url.json`` names an editable directory: ``record_digest`` keeps no hash
    of those rows (they hold the absolute source path, docs/record-digest.md rule 7),
    so a ``.pth`` or finder rewritten with its RECORD row would otherwise pass. Judged by
    :func:`~._source.editable_redirects`, without running anything.
    """
    pth_files = [path for path in listed if path.endswith(".pth") and "/" not in path]
    if not pth_files or not dist_info:
        return []
    direct_url = _read_text(files, f"{dist_info}/direct_url.json")
    if direct_url is None:
        return []
    texts = {path: text for path in pth_files if (text := _read_text(files, path)) is not None}
    from insidellms_provenance.fingerprint._source import editable_redirects

    found = editable_redirects(
        files.root, direct_url, texts, listed, lambda path: _read_text(files, path)
    )
    return [Finding(path, problem) for path, problem in found]


def _read_text(files: _SiteFiles, path: str, limit: int | None = None) -> str | None:
    """The text of the regular file at ``path`` (bounded, no symlink followed), or ``None``.

    ``None`` when it cannot be read so: its own RECORD row, if any, says why. ``limit``:
    the most bytes read (``DIST_FILE_LIMIT`` if not given).
    """
    from insidellms_provenance._safe_io import DIST_FILE_LIMIT

    opened = files.open(path)
    if isinstance(opened, str):
        return None
    try:
        data = read_open_file(opened, limit=DIST_FILE_LIMIT if limit is None else limit)
    except (FileRefusedError, OSError):
        return None
    finally:
        os.close(opened)
    return data.decode("utf-8", "surrogateescape")


# The finding of an ``__init__`` that makes a package of a namespace directory.
_NAMESPACE_INIT: Final = "unexpected file: Python runs it before any module below its directory"


def _namespace_inits(files: _SiteFiles, listed: set[str]) -> list[Finding]:
    """Unlisted ``__init__`` files in the namespace directories above a listed module.

    A directory without ``__init__`` is a namespace portion (``nsx/`` of ``nsx/plug.py``,
    or of ``nsx/pkg/__init__.py``); an ``__init__`` added there (``.py``, ``.pyc``, an
    extension) makes it a regular package, whose code Python runs before any module
    below it. The walk does not claim such a directory (others' files live there), so
    each directory above the listed modules, up to the site directory (excluded), that
    is not walked is looked up by name: a few ``lstat`` calls a directory, each directory
    once, no listing.
    """
    from importlib.machinery import all_suffixes

    suffixes = tuple(all_suffixes())
    modules = [path for path in listed if path.endswith(suffixes) and not path.startswith("../")]
    findings: list[Finding] = []
    for directory in directories_above(modules):
        if directory.rpartition("/")[2] == "__pycache__" or files.is_below_roots(directory):
            continue
        dir_fd = files.place(directory)[0]
        if isinstance(dir_fd, str):
            continue  # unreachable: the listed files' own rows say why
        findings += [
            Finding(f"{directory}/{name}", _NAMESPACE_INIT)
            for name in init_files(dir_fd)
            if f"{directory}/{name}" not in listed
        ]
    return findings


def directories_above(paths: Iterable[str]) -> Iterator[str]:
    """Each directory above ``paths`` (relative, ``/``-separated), up to the top, once."""
    seen: set[str] = set()
    for path in paths:
        directory = path.rpartition("/")[0]
        while directory and directory not in seen:
            seen.add(directory)
            yield directory
            directory = directory.rpartition("/")[0]


def init_files(dir_fd: int) -> list[str]:
    """The ``__init__`` modules (any import suffix) in the directory open as ``dir_fd``."""
    from importlib.machinery import all_suffixes

    names = [f"__init__{suffix}" for suffix in all_suffixes()]
    return [name for name in names if _exists(name, dir_fd)]


def _exists(name: str, dir_fd: int) -> bool:
    try:
        os.lstat(name, dir_fd=dir_fd)
    except OSError:
        return False
    return True


def _entries_below(files: _SiteFiles, root: str, listed: set[str]) -> Iterator[str]:
    """Every entry below ``root`` but directories and ``listed`` paths, relative to the site.

    Symlinks (to directories too) are entries, never followed, and a root reached through
    a symlink is not walked (its rows are refused one by one); unreadable directories are
    skipped, as ``os.walk`` skips them. One listing per directory, no ``stat`` calls.
    """
    pending = [root]
    while pending:
        relative = pending.pop()
        listing = files.listing(relative)
        if listing is None:
            continue
        prefix = relative + "/"
        for name, kind in listing.items():
            path = prefix + name
            if kind == _DIRECTORY:
                pending.append(path)
            elif path not in listed:
                yield path


# ---- bytecode caches -----------------------------------------------------------------


def _bytecode_findings(
    files: _SiteFiles,
    entries: list[RecordEntry],
    normalized: list[str],
    verdicts: BytecodeVerdicts | None = None,
) -> list[Finding]:
    """Caches Python would load instead of a listed source, but not its compiled code.

    Where this interpreter looks: ``__pycache__`` beside each source, or, when
    ``sys.pycache_prefix`` is set, only the tree below that prefix (Python then never
    reads ``__pycache__``; ``docs/verify.md``).
    """
    findings: list[Finding] = []
    prefix = sys.pycache_prefix
    tree = files if prefix is None else _SiteFiles(prefix, (), uv_links=False)
    try:
        if prefix is None:
            caches = _cache_candidates(files, entries, normalized)
        else:
            caches = _prefix_cache_candidates(tree, files.root, entries, normalized, findings)
        for source, cache, shown, level in caches:
            source_path = os.path.join(files.root, source)
            if files.uv_links() and is_uv_link(source_path):
                # The source was read through its link when its row was checked.
                source_path = os.path.realpath(source_path)
            data = _read_cache(tree, cache)
            if data is None:
                continue
            problem = (
                data
                if isinstance(data, str)
                else _loaded_code_problem(source_path, data, level, verdicts)
            )
            if problem is not None:
                findings.append(Finding(shown, problem))
    finally:
        if tree is not files:
            tree.close()
    return findings


_LEVELS: Final = ((0, ""), (1, ".opt-1"), (2, ".opt-2"))

# What an installer's own compile does to the row of a cache the wheel shipped: pip and
# ``uv pip install --compile-bytecode`` write over it (other bytes, another size); and a
# cache, shipped or not, may be deleted (Python compiles the source).
_RECOMPILED_CACHE_PROBLEMS: Final = frozenset(
    {"content does not match RECORD hash", "size does not match RECORD", "missing"}
)


def _without_recompiled_caches(
    findings: list[Finding], entries: list[RecordEntry], normalized: list[str]
) -> list[Finding]:
    """The row findings, less those of shipped caches the bytecode check judges instead.

    A wheel may ship ``DIR/__pycache__/NAME.<tag>.pyc`` with a hash in RECORD, and an
    installer that compiles rewrites it, legitimately (pip with ``force=True``, ``uv pip
    install --compile-bytecode``; plain uv leaves it): its RECORD hash then says nothing
    about tampering, and believing it would give each installer another ``integrity``.
    Such a cache, of a source RECORD lists with a hash, at this interpreter's tag and
    import levels, is judged as every other cache is, against its source
    (:func:`_bytecode_findings`). A sourceless cache, or another interpreter's, is
    rewritten by no installer: its hash stands. Only rows already at fault are looked at.
    """
    if not any(finding.problem in _RECOMPILED_CACHE_PROBLEMS for finding in findings):
        return findings
    sources = {path for path, _, _ in _listed_sources(entries, normalized)}
    # A finding names its row's path as RECORD has it; where it lies, as for the sources.
    on_disk = dict(zip([entry.path for entry in entries], normalized, strict=True))
    return [
        finding
        for finding in findings
        if finding.problem not in _RECOMPILED_CACHE_PROBLEMS
        or not _is_cache_of(on_disk.get(finding.path, finding.path), sources)
    ]


def _is_cache_of(path: str, sources: Collection[str]) -> bool:
    """Whether ``path`` is where this interpreter caches one of ``sources`` (no prefix).

    The very names :func:`_cache_candidates` looks for: ``DIR/__pycache__/NAME.<tag>.pyc``
    and its ``opt-1``/``opt-2`` variants, for a source ``DIR/NAME.py``.
    """
    tag = sys.implementation.cache_tag
    directory, found, name = f"/{path}".rpartition("/__pycache__/")
    if tag is None or not found or "/" in name:
        return False
    from importlib.machinery import SOURCE_SUFFIXES

    directory = directory[1:] + "/" if directory else ""
    for _, optimization in _LEVELS:
        ending = f".{tag}{optimization}.pyc"
        if name.endswith(ending) and len(name) > len(ending):
            stem = directory + name[: -len(ending)]
            return any(stem + suffix in sources for suffix in SOURCE_SUFFIXES)
    return False


def _listed_sources(
    entries: list[RecordEntry], normalized: list[str]
) -> Iterator[tuple[str, str, str]]:
    """(source, its directory, its module name) for each hashed source inside the site."""
    from importlib.machinery import SOURCE_SUFFIXES

    suffixes = tuple(SOURCE_SUFFIXES)
    for entry, path in zip(entries, normalized, strict=True):
        if not path.endswith(suffixes) or path.startswith("../") or entry.hash_ is None:
            continue
        stem, suffix = posixpath.splitext(path)
        if suffix not in suffixes:  # ``pkg/.py``: a name without a stem
            continue
        directory, _, name = stem.rpartition("/")
        yield path, directory, name


def _cache_candidates(
    files: _SiteFiles, entries: list[RecordEntry], normalized: list[str]
) -> Iterator[tuple[str, str, str, int]]:
    """(source, cache, cache, optimization level) for each existing cache of a listed source.

    ``normalized`` holds the entries' paths, normalized. Only this interpreter's cache
    tag and the three levels Python imports at (``-O``/``-OO`` select
    ``opt-1``/``opt-2``) are looked for; one listing per ``__pycache__`` directory (none
    where its parent's listing has no ``__pycache__``).
    """
    tag = sys.implementation.cache_tag
    if tag is None:  # this interpreter never reads caches
        return
    from importlib.machinery import SOURCE_SUFFIXES

    suffixes = tuple(SOURCE_SUFFIXES)
    # Most packages hold no caches: their directories are looked at first, and the
    # sources' module names worked out only where a cache directory has entries.
    sources_in = {
        path.rpartition("/")[0]
        for entry, path in zip(entries, normalized, strict=True)
        if path.endswith(suffixes) and entry.hash_ is not None and not path.startswith("../")
    }
    listings = {directory: _cache_names(files, directory) for directory in sources_in}
    if not any(listings.values()):
        return
    for path, directory, name in _listed_sources(entries, normalized):
        names = listings[directory]
        if not names:
            continue
        cache_dir = f"{directory}/__pycache__" if directory else "__pycache__"
        for level, optimization in _LEVELS:
            cache_name = f"{name}.{tag}{optimization}.pyc"
            if cache_name in names:
                cache = f"{cache_dir}/{cache_name}"
                yield path, cache, cache, level


def _cache_names(files: _SiteFiles, directory: str) -> set[str]:
    """The names in ``directory``'s ``__pycache__`` (none where its parent lists none)."""
    return set(files.listing(f"{directory}/__pycache__" if directory else "__pycache__") or ())


# The field's stand-in for ``sys.pycache_prefix`` joined with the site directory's
# absolute path (the field never holds an absolute path).
PYCACHE_PREFIX_MARKER: Final = "{pycache_prefix}"


def _prefix_cache_candidates(
    prefix_files: _SiteFiles,
    site_dir: str,
    entries: list[RecordEntry],
    normalized: list[str],
    problems: list[Finding],
) -> Iterator[tuple[str, str, str, int]]:
    """(source, cache below the prefix, cache as shown, level) under ``sys.pycache_prefix``.

    Each cache directory is where :func:`importlib.util.cache_from_source` puts the
    source's cache (the prefix, then the source directory's absolute path), reached
    component by component from the prefix without following a symlink; a directory
    that cannot be reached so (a symlink, unreadable) is added to ``problems`` once.
    """
    tag = sys.implementation.cache_tag
    if tag is None:
        return
    from importlib.util import cache_from_source

    base = prefix_files.root.rstrip("/") + "/"
    listings: dict[str, dict[str, int] | None] = {}
    for path, directory, name in _listed_sources(entries, normalized):
        cache = cache_from_source(os.path.join(site_dir, path), optimization="")
        if not cache.startswith(base):
            continue  # not below the prefix (a relative prefix and a changed directory)
        cache_dir = cache[len(base) :].rpartition("/")[0]
        shown_dir = f"{PYCACHE_PREFIX_MARKER}/{directory}" if directory else PYCACHE_PREFIX_MARKER
        if cache_dir not in listings:
            opened = prefix_files._directory(0, cache_dir)  # noqa: SLF001 - same module
            if isinstance(opened, str):
                listings[cache_dir] = None
                if opened != "missing":  # no cache directory: Python compiles the source
                    problems.append(Finding(shown_dir, opened))
            else:
                listings[cache_dir] = prefix_files.listing(cache_dir)
        names = listings[cache_dir]
        if not names:
            continue
        for level, optimization in _LEVELS:
            cache_name = f"{name}.{tag}{optimization}.pyc"
            if cache_name in names:
                yield path, f"{cache_dir}/{cache_name}", f"{shown_dir}/{cache_name}", level


# A cache larger than this is not read (unverifiable): about 100 times the largest
# cache of a real-world module (a 1.5 MB generated source compiles to under 1 MB).
_CACHE_LIMIT: Final = 64 << 20


def _read_cache(tree: _SiteFiles, path: str) -> bytes | str | None:
    """The bytes of the cache at ``path`` in ``tree``, why it was not read, or ``None``.

    ``None``: there is no such file. The file is reached as :meth:`_SiteFiles.open`
    reaches every file (no symlink followed, special files refused), and read only up to
    :data:`_CACHE_LIMIT`.
    """
    opened = tree.open(path)
    if opened == "missing":
        return None
    if isinstance(opened, str):
        return opened
    try:
        if not stat.S_ISREG(os.fstat(opened).st_mode):
            return _SPECIAL_FILE
        return read_open_file(opened, limit=_CACHE_LIMIT)
    except FileRefusedError as error:
        return f"unreadable ({error.reason})"
    except OSError as error:
        return f"unreadable ({error.strerror})"
    finally:
        os.close(opened)


def cached_code_problem(
    source_path: str, cache_path: str, level: int, verdicts: BytecodeVerdicts | None = None
) -> str | None:
    """Why the cache Python would load for ``source_path`` is not its compiled source.

    ``None`` when the cache matches, or when this interpreter would not load it (wrong
    magic number, stale timestamp or source hash: Python then compiles the source).
    The cache's code object is loaded with :func:`marshal.loads`, never executed, and
    compared with :func:`same_code` to ``compile(source, optimize=level)``; unless
    ``verdicts`` holds a match of this very comparison, keyed by every byte it reads.
    """
    data = read_file(cache_path)
    if isinstance(data, str):
        return _READ_PROBLEMS.get(data, data) if data != "missing" else None
    return _loaded_code_problem(source_path, data, level, verdicts)


def _loaded_code_problem(
    source_path: str, data: bytes, level: int, verdicts: BytecodeVerdicts | None = None
) -> str | None:
    """:func:`cached_code_problem` for a cache already read as ``data``."""
    source = read_file(source_path)
    if isinstance(source, str) or not _cache_in_use(data, source, source_path):
        return None  # an unreadable source is reported by its own RECORD row
    key = verdicts.key(data[16:], source, source_path, level) if verdicts is not None else None
    if key is not None and verdicts is not None and verdicts.matched(key):
        return None
    problem = _code_problem(data[16:], source, source_path, level)
    if problem is None and key is not None and verdicts is not None:
        verdicts.remember(key)
    return problem


def _cache_in_use(data: bytes, source: bytes, source_path: str) -> bool:
    """Whether this interpreter's import system would load ``data`` for ``source``.

    The checks of ``SourceLoader.get_code``: magic number, flags, then the source's
    mtime and size (timestamp caches) or hash (checked hash-based caches, per
    ``--check-hash-based-pycs``). Unchecked hash-based caches are loaded as they are.
    """
    from importlib.util import MAGIC_NUMBER, source_hash

    if len(data) < 16 or data[:4] != MAGIC_NUMBER:
        return False  # another interpreter's format
    flags = int.from_bytes(data[4:8], "little")
    if flags & ~0b11:
        return False  # invalid flags
    if flags & 0b1:
        import _imp

        mode = _imp.check_hash_based_pycs
        checked = bool(flags & 0b10) or mode == "always"
        if mode == "never" or not checked:
            return True
        return data[8:16] == source_hash(source)
    try:
        status = os.lstat(source_path)
    except OSError:
        return False
    mtime, size = int(status.st_mtime) & 0xFFFFFFFF, status.st_size & 0xFFFFFFFF
    return data[8:12] == mtime.to_bytes(4, "little") and data[12:16] == size.to_bytes(4, "little")


_READ_PROBLEMS: Final = {
    "symlink": "refused: symlink (not followed)",
    "special file": "refused: special file (not opened)",
}


def _code_problem(body: bytes, source: bytes, source_path: str, level: int) -> str | None:
    try:
        compiled: CodeType | None = compile(
            source, source_path, "exec", dont_inherit=True, optimize=level
        )
    except (SyntaxError, ValueError):
        compiled = None
    if compiled is not None and marshal.dumps(compiled) == body:
        # The very bytes the import system writes for this source (a cache compiled at
        # the same path): they load as ``compiled``, so ``same_code`` would hold. Saves
        # loading and walking the cache's code, ≈ 40% of the check.
        return None
    return _compared_code_problem(body, compiled)


def _compared_code_problem(body: bytes, compiled: CodeType | None) -> str | None:
    """The check itself: the cache's code object against ``compiled`` (``None``: no code)."""
    try:
        # What the import system itself would load; building a code object runs nothing.
        cached = marshal.loads(body)  # noqa: S302
    except (EOFError, ValueError, TypeError):
        return "bytecode cannot be loaded: Python would fail to import it"
    if not isinstance(cached, CodeType):
        return "bytecode cannot be loaded: Python would fail to import it"
    if compiled is None:
        return "bytecode does not match its source: the source does not compile"
    if not same_code(cached, compiled):
        return "bytecode does not match its source"
    return None


# Code object attributes that decide what the code does. Left out: ``co_filename``
# (where it was compiled; the import system rewrites it to the source's path when it
# loads a cache) and column positions (absent when a cache was written under
# ``-X no_debug_ranges``); line numbers are compared through ``co_lines()``.
_CODE_ATTRIBUTES: Final = (
    "co_code",
    "co_argcount",
    "co_posonlyargcount",
    "co_kwonlyargcount",
    "co_nlocals",
    "co_stacksize",
    "co_flags",
    "co_firstlineno",
    "co_name",
    "co_qualname",
    "co_names",
    "co_varnames",
    "co_freevars",
    "co_cellvars",
    "co_exceptiontable",
)


def same_code(first: CodeType, second: CodeType) -> bool:
    """Whether two code objects are the same code, constants and nested code included."""
    for attribute in _CODE_ATTRIBUTES:
        if getattr(first, attribute, None) != getattr(second, attribute, None):
            return False
    if list(first.co_lines()) != list(second.co_lines()):
        return False
    consts = first.co_consts, second.co_consts
    return len(consts[0]) == len(consts[1]) and all(map(_same_constant, *consts))


def _same_constant(first: object, second: object) -> bool:
    """Equal constants of the same type: ``0.0`` is not ``-0.0``, nor ``1`` ``True``."""
    if type(first) is not type(second):
        return False
    if isinstance(first, CodeType):
        return same_code(first, second)  # type: ignore[arg-type]
    if isinstance(first, tuple):
        others: tuple[object, ...] = second  # type: ignore[assignment]
        return len(first) == len(others) and all(map(_same_constant, first, others))
    if isinstance(first, frozenset):
        return {(type(item), repr(item)) for item in first} == {
            (type(item), repr(item))
            for item in second  # type: ignore[attr-defined]
        }
    if isinstance(first, (float, complex)):
        return repr(first) == repr(second)
    return bool(first == second)
