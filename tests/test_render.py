"""The one renderer of tables, markdown cells and JSON output shared by every command."""

from __future__ import annotations

import pytest

from insidellms_provenance.cli._render import (
    conflict_line,
    json_bytes,
    markdown_cell,
    markdown_table,
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
