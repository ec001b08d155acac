"""Re-verify installed distributions against their RECORD, and an environment against a run.

Typical usage::

    findings = verify_distributions(distributions)       # integrity, by path
    changes = reproducibility_changes(recorded_field)

Nothing here imports plugin code: distributions are found through their metadata only,
and files are read without following symlinks or opening special files
(``docs/verify.md`` states the rules and the threat model).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from insidellms_provenance.analyze.diff import DiffReport
    from insidellms_provenance.field.schema import Provenance

from insidellms_provenance.fingerprint.discover import dist_info_name
from insidellms_provenance.fingerprint.dist_files import read_dist_text
from insidellms_provenance.fingerprint.distribution import metadata_name, site_directory
from insidellms_provenance.fingerprint.hashing import POOL_MIN_FILES, hash_fd
from insidellms_provenance.fingerprint.install_layout import site_layout
from insidellms_provenance.fingerprint.record_file import (
    RecordEntry,
    check_path,
    is_bytecode_cache,
    parse_record,
)

__all__ = [
    "Finding",
    "VerifyTarget",
    "reproducibility_changes",
    "target_at",
    "target_of",
    "verify_targets",
]

# Metadata directories handed to the pool as they are, described in the workers.
_POOL_MIN_DIRECTORIES: Final = 40


class Finding(NamedTuple):
    """One integrity problem, by distribution and path relative to the site directory."""

    distribution: str
    path: str
    problem: str

    @property
    def sort_key(self) -> tuple[str, str, str]:
        """Distribution, then path, then problem."""
        return (self.distribution, self.path, self.problem)


class VerifyTarget(NamedTuple):
    """A distribution to verify: where it lives and what its RECORD says."""

    name: str
    site_dir: Path
    dist_info: str
    record_text: str | None
    depth: int
    record_problem: str | None = None


def target_at(info_dir: str) -> VerifyTarget:
    """Describe the distribution in metadata directory ``info_dir`` (see :func:`target_of`)."""
    return target_of(metadata.PathDistribution(Path(info_dir)))


def target_of(dist: metadata.Distribution) -> VerifyTarget:
    """Describe an installed distribution for verification, reading metadata only.

    The name, for display, is read from METADATA's header block (:func:`metadata_name`),
    not by the email parser; RECORD and METADATA are read only as regular files.
    """
    site = site_directory(dist)
    problems: list[str] = []
    record_text = read_dist_text(dist, "RECORD", problems)
    directory = getattr(dist, "_path", None)  # PathDistribution's directory (see discover)
    if isinstance(directory, Path):
        name = metadata_name(str(directory)) or ""
    else:
        metadata_text = read_dist_text(dist, "METADATA")
        name = (metadata_text and _header_name(metadata_text)) or ""
    return VerifyTarget(
        name=name or (dist_info_name(dist) or "?").partition("-")[0],
        site_dir=site,
        dist_info=dist_info_name(dist) or "",
        record_text=record_text,
        depth=site_layout(str(site)).depth,
        record_problem=problems[0] if problems else None,
    )


def _header_name(text: str) -> str:
    from insidellms_provenance.fingerprint.distribution import name_and_version

    return name_and_version(text, [])[0]


def verify_targets(
    targets: Iterable[VerifyTarget | str],
    progress: Callable[[int, int, str], None] | None = None,
) -> list[Finding]:
    """Every integrity finding for ``targets``, sorted by distribution and path.

    A target is a :class:`VerifyTarget` or the path of a metadata directory, described
    (:func:`target_at`) where it is verified: with many distributions, reading their
    RECORDs is work for the pool too. Each distribution is verified whole (RECORD
    parse, ``lstat``, hashing, unexpected files) in one place; when there are enough
    files to pay for it, distributions are spread over a small process pool and only
    findings travel back. ``progress`` is called with (distributions done,
    distributions, the last one done) as work completes.
    """
    work = list(targets)
    directories = sum(isinstance(target, str) for target in work)
    if directories < _POOL_MIN_DIRECTORIES:
        # Few: described here, so that their RECORDs decide whether a pool pays.
        work = [target_at(item) if isinstance(item, str) else item for item in work]
        directories = 0
    rows = sum(
        (target.record_text or "").count("\n") if isinstance(target, VerifyTarget) else 0
        for target in work
    )
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or (rows < POOL_MIN_FILES and not directories):
        results = []
        for item in work:
            target = target_at(item) if isinstance(item, str) else item
            results.append(_verify_one(target))
            if progress is not None:
                progress(len(results), len(work), target.name)
    else:
        from concurrent.futures import ProcessPoolExecutor

        # Interleaved batches give each worker a similar mix of small and large dists.
        batches = [work[index :: workers * 8] for index in range(workers * 8)]
        results = []
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_interrupts)
        try:
            # Workers start with SIGINT blocked and then ignore it; a Ctrl-C meanwhile waits
            # for the parent, which handles it once, when SIGINT is unblocked below: inside
            # this ``try``, so that the workers are stopped then too.
            with _interrupts_blocked():
                # Futures, not ``pool.map``: map cancels its pending futures when interrupted,
                # and the pool's manager thread then fails (a traceback) when it marks a
                # cancelled future broken after the workers are stopped.
                futures = [pool.submit(_verify_batch, batch) for batch in batches]
            done = 0
            for batch, future in zip(batches, futures, strict=True):
                results.append(future.result())
                done += len(batch)
                if progress is not None and batch:
                    progress(done, len(work), _label(batch[-1]))
        except BaseException:
            # Ctrl-C: stop the workers now (they ignore SIGINT, so print no tracebacks) and
            # wait for the manager thread to see them gone, so nothing runs on after this.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown()
            raise
        pool.shutdown()
    findings = [finding for batch in results for finding in batch]
    return sorted(findings, key=lambda finding: finding.sort_key)


def _ignore_interrupts() -> None:
    """In pool workers: Ctrl-C is the parent's to handle, once."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _interrupts_blocked() -> Iterator[None]:
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _label(item: VerifyTarget | str) -> str:
    return os.path.basename(item) if isinstance(item, str) else item.name


