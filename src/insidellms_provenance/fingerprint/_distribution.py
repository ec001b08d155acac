"""Describe an installed distribution: its name, version and ``record_digest``."""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Final

from insidellms_provenance._canonical import canonical_digest
from insidellms_provenance._safe_io import (
    DIST_FILE_LIMIT,
    RECORD_FILE_LIMIT,
    FileRefusedError,
    read_regular,
)
from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import DistributionInfo
from insidellms_provenance.fingerprint._discover import (
    dist_info_name,
    entry_points_of,
    normalized_name,
)
from insidellms_provenance.fingerprint._dist_files import legacy_install_of, read_dist_text
from insidellms_provenance.fingerprint._integrity import (
    Finding,
    check_files,
    integrity_summary,
    is_uv_link,
)
from insidellms_provenance.fingerprint._record_file import (
    CanonicalRow,
    InstallLayout,
    RecordEntry,
    canonical_rows,
    parse_record,
    simple_canonical_rows,
)
from insidellms_provenance.fingerprint._redact import redact

if TYPE_CHECKING:
    from email.message import Message

    from insidellms_provenance.fingerprint._bytecode_verdicts import BytecodeVerdicts

__all__ = [
    "MetadataFacts",
    "code_digest",
    "describe_distribution",
    "may_read_files",
    "metadata_facts",
    "metadata_headers",
    "metadata_name",
    "name_and_version",
    "read_regular_file",
    "record_digest",
    "site_directory",
]

MetadataFacts = tuple[str, str, list[str]]
"""``Name``, ``Version`` and ``Requires-Dist`` values, as :func:`metadata_facts` reads them."""

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


def _read_installed_script(root: Path, relative: str, dist: metadata.Distribution) -> bytes | None:
    """:func:`read_regular_file`, or through a link into uv's cache if uv installed ``dist``.

    uv's symlink link mode links a script it need not rewrite (one without ``#!python``)
    into its cache, as it links every other file; the integrity check reads such a link
    (:func:`~insidellms_provenance.fingerprint._integrity.check_files`), and the digest
    must read the same bytes, or the same wheel would give two digests.
    """
    data = read_regular_file(root, relative)
    if data is None and is_uv_link(str(root / relative)) and _installed_by_uv(dist):
        try:
            return read_regular(root / relative, limit=RECORD_FILE_LIMIT)
        except (FileRefusedError, ValueError):
            return None
    return data


