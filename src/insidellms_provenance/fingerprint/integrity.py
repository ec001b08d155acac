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

# No ``from __future__ import annotations``: NamedTuple would compile every string
# annotation at import (see record_file.py).
import marshal
import os
import posixpath
import stat
import sys
from collections.abc import Iterable, Iterator
from types import CodeType
from typing import Final, NamedTuple

from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import Integrity, IntegrityStatus
from insidellms_provenance.fingerprint.hashing import hash_fd, read_file
from insidellms_provenance.fingerprint.record_file import (
    RecordEntry,
    check_path,
    is_bytecode_cache,
    on_disk_path,
)

__all__ = [
    "BYTECODE_CHECKED",
    "BYTECODE_NOT_CHECKED",
    "Finding",
    "cached_code_problem",
    "check_files",
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


class Finding(NamedTuple):
    """One integrity problem: a path relative to the site directory and what is wrong."""

    path: str
    problem: str

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


def check_files(  # noqa: PLR0913 - where the files are, what RECORD lists, how to read
    site_dir: str,
    dist_info: str,
    entries: Iterable[RecordEntry],
    depth: int,
    *,
    bytecode: bool,
    relocated_depth: int = 0,
    uv_links: bool = False,
) -> list[Finding]:
    """Every finding for one distribution's RECORD rows, unexpected files and caches.

    ``depth`` is the site directory's depth below the environment prefix (see
    :func:`check_path`); ``relocated_depth`` that of a ``--target`` directory's rows,
    resolved as ``record_digest`` resolves them (:func:`on_disk_path`). With
    ``bytecode``, each cache this interpreter would load in place of a listed source is
    compared with the source's compiled code. ``uv_links`` (the distribution's INSTALLER
    says ``uv``): a listed file that is itself a symlink to a regular file is read
    through its link, as uv's symlink link mode installs every file; a symlink in a
    directory component is never followed (``docs/verify.md``).
    """
    entries = list(entries)
    findings: list[Finding] = []
    directories = _DirectoryChain(site_dir)
    try:
        for entry in entries:
            problem, fd = _check_entry(
                directories,
                dist_info,
                depth,
                entry,
                relocated_depth=relocated_depth,
                uv_links=uv_links,
            )
            if fd is not None:
                try:
                    result = hash_fd(fd, entry.hash_.name) if entry.hash_ is not None else None
                finally:
                    os.close(fd)
                if result is not None:
                    problem = result if isinstance(result, str) else entry.mismatch(*result)
            if problem is not None:
                findings.append(Finding(entry.path, problem))
    finally:
        directories.close()
    findings += _unexpected_files(site_dir, dist_info, entries, relocated_depth)
    if bytecode:
        findings += _bytecode_findings(site_dir, entries, uv_links)
    return findings


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
        paths.add(f"{dist_info}/RECORD")
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


def _check_entry(  # noqa: PLR0913 - check_files' arguments, for one entry
    directories: "_DirectoryChain",
    dist_info: str,
    depth: int,
    entry: RecordEntry,
    *,
    relocated_depth: int = 0,
    uv_links: bool = False,
) -> tuple[str | None, int | None]:
    """A problem for a row that must not be hashed, or the open file to hash (if any).

    The file is reached component by component from the site directory (``dir_fd`` and
    ``O_NOFOLLOW``), so a symlink anywhere in its path is refused, not followed.
    """
    path, _ = on_disk_path(entry.path, relocated_depth)
    refusal = check_path(path, depth)
    if refusal is not None:
        return f"refused: {refusal}", None
    opened = directories.open_file(path, uv_links)
    if opened == "missing":
        if entry.hash_ is None and is_bytecode_cache(entry.path):
            return None, None
        return "missing", None
    if isinstance(opened, str):
        return opened, None
    if entry.hash_ is None:
        os.close(opened)
        return (None, None) if entry.may_lack_hash(dist_info) else (_NO_HASH, None)
    return None, opened


_DIRECTORY_FLAGS: Final = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class _DirectoryChain:
    """Open files below ``root`` component by component, keeping the last file's directories.

    RECORD lists a directory's files together, so the directories on the path to the
    last file opened (a chain of fds, one per component, as deep as the path) are
    reused for the next file in the same place: one ``open`` per file instead of one
    per component. Each component is still opened with ``O_NOFOLLOW`` below the point
    where leading ``..`` components (scripts and data files) climb from ``root``; the
    file itself is read through a symlink only with ``uv_links``
    (:func:`check_files`). :meth:`close` closes every fd it holds.
    """

    def __init__(self, root: str) -> None:
        self._root = root
        self._keys: list[str] = []  # the base directory, then each component below it
        self._fds: list[int] = []

    def open_file(self, relative: str, uv_links: bool = False) -> int | str:
        """An fd of the regular file ``root/relative``, or why it was not opened."""
        parts = posixpath.normpath(relative).split("/")
        base = self._root
        while parts and parts[0] == "..":
            base = os.path.dirname(base)
            parts.pop(0)
        wanted = [base, *parts[:-1]]
        if wanted != self._keys:
            kept, common = 0, min(len(wanted), len(self._keys))
            while kept < common and wanted[kept] == self._keys[kept]:
                kept += 1
            self._truncate(kept)
        if not self._fds:
            try:
                self._fds.append(os.open(base, os.O_RDONLY))
            except OSError:
                return "missing"
            self._keys.append(base)
        for part in wanted[len(self._fds) :]:
            opened = _open_directory(part, self._fds[-1])
            if isinstance(opened, str):
                return opened
            self._fds.append(opened)
            self._keys.append(part)
        return _open_file(parts[-1], self._fds[-1], uv_links)

    def close(self) -> None:
        """Close every directory fd held."""
        self._truncate(0)

    def _truncate(self, length: int) -> None:
        while len(self._fds) > length:
            os.close(self._fds.pop())
            self._keys.pop()


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


def _open_file(name: str, dir_fd: int, uv_links: bool = False) -> int | str:
    """The fd of regular file ``name`` in ``dir_fd`` (not special, not a symlink).

    With ``uv_links``, a symlink to a regular file is read through (:func:`check_files`).
    """
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return f"unreadable ({error.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return _open_uv_link(name, dir_fd) if uv_links else "refused: symlink (not followed)"
    if not stat.S_ISREG(info.st_mode):
        return "refused: special file (not opened)"
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


def _unexpected_files(
    site_dir: str, dist_info: str, entries: list[RecordEntry], relocated_depth: int = 0
) -> list[Finding]:
    """Files in the distribution's own package directories that RECORD does not list.

    Package directories are those whose ``__init__.py`` RECORD lists (so namespace
    directories shared with other distributions are not claimed), plus the
    ``*.dist-info`` directory. A bytecode cache is expected when RECORD lists its
    source; a ``.pyc`` that no listed source explains is reported.
    """
    listed = {posixpath.normpath(on_disk_path(e.path, relocated_depth)[0]) for e in entries}
    packages = {
        posixpath.dirname(path)
        for path in listed
        if posixpath.basename(path) == "__init__.py" and not path.startswith("../")
    }
    roots = sorted(p for p in packages if not any(p.startswith(q + "/") for q in packages))
    if dist_info:
        roots.append(dist_info)
    # A root that is a symlink is never walked: its rows are refused one by one.
    roots = [root for root in roots if not os.path.islink(os.path.join(site_dir, root))]
    findings = []
    for path in (path for root in roots for path in _entries_below(site_dir, root)):
        if path in listed:
            continue
        if is_bytecode_cache(path) and _cache_source(path) in listed:
            continue
        problem = (
            "unexpected bytecode: no listed source explains it"
            if path.endswith(".pyc")
            else "unexpected file: not listed in RECORD"
        )
        findings.append(Finding(path, problem))
    return findings


def _entries_below(site_dir: str, root: str) -> Iterator[str]:
    """Every entry below ``site_dir/root`` but directories, as a path relative to ``site_dir``.

    Symlinks (to directories too) are entries, never followed; unreadable directories are
    skipped, as ``os.walk`` skips them. One ``scandir`` per directory, no ``stat`` calls.
    """
    pending = [root]
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(os.path.join(site_dir, relative)) as listing:
                children = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in listing]
        except OSError:
            continue
        for name, is_directory in children:
            path = f"{relative}/{name}"
            if is_directory:
                pending.append(path)
            else:
                yield path


