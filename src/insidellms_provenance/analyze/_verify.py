"""Re-verify installed distributions against their RECORD, and an environment against a run.

Typical usage::

    findings = verify_distributions(distributions)       # integrity, by path
    changes = reproducibility_changes(recorded_field)

Nothing here imports plugin code: distributions are found through their metadata only,
and files are read without following symlinks or opening special files
(``docs/verify.md`` states the rules and the threat model).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from importlib import metadata

    from insidellms_provenance.analyze._diff import DiffReport
    from insidellms_provenance.field.schema import Provenance

from insidellms_provenance._safe_io import (
    DIST_FILE_LIMIT,
    RECORD_FILE_LIMIT,
    FileRefusedError,
    read_open_file,
)
from insidellms_provenance._signals import interrupts_held, one_thread
from insidellms_provenance.analyze._verify_clean import proved_clean
from insidellms_provenance.fingerprint._discover import _declares, declares_group, dist_info_name
from insidellms_provenance.fingerprint._dist_files import read_dist_text, read_info_text
from insidellms_provenance.fingerprint._hashing import POOL_MIN_FILES
from insidellms_provenance.fingerprint._install_layout import climbing_root, site_layout
from insidellms_provenance.fingerprint._integrity import check_files
from insidellms_provenance.fingerprint._record_file import parse_record, plain_rows

__all__ = [
    "Finding",
    "VerifyTarget",
    "reproducibility_changes",
    "run_reproducibility",
    "target_at",
    "target_of",
    "verify_checked",
    "verify_targets",
]

# Up to this many metadata directories are described here (their RECORDs read, about
# 20 µs each), so that their RECORDs decide whether a pool pays and balance its work by
# bytes; more are handed to the pool's workers as they are, described there.
_DESCRIBED_HERE_MAX: Final = 1000
# A file's fixed cost (open, fstat, read, close, checks) in bytes hashed, for balancing.
_FILE_COST_BYTES: Final = 16384
_ROW_SIZE = re.compile(r",([0-9]+)\n")
# read_regular's flags for RECORD (symlinks followed, as importlib follows them).
_RECORD_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
_ENTRY_POINTS_FLAGS: Final = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
)


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
    """A distribution to verify: where it lives and what its RECORD says.

    ``name`` is for display; empty when not read yet (:func:`target_at`): it is then
    read from METADATA only if there is a finding to name. ``uv_links`` (INSTALLER says
    ``uv``) is ``None`` when not read yet: it is read only if a listed file is a symlink.
    """

    name: str
    site_dir: str | os.PathLike[str]
    dist_info: str
    record_text: str | None
    depth: int
    record_problem: str | None = None
    relocated_depth: int = 0
    uv_links: bool | None = False


def target_at(info_dir: str) -> VerifyTarget:
    """Describe the distribution in metadata directory ``info_dir`` (as :func:`target_of`).

    Reads RECORD only, as a regular file. The name is left for :func:`_verify_one` to
    read when it has a finding to name, and INSTALLER for the integrity check to read
    if a listed file is a symlink (``uv_links`` is ``None``: not read yet).
    """
    site, _, dist_info = info_dir.rpartition("/")
    site = site or "."
    layout = site_layout(site)
    record_text, record_problem = _record_text(info_dir)
    return VerifyTarget(
        "",
        site,
        dist_info,
        record_text,
        layout.depth,
        record_problem,
        layout.relocated_depth,
        None,
    )


def _record_text(info_dir: str) -> tuple[str | None, str | None]:
    """RECORD's text in ``info_dir``, or ``None`` and why not (``read_info_text``'s words).

    The common case (a regular file of UTF-8 text) is read here without
    ``read_info_text``'s layers, one distribution of thousands at a time; anything else
    is read again by ``read_info_text``, which words the problem.
    """
    try:
        fd = os.open(info_dir + "/RECORD", _RECORD_FLAGS)
    except OSError:
        pass
    else:
        try:
            data = read_open_file(fd, limit=RECORD_FILE_LIMIT)
        except FileRefusedError:
            data = None
        finally:
            os.close(fd)
        if data is not None:
            try:
                return data.decode("utf-8"), None
            except UnicodeDecodeError:
                pass
    problems: list[str] = []
    text = read_info_text(info_dir, "RECORD", problems)
    return text, problems[0] if problems else None


def target_of(dist: metadata.Distribution) -> VerifyTarget:
    """Describe an installed distribution for verification, reading metadata only.

    The name, for display, is read from METADATA's header block (:func:`metadata_name`),
    not by the email parser; RECORD and METADATA are read only as regular files.
    """
    from insidellms_provenance.fingerprint._distribution import metadata_name, site_directory

    site = site_directory(dist)
    layout = site_layout(str(site))
    problems: list[str] = []
    record_text = read_dist_text(dist, "RECORD", problems)
    directory = getattr(dist, "_path", None)  # PathDistribution's directory (see discover)
    from pathlib import Path  # imported already: a Distribution was made

    if isinstance(directory, Path):
        name = metadata_name(str(directory)) or ""
    else:
        metadata_text = read_dist_text(dist, "METADATA")
        name = (metadata_text and _header_name(metadata_text)) or ""
    return VerifyTarget(
        name=name or _name_from_directory(dist_info_name(dist) or "?"),
        site_dir=site,
        dist_info=dist_info_name(dist) or "",
        record_text=record_text,
        depth=layout.depth,
        record_problem=problems[0] if problems else None,
        relocated_depth=layout.relocated_depth,
        uv_links=(read_dist_text(dist, "INSTALLER") or "").strip() == "uv",
    )


def _installed_by_uv(target: VerifyTarget) -> bool:
    """Whether ``target``'s INSTALLER says ``uv`` (whose symlink link mode links every file)."""
    info_dir = f"{os.fspath(target.site_dir)}/{target.dist_info}"
    return (read_info_text(info_dir, "INSTALLER") or "").strip() == "uv"


