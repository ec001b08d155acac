"""Re-verify installed distributions against their RECORD, and an environment against a run.

Typical usage::

    findings = verify_distributions(distributions)       # integrity, by path
    changes = reproducibility_changes(recorded_field)

Nothing here imports plugin code: distributions are found through their metadata only,
and files are read without following symlinks or opening special files
(``docs/verify.md`` states the rules and the threat model).
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from insidellms_provenance.analyze.diff import DiffReport
    from insidellms_provenance.field.schema import Provenance

from insidellms_provenance.fingerprint.discover import dist_info_name
from insidellms_provenance.fingerprint.distribution import site_directory
from insidellms_provenance.fingerprint.hashing import POOL_MIN_FILES, hash_file
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
    "target_of",
    "verify_targets",
]


@attrs.frozen(kw_only=True)
class Finding:
    """One integrity problem, by distribution and path relative to the site directory."""

    distribution: str
    path: str
    problem: str

    @property
    def sort_key(self) -> tuple[str, str, str]:
        """Distribution, then path, then problem."""
        return (self.distribution, self.path, self.problem)


@attrs.frozen(kw_only=True)
class VerifyTarget:
    """A distribution to verify: where it lives and what its RECORD says."""

    name: str
    site_dir: Path
    dist_info: str
    record_text: str | None
    depth: int


def target_of(dist: metadata.Distribution) -> VerifyTarget:
    """Describe an installed distribution for verification, reading metadata only."""
    site = site_directory(dist)
    try:
        record_text = dist.read_text("RECORD")
    except (OSError, UnicodeDecodeError):
        record_text = None
    name = dist.name or (dist_info_name(dist) or "?").partition("-")[0]
    return VerifyTarget(
        name=name,
        site_dir=site,
        dist_info=dist_info_name(dist) or "",
        record_text=record_text,
        depth=site_layout(str(site)).depth,
    )


def verify_targets(
    targets: Iterable[VerifyTarget], progress: Callable[[int, int, str], None] | None = None
) -> list[Finding]:
    """Every integrity finding for ``targets``, sorted by distribution and path.

    Each distribution is verified whole (RECORD parse, ``lstat``, hashing, unexpected
    files) in one place; when there are enough files to pay for it, distributions are
    spread over a small process pool and only findings travel back. ``progress`` is
    called with (distributions done, distributions, the last one done) as work completes.
    """
    work = list(targets)
    rows = sum((target.record_text or "").count("\n") for target in work)
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or rows < POOL_MIN_FILES:
        results = []
        for target in work:
            results.append(_verify_one(target))
            if progress is not None:
                progress(len(results), len(work), target.name)
    else:
        from concurrent.futures import ProcessPoolExecutor

        # Interleaved batches give each worker a similar mix of small and large dists.
        batches = [work[index :: workers * 8] for index in range(workers * 8)]
        results = []
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = 0
            for batch, result in zip(batches, pool.map(_verify_batch, batches), strict=True):
                results.append(result)
                done += len(batch)
                if progress is not None and batch:
                    progress(done, len(work), batch[-1].name)
    findings = [finding for batch in results for finding in batch]
    return sorted(findings, key=lambda finding: finding.sort_key)


def _verify_batch(targets: list[VerifyTarget]) -> list[Finding]:
    return [finding for target in targets for finding in _verify_one(target)]


def _verify_one(target: VerifyTarget) -> list[Finding]:
    """Every finding for one distribution."""
    name = target.name
    if target.record_text is None:
        return [
            Finding(
                distribution=name, path=target.dist_info + "/RECORD", problem="RECORD is missing"
            )
        ]
    entries, problems = parse_record(target.record_text)
    findings = [
        Finding(distribution=name, path=target.dist_info + "/RECORD", problem=problem)
        for problem in problems
    ]
    for entry in entries:
        finding = _check_entry(target, entry)
        if finding is not None:
            findings.append(finding)
        elif entry.hash_ is not None:
            full = os.path.join(target.site_dir, posixpath.normpath(entry.path))
            result = hash_file(full, entry.hash_.name)
            problem = result if isinstance(result, str) else entry.mismatch(*result)
            if problem is not None:
                findings.append(Finding(distribution=name, path=entry.path, problem=problem))
    findings += _unexpected_files(target, entries)
    return findings


def _check_entry(  # noqa: PLR0911 - one return per rule, in the order docs/verify.md gives
    target: VerifyTarget, entry: RecordEntry
) -> Finding | None:
    """A finding for a row that must not be hashed, or ``None`` when it may be."""

    def finding(problem: str) -> Finding:
        return Finding(distribution=target.name, path=entry.path, problem=problem)

    refusal = check_path(entry.path, target.depth)
    if refusal is not None:
        return finding(f"refused: {refusal}")
    full = os.path.join(target.site_dir, posixpath.normpath(entry.path))
    try:
        mode = os.lstat(full)
    except FileNotFoundError:
        return None if entry.hash_ is None and is_bytecode_cache(entry.path) else finding("missing")
    except OSError as error:
        return finding(f"unreadable ({error.strerror})")
    if stat.S_ISLNK(mode.st_mode):
        return finding("refused: symlink (not followed)")
    if not stat.S_ISREG(mode.st_mode):
        return finding("refused: special file (not opened)")
    if entry.hash_ is None and not entry.may_lack_hash(target.dist_info):
        return finding("no hash in RECORD")
    return None


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
