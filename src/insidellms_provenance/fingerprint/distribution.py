"""Describe an installed distribution: its name, version and ``record_digest``."""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from insidellms_provenance._safe_io import (
    DIST_FILE_LIMIT,
    RECORD_FILE_LIMIT,
    FileRefusedError,
    read_regular,
)
from insidellms_provenance.canonical import canonical_digest
from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import DistributionInfo
from insidellms_provenance.fingerprint.discover import (
    dist_info_name,
    entry_points_of,
    normalized_name,
)
from insidellms_provenance.fingerprint.dist_files import read_dist_text
from insidellms_provenance.fingerprint.install_layout import site_layout
from insidellms_provenance.fingerprint.legacy import legacy_install, legacy_rows
from insidellms_provenance.fingerprint.record_file import (
    CanonicalRow,
    InstallLayout,
    RecordEntry,
    canonical_rows,
    parse_record,
)
from insidellms_provenance.fingerprint.redact import redact

if TYPE_CHECKING:
    from email.message import Message

__all__ = [
    "code_digest",
    "describe_distribution",
    "may_read_files",
    "metadata_headers",
    "metadata_name",
    "name_and_version",
    "read_regular_file",
    "record_digest",
    "site_directory",
]

_WRAPPER_GROUPS = ("console_scripts", "gui_scripts")
# Where installers put scripts in a --target directory (POSIX, Windows).
_TARGET_SCRIPTS_DIRS = frozenset({"bin", "Scripts"})


def site_directory(dist: metadata.Distribution) -> Path:
    """The directory that RECORD paths are relative to."""
    return Path(str(dist.locate_file("")))


def read_regular_file(root: Path, relative: str) -> bytes | None:
    """Read ``root/relative`` if it is a regular file; never follow a final symlink."""
    try:
        return read_regular(root / relative, limit=RECORD_FILE_LIMIT, follow_symlinks=False)
    except (FileRefusedError, ValueError):  # ValueError: a NUL in the path
        return None


def describe_distribution(
    dist: metadata.Distribution, *, editable: bool = False
) -> tuple[DistributionInfo, frozenset[str]]:
    """Read METADATA and RECORD of ``dist`` and digest RECORD's canonical form.

    Returns the description and the normalized paths RECORD lists. Problems (missing
    Name or Version, bad RECORD rows, refused paths) are reported in the result, never
    raised: a broken distribution must not stop a run.
    """
    problems: list[str] = []
    info_dir = dist_info_name(dist) or ""
    dir_name, dir_version = _name_version_from_dir(info_dir)
    name, version = _read_name_version(dist, problems)
    name = name or dir_name
    version = version or dir_version

    digest = code = None
    record_paths: frozenset[str] = frozenset()
    record_problems: list[str] = []
    record_text = read_dist_text(dist, "RECORD", record_problems)
    legacy = legacy_install(dist) if record_text is None and not record_problems else None
    rows: list[CanonicalRow] | None = None
    if legacy is not None:
        # No wheel was installed, so no RECORD: list what a RECORD would (legacy.py).
        legacy_files, legacy_problems = legacy_rows(legacy)
        record_problems.extend(legacy_problems)
        record_paths = frozenset(path for path, _, _ in legacy_files)
        rows = sorted(legacy_files, key=lambda row: row[0].encode("utf-8", "surrogatepass"))
    elif record_text is None:
        if not record_problems:
            record_problems.append("RECORD is missing")
    else:
        entries, parse_problems = parse_record(record_text)
        record_problems.extend(parse_problems)
        record_paths = frozenset(posixpath.normpath(entry.path) for entry in entries)
        rows, row_problems = _canonical_rows(dist, entries, info_dir, editable=editable)
        record_problems.extend(row_problems)
    record_problems = [redact(problem) for problem in record_problems]
    if rows is not None:
        digest = record_digest(rows, record_problems)
        code = code_digest(rows, record_problems, info_dir)
    problems.extend(record_problems)

    info = schema.distribution(
        name=name,
        normalized_name=normalized_name(name) if name else "",
        version=version,
        record_digest=digest,
        code_digest=code,
        problems=tuple(redact(problem) for problem in problems),
    )
    return info, record_paths


def record_digest(rows: Iterable[CanonicalRow], problems: Iterable[str]) -> str:
    """``record_digest`` of canonical RECORD rows and the problems found making them.

    The one definition, shared by installed distributions and wheel archives
    (:mod:`insidellms_provenance.fingerprint.wheel`): ``docs/record-digest.md``, step 8.
    """
    return canonical_digest({"files": list(rows), "problems": sorted(set(problems))})


def code_digest(rows: Iterable[CanonicalRow], problems: Iterable[str], info_dir: str) -> str:
    """``code_digest``: :func:`record_digest` without the rows in ``info_dir``.

    What runs (modules, data files, scripts) without the distribution's own packaging
    metadata: ``docs/record-digest.md``, "code_digest".
    """
    return record_digest((row for row in rows if not row[0].startswith(f"{info_dir}/")), problems)