def _name_from_directory(dist_info: str) -> str:
    return dist_info.partition("-")[0]


def _display_name(target: VerifyTarget) -> str:
    """``target.name``, or the Name in its METADATA, or its directory's name's stem."""
    if target.name:
        return target.name
    # Imported here: the recording path's modules, needed only to name a finding.
    from insidellms_provenance.fingerprint._distribution import metadata_name

    name = metadata_name(os.path.join(target.site_dir, target.dist_info))
    return name or _name_from_directory(target.dist_info or "?")


def _header_name(text: str) -> str:
    from insidellms_provenance.fingerprint._distribution import name_and_version

    return name_and_version(text, [])[0]


def verify_targets(
    targets: Iterable[VerifyTarget | str],
    progress: Callable[[int, int, str], None] | None = None,
) -> list[Finding]:
    """Every integrity finding for ``targets``, sorted by distribution and path.

    A target is a :class:`VerifyTarget` or the path of a metadata directory, described
    (:func:`target_at`) where it is verified: with many distributions, reading their
    RECORDs is work for the pool too. Each distribution is verified whole (RECORD
    parse, hashing, unexpected files) in one place; when there are enough files to pay
    for it, distributions are spread over a small process pool and only findings
    travel back. ``progress`` is called with (targets done, targets, the last one done)
    as work completes.
    """
    return verify_checked(targets, progress)[1]


def verify_checked(
    targets: Iterable[VerifyTarget | str],
    progress: Callable[[int, int, str], None] | None = None,
    *,
    group: str | None = None,
    dependencies: Iterable[str] = (),
) -> tuple[int, list[Finding]]:
    """How many distributions were verified, and :func:`verify_targets`'s findings.

    With ``group``, a metadata directory is verified only if it declares an entry point
    of that group (:func:`declares_group`): that is decided where it is described, so
    with many directories their ``entry_points.txt`` are read by the pool too.
    ``dependencies``: metadata directories verified whatever they declare (a run's
    dependencies, :func:`run_reproducibility`), each once, added to ``targets`` where
    they are not among them.
    """
    work, always = _with_dependencies(list(targets), dependencies)
    directories = sum(isinstance(target, str) for target in work)
    if directories <= _DESCRIBED_HERE_MAX:
        work = [
            target_at(item) if isinstance(item, str) else item
            for item in work
            if group is None
            or not isinstance(item, str)
            or item in always
            or declares_group(item, group)
        ]
        directories = 0
    rows = sum(
        (target.record_text or "").count("\n") if isinstance(target, VerifyTarget) else 0
        for target in work
    )
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or (rows < POOL_MIN_FILES and not directories):
        results = []
        for item in work:
            results.append(_verify_batch([item], group, always))
            if progress is not None:
                progress(len(results), len(work), _label(item))
    else:
        import multiprocessing
        from concurrent.futures import Future, ProcessPoolExecutor

        batches = _batches(work, workers * 8)
        _warm_up(work)
        results = []
        futures: list[Future[tuple[int, list[Finding]]]] = []
        # Forked workers start at once and inherit what _warm_up worked out. A process
        # with other threads (a caller's, or a pool's still ending) is not forked: a lock
        # one of them held would stay held in the worker. Its workers start afresh.
        context = multiprocessing.get_context("fork" if one_thread() else "spawn")
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_ignore_interrupts
        )
        try:
            # Workers start with SIGINT blocked and then ignore it; a Ctrl-C meanwhile waits
            # for the parent, which handles it once, when SIGINT is unblocked below: inside
            # this ``try``, so that the workers are stopped then too.
            with interrupts_held():
                # Futures, not ``pool.map``: map cancels its pending futures when interrupted,
                # and the pool's manager thread then fails (a traceback) when it marks a
                # cancelled future broken after the workers are stopped.
                futures = [pool.submit(_verify_batch, batch, group, always) for batch in batches]
            done = 0
            for batch, future in zip(batches, futures, strict=True):
                results.append(future.result())
                done += len(batch)
                if progress is not None and batch:
                    progress(done, len(work), _label(batch[-1]))
        except BaseException:
            # Ctrl-C: the batches not started are cancelled, and the few already handed
            # to the workers (at most one more than there are workers) are finished, so
            # that nothing runs on after this. Workers are not killed: a worker killed
            # while the pool's feeder thread writes it a batch larger than the pipe holds
            # leaves that thread blocked for ever (this process holds the pipe's other
            # end), and the shutdown waiting for it.
            for future in futures:
                future.cancel()
            pool.shutdown()
            raise
        pool.shutdown()
    findings = [finding for _, batch in results for finding in batch]
    checked = sum(count for count, _ in results)
    return checked, sorted(findings, key=lambda finding: finding.sort_key)


