"""Re-verify installed distributions against their RECORD, and an environment against a run.

Typical usage::

    findings = verify_distributions(distributions)       # integrity, by path
    changes = reproducibility_changes(recorded_field, group)

Nothing here imports plugin code: distributions are found through their metadata only,
and files are read without following symlinks or opening special files
(``docs/verify.md`` states the rules and the threat model).
"""

from __future__ import annotations

import binascii
import hashlib
import os
import posixpath
import stat
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from insidellms_provenance.analyze.diff import DiffReport

from insidellms_provenance.fingerprint.discover import dist_info_name
from insidellms_provenance.fingerprint.distribution import (
    metadata_name,
    read_regular_file,
    site_directory,
)
from insidellms_provenance.fingerprint.hashing import POOL_MIN_FILES
from insidellms_provenance.fingerprint.install_layout import site_layout
from insidellms_provenance.fingerprint.record_file import (
    Hash,
    RecordEntry,
    check_path,
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

# Metadata directories handed to the pool at once, rather than targets read beforehand.
_POOL_MIN_DIRECTORIES: Final = 40

# RECORD rows that may lack a hash (the wheel spec: RECORD and its signatures; bytecode
# that installers compile after writing the files).
_UNHASHED_OK: Final = frozenset({"RECORD", "RECORD.jws", "RECORD.p7s"})
# Open without following a final symlink and without blocking: a FIFO swapped in after
# the lstat cannot hang us, and fstat then refuses it.
_OPEN_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_CHUNK: Final = 1 << 20
_TO_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")
_HASHES: Final = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


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


def target_at(info_dir: str) -> VerifyTarget:
    """Describe the distribution whose metadata directory is ``info_dir``, reading metadata only.

    RECORD is read only if it is a regular file (a FIFO cannot hang us); the name comes
    from METADATA's header block, without the email parser.
    """
    site, dist_info = os.path.split(info_dir)
    data = read_regular_file(Path(info_dir), "RECORD")
    try:
        record_text = None if data is None else data.decode("utf-8")
    except UnicodeDecodeError:
        record_text = None
    return VerifyTarget(
        name=metadata_name(info_dir) or dist_info.partition("-")[0] or "?",
        site_dir=Path(site),
        dist_info=dist_info,
        record_text=record_text,
        depth=site_layout(site).depth,
    )


def target_of(dist: metadata.Distribution) -> VerifyTarget:
    """Describe an installed distribution for verification, reading metadata only."""
    info_dir = getattr(dist, "_path", None)  # PathDistribution's directory (see discover)
    if isinstance(info_dir, Path):
        return target_at(str(info_dir))
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
    targets: Iterable[VerifyTarget | str], progress: Callable[[int, int], None] | None = None
) -> list[Finding]:
    """Every integrity finding for ``targets``, sorted by distribution and path.

    A target is a :class:`VerifyTarget` or the path of a metadata directory, which is
    described (:func:`target_at`) where it is verified. Each distribution is verified
    whole (RECORD parse, ``lstat``, hashing, unexpected files) in one place; when there
    are enough files to pay for it, distributions are spread over a small process pool
    and only findings travel back. ``progress`` is called with (batches done, batches)
    as work completes.
    """
    work = list(targets)
    rows = sum(
        (target.record_text or "").count("\n") if isinstance(target, VerifyTarget) else 0
        for target in work
    )
    directories = sum(isinstance(target, str) for target in work)
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or (rows < POOL_MIN_FILES and directories < _POOL_MIN_DIRECTORIES):
        results = [_verify_batch(work)]
    else:
        from concurrent.futures import ProcessPoolExecutor

        # Interleaved batches give each worker a similar mix of small and large dists.
        batches = [work[index :: workers * 8] for index in range(workers * 8)]
        results = []
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(_verify_batch, batches):
                results.append(result)
                if progress is not None:
                    progress(len(results), len(batches))
    findings = [finding for batch in results for finding in batch]
    return sorted(findings, key=lambda finding: finding.sort_key)


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
        return [Finding(name, target.dist_info + "/RECORD", "RECORD is missing")]
    entries, problems = parse_record(target.record_text)
    findings = [Finding(name, target.dist_info + "/RECORD", problem) for problem in problems]
    site = str(target.site_dir).rstrip("/")
    for entry in entries:
        problem = _entry_problem(target, site, entry)
        if problem is not None:
            findings.append(Finding(name, entry.path, problem))
    findings += _unexpected_files(target, entries)
    return findings