def _verify_batch(targets: list[VerifyTarget | str]) -> list[Finding]:
    return [
        finding
        for target in targets
        for finding in _verify_one(target_at(target) if isinstance(target, str) else target)
    ]


def _verify_one(target: VerifyTarget) -> list[Finding]:
    """Every finding for one distribution."""
    name = target.name
    if target.record_text is None:
        problem = target.record_problem or "RECORD is missing"
        return [Finding(distribution=name, path=target.dist_info + "/RECORD", problem=problem)]
    entries, problems = parse_record(target.record_text)
    findings = [
        Finding(distribution=name, path=target.dist_info + "/RECORD", problem=problem)
        for problem in problems
    ]
    directory = _OpenDirectory()
    try:
        for entry in entries:
            finding, fd = _check_entry(target, entry, directory)
            if finding is not None:
                findings.append(finding)
            elif fd is not None and entry.hash_ is not None:
                try:
                    result = hash_fd(fd, entry.hash_.name)
                finally:
                    os.close(fd)
                mismatch = result if isinstance(result, str) else entry.mismatch(*result)
                if mismatch is not None:
                    findings.append(Finding(distribution=name, path=entry.path, problem=mismatch))
            elif fd is not None:
                os.close(fd)
    finally:
        directory.close()
    findings += _unexpected_files(target, entries)
    return findings


def _check_entry(
    target: VerifyTarget, entry: RecordEntry, directory: _OpenDirectory
) -> tuple[Finding | None, int | None]:
    """A finding for a row that must not be hashed, or the open file to hash (if any).

    The file is reached component by component from the site directory (``dir_fd`` and
    ``O_NOFOLLOW``), so a symlink anywhere in its path is refused, not followed.
    """

    def finding(problem: str) -> tuple[Finding, None]:
        return Finding(distribution=target.name, path=entry.path, problem=problem), None

    refusal = check_path(entry.path, target.depth)
    if refusal is not None:
        return finding(f"refused: {refusal}")
    opened = _open_below(target.site_dir, entry.path, directory)
    if opened == "missing":
        if entry.hash_ is None and is_bytecode_cache(entry.path):
            return None, None
        return finding("missing")
    if isinstance(opened, str):
        return finding(opened)
    if entry.hash_ is None:
        os.close(opened)
        return (
            (None, None) if entry.may_lack_hash(target.dist_info) else finding("no hash in RECORD")
        )
    return None, opened