def _with_dependencies(
    work: list[VerifyTarget | str], dependencies: Iterable[str]
) -> tuple[list[VerifyTarget | str], frozenset[str]]:
    """``work`` with the ``dependencies`` not in it, and how ``work`` names each of them.

    ``dependencies`` are metadata directories; one already in ``work`` (as a directory
    or a described target, however its path is spelled) is not added again.
    """
    wanted = {os.path.normpath(path): path for path in dependencies}
    if not wanted:
        return work, frozenset()
    always = set()
    for item in work:
        if isinstance(item, str):
            if wanted.pop(os.path.normpath(item), None) is not None:
                always.add(item)
        else:
            wanted.pop(os.path.normpath(os.path.join(item.site_dir, item.dist_info)), None)
    added = sorted(wanted.values())
    return work + added, frozenset(always.union(added))


def _batches(work: list[VerifyTarget | str], count: int) -> list[list[VerifyTarget | str]]:
    """``work`` in ``count`` batches of similar cost, the costliest first.

    Described distributions are weighed by their RECORD (bytes listed, and a fixed cost
    a file) and dealt largest first, each to the lightest batch; the pool's workers take
    batches as they finish one, so a large distribution (numpy, 57 MB) does not end a
    run on one worker. Metadata directories not described yet are interleaved instead,
    which gives each batch a similar mix when there are many.
    """
    if any(isinstance(item, str) for item in work):
        return [work[index::count] for index in range(count)]
    weights = [_weight(item) for item in work if isinstance(item, VerifyTarget)]
    batches: list[list[VerifyTarget | str]] = [[] for _ in range(count)]
    loads = [0] * count
    for index in sorted(range(len(work)), key=weights.__getitem__, reverse=True):
        lightest = loads.index(min(loads))
        batches[lightest].append(work[index])
        loads[lightest] += weights[index]
    order = sorted(range(count), key=loads.__getitem__, reverse=True)
    return [batches[index] for index in order if batches[index]]


def _warm_up(work: list[VerifyTarget | str]) -> None:
    """Work out here, once, what each forked worker would otherwise work out for itself.

    The RECORD reader's regular expression and the site directories' layouts (from
    ``sysconfig``): about 2 ms a worker.
    """
    plain_rows("")
    for site in {item.rpartition("/")[0] or "." for item in work if isinstance(item, str)}:
        site_layout(site)


def _weight(target: VerifyTarget) -> int:
    """The bytes RECORD lists, and a fixed cost for each row."""
    text = target.record_text or ""
    return sum(map(int, _ROW_SIZE.findall(text))) + _FILE_COST_BYTES * text.count("\n")


def _ignore_interrupts() -> None:
    """In pool workers: Ctrl-C is the parent's to handle, once."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _label(item: VerifyTarget | str) -> str:
    """What the progress line shows: the name if known, else the metadata directory's."""
    if isinstance(item, str):
        return os.path.basename(item)
    return item.name or item.dist_info