# ---- bytecode caches -----------------------------------------------------------------


def _bytecode_findings(
    site_dir: str, entries: list[RecordEntry], uv_links: bool = False
) -> list[Finding]:
    """Caches Python would load instead of a listed source, but not its compiled code."""
    findings = []
    for source, cache, level in _cache_candidates(site_dir, entries):
        source_path = os.path.join(site_dir, source)
        if uv_links and is_uv_link(source_path):
            # The source was read through its link when its row was checked.
            source_path = os.path.realpath(source_path)
        problem = cached_code_problem(source_path, os.path.join(site_dir, cache), level)
        if problem is not None:
            findings.append(Finding(cache, problem))
    return findings


def _cache_candidates(site_dir: str, entries: list[RecordEntry]) -> Iterator[tuple[str, str, int]]:
    """(source, cache, optimization level) for each existing cache of a listed source.

    Only this interpreter's cache tag and the three levels Python imports at
    (``-O``/``-OO`` select ``opt-1``/``opt-2``) are looked for; one ``listdir`` per
    ``__pycache__`` directory.
    """
    tag = sys.implementation.cache_tag
    if tag is None:  # this interpreter never reads caches
        return
    from importlib.machinery import SOURCE_SUFFIXES

    listings: dict[str, set[str]] = {}
    for entry in entries:
        path = posixpath.normpath(entry.path)
        stem, suffix = posixpath.splitext(path)
        if suffix not in SOURCE_SUFFIXES or path.startswith("../") or entry.hash_ is None:
            continue
        directory, _, name = stem.rpartition("/")
        cache_dir = f"{directory}/__pycache__" if directory else "__pycache__"
        if cache_dir not in listings:
            try:
                listings[cache_dir] = set(os.listdir(os.path.join(site_dir, cache_dir)))
            except OSError:
                listings[cache_dir] = set()
        for level, optimization in ((0, ""), (1, ".opt-1"), (2, ".opt-2")):
            cache_name = f"{name}.{tag}{optimization}.pyc"
            if cache_name in listings[cache_dir]:
                yield path, f"{cache_dir}/{cache_name}", level


def cached_code_problem(source_path: str, cache_path: str, level: int) -> str | None:
    """Why the cache Python would load for ``source_path`` is not its compiled source.

    ``None`` when the cache matches, or when this interpreter would not load it (wrong
    magic number, stale timestamp or source hash: Python then compiles the source).
    The cache's code object is loaded with :func:`marshal.loads`, never executed, and
    compared with :func:`same_code` to ``compile(source, optimize=level)``.
    """
    data = read_file(cache_path)
    if isinstance(data, str):
        return _READ_PROBLEMS.get(data, data) if data != "missing" else None
    source = read_file(source_path)
    if isinstance(source, str) or not _cache_in_use(data, source, source_path):
        return None  # an unreadable source is reported by its own RECORD row
    return _code_problem(data[16:], source, source_path, level)


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
        # What the import system itself would load; building a code object runs nothing.
        cached = marshal.loads(body)  # noqa: S302
    except (EOFError, ValueError, TypeError):
        return "bytecode cannot be loaded: Python would fail to import it"
    if not isinstance(cached, CodeType):
        return "bytecode cannot be loaded: Python would fail to import it"
    try:
        compiled = compile(source, source_path, "exec", dont_inherit=True, optimize=level)
    except (SyntaxError, ValueError):
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
