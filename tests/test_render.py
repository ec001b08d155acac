"""The one renderer of tables, markdown cells and JSON output shared by every command."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from insidellms_provenance.cli._render import (
    _UNSAFE,
    WIDEST_PADDED,
    conflict_line,
    json_bytes,
    lines_text,
    markdown_cell,
    markdown_table,
    safe_line,
    terminal_safe,
    text_table,
)
from insidellms_provenance.field import schema


@pytest.mark.parametrize(
    ("rows", "options", "lines"),
    [
        ([], {}, []),
        ([("a", "b")], {}, ["a  b"]),
        ([("a", "x"), ("long", "y")], {}, ["a     x", "long  y"]),
        ([("a", "b", "c "), ("aa", "", "")], {}, ["a   b  c ", "aa     "]),
        ([("a", "b", "c "), ("aa", "", "")], {"rstrip": True}, ["a   b  c", "aa"]),
        ([("a", "low", "x")], {"min_widths": {1: 8}}, ["a  low       x"]),
        (
            [("a", "low", "x")],
            {"paint": lambda column, cell: f"<{cell}>" if column == 1 else cell},
            ["a  <low>  x"],
        ),
    ],
)
def test_text_table(rows, options, lines):
    assert text_table(rows, **options) == lines


def test_a_cell_wider_than_any_column_is_padded_to_widens_none():
    """One plugin-chosen name of 100,000 characters is written once, not padded into every row."""
    long = "n" * 100_000
    rows = [("NAME", "LOAD"), (long, "loaded"), *((f"p{i}", "loaded") for i in range(1000))]
    lines = text_table(rows)
    assert lines[1] == f"{long}  loaded"
    assert lines[2] == "p0    loaded"
    assert sum(map(len, lines)) < len(long) + 1000 * (WIDEST_PADDED + 10)
    edge = "e" * WIDEST_PADDED  # as wide as a column is padded to: still aligned
    assert text_table([(edge, "x"), ("a", "y")]) == [f"{edge}  x", "a".ljust(WIDEST_PADDED) + "  y"]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("plain", "plain"),
        ("a|b", "a\\|b"),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two lines"),
    ],
)
def test_markdown_cell(text, cell):
    assert markdown_cell(text) == cell


def test_markdown_table():
    assert markdown_table(("A", "B"), [("1", "2")]) == ["| A | B |", "|---|---|", "| 1 | 2 |"]


@pytest.mark.parametrize(
    ("winner", "line"),
    [
        ("b", "conflict: models 'k' registered by a, b (overwritten, b won)"),
        (None, "conflict: models 'k' registered by a, b (overwritten)"),
    ],
)
def test_conflict_line(winner, line):
    conflict = schema.conflict(
        kind="models", key="k", plugins=["a", "b"], outcome="overwritten", winner=winner
    )
    assert conflict_line(conflict) == line


def test_json_bytes_is_canonical_with_a_newline():
    assert json_bytes({"b": 1, "a": [True, None]}) == b'{"a":[true,null],"b":1}\n'


# Controls, format characters, line and paragraph separators, surrogates: what
# terminal_safe escapes (but the newline, which one_line escapes).
ESCAPED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
EVERY_CHARACTER = "".join(map(chr, range(sys.maxunicode + 1)))


# What text is shown as: named characters escaped, printable text kept.
SHOWN = {
    "a\u2028b": "a\\u2028b",  # LINE SEPARATOR
    "a\u2029b": "a\\u2029b",  # PARAGRAPH SEPARATOR
    "a\x85b\x1cc\x1dd\x1ee": "a\\x85b\\x1cc\\x1dd\\x1ee",  # NEL, FS, GS, RS
    "a\vb\fc\rd": "a\\x0bb\\x0cc\\rd",
    "abc\u200e\u200f\u061c": "abc\\u200e\\u200f\\u061c",  # LRM, RLM, ALM
    "\u202eevil\u2066x\u2069": "\\u202eevil\\u2066x\\u2069",  # override, isolate
    "pa\u200bckage": "pa\\u200bckage",  # ZERO WIDTH SPACE
    "\ufeffname\xadx\u2060": "\\ufeffname\\xadx\\u2060",  # BOM, soft hyphen, WJ
    "flag\U000e0067\U000e007f": "flag\\U000e0067\\U000e007f",  # tags
    "\U00013439": "\\U00013439",  # Cf since Unicode 15.0, unassigned before
    "r\udc9b": "r\\udc9b",  # a file name's byte 0x9B, not UTF-8
    # Printable text is kept, variation selectors and modifiers included.
    "caf\xe9 \u65e5\u672c": "caf\xe9 \u65e5\u672c",
    "\u2764\ufe0f \U0001f44d\U0001f3fd": "\u2764\ufe0f \U0001f44d\U0001f3fd",
    # Spaces are separators too (Zs, unprintable) but show as spaces: kept.
    "a\xa0b\u3000c": "a\xa0b\u3000c",
    "private \ue000": "private \ue000",
    "two\nlines": "two\nlines",
    "a\x1b[2J\nforged\r\n": "a\\x1b[2J\nforged\\r\n",
    # ZWJ is escaped even inside an emoji sequence: a name that reads as another
    # matters more here than the emoji's look.
    "\U0001f469\u200d\U0001f4bb": "\U0001f469\\u200d\U0001f4bb",
}


@pytest.mark.parametrize(("text", "shown"), SHOWN.items())
def test_terminal_safe_and_safe_line(text, shown):
    assert terminal_safe(text) == shown
    assert safe_line(text) == shown.replace("\n", "\\n")


def test_terminal_safe_escapes_exactly_the_unsafe_categories_over_every_code_point():
    escaped = set(re.findall(_UNSAFE, EVERY_CHARACTER))
    # Printable text is returned without the pattern: nothing it escapes may be printable.
    assert sorted(hex(ord(c)) for c in escaped if c.isprintable()) == []
    unsafe = {c for c in EVERY_CHARACTER if unicodedata.category(c) in ESCAPED_CATEGORIES}
    assert sorted(hex(ord(c)) for c in unsafe - escaped) == ["0xa"]
    # Beyond them only what a later Unicode than this Python's makes a format character.
    assert {unicodedata.category(c) for c in escaped - unsafe} <= {"Cn"}


def test_every_line_break_of_splitlines_is_escaped():
    breaks = [c for c in EVERY_CHARACTER if len(f"a{c}b".splitlines()) == 2]
    assert "\u2028" in breaks
    assert "\u2029" in breaks
    for character in breaks:
        assert safe_line(f"a{character}b").splitlines() == [safe_line(f"a{character}b")]
    # Whatever a recorded string holds, the output's lines are the renderer's lines.
    lines = [f"a{EVERY_CHARACTER}", "b"]
    assert terminal_safe(lines_text(lines)).splitlines() == [safe_line(line) for line in lines]
