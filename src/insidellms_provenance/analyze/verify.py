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
from insidellms_provenance.fingerprint.hashing import POOL_MIN_FILES
from insidellms_provenance.fingerprint.install_layout import site_layout
from insidellms_provenance.fingerprint.integrity import check_files
from insidellms_provenance.fingerprint.record_file import parse_record

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
    """Every finding for one distribution (the checks ``record`` makes, bytecode included)."""
    name = target.name
    record_path = target.dist_info + "/RECORD"
    if target.record_text is None:
        return [Finding(distribution=name, path=record_path, problem="RECORD is missing")]
    entries, rejected = parse_record(target.record_text)
    findings = [Finding(distribution=name, path=record_path, problem=r.problem) for r in rejected]
    checked = check_files(
        str(target.site_dir), target.dist_info, entries, target.depth, bytecode=True
    )
    findings += [Finding(distribution=name, path=f.path, problem=f.problem) for f in checked]
    return findings


def reproducibility_changes(recorded: Provenance) -> DiffReport:
    """Re-fingerprint this environment without importing plugins and diff it with a run.

    Only what can be known without importing is compared (entry points, distributions,
    sources); manifest, load, origin and registrations are taken from the recording.
    """
    from insidellms_provenance.analyze.diff import diff_fields
    from insidellms_provenance.fingerprint.recorder import record_without_import

    now = record_without_import(recorded["group"], recorded)
    return diff_fields(recorded, now)