def _verify_batch(
    targets: list[VerifyTarget | str], group: str | None, always: frozenset[str] = frozenset()
) -> tuple[int, list[Finding]]:
    """How many of ``targets`` were verified, and their findings (see ``verify_checked``)."""
    findings: list[Finding] = []
    count = 0
    site_fds: dict[str, int | None] = {}  # each site directory opened once a batch
    try:
        for target in targets:
            read = None
            if isinstance(target, str):
                if group is not None and target not in always:
                    declared, read = _declares_here(target, group)
                    if not declared:
                        continue
                target = target_at(target)  # noqa: PLW2901 - the same target, described
            count += 1
            site = os.fspath(target.site_dir)
            if site not in site_fds:
                site_fds[site] = _open_site(site)
            findings += _verify_one(target, site_fds[site], read)
    finally:
        for fd in site_fds.values():
            if fd is not None:
                os.close(fd)
    return count, findings


def _declares_here(info_dir: str, group: str) -> tuple[bool, dict[str, bytes] | None]:
    """:func:`declares_group`, and ``entry_points.txt``'s bytes for the integrity walk.

    The file is opened without following a symlink and read only if regular (the bytes
    are then hashed, not read again, if the walk finds that very name a regular file).
    Anything unusual (a symlink, a special file, too large) is decided as
    :func:`declares_group` decides it, and nothing is kept.
    """
    try:
        fd = os.open(f"{info_dir}/entry_points.txt", _ENTRY_POINTS_FLAGS)
    except FileNotFoundError:
        return False, None
    except OSError:
        return declares_group(info_dir, group), None
    try:
        data = read_open_file(fd, limit=DIST_FILE_LIMIT)
    except FileRefusedError:
        return declares_group(info_dir, group), None
    finally:
        os.close(fd)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False, None
    return _declares(text, group, info_dir), {"entry_points.txt": data}


def _open_site(site: str) -> int | None:
    """``site`` open (as the integrity check opens it), or ``None``: it then says why not."""
    try:
        return os.open(site, os.O_RDONLY)
    except OSError:
        return None


def _verify_one(
    target: VerifyTarget, site_fd: int | None = None, read: Mapping[str, bytes] | None = None
) -> list[Finding]:
    """Every finding for one distribution (the checks ``record`` makes, bytecode included).

    ``site_fd``: its site directory already open (see :func:`check_files`); with it,
    a distribution :func:`proved_clean` is not checked again.
    """
    if target.record_text is None:
        problem = target.record_problem or "RECORD is missing"
        path = target.dist_info + "/RECORD"
        return [Finding(distribution=_display_name(target), path=path, problem=problem)]
    uv_links = (
        target.uv_links
        if target.uv_links is not None
        else functools.partial(_installed_by_uv, target)
    )
    if site_fd is not None and proved_clean(target, site_fd, uv_links, read):
        return []
    site_dir = climbing_root(os.fspath(target.site_dir), target.depth)
    record_path = target.dist_info + "/RECORD"
    entries, rejected = parse_record(target.record_text)
    problems = [(record_path, r.problem) for r in rejected]
    checked = check_files(
        site_dir,
        target.dist_info,
        entries,
        target.depth,
        bytecode=True,
        relocated_depth=target.relocated_depth,
        uv_links=uv_links,
        site_fd=site_fd,
    )
    problems += [(f.path, f.problem) for f in checked]
    if not problems:
        return []
    name = _display_name(target)
    return [Finding(distribution=name, path=path, problem=problem) for path, problem in problems]


def reproducibility_changes(recorded: Provenance) -> DiffReport:
    """Re-fingerprint this environment without importing plugins and diff it with a run.

    Only what can be known without importing is compared (entry points, distributions,
    sources); manifest, load, origin and registrations are taken from the recording.
    """
    return run_reproducibility(recorded)[0]


def run_reproducibility(recorded: Provenance) -> tuple[DiffReport, list[str]]:
    """:func:`reproducibility_changes`, and the run's dependencies installed here.

    The dependencies are the metadata directories of the installed distributions named
    in the run's dependency table or in this environment's (the closures of the plugins
    as installed now), found as ``importlib.metadata.distribution(name)`` finds them:
    ``verify RUN`` checks their files as it checks the plugins' (``docs/verify.md``).
    A run recorded without a dependency table names none. A distribution that is no
    directory on disk is left out (its table row is compared; it has no RECORD to check).
    """
    from insidellms_provenance.analyze._diff import diff_fields
    from insidellms_provenance.fingerprint._discover import InstalledDistributions
    from insidellms_provenance.fingerprint._recorder import record_without_import

    now = record_without_import(recorded["group"], recorded)
    names = set(recorded.get("dependencies") or {}) | set(now.get("dependencies") or {})
    installed = InstalledDistributions() if names else None
    directories = []
    for name in sorted(names):
        dist = installed.get(name) if installed is not None else None
        path = getattr(dist, "_path", None)  # PathDistribution's directory (see discover)
        if path is not None and os.path.isdir(path):
            directories.append(os.fspath(path))
    return diff_fields(recorded, now), directories
