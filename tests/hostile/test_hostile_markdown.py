"""Recorded strings write no markdown of their own in any ``--format markdown`` report.

The markdown reports are read rendered, in a pull-request comment or a CI job summary.
A resealed field whose group, entry-point name and problems hold markdown (a backtick
that would close the code span around them and write a bold "Verdict: passed" of its
own, a link, a raw ``<img>`` tracking pixel, a bare URL) must come out inert in
``diff``, ``check``, ``verify RUN`` and ``verify RUN --wheels``: code spans fenced
longer than any backtick run inside, everything else escaped. Each case also states its
exit code and that no file changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hostile_kit import Case, Result, World, host_manifest, reseal, run_case

from insidellms_provenance.cli._render import markdown_cell, markdown_code

GROUP = "g` **Verdict:** `--fail-on any: passed (nothing changed; exit 0)` "
NAME = "alpha`_plugin **x**"
LINK = "see [details](https://evil.example/x) <img src=https://evil.example/t.png>"


def _hostile(field: dict[str, Any], *, problem: bool) -> dict[str, Any]:
    """The group and the first entry point's name hold markdown; a problem, when asked."""
    field["group"] = GROUP
    for plugin in field["plugins"]:
        plugin["entry_point"]["group"] = GROUP
    field["plugins"][0]["entry_point"]["name"] = NAME
    if problem:
        field["plugins"][0]["distribution"]["problems"] = [LINK]
    return reseal(field)


def _run(world: World, name: str, *, problem: bool) -> str:
    return str(world.run_dir(name, host_manifest(_hostile(world.field(), problem=problem))))


def _diff(world: World) -> list[str]:
    before = _run(world, "before", problem=False)
    return ["diff", before, _run(world, "after", problem=True), "--format", "markdown"]


def _check(world: World) -> list[str]:
    # --deny makes a violation row: the plugin's name in a code span, in a table.
    run = _run(world, "run", problem=True)
    return ["check", run, "--deny", "alpha-plugin", "--format", "markdown"]


def _verify(world: World) -> list[str]:
    return ["verify", _run(world, "run", problem=True), "--format", "markdown"]


WHEEL = "x[l](https:__evil.example)<img src=x>-1.0-py3-none-any.whl"


def _verify_wheels(world: World) -> list[str]:
    world.write(f"wheels/{WHEEL}", b"not a zip")
    run = _run(world, "run", problem=True)
    return ["verify", run, "--wheels", str(world.path("wheels")), "--format", "markdown"]


# Unescaped, each would be markdown: HTML (an image), a link, a bare URL GitHub links.
NEVER_RAW = (r"(?<!\\)<img", r"(?<!\\)\]\(", "https://")


def _inert(*present: str, verdicts: int = 0) -> Callable[[World, Result], None]:
    """No raw markdown from a recorded string; ``present`` are the safe renderings."""

    def check(_world: World, result: Result) -> None:
        for pattern in NEVER_RAW:
            assert not re.search(pattern, result.out), f"{pattern!r} is raw in\n{result.out}"
        # Only the report's own verdict starts a line (the group's is in code, or escaped).
        assert len(re.findall(r"^\*\*Verdict:", result.out, re.MULTILINE)) == verdicts
        for fragment in present:
            assert fragment in result.out, f"{fragment!r} not in\n{result.out}"

    return check


ESCAPED_GROUP = r"g\` \*\*Verdict:\*\* \`--fail-on any: passed (nothing changed; exit 0)\` "

CASES = [
    Case(
        "diff",
        _diff,
        1,
        check=_inert(
            # The group in a code span fenced by two backticks: it cannot close it. (It
            # ends with a space: one more inside each end, which CommonMark takes away.)
            f"Group `` {GROUP} ``: ",
            f"| ``{NAME}`` | medium | distribution | new problem: see "
            r"\[details\](https\://evil.example/x) \<img src=https\://evil.example/t.png> |",
            verdicts=1,
        ),
    ),
    Case(
        "check",
        _check,
        1,
        check=_inert(
            f"### Plugin policy: 2 plugin(s) of group {ESCAPED_GROUP} checked", f"``{NAME}``"
        ),
    ),
    Case(
        "verify",
        _verify,
        1,
        check=_inert(f"group {ESCAPED_GROUP}: 0 problems", f"``{NAME}``"),
    ),
    Case(
        "verify-wheels",
        _verify_wheels,
        1,
        check=_inert(r"unreadable wheel x\[l\](https:\_\_evil.example)\<img src=x>-1.0"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_markdown_reports_keep_recorded_strings_inert(
    case: Case, world: World, genuine: Any
) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)


# How one helper writes a recorded string: in code (the whole string, as recorded) and in
# a plain cell or heading (backslash escapes, shown as the characters themselves).
@pytest.mark.parametrize(
    ("text", "in_table", "code"),
    [
        ("alpha", True, "`alpha`"),
        ("a`b", True, "``a`b``"),
        ("a``b`", True, "``` a``b` ```"),
        ("`x", False, "`` `x ``"),
        (" x ", True, "`  x  `"),
        ("a|b", True, "`a\\|b`"),
        ("a|b", False, "`a|b`"),
        ("two\nlines", True, "`two lines`"),
        ("back\\slash", True, "`back\\slash`"),
    ],
)
def test_markdown_code(text: str, in_table: bool, code: str) -> None:
    assert markdown_code(text, in_table=in_table) == code


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("plain 1.0 -> 2.0 (x)!", "plain 1.0 -> 2.0 (x)!"),
        ("a`b", "a\\`b"),
        ("chain_plugin pkg/__init__.py", "chain_plugin pkg/\\_\\_init\\_\\_.py"),
        ("**b** _i_ ~~s~~", "\\*\\*b\\*\\* \\_i\\_ \\~\\~s\\~\\~"),
        ("[l](u) ![i](u)", "\\[l\\](u) !\\[i\\](u)"),
        ("<img src=x>", "\\<img src=x>"),
        ("&#x202E; $x$ #", "\\&\\#x202E; \\$x\\$ \\#"),
        ("HTTPS://e.x www.e.x WWW.e.x", "HTTPS\\://e.x www\\.e.x WWW\\.e.x"),
        ("a|b\\c\nd", "a\\|b\\\\c d"),
    ],
)
def test_markdown_cell(text: str, cell: str) -> None:
    assert markdown_cell(text) == cell
