"""Render results for people and machines: aligned text tables, markdown tables, JSON.

Every command renders through these functions, so a table looks the same everywhere and
a cell is escaped the same way in every markdown report, and writes its results to
stdout through :func:`write_output`, so a failed write is told the same way everywhere.

Typical usage::

    lines = text_table([("PLUGIN", "LOAD"), ("alpha", "loaded")])
    lines = markdown_table(("Plugin", "Load"), [(markdown_code("alpha"), "loaded")])
    data = json_bytes({"ok": True})
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final, NoReturn

    from insidellms_provenance.analyze._change import Change
    from insidellms_provenance.field.schema import Conflict

__all__ = [
    "WIDEST_PADDED",
    "StdoutBytes",
    "change_lines",
    "change_value",
    "conflict_line",
    "error_line",
    "json_bytes",
    "lines_text",
    "markdown_cell",
    "markdown_change_table",
    "markdown_code",
    "markdown_table",
    "one_line",
    "raise_stdout_error",
    "safe_line",
    "terminal_safe",
    "text_table",
    "write_output",
]

_COLOURS = {"critical": "\x1b[1;31m", "high": "\x1b[31m", "medium": "\x1b[33m", "low": "\x1b[2m"}
_RESET = "\x1b[0m"


# What a recorded string may not bring to a terminal, by Unicode category: controls (Cc)
# but the renderer's own newline; the line and paragraph separators (Zl, Zp), so that
# every break str.splitlines knows is here; format characters (Cf: bidi marks, overrides
# and isolates, zero-width spaces and joiners, the byte order mark, tags), which reorder
# or hide text (ZWJ too, in emoji sequences or not: names that read alike matter more
# here); lone surrogates (Cs), a file name's bytes that are not UTF-8, which stdout would
# write raw (0x9B is a C1 control). Cf as of Unicode 16.0: U+0890, U+0891 and
# U+13439-1343F are unassigned in the Unicode of Python 3.10 and 3.11. All are
# unprintable to str.isprintable; tests/test_render.py checks both over every code point.
_UNSAFE = (
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff"
    "\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


@functools.cache
def _unsafe() -> re.Pattern[str]:
    """:data:`_UNSAFE`, compiled when first needed (about 1 ms: ``json`` output never is)."""
    return re.compile(_UNSAFE)


def one_line(text: str) -> str:
    r"""``text`` with its newlines written as ``\n``: a recorded string kept to its line.

    Text output is built as lines from recorded strings, then made safe for terminals
    whole (:func:`terminal_safe`), which must keep the renderer's own newlines: each
    recorded string put in a line goes through this first, or a newline in it could
    forge a line of its own (a table row, a verdict).
    """
    return text.replace("\n", "\\n")


def safe_line(text: str) -> str:
    """``text`` as one line a terminal shows as written: :func:`terminal_safe`, :func:`one_line`.

    For a line put together from recorded strings or file names and written alone (a
    warning or a note on stderr, a table cell): nothing in them can clear the screen,
    disguise the text or start a line of its own.
    """
    return one_line(terminal_safe(text))


def error_line(prog: str, message: str) -> str:
    """The one line of exit 2, ``PROG: error: message``, whatever the message holds.

    A path or word in the message holding a newline or an escape sequence is written
    escaped (:func:`safe_line`): it cannot start a line of its own.
    """
    return f"{prog}: error: {safe_line(message)}"


def lines_text(lines: Iterable[str]) -> str:
    """``lines`` joined, each ending in a newline; a newline inside one is escaped."""
    return "".join(one_line(line) + "\n" for line in lines)


def terminal_safe(text: str) -> str:
    """``text`` with the characters :data:`_UNSAFE` names written as Python escapes.

    Applied to every text and markdown output, so a recorded string cannot clear the
    screen, disguise the text or break a line other than with a newline (kept, the
    renderer's own: :func:`one_line` escapes a recorded one). Every such character is
    unprintable to ``str.isprintable``, so printable text is returned as it is.
    """
    if text.replace("\n", "").isprintable():
        return text
    return _unsafe().sub(lambda match: ascii(match.group(0))[1:-1], text)


WIDEST_PADDED: Final = 64
"""The widest cell a text table's column is padded to: a wider one is written out of line."""


def text_table(
    rows: Iterable[Sequence[str]],
    *,
    min_widths: Mapping[int, int] | None = None,
    paint: Callable[[int, str], str] | None = None,
    rstrip: bool = False,
) -> list[str]:
    """Rows as lines, columns padded to their widest cell and two spaces apart.

    The last column is not padded. ``min_widths`` widens columns by index; ``paint``
    decorates each padded cell (colours do not count towards widths); ``rstrip`` removes
    trailing blanks, for tables whose last cells may be empty. A cell wider than
    :data:`WIDEST_PADDED` is written whole but widens no column: one plugin's name of
    100,000 characters would otherwise pad every other row to it (a table as large as
    the rows times that name), so its own row alone is out of line.
    """
    table = [[one_line(cell) for cell in row] for row in rows]
    if not table:
        return []
    columns = len(table[0])
    widths = [
        max((len(row[column]) for row in table if len(row[column]) <= WIDEST_PADDED), default=0)
        for column in range(columns)
    ]
    for column, width in (min_widths or {}).items():
        widths[column] = max(widths[column], width)
    lines = []
    for row in table:
        cells = [cell.ljust(widths[i]) if i < columns - 1 else cell for i, cell in enumerate(row)]
        if paint is not None:
            cells = [paint(i, cell) for i, cell in enumerate(cells)]
        line = "  ".join(cells)
        lines.append(line.rstrip() if rstrip else line)
    return lines


# What a recorded string may not do in a markdown report (a pull-request comment, a CI job
# summary): each character that opens something inline is escaped with a backslash,
# which CommonMark allows before any ASCII punctuation and shows as the character alone.
# Backslash and backtick (escapes, code spans), * _ ~ (emphasis, strikethrough), [ ]
# (links, images, footnotes), < (HTML, autolinks), & (entities: ``&#x202E;`` would bring
# back what terminal_safe took out), | (table cells), $ (GitHub's math), # (a heading's
# closing sequence). A ``_`` between two letters or digits (most package names) can
# neither open nor close emphasis, ``!`` opens an image only before ``[``, ``>`` closes
# only what ``<`` opened: they stay as they are (``->`` is in most messages). A recorded
# string never starts a line (each starts with the renderer's own text), where ``>``,
# ``#`` or ``-`` would mean more.
_MARKDOWN_SPECIAL = r"[\\`*~\[\]<&|$#]|(?<![^\W_])_|_(?![^\W_])"
# GitHub links bare URLs and ``www.`` names even without brackets: the colon of ``://``
# and the dot of ``www.`` are escaped too, which keeps them as text.
_MARKDOWN_AUTOLINK = r":(?=//)|(?<=www)\."


@functools.cache
def _markdown_special() -> re.Pattern[str]:
    """The characters :func:`markdown_cell` escapes (``WWW.`` as ``www.``), compiled once."""
    return re.compile(f"{_MARKDOWN_SPECIAL}|{_MARKDOWN_AUTOLINK}", re.IGNORECASE)


def markdown_cell(text: str) -> str:
    """Recorded text made inert in markdown: a table cell, a heading, a line of prose.

    Nothing in it can end the cell or the line, start a code span, emphasis, a link,
    an image or HTML, or become a link by itself; a backtick is written escaped, shown
    as itself. Escaped with backslashes, so the report renders the text as recorded.
    """
    escaped = _markdown_special().sub(lambda match: "\\" + match.group(0), text)
    return escaped.replace("\n", " ")


def markdown_code(text: str, *, in_table: bool = True) -> str:
    r"""Recorded text as one inline code span (in a table cell, unless ``in_table`` is false).

    Inside a code span nothing is markdown, so only what ends it needs care: the fence
    is one backtick longer than the longest run of backticks in ``text``, with a space
    inside each end when ``text`` starts or ends with a backtick or a space (CommonMark
    takes one away from each end); a newline is a space, and in a table ``|`` is
    ``\|``, which GitHub's tables show as ``|`` even in code.
    """
    body = text.replace("\n", " ")
    if in_table:
        body = body.replace("|", "\\|")
    runs = re.findall("`+", body)
    fence = "`" * (max(map(len, runs), default=0) + 1)
    pad = " " if body[:1] in ("`", " ") or body[-1:] in ("`", " ") or not body else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A markdown table; cells are written as given (escape them with :func:`markdown_cell`)."""
    return [
        f"| {' | '.join(headers)} |",
        "|" + "---|" * len(headers),
        *(f"| {' | '.join(row)} |" for row in rows),
    ]


def json_bytes(value: object) -> bytes:
    """Canonical JSON and a newline: every command's ``--format json``."""
    from insidellms_provenance._canonical import canonical_json

    return canonical_json(value) + b"\n"


def conflict_line(conflict: Conflict) -> str:
    """One line for a registry conflict observed in a host run (``show``, ``doctor``)."""
    winner = f", {conflict['winner']} won" if conflict["winner"] else ""
    return one_line(
        f"conflict: {conflict['kind']} {conflict['key']!r} registered by "
        f"{', '.join(conflict['plugins'])} ({conflict['outcome']}{winner})"
    )


def change_lines(changes: Sequence[Change], *, colour: bool = False) -> list[str]:
    """One aligned line per change: plugin, severity, kind, message; what it implies under it."""

    def paint(column: int, cell: str) -> str:
        if column == 1 and colour:
            return f"{_COLOURS[cell.rstrip()]}{cell}{_RESET}"
        return cell

    rows = [(safe_line(c.plugin), c.severity, c.kind, safe_line(c.message)) for c in changes]
    widths = {1: len("critical")}
    painted = text_table(rows, min_widths=widths, paint=paint)
    plain = text_table(rows, min_widths=widths)
    lines = []
    for change, line, unpainted in zip(changes, painted, plain, strict=True):
        lines.append(line)
        # What the change implies (an upgrade's new manifest version...), under its message.
        indent = " " * (len(unpainted) - len(safe_line(change.message)))
        implied = [safe_line(text) for text in change.implied]
        lines += [f"{indent}implies {text}" for text in implied]
    return lines


def markdown_change_table(changes: Sequence[Change]) -> list[str]:
    """A markdown table of changes: plugin, severity, kind, details."""
    return markdown_table(
        ("Plugin", "Severity", "Change", "Details"),
        [
            (
                markdown_code(c.plugin),
                c.severity,
                c.kind,
                markdown_cell("; implies ".join((c.message, *c.implied))),
            )
            for c in changes
        ],
    )


def change_value(change: Change) -> dict[str, Any]:
    """A change as JSON, the same object in ``diff`` and ``verify`` reports.

    Its keys are the fields of :class:`~insidellms_provenance.analyze._change.Change`, the one
    key list (``docs/diff-report.schema.json`` describes it, and a test holds the two equal).
    """
    values = change._asdict()
    values["implied"] = list(change.implied)
    return values


def write_output(output: str | bytes) -> None:
    """Write a rendered result to stdout: bytes as they are (canonical JSON), or text.

    Every command's results go through here, or through :class:`StdoutBytes` where they
    are streamed. Raises ``WriteError`` naming stdout where it cannot be written (a full
    disk); a closed pipe is left to raise ``BrokenPipeError``, which is no error.
    """
    try:
        if isinstance(output, bytes):
            sys.stdout.buffer.write(output)
        else:
            sys.stdout.write(output)
        sys.stdout.flush()
    except OSError as error:
        raise_stdout_error(error)


class StdoutBytes:
    """stdout's binary stream for results written a piece at a time (``audit``'s lines).

    Its errors are :func:`write_output`'s.
    """

    def write(self, data: bytes) -> int:
        """Write ``data`` (buffered)."""
        try:
            return sys.stdout.buffer.write(data)
        except OSError as error:
            raise_stdout_error(error)

    def flush(self) -> None:
        """Write what is buffered."""
        try:
            sys.stdout.flush()
        except OSError as error:
            raise_stdout_error(error)


def raise_stdout_error(error: OSError) -> NoReturn:
    """Raise ``error`` from writing stdout again: a ``WriteError`` naming stdout.

    A closed pipe (``BrokenPipeError``) is raised as it is: the reader is gone, which is
    no error of the command's (``main`` exits 141).
    """
    if isinstance(error, BrokenPipeError):
        raise error
    from insidellms_provenance.errors import WriteError

    raise WriteError(f"stdout: cannot write: {error.strerror or 'an error'}") from None
