"""The wheel RECORD file: parse rows, check paths, files and hashes, and a canonical form.

Typical usage::

    entries, rejected = parse_record(text)
    rows, refused = canonical_rows(entries, layout, read_script)
    problem = entry.mismatch(digest, size)           # a file against its row

The canonical form is what ``record_digest`` hashes; ``docs/record-digest.md`` states
the rule and the evidence for every exclusion.
"""

from __future__ import annotations

import base64
import binascii
import csv
import functools
import hashlib
import io
import itertools
import operator
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

__all__ = [
    "INSTALLER_WRITTEN_FILES",
    "CanonicalRow",
    "Hash",
    "InstallLayout",
    "RecordEntry",
    "RejectedRow",
    "canonical_rows",
    "check_path",
    "is_bytecode_cache",
    "is_cache_outside_root",
    "on_disk_path",
    "parse_record",
    "plain_rows",
    "record_fields",
    "simple_canonical_rows",
]

# Files in ``*.dist-info`` that the installer or the request writes, never the wheel.
# Evidence (pip 25 and uv 0.13 installing the same wheel): INSTALLER says "pip" vs "uv";
# REQUESTED exists only for requested dists; direct_url.json differs in content (pip adds
# the archive hash); uv adds uv_cache.json; RECORD cannot list its own hash; the
# signature files sign the installer's RECORD, not the wheel's.
INSTALLER_WRITTEN_FILES: Final = frozenset(
    {
        "INSTALLER",
        "REQUESTED",
        "direct_url.json",
        "RECORD",
        "RECORD.jws",
        "RECORD.p7s",
        "uv_cache.json",
        "uv_build.json",
    }
)

# Rows the wheel spec lets go without a hash: RECORD itself and its signatures, in the
# dist-info directory only (anywhere else a file of that name is ordinary content).
_UNHASHED_IN_DIST_INFO: Final = frozenset({"RECORD", "RECORD.jws", "RECORD.p7s"})

# hashlib.algorithms_guaranteed minus the ones the wheel spec forbids for RECORD.
_ALLOWED_ALGORITHMS: Final = frozenset(hashlib.algorithms_guaranteed) - {"md5", "sha1"}


# The row types below are tuples with named fields, written out: a ``NamedTuple`` class
# costs ≈ 0.2 ms to create (it compiles its constructor), in every host run. Each keeps
# what a ``NamedTuple`` offers (a tuple: equal, hashable, unpacked, pickled as one).
_FIRST_FIELD: Final = property(operator.itemgetter(0))
_SECOND_FIELD: Final = property(operator.itemgetter(1))
_THIRD_FIELD: Final = property(operator.itemgetter(2))


def _fields_repr(value: tuple[Any, ...], names: tuple[str, ...]) -> str:
    """``Name(field=value, ...)``, as a ``NamedTuple`` shows itself."""
    shown = ", ".join(f"{name}={item!r}" for name, item in zip(names, value, strict=True))
    return f"{type(value).__name__}({shown})"


class Hash(tuple[str, str]):
    """A RECORD hash: algorithm name and urlsafe-base64 digest without padding."""

    __slots__ = ()

    def __new__(cls, name: str, value: str) -> Hash:  # noqa: PYI034 - final in effect
        return tuple.__new__(cls, (name, value))

    if TYPE_CHECKING:

        @property
        def name(self) -> str: ...
        @property
        def value(self) -> str: ...

    else:
        name = _FIRST_FIELD
        value = _SECOND_FIELD

    def __getnewargs__(self) -> tuple[str, str]:
        return (self[0], self[1])

    def __repr__(self) -> str:
        return _fields_repr(self, ("name", "value"))

    @classmethod
    def parse(cls, text: str) -> Hash:
        """Parse ``sha256=...``; raise ``ValueError`` naming what is wrong."""
        name, sep, value = text.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"hash {text!r} is not of the form 'algorithm=value'")
        if name not in _ALLOWED_ALGORITHMS:
            raise ValueError(f"unknown or forbidden hash algorithm {name!r}")
        if _is_canonical_b64(value, _digest_size(name)):
            return cls(name, value)
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            raise ValueError(f"hash value {value!r} is not urlsafe base64") from None
        if len(raw) != _digest_size(name) or _b64(raw) != value:
            raise ValueError(f"hash value {value!r} is not a {name} digest in urlsafe base64")
        return cls(name, value)

    @classmethod
    def of(cls, data: bytes, name: str = "sha256") -> Hash:
        """The RECORD hash of ``data``."""
        return cls(name, _b64(hashlib.new(name, data).digest()))

    def matches(self, data: bytes) -> bool:
        """Whether ``data`` hashes to this value."""
        return self.matches_digest(hashlib.new(self.name, data).digest())

    def matches_digest(self, digest: bytes) -> bool:
        """Whether a raw digest made with this hash's algorithm is this value."""
        return _b64(digest) == self.value

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