def _canonical_rows(
    dist: metadata.Distribution, entries: list[RecordEntry], info_dir: str, *, editable: bool
) -> tuple[list[CanonicalRow], list[str]]:
    """RECORD's canonical rows, with the layout of the site directory where it matters."""
    site = site_directory(dist)
    layout = InstallLayout(dist_info=info_dir, depth=0, scripts_dir=None, editable=editable)
    if any(_may_be_outside(entry.path) for entry in entries):
        # Only rows that climb out of the site directory (scripts, data files), or name
        # the scripts directory of a --target directory, depend on where it lies below
        # the prefix; most plugins have none, and working that out asks sysconfig about
        # every install scheme.
        where = site_layout(str(site))
        layout = layout._replace(
            depth=where.depth,
            scripts_dir=where.scripts_dir,
            wrapper_names=_wrapper_names(dist) if where.scripts_dir else frozenset(),
            relocated_depth=where.relocated_depth,
        )
    return canonical_rows(entries, layout, lambda path: read_regular_file(site, path))


def may_read_files(record_text: str) -> bool:
    """Whether a RECORD's digest may read installed files (scripts) besides RECORD itself.

    True when a row may lie outside the site directory's own files: the description
    cache (``digest_cache``) only caches RECORDs for which this is false. Conservative:
    it looks at the text, not at parsed rows.
    """
    text = "\n" + record_text.replace("\r", "\n")
    return ".." in record_text or any(
        f"\n{quote}{name}/" in text for name in _TARGET_SCRIPTS_DIRS for quote in ("", '"')
    )


def _may_be_outside(path: str) -> bool:
    """Whether a RECORD row may lie outside the site directory's own files."""
    parts = path.split("/")
    return ".." in parts or parts[0] in _TARGET_SCRIPTS_DIRS


def _wrapper_names(dist: metadata.Distribution) -> frozenset[str]:
    """Console and GUI script names: installers generate wrappers for them."""
    text = read_dist_text(dist, "entry_points.txt") or ""
    return frozenset(
        ep.name for group in _WRAPPER_GROUPS for ep in entry_points_of(text, group, dist)
    )


def _read_name_version(dist: metadata.Distribution, problems: list[str]) -> tuple[str, str]:
    before = len(problems)
    text = read_dist_text(dist, "METADATA", problems)
    if text is None and len(problems) == before:
        text = read_dist_text(dist, "PKG-INFO", problems)
    if text is None:
        if len(problems) == before:
            problems.append("METADATA is missing")
        return "", ""
    return name_and_version(text, problems)


@functools.lru_cache(maxsize=64)
def metadata_headers(text: str) -> Message:
    """The headers of METADATA ``text`` (compat32, as ``packaging.metadata.parse_email``).

    Parsed once per text in a process: describing a distribution and walking its
    ``Requires-Dist`` both need them. The result is shared: read it, never change it.
    """
    from email.parser import HeaderParser

    return HeaderParser().parsestr(text)


def name_and_version(text: str, problems: list[str]) -> tuple[str, str]:
    """Name and Version of METADATA text; a field given more than once is malformed.

    The headers are read as ``packaging.metadata.parse_email`` reads them (the standard
    library's parser, ``compat32`` policy), without importing ``packaging.metadata`` and
    its licence tables into every host run; ``tests/test_distinfo_metadata.py`` checks
    that both agree.
    """
    headers = metadata_headers(text)
    found = {}
    for field in ("Name", "Version"):
        given = headers.get_all(field) or []
        if len(given) > 1:
            problems.append(f"METADATA field {field} is malformed")
        elif not given or not given[0]:
            problems.append(f"METADATA has no {field}")
        else:
            found[field] = given[0]
    return found.get("Name", ""), found.get("Version", "")


def metadata_name(info_dir: str) -> str | None:
    """The ``Name`` header of the METADATA (or PKG-INFO) in ``info_dir``, read cheaply.

    For display, such as naming a distribution in ``verify``'s findings: only the header
    block is split into lines, where ``importlib.metadata``'s ``Distribution.name`` parses
    the whole file with the email parser (about 2 ms for a long description). Files are
    read only if regular (never a FIFO or a symlink). A folded header is unfolded; None if
    there is no readable, non-empty Name.
    """
    for path in (f"{info_dir}/METADATA", f"{info_dir}/PKG-INFO", info_dir):
        try:
            data = read_regular(path, limit=DIST_FILE_LIMIT, follow_symlinks=False)
        except (FileRefusedError, ValueError):  # ValueError: a NUL in the path
            continue
        break
    else:
        return None  # an egg-info directory without PKG-INFO, or nothing at all
    head = data.partition(b"\n\n")[0].decode("utf-8", "replace").replace("\r\n", "\n")
    lines = head.split("\n")
    for index, line in enumerate(lines):
        label, colon, value = line.partition(":")
        if colon and label.strip().lower() == "name":
            for following in lines[index + 1 :]:
                if not following[:1].isspace() or not following.strip():
                    break
                value += " " + following.strip()
            return value.strip() or None
    return None


def _name_version_from_dir(info_dir: str) -> tuple[str, str]:
    """``Demo_Plugin-1.0.dist-info`` → (``Demo_Plugin``, ``1.0``): the fallback identity."""
    stem = info_dir.rpartition(".")[0]
    name, _, version = stem.partition("-")
    return name, version