_DIRECTORY_FLAGS: Final = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class _OpenDirectory:
    """The last directory :func:`_open_below` reached, kept open for the next file in it.

    RECORD lists a package's files together, so most files are opened from the directory
    fd of the one before: the same components, opened the same way (never through a
    symlink), once instead of once per file. One fd is held at a time.
    """

    def __init__(self) -> None:
        self.key: tuple[str, tuple[str, ...]] | None = None
        self.fd = -1

    def keep(self, key: tuple[str, tuple[str, ...]], fd: int) -> None:
        self.close()
        self.key, self.fd = key, fd

    def close(self) -> None:
        if self.key is not None:
            os.close(self.fd)
            self.key, self.fd = None, -1


def _open_below(root: Path, relative: str, directory: _OpenDirectory) -> int | str:
    """An fd of the regular file ``root/relative``, or why it was not opened.

    Leading ``..`` components (scripts and data files) climb from ``root`` first; below
    that point no symlink is followed, in any component. The file's directory is kept
    open in ``directory`` for the next file.
    """
    parts = posixpath.normpath(relative).split("/")
    base = str(root)
    while parts and parts[0] == "..":
        base = os.path.dirname(base)
        parts.pop(0)
    key = (base, tuple(parts[:-1]))
    if directory.key == key:
        return _open_file(parts[-1], directory.fd)
    try:
        dir_fd = os.open(base, os.O_RDONLY)
    except OSError:
        return "missing"
    try:
        for part in parts[:-1]:
            opened = _open_directory(part, dir_fd)
            if isinstance(opened, str):
                os.close(dir_fd)
                return opened
            os.close(dir_fd)
            dir_fd = opened
        result = _open_file(parts[-1], dir_fd)
    except BaseException:
        os.close(dir_fd)
        raise
    directory.keep(key, dir_fd)
    return result


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


def _open_file(name: str, dir_fd: int) -> int | str:
    """The fd of regular file ``name`` in ``dir_fd`` (not a symlink, not special)."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return f"unreadable ({error.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return "refused: symlink (not followed)"
    if not stat.S_ISREG(info.st_mode):
        return "refused: special file (not opened)"
    try:
        return os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        return f"unreadable ({error.strerror})"


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


def _unexpected_files(target: VerifyTarget, entries: list[RecordEntry]) -> list[Finding]:
    """Files in the distribution's own package directories that RECORD does not list.

    Package directories are those whose ``__init__.py`` RECORD lists (so namespace
    directories shared with other distributions are not claimed), plus the
    ``*.dist-info`` directory. A bytecode cache is expected when RECORD lists its
    source; a ``.pyc`` that no listed source explains is reported.
    """
    listed = {posixpath.normpath(entry.path) for entry in entries}
    packages = {
        posixpath.dirname(path)
        for path in listed
        if posixpath.basename(path) == "__init__.py" and not path.startswith("../")
    }
    roots = sorted(p for p in packages if not any(p.startswith(q + "/") for q in packages))
    if target.dist_info:
        roots.append(target.dist_info)
    findings = []
    for root in roots:
        if os.path.islink(target.site_dir / root):
            continue  # its rows are refused one by one; a link is never walked
        for directory, dirnames, filenames in os.walk(target.site_dir / root):
            relative_dir = Path(directory).relative_to(target.site_dir).as_posix()
            dirnames.sort()
            for name in sorted(filenames) + [d for d in dirnames if _is_link(directory, d)]:
                path = f"{relative_dir}/{name}"
                if path in listed:
                    continue
                if is_bytecode_cache(path) and _cache_source(path) in listed:
                    continue
                problem = (
                    "unexpected bytecode: no listed source explains it"
                    if path.endswith(".pyc")
                    else "unexpected file: not listed in RECORD"
                )
                findings.append(Finding(distribution=target.name, path=path, problem=problem))
    return findings


def _is_link(directory: str, name: str) -> bool:
    return os.path.islink(os.path.join(directory, name))


def reproducibility_changes(recorded: Provenance) -> DiffReport:
    """Re-fingerprint this environment without importing plugins and diff it with a run.

    Only what can be known without importing is compared (entry points, distributions,
    sources); manifest, load, origin and registrations are taken from the recording.
    """
    from insidellms_provenance.analyze.diff import diff_fields
    from insidellms_provenance.fingerprint.recorder import record_without_import

    now = record_without_import(recorded["group"], recorded)
    return diff_fields(recorded, now)