@functools.cache
def _digest_size(name: str) -> int:
    return hashlib.new(name).digest_size


_B64_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@functools.cache
def _canonical_b64_pattern(size: int) -> re.Pattern[str]:
    """A regular expression for the canonical unpadded urlsafe base64 of ``size`` bytes.

    Canonical: the last character's unused low bits are zero, so decoding and
    re-encoding gives the same text.
    """
    length = -(-size * 8 // 6)
    unused = length * 6 - size * 8
    last = "".join(_B64_ALPHABET[index] for index in range(0, 64, 1 << unused))
    return re.compile(f"[A-Za-z0-9_-]{{{length - 1}}}[{re.escape(last)}]")


def _is_canonical_b64(value: str, size: int) -> bool:
    """Whether ``value`` is the unpadded urlsafe base64 of some ``size`` bytes.

    The same answer as decoding and re-encoding, without either (RECORD parsing is on
    the recording path and runs once a row); a property test checks both agree.
    """
    return _canonical_b64_pattern(size).fullmatch(value) is not None


_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")


def _b64(raw: bytes) -> str:
    """Unpadded urlsafe base64 (``base64.urlsafe_b64encode``, without its two calls)."""
    return binascii.b2a_base64(raw, newline=False).rstrip(b"=").translate(_URLSAFE).decode()


class RecordEntry(tuple[str, "Hash | None", "int | None"]):
    """One RECORD row: a path relative to the site directory, its hash and size."""

    __slots__ = ()

    def __new__(cls, path: str, hash_: Hash | None, size: int | None) -> RecordEntry:  # noqa: PYI034 - final in effect
        return tuple.__new__(cls, (path, hash_, size))

    if TYPE_CHECKING:

        @property
        def path(self) -> str: ...
        @property
        def hash_(self) -> Hash | None: ...
        @property
        def size(self) -> int | None: ...

    else:
        path = _FIRST_FIELD
        hash_ = _SECOND_FIELD
        size = _THIRD_FIELD

    def __getnewargs__(self) -> tuple[str, Hash | None, int | None]:
        return (self[0], self[1], self[2])

    def __repr__(self) -> str:
        return _fields_repr(self, ("path", "hash_", "size"))

    def mismatch(self, digest: bytes, size: int) -> str | None:
        """Why a file of this ``digest`` and ``size`` is not the row's file; ``None`` if it is.

        ``digest`` is made with the row's algorithm. Like pypa/installer's
        ``RecordEntry.validate_stream``, but given the digest: the caller reads the file
        its own safe way (``fingerprint._hashing.hash_file``).
        """
        if self.hash_ is not None and _b64(digest) != self.hash_.value:
            return "content does not match RECORD hash"
        if self.size is not None and self.size != size:
            return "size does not match RECORD"
        return None

    def may_lack_hash(self, dist_info: str) -> bool:
        """Whether the wheel spec allows this row without a hash.

        RECORD and its signatures (in the ``*.dist-info`` directory ``dist_info``), and
        bytecode caches, which installers compile after writing RECORD's other rows.
        """
        directory, _, name = posixpath.normpath(self.path).rpartition("/")
        in_dist_info = directory == dist_info and name in _UNHASHED_IN_DIST_INFO
        return in_dist_info or is_bytecode_cache(self.path)


class RejectedRow(tuple[str, str]):
    """A RECORD row that was not used, and why.

    ``text`` is what RECORD holds: the row as written (without its line end), the whole
    file when it is not CSV, or ``path,hash,size`` of a row whose path was refused.
    Digests hash ``text``, never ``problem``, so rewording a message changes no digest.
    """

    __slots__ = ()

    def __new__(cls, text: str, problem: str) -> RejectedRow:  # noqa: PYI034 - final in effect
        return tuple.__new__(cls, (text, problem))

    if TYPE_CHECKING:

        @property
        def text(self) -> str: ...
        @property
        def problem(self) -> str: ...

    else:
        text = _FIRST_FIELD
        problem = _SECOND_FIELD

    def __getnewargs__(self) -> tuple[str, str]:
        return (self[0], self[1])

    def __repr__(self) -> str:
        return _fields_repr(self, ("text", "problem"))


def parse_record(text: str) -> tuple[list[RecordEntry], list[RejectedRow]]:
    """Parse RECORD text into entries and the rows that were rejected.

    Every problem names the row's path, never its line number, so the list does not
    depend on the order in which an installer wrote the rows.
    """
    entries = _plain_entries(text)
    if entries is not None:
        return entries, []
    return _parse_rows(text)


def _parse_rows(text: str) -> tuple[list[RecordEntry], list[RejectedRow]]:
    """:func:`parse_record`, row by row: the reading for any text."""
    entries: list[RecordEntry] = []
    rejected: list[RejectedRow] = []
    rows = _plain_rows(text)
    if rows is None:
        try:
            rows = _csv_rows(text)
        except csv.Error as error:
            return [], [RejectedRow(text, f"RECORD is not valid CSV: {error}")]
    for row, raw in rows:
        if not row:
            continue
        parsed = _parse_row(row)
        if isinstance(parsed, str):
            rejected.append(RejectedRow(raw, parsed))
        else:
            entries.append(parsed)
    return entries, rejected


@functools.cache
def _plain_row_pattern(field_size_limit: int) -> re.Pattern[str]:
    """A row :func:`_parse_row` accepts as it is: path, canonical sha256 value and size.

    The path is at most the csv module's field limit (longer fields make the whole
    RECORD invalid CSV); the size at most 18 digits (``int`` reads it at once).
    """
    return re.compile(
        rf"^([^,\n]{{1,{field_size_limit}}}),"
        rf"(?:sha256=({_canonical_b64_pattern(32).pattern}))?,([0-9]{{0,18}})$",
        re.MULTILINE,
    )


def _plain_entries(text: str) -> list[RecordEntry] | None:
    """:func:`parse_record`'s entries when every row is plain and well formed, else ``None``.

    Plain: no quote, carriage return or NUL (:func:`_plain_rows`), each line a non-empty
    path, a canonical ``sha256`` value or none, and a size or none, so nothing is
    rejected. One regular expression reads every row, and the entries are built without
    the classes' Python-level constructors, about a fifth of the cost of reading row by
    row (RECORD is parsed in every host run). Anything else, even merely unusual (another
    algorithm, an empty line), takes the row-by-row reading; ``tests/test_record_file.py``
    checks both agree (Hypothesis).
    """
    found = plain_rows(text)
    if found is None:
        return None
    new = tuple.__new__
    return [
        new(
            RecordEntry,
            (path, new(Hash, ("sha256", value)) if value else None, int(size) if size else None),
        )
        for path, value, size in found
    ]


def plain_rows(text: str) -> list[tuple[str, str, str]] | None:
    """The (path, sha256 value or "", size or "") texts of a plain RECORD's rows, or ``None``.

    The rows :func:`parse_record` reads as entries of these very values (its fast
    reading), before any object is made: for a caller that only compares them.
    """
    if '"' in text or "\r" in text or "\x00" in text:
        return None
    found: list[tuple[str, str, str]] = _plain_row_pattern(csv.field_size_limit()).findall(text)
    if len(found) != text.count("\n") + (not text.endswith("\n")):
        return None  # a row that is not plain, an empty row, or an empty RECORD
    return found


_COMMAS: Final = itertools.repeat(",")


def record_fields(text: str) -> tuple[list[str], list[str], list[str]] | None:
    """The paths, hash fields and size fields of a plain RECORD's rows, as written; or ``None``.

    Plain as :func:`plain_rows` takes it (no quote, carriage return or NUL; no empty line;
    no line longer than the csv module's field size limit), and every line three fields:
    what the csv module reads as those very fields. Nothing else is checked: a hash field
    is ``sha256=<value>``, another algorithm's, empty or anything; a size any text. For a
    caller that compares each field with one it makes (``"sha256=" + value`` and
    ``str(size)`` of a file it hashed: equal fields are valid by construction) and checks
    any other field itself. Columns, split in C: no Python work a row.
    """
    if '"' in text or "\r" in text or "\x00" in text:
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the line end of the last row
    if not lines or set(map(str.count, lines, _COMMAS)) != {2}:
        return None  # an empty line, a row of other than three fields, an empty RECORD
    limit = csv.field_size_limit()
    if len(text) > limit and max(map(len, lines)) > limit:
        return None
    fields = ",".join(lines).split(",")
    return fields[0::3], fields[1::3], fields[2::3]


def _plain_rows(text: str) -> list[tuple[list[str], str]] | None:
    """Rows and their text, as :func:`_csv_rows`, for text the csv module would split plainly.

    Without a quote, a carriage return or a NUL (which Python 3.10's csv refuses), each
    line is its row's text and its fields are split at every comma: that is what the csv
    module does with such text (a property test checks both agree). ``None`` otherwise,
    and for a line longer than the csv module's field size limit, which it refuses.
    """
    if '"' in text or "\r" in text or "\x00" in text:
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the line end of the last row
    if lines and max(map(len, lines)) > csv.field_size_limit():
        return None
    return [(line.split(",") if line else [], line) for line in lines]


def _csv_rows(text: str) -> list[tuple[list[str], str]]:
    """Rows read by the csv module, each with its text as RECORD holds it (line end cut)."""
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        # Not str.splitlines(): it also splits on \x1c-\x1e, \x85 and \u2028, which
        # are legal in file names. The csv module joins quoted line ends itself.
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    reader = csv.reader(lines(), delimiter=",", quotechar='"', strict=True)
    rows = []
    for row in reader:
        rows.append((row, _without_line_end("".join(consumed))))
        consumed.clear()
    return rows


def _without_line_end(raw: str) -> str:
    if raw.endswith("\r\n"):
        return raw[:-2]
    return raw[:-1] if raw.endswith(("\n", "\r")) else raw


def _parse_row(row: list[str]) -> RecordEntry | str:
    """One entry, or one problem naming the row and everything wrong with it."""
    if len(row) != 3:
        return f"RECORD row {','.join(row)!r}: expected 3 fields, got {len(row)}"
    path, hash_text, size_text = row
    issues: list[str] = []
    hash_: Hash | None = None
    size: int | None = None
    if not path:
        issues.append("empty path")
    if hash_text:
        try:
            hash_ = Hash.parse(hash_text)
        except ValueError as error:
            issues.append(str(error))
    if size_text:
        if not (size_text.isdigit() and size_text.isascii()):
            issues.append(f"size {size_text!r} is not a non-negative integer")
        else:
            try:
                size = int(size_text)
            except ValueError:  # more digits than int() converts (a hostile RECORD)
                issues.append(f"size of {len(size_text)} digits is too large")
    if issues:
        return f"RECORD row {path!r}: {'; '.join(issues)}"
    return RecordEntry(path, hash_, size)


_ESCAPES_ROOT: Final = "path escapes the install root"


def check_path(path: str, depth: int) -> str | None:
    """Return why ``path`` is refused, or ``None`` if it stays inside the install root.

    ``depth`` is how many directories the site directory lies below the install root
    (the environment prefix): ``3`` for ``lib/python3.X/site-packages``, ``0`` when the
    prefix is unknown. Scripts and data files legitimately climb that far, no further.
    """
    if "\x00" in path:
        return "NUL byte in path"
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return "absolute path"
    if "\\" in path:
        return "backslash in path"
    if ".." not in path:
        return None  # nothing climbs
    parts = path.split("/")
    level = 0
    for part in parts:
        if part == "..":
            level -= 1
            if level < -depth:
                return _ESCAPES_ROOT
        elif part not in ("", "."):
            level += 1
    return None


_LayoutFields = tuple[str, int, "str | None", frozenset[str], bool, int]


class InstallLayout(_LayoutFields):
    """Where a distribution is installed, as far as its RECORD paths are concerned.

    ``depth`` is the site directory's depth below the prefix; ``scripts_dir`` is the
    scripts directory relative to the prefix (``bin`` or ``Scripts``), or ``None``.
    ``relocated_depth`` (``--target`` directories only, where ``depth`` is 0): rows
    climbing exactly that many levels name files pip moved into the site directory.
    """

    __slots__ = ()
    _NAMES: Final = (
        "dist_info",
        "depth",
        "scripts_dir",
        "wrapper_names",
        "editable",
        "relocated_depth",
    )

    def __new__(  # noqa: PLR0913, PLR0917, PYI034 - the fields, as NamedTuple took them
        cls,
        dist_info: str,
        depth: int,
        scripts_dir: str | None,
        wrapper_names: frozenset[str] = frozenset(),
        editable: bool = False,
        relocated_depth: int = 0,
    ) -> InstallLayout:
        return tuple.__new__(
            cls, (dist_info, depth, scripts_dir, wrapper_names, editable, relocated_depth)
        )

    if TYPE_CHECKING:

        @property
        def dist_info(self) -> str: ...
        @property
        def depth(self) -> int: ...
        @property
        def scripts_dir(self) -> str | None: ...
        @property
        def wrapper_names(self) -> frozenset[str]: ...
        @property
        def editable(self) -> bool: ...
        @property
        def relocated_depth(self) -> int: ...

    else:
        dist_info = _FIRST_FIELD
        depth = _SECOND_FIELD
        scripts_dir = _THIRD_FIELD
        wrapper_names = property(operator.itemgetter(3))
        editable = property(operator.itemgetter(4))
        relocated_depth = property(operator.itemgetter(5))

    def _replace(self, **changes: Any) -> InstallLayout:  # noqa: ANN401 - as NamedTuple's
        """A copy with the named fields changed."""
        values: dict[str, Any] = dict(zip(self._NAMES, self, strict=True))
        unknown = changes.keys() - values.keys()
        if unknown:
            raise ValueError(f"got unexpected field names: {sorted(unknown)!r}")
        values.update(changes)
        return InstallLayout(**values)

    def __getnewargs__(self) -> _LayoutFields:
        return (self[0], self[1], self[2], self[3], self[4], self[5])

    def __repr__(self) -> str:
        return _fields_repr(self, self._NAMES)


CanonicalRow = tuple[str, str | None, int | None]


def canonical_rows(
    entries: Iterable[RecordEntry],
    layout: InstallLayout,
    read_script: Callable[[str], bytes | None],
) -> tuple[list[CanonicalRow], list[RejectedRow]]:
    """Reduce RECORD entries to installer-independent rows, sorted by path.

    ``read_script(path)`` returns the bytes of an installed script (``path`` relative
    to the site directory, :func:`on_disk_path`) or ``None`` when it cannot be read;
    scripts are hashed again with their shebang normalized because installers rewrite it
    with the interpreter's path.
    Returns the rows and the rows left out (refused paths, unreadable scripts).
    """
    rows: list[CanonicalRow] = []
    problems: list[RejectedRow] = []
    prefix = "../" * layout.depth
    scripts_prefix = f"{prefix}{layout.scripts_dir}/" if layout.scripts_dir else None
    for entry in entries:
        path, moved = on_disk_path(entry.path, layout.relocated_depth)
        on_disk = path
        refusal = _row_refusal(entry, path, layout.depth)
        if refusal is not None:
            problem = f"RECORD row {entry.path!r}: {refusal}"
            problems.append(RejectedRow(_row_text(entry), problem))
            continue
        path = posixpath.normpath(path)
        directory, _, name = path.rpartition("/")
        if directory == layout.dist_info and name in INSTALLER_WRITTEN_FILES:
            continue
        if entry.hash_ is None and is_bytecode_cache(path):
            # Installers that compile at install time list the caches without a hash.
            continue
        if scripts_prefix and path.startswith(scripts_prefix):
            script = path[len(scripts_prefix) :]
            if "/" not in script and _is_wrapper(_script_stem(script), layout.wrapper_names):
                # Generated from entry_points.txt (hashed), with installer-specific text.
                continue
            data = read_script(on_disk)
            if data is None:
                problem = f"RECORD row {entry.path!r}: script cannot be read"
                problems.append(RejectedRow(_row_text(entry), problem))
                continue
            rows.append(("{prefix}/" + path[len(prefix) :], _script_hash(data), None))
            continue
        if path.startswith("../") or moved:
            path = "{prefix}/" + path[len(prefix) :]
        if layout.editable and directory != layout.dist_info:
            # Editable wheels embed the absolute source path; the source tree is
            # fingerprinted separately as ``source.editable_digest``.
            rows.append((path, None, None))
            continue
        rows.append((path, None if entry.hash_ is None else str(entry.hash_), entry.size))
    rows.sort(key=lambda row: row[0].encode("utf-8", "surrogatepass"))
    return rows, problems


# What makes a RECORD not simple wherever it appears (conservative: in any field):
# quoting, line ends other than \n, NUL and backslash (refused paths), ``..`` (paths
# that may climb out), and the empty and ``.`` components normpath would remove. Each
# is a fast scan, where one alternation of them all is not; the components are looked
# for only where a ``/`` is followed by ``/``, ``,`` or ``.`` at all (one regular
# expression with a literal prefix). Empty rows are found by counting.
_NOT_SIMPLE: Final = ('"', "\r", "\x00", "\\", "..")
_AFTER_SLASH: Final = r"/[/,.]"
_NOT_NORMAL: Final = ("//", "/,", "/./", "/.,")
_FIRST: Final = operator.itemgetter(0)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled at its first use: a host run's plugins rarely need it."""
    return re.compile(pattern)


@functools.cache
def _simple_row_pattern(field_size_limit: int) -> re.Pattern[str]:
    """A simple row (:func:`simple_canonical_rows`): path, sha256 value and size as groups.

    The path is refused by the lookahead where :func:`check_path` would refuse it or
    normpath change it (a leading ``/`` or ``./``, a drive letter, the path ``.``), or
    where it lies in a ``--target`` directory's scripts; it is no longer than the csv
    module's field limit (longer fields make the whole RECORD invalid CSV).
    """
    return re.compile(
        rf"^(?!/|.:|\./|\.,|(?:bin|Scripts)[/,])([^,\n]{{1,{field_size_limit}}}),"
        rf"(?:sha256=({_canonical_b64_pattern(32).pattern}))?,([0-9]{{0,15}})$",
        re.MULTILINE,
    )


def simple_canonical_rows(text: str, dist_info: str) -> tuple[list[CanonicalRow], list[str]] | None:
    r""":func:`canonical_rows` of a RECORD whose rows are all simple, in one pass; else ``None``.

    Simple: no quoting, no ``\r``, NUL, backslash or ``..``; each row a path that
    :func:`check_path` accepts and ``posixpath.normpath`` leaves as is, outside a
    ``bin``/``Scripts`` directory, an optional ``sha256`` hash in canonical form and an
    optional size below ``2**53``. Such a RECORD needs no install layout, so the result
    is ``canonical_rows(parse_record(text)[0], InstallLayout(dist_info, 0, None), ...)``
    with nothing rejected, and the paths are every row's path. Anything else, whether
    hostile or merely unusual, returns ``None`` and takes the full path: the problems it
    reports come from one place. ``tests/test_record_file.py`` checks both agree
    (Hypothesis). A 10,000-row RECORD (``torch``) takes a few milliseconds this way.
    """
    if not dist_info or any(part in text for part in _NOT_SIMPLE):
        return None
    if _compiled(_AFTER_SLASH).search(text) and any(part in text for part in _NOT_NORMAL):
        return None
    found = _simple_row_pattern(csv.field_size_limit()).findall(text)
    if len(found) != text.count("\n") + (not text.endswith("\n")):
        return None  # a row that is not simple, an empty row, or an empty RECORD
    installer_written = {f"{dist_info}/{name}" for name in INSTALLER_WRITTEN_FILES}
    rows: list[CanonicalRow] = [
        (path, "sha256=" + hash_value if hash_value else None, int(size) if size else None)
        for path, hash_value, size in found
        if path not in installer_written and (hash_value or not is_bytecode_cache(path))
    ]
    rows.sort(key=_FIRST)  # code point order is UTF-8 byte order, as canonical_rows sorts
    return rows, [path for path, _, _ in found]


def _row_text(entry: RecordEntry) -> str:
    """``path,hash,size`` of an entry (joined by us, not by the csv module)."""
    hash_text = "" if entry.hash_ is None else str(entry.hash_)
    return f"{entry.path},{hash_text},{'' if entry.size is None else entry.size}"


def on_disk_path(path: str, relocated_depth: int) -> tuple[str, bool]:
    """Where a RECORD ``path`` lies, relative to the site directory, and whether moved.

    The one path resolution shared by :func:`canonical_rows` (``record_digest``) and the
    integrity check (:mod:`insidellms_provenance.fingerprint._integrity`). In a
    ``--target`` directory (``relocated_depth`` > 0) pip writes rows for its temporary
    ``--home`` scheme (``../../bin/tool`` from ``lib/python``), then moves ``bin/`` and
    the rest into the target, which is the prefix
    (:func:`insidellms_provenance.fingerprint._install_layout.site_layout`).
    """
    relocated = "../" * relocated_depth
    if relocated and path.startswith(relocated) and not path[len(relocated) :].startswith(".."):
        return path[len(relocated) :], True
    return path, False


def is_bytecode_cache(path: str) -> bool:
    """Whether a RECORD path is a cache an installer compiled: ``__pycache__/*.pyc``.

    Or a ``.pyc`` outside the site directory (``../…``): pip compiling under
    ``sys.pycache_prefix`` lists each cache where the prefix put it, relative to the
    site directory (``docs/record-digest.md``).
    """
    return path.endswith(".pyc") and ("/__pycache__/" in f"/{path}" or path.startswith("../"))


def _row_refusal(entry: RecordEntry, path: str, depth: int) -> str | None:
    """:func:`check_path` for a row; ``None`` for a cache left out with the other caches."""
    refusal = check_path(path, depth)
    return None if is_cache_outside_root(entry, path, refusal) else refusal


def is_cache_outside_root(entry: RecordEntry, path: str, refusal: str | None) -> bool:
    """Whether a refused row is a hash-less cache pip listed under ``sys.pycache_prefix``.

    ``path`` is the row's on-disk path, ``refusal`` what :func:`check_path` said of it:
    a prefix outside the environment makes the row climb out of the install root. Such
    a row makes no claim about any bytes (it has no hash): it is left out, never opened.
    """
    return refusal == _ESCAPES_ROOT and entry.hash_ is None and is_bytecode_cache(path)


def _script_stem(name: str) -> str:
    """The console-script name behind a wrapper file (Windows adds suffixes)."""
    for suffix in (".exe", "-script.pyw", "-script.py"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


# pip (``get_console_script_specs``) and uv, which copies pip's rule, install a console
# script named ``pip`` as ``pip``, ``pipX`` and ``pipX.Y`` of the running interpreter, and
# ``easy_install`` as ``easy_install`` and ``easy_install-X.Y``; ``python -m installer``
# writes only the names in entry_points.txt. Evidence: pip's own RECORD lists
# ``bin/pip3.11`` when pip or uv installed it, and not when installer did.
_VERSIONED_WRAPPERS: Final = (
    ("pip", r"pip\d+(\.\d+)?"),
    ("easy_install", r"easy_install-\d+\.\d+"),
)


def _is_wrapper(stem: str, wrapper_names: frozenset[str]) -> bool:
    """Whether an installer generated script ``stem`` from the console/GUI script names."""
    return stem in wrapper_names or any(
        name in wrapper_names and _compiled(pattern).fullmatch(stem) is not None
        for name, pattern in _VERSIONED_WRAPPERS
    )


# For interpreter paths that are too long or contain spaces, pip and uv write a
# ``/bin/sh`` preamble that re-executes the interpreter instead of a ``#!`` line.
_SH_PREAMBLE_START: Final = b"#!/bin/sh\n'''exec' "
_SH_PREAMBLE_END: Final = b"\n' '''\n"


def _script_hash(data: bytes) -> str:
    """Hash a script with its ``#!`` line replaced by the wheel's ``#!python`` form."""
    if data.startswith(_SH_PREAMBLE_START):
        _, end, rest = data.partition(_SH_PREAMBLE_END)
        if end:
            data = b"#!python\n" + rest
    elif data.startswith(b"#!"):
        _, newline, rest = data.partition(b"\n")
        data = b"#!python" + newline + rest
    return str(Hash.of(data))