def _entry_problem(  # noqa: PLR0911 - one return per rule, in the order docs/verify.md gives
    target: VerifyTarget, site: str, entry: RecordEntry
) -> str | None:
    """Why the file of one RECORD row does not pass, or None if it does.

    The path is checked as text first, then the file is ``lstat``-ed (a symlink or a
    special file is refused, never opened), then opened without following a symlink
    and without blocking, checked again with ``fstat`` (a file swapped in between is
    refused), hashed, and its size compared with RECORD's.
    """
    path = entry.path
    refusal = check_path(path, target.depth)
    if refusal is not None:
        return f"refused: {refusal}"
    full = f"{site}/{_normalized(path)}"
    try:
        mode = os.lstat(full).st_mode
    except FileNotFoundError:
        return None if entry.hash_ is None and _is_cache(path) else "missing"
    except OSError as error:
        return f"unreadable ({error.strerror})"
    if stat.S_ISLNK(mode):
        return "refused: symlink (not followed)"
    if not stat.S_ISREG(mode):
        return "refused: special file (not opened)"
    if entry.hash_ is None:
        in_dist_info = posixpath.dirname(path) == target.dist_info
        if (in_dist_info and posixpath.basename(path) in _UNHASHED_OK) or _is_cache(path):
            return None
        return "no hash in RECORD"
    return _content_problem(full, entry.hash_, entry.size)


def _content_problem(  # noqa: PLR0911 - one return per outcome
    full: str, expected: Hash, size: int | None
) -> str | None:
    """Why a regular file's content or size does not match its row, or None."""
    try:
        fd = os.open(full, _OPEN_FLAGS)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return "symlink" if os.path.islink(full) else f"unreadable ({error.strerror})"
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            return "special file"
        digest = (
            _HASHES[expected.name]() if expected.name in _HASHES else hashlib.new(expected.name)
        )
        # A read shorter than asked for is the end of a regular file: a small file takes
        # one read, and a file that grew since fstat is still read to its end.
        want = min(status.st_size + 1, _CHUNK)
        while chunk := os.read(fd, want):
            digest.update(chunk)
            if len(chunk) < want:
                break
            want = _CHUNK
    except OSError as error:
        return f"unreadable ({error.strerror})"
    finally:
        os.close(fd)
    encoded = binascii.b2a_base64(digest.digest(), newline=False).translate(_TO_URLSAFE)
    if encoded.rstrip(b"=").decode("ascii") != expected.value:
        return "content does not match RECORD hash"
    if size is not None and size != status.st_size:
        return "size does not match RECORD"
    return None


def _normalized(path: str) -> str:
    """``posixpath.normpath`` of a RECORD path, skipped for paths it would not change."""
    if "//" in path or "./" in path or path.endswith(("/", "/.")) or path in (".", ".."):
        return posixpath.normpath(path)
    return path


def _is_cache(path: str) -> bool:
    return path.endswith(".pyc") and "/__pycache__/" in f"/{path}"


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
    source; a ``.pyc`` that no listed source explains is reported. Symlinked
    directories are reported, not entered.
    """
    listed = {_normalized(entry.path) for entry in entries}
    packages = {
        path[: -len("/__init__.py")]
        for path in listed
        if path.endswith("/__init__.py") and not path.startswith("../")
    }
    roots = sorted(p for p in packages if not any(p.startswith(q + "/") for q in packages))
    if target.dist_info:
        roots.append(target.dist_info)
    site = str(target.site_dir).rstrip("/")
    findings = []
    pending = roots[::-1]
    while pending:
        relative_dir = pending.pop()
        try:
            with os.scandir(f"{site}/{relative_dir}") as listing:
                children = list(listing)  # findings are sorted at the end
        except OSError:
            continue
        below = []
        for child in children:
            path = f"{relative_dir}/{child.name}"
            if child.is_dir(follow_symlinks=False):
                below.append(path)
                continue
            if path in listed or (_is_cache(path) and _cache_source(path) in listed):
                continue
            problem = (
                "unexpected bytecode: no listed source explains it"
                if path.endswith(".pyc")
                else "unexpected file: not listed in RECORD"
            )
            findings.append(Finding(target.name, path, problem))
        pending += below[::-1]
    return findings


def reproducibility_changes(recorded: Mapping[str, Any], group: str) -> DiffReport:
    """Re-fingerprint this environment without importing plugins and diff it with a run.

    Only what can be known without importing is compared (entry points, distributions,
    sources); manifest, load, origin and registrations are taken from the recording.
    """
    from insidellms_provenance.analyze.diff import diff_fields
    from insidellms_provenance.field import schema
    from insidellms_provenance.field.build import make_field
    from insidellms_provenance.fingerprint.discover import discover, entry_point_ref
    from insidellms_provenance.fingerprint.distribution import describe_distribution
    from insidellms_provenance.fingerprint.source import describe_source

    old = {(p["entry_point"]["name"], p["entry_point"]["value"]): p for p in recorded["plugins"]}
    live = []
    for ep in discover(group):
        was = old.get((ep.name, ep.value))
        info = source = None
        if ep.dist is not None:
            source = describe_source(ep.dist)
            info, _ = describe_distribution(ep.dist, editable=source["editable"])
        live.append(
            schema.fingerprint(
                entry_point=entry_point_ref(ep),
                distribution=info,
                source=source,
                origin=was["origin"] if was else schema.origin(status="unknown"),
                manifest=was["manifest"] if was else schema.manifest_summary(status="missing"),
                load=was["load"] if was else schema.load_outcome(status="loaded"),
                registered=was["registered"] if was else None,
                replaced=was["replaced"] if was else None,
            )
        )
    return diff_fields(recorded, make_field(group, live, recorded.get("conflicts", [])))