def describe_distribution(
    dist: metadata.Distribution,
    *,
    editable: bool = False,
    bytecode: bool = True,
    integrity: bool = True,
    verdicts: BytecodeVerdicts | None = None,
) -> tuple[DistributionInfo, frozenset[str]]:
    """Read METADATA and RECORD of ``dist``, digest RECORD, and check the files against it.

    Returns the description and the normalized paths RECORD lists. Problems (missing
    Name or Version, bad RECORD rows, refused paths) are reported in the result, never
    raised: a broken distribution must not stop a run. ``bytecode`` also compares the
    caches Python would load with their sources (not for editable installs, whose code
    lies outside RECORD). Without ``integrity`` (dependencies, whose description may
    come from a cache keyed by RECORD's bytes, not the files), nothing but RECORD and
    METADATA is read and ``integrity`` is ``None``. ``verdicts``: bytecode matches found
    before on the same bytes (:mod:`~insidellms_provenance.fingerprint._bytecode_verdicts`).
    """
    problems: list[str] = []
    info_dir = dist_info_name(dist) or ""
    dir_name, dir_version = _name_version_from_dir(info_dir)
    name, version = _read_name_version(dist, problems)
    name = name or dir_name
    version = version or dir_version

    digest = code = None
    record_paths: frozenset[str] = frozenset()
    bytecode = bytecode and not editable
    findings: list[Finding] = []
    record_problems: list[str] = []
    record_text = read_dist_text(dist, "RECORD", record_problems)
    legacy = legacy_install_of(dist) if record_text is None and not record_problems else None
    rows: list[CanonicalRow] | None = None
    rejected_texts: list[str] | None = None
    if legacy is not None:
        # No wheel was installed, so no RECORD: list what a RECORD would (legacy.py).
        from insidellms_provenance.fingerprint._legacy import legacy_rows

        legacy_files, legacy_problems = legacy_rows(legacy)
        record_problems.extend(legacy_problems)
        record_paths = frozenset(path for path, _, _ in legacy_files)
        rows = sorted(legacy_files, key=lambda row: row[0].encode("utf-8", "surrogatepass"))
        bytecode = False  # no RECORD rows whose caches could be compared
    elif record_text is None:
        if not record_problems:
            record_problems.append("RECORD is missing")
    elif (
        not integrity and not editable and (simple := simple_canonical_rows(record_text, info_dir))
    ):
        # Nothing but the digests is needed: the one-pass reading of a simple RECORD.
        rows, listed = simple
        record_paths = frozenset(listed)
        rejected_texts = []
    else:
        entries, rejected = parse_record(record_text)
        record_paths = frozenset(posixpath.normpath(entry.path) for entry in entries)
        site = site_directory(dist)
        layout = _layout(dist, entries, info_dir, editable=editable)
        rows, left_out = canonical_rows(
            entries, layout, lambda path: _read_installed_script(site, path, dist)
        )
        rejected += left_out
        record_problems.extend(row.problem for row in rejected)
        # What is on disk, never our wording of what is wrong with it (record-digest.md).
        rejected_texts = [row.text for row in rejected]
        if integrity:
            findings = check_files(
                _climbing_root(str(site), layout.depth),
                info_dir,
                entries,
                layout.depth,
                bytecode=bytecode,
                relocated_depth=layout.relocated_depth,
                uv_links=_installed_by_uv(dist),
                verdicts=verdicts,
            )
    record_problems = [redact(problem) for problem in record_problems]
    if rows is not None:
        # A legacy install has no RECORD rows to reject: its problems are digested, as
        # issue 13 defined (docs/record-digest.md, "Legacy installs").
        texts = record_problems if rejected_texts is None else rejected_texts
        digest = record_digest(rows, texts)
        code = code_digest(rows, texts, info_dir)
    problems.extend(record_problems)

    info = schema.distribution(
        name=name,
        normalized_name=normalized_name(name) if name else "",
        version=version,
        record_digest=digest,
        code_digest=code,
        problems=tuple(redact(problem) for problem in problems),
        # A legacy install has no RECORD to check its files against: unverifiable.
        integrity=integrity_summary(
            findings,
            record_problem=bool(record_problems) or legacy is not None,
            dist_info=info_dir,
            bytecode=bytecode,
        )
        if integrity
        else None,
    )
    return info, record_paths


def record_digest(rows: Iterable[CanonicalRow], rejected: Iterable[str]) -> str:
    """``record_digest`` of canonical RECORD rows and the text of the rows left out.

    The one definition, shared by installed distributions and wheel archives
    (:mod:`insidellms_provenance.fingerprint._wheel`): ``docs/record-digest.md``, step 8.
    ``rejected`` is what RECORD holds (:attr:`RejectedRow.text`), never a message; the key
    keeps v1's name, so a clean RECORD digests as it did in v1.
    """
    return canonical_digest({"files": list(rows), "problems": sorted(set(rejected))})


def code_digest(rows: Iterable[CanonicalRow], rejected: Iterable[str], info_dir: str) -> str:
    """``code_digest``: :func:`record_digest` without the rows in ``info_dir``.

    What runs (modules, data files, scripts) without the distribution's own packaging
    metadata: ``docs/record-digest.md``, "code_digest".
    """
    prefix = f"{info_dir}/"
    return record_digest([row for row in rows if not row[0].startswith(prefix)], rejected)


def _layout(
    dist: metadata.Distribution, entries: list[RecordEntry], info_dir: str, *, editable: bool
) -> InstallLayout:
    """The layout of the site directory where RECORD's rows need it.

    The one layout ``record_digest``, ``code_digest`` and the integrity check resolve
    RECORD's paths by (:func:`insidellms_provenance.fingerprint._record_file.on_disk_path`).
    """
    layout = InstallLayout(dist_info=info_dir, depth=0, scripts_dir=None, editable=editable)
    if any(_may_be_outside(entry.path) for entry in entries):
        # Only rows that climb out of the site directory (scripts, data files), or name
        # the scripts directory of a --target directory, depend on where it lies below
        # the prefix; most plugins have none, and working that out asks sysconfig about
        # every install scheme.
        from insidellms_provenance.fingerprint._install_layout import site_layout

        where = site_layout(str(site_directory(dist)))
        layout = layout._replace(
            depth=where.depth,
            scripts_dir=where.scripts_dir,
            wrapper_names=_wrapper_names(dist) if where.scripts_dir else frozenset(),
            relocated_depth=where.relocated_depth,
        )
    return layout


def _climbing_root(site: str, depth: int) -> str:
    """Where the integrity check climbs from (``_install_layout.climbing_root``), lazily."""
    if not depth:
        return site
    from insidellms_provenance.fingerprint._install_layout import climbing_root

    return climbing_root(site, depth)


def _installed_by_uv(dist: metadata.Distribution) -> bool:
    """Whether the INSTALLER file says ``uv`` (whose symlink link mode links every file)."""
    return (read_dist_text(dist, "INSTALLER") or "").strip() == "uv"


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


# A blank line: a line end followed by another, as the email parser splits lines
# (``\r\n``, ``\r`` or ``\n``; a ``\r\n`` is one line end, not two).
_BLANK_LINE: Final = re.compile(r"(\r\n|\r(?!\n)|\n)(?:\r\n|\r|\n)")


class MetadataHeaders:
    """Headers read by :func:`metadata_headers`: what ``email.message.Message`` answers.

    ``get`` and ``get_all`` match names case-insensitively and return the values as the
    ``compat32`` policy returns them, in order.
    """

    __slots__ = ("_items",)

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def get(self, name: str, failobj: str | None = None) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self._items if key.lower() == wanted), failobj)

    def get_all(self, name: str, failobj: list[str] | None = None) -> list[str] | None:
        wanted = name.lower()
        return [value for key, value in self._items if key.lower() == wanted] or failobj

    def get_unixfrom(self) -> str | None:
        return None


# What the email parser takes for a header's name (``email.feedparser.headerRE``).
_HEADER_NAME: Final = re.compile(r"[\041-\071\073-\176]+")


@functools.lru_cache(maxsize=64)
def metadata_headers(text: str) -> MetadataHeaders | Message:
    """The headers of METADATA ``text`` (compat32, as ``packaging.metadata.parse_email``).

    Parsed once per text in a process: describing a distribution and walking its
    ``Requires-Dist`` both need them. The result is shared: read it, never change it.
    Only the text up to the first blank line is parsed: the headers end there at the
    latest, and the parser would split a long description into lines for nothing
    (≈ 0.15 ms for 30 KB). Header blocks of the plain shape every installer writes
    (``Name: value`` lines, each ended by a line feed) are split with string methods; anything
    else (other line ends, folded or malformed lines, a ``From `` line, surrogates)
    goes to the standard library's parser. ``tests/test_distinfo_metadata.py`` checks
    both readings give the same headers as parsing the whole text (Hypothesis).
    """
    blank = _BLANK_LINE.search(text)
    head = text if blank is None else text[: blank.end(1)]
    simple = _simple_headers(head)
    if simple is not None:
        return simple
    from email.parser import HeaderParser

    return HeaderParser().parsestr(head)


def _simple_headers(head: str) -> MetadataHeaders | None:
    """``Name: value`` lines ended by line feeds, as the email parser reads them, or ``None``."""
    if "\r" in head or not head.endswith("\n"):
        return None
    try:
        head.encode("utf-8")
    except UnicodeEncodeError:  # surrogates: compat32 makes Header objects of those
        return None
    items = []
    for line in head[:-1].split("\n"):
        name, colon, value = line.partition(":")
        if not colon or not _HEADER_NAME.fullmatch(name) or line.startswith("From "):
            return None
        items.append((name, value.lstrip(" \t")))
    return MetadataHeaders(items)


def metadata_facts(text: str) -> MetadataFacts:
    """What the dependency walk reads from METADATA text: ``Name``, ``Version``, ``Requires-Dist``.

    The first ``Name`` and ``Version`` (empty if absent) and every ``Requires-Dist`` value.
    """
    headers = metadata_headers(text)
    requires = [str(value) for value in headers.get_all("Requires-Dist") or []]
    return str(headers.get("Name") or ""), str(headers.get("Version") or ""), requires


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
