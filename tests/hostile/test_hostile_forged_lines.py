"""A newline in a recorded string stays on its line: no command's text can be forged.

Text output is built line by line from recorded strings; a string holding a newline
(a plugin's exception message, a problem, a manifest's note) must not start a line of its
own, such as a fake table row or a passing verdict. Markdown already writes a newline
in a cell as a space; these cases hold the text format to the same promise, and the one
error line on stderr too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hostile_kit import (
    Case,
    Result,
    World,
    host_manifest,
    reseal,
    run_case,
    wheel_bytes,
    with_run,
)

FORGED_ROW = "sampler  demo-sampler-plugin  0.4.1  index  deterministic  loaded"
FORGED_VERDICT = "--fail-on any: passed (nothing changed; exit 0)"


def _run_with(world: World, name: str, mutate: Any) -> str:
    field = world.field()
    mutate(field["plugins"][0])
    return str(world.run_dir(name, host_manifest(reseal(field))))


def _failed_load(plugin: dict[str, Any]) -> None:
    plugin["load"] = {
        "status": "failed",
        "error_type": "RuntimeError",
        "error_message": f"boom\n{FORGED_ROW}",
    }


def _problem(plugin: dict[str, Any]) -> None:
    plugin["distribution"]["problems"] = [f"x\n\n{FORGED_VERDICT}"]


def _manifest_problem(plugin: dict[str, Any]) -> None:
    plugin["manifest"]["status"] = "invalid"
    plugin["manifest"]["problems"] = ["bad\npolicy: 0 violations"]


def _no_line_is(*forged: str) -> Any:
    def check(world: World, result: Result) -> None:
        lines = [line.strip() for line in (result.out + result.err).splitlines()]
        for text in forged:
            assert text not in lines, f"a recorded string forged the line {text!r}"

    return check


def _show(world: World) -> list[str]:
    return ["show", _run_with(world, "run", _failed_load)]


def _diff(world: World) -> list[str]:
    before = str(world.run_dir("before", host_manifest(world.field())))
    return ["diff", before, _run_with(world, "after", _problem)]


def _check(world: World) -> list[str]:
    return ["check", _run_with(world, "run", _manifest_problem), "--strict-plugins"]


def _newline_in_path(world: World) -> list[str]:
    return ["show", str(world.path("no\nsuch run"))]


FORGED_WHEEL = "FORGED x-1-py3-none-any.whl"


def _fingerprint_hostile_names(world: World) -> list[str]:
    """A wheel whose METADATA name holds an ESC, and one whose file name a newline."""
    escaped = {"x-1.dist-info/METADATA": b"Name: x\x1b[2J\nVersion: 1\n"}
    world.write("wheels/x-1-py3-none-any.whl", wheel_bytes(escaped))
    world.write(f"wheels/y\n{FORGED_WHEEL}", b"not a zip")
    return ["fingerprint", str(world.path("wheels"))]


@with_run
def _verify_wheels_hostile_names(world: World, run: Path) -> list[str]:
    world.write(f"wheels/y\n{FORGED_WHEEL}", b"not a zip")
    return ["verify", str(run), "--wheels", str(world.path("wheels"))]


def _audit_twin_names(world: World) -> list[str]:
    """Two runs whose names read alike: one holds the byte 0xFF, one the text ``\\xff``."""
    import os

    manifest = host_manifest(world.field())
    world.run_dir(os.fsdecode(b"fleet/r\xff"), manifest)
    world.run_dir("fleet/r\\xff", manifest)
    return ["audit", str(world.path("fleet"))]


def _two_runs_named_apart(_world: World, result: Result) -> None:
    import json

    runs = {json.loads(line)["run"].rsplit("/", 1)[-1] for line in result.out.splitlines()}
    assert runs == {"r\\xff", "r\\\\xff"}, runs


CASES = [
    Case("show-newline-in-error-message", _show, 0, "boom\\n", check=_no_line_is(FORGED_ROW)),
    Case("diff-newline-in-problem", _diff, 1, "x\\n\\n", check=_no_line_is(FORGED_VERDICT)),
    Case(
        "check-newline-in-manifest-problem",
        _check,
        1,
        "bad\\npolicy",
        check=_no_line_is("policy: 0 violations"),
    ),
    Case(
        "fingerprint-escapes-wheel-names",
        _fingerprint_hostile_names,
        1,
        "\\x1b[2J",
        absent=("\x1b",),
        check=_no_line_is(FORGED_WHEEL),
    ),
    Case(
        "verify-wheels-escapes-file-names",
        _verify_wheels_hostile_names,
        1,
        "y\\nFORGED",
        check=_no_line_is(FORGED_WHEEL),
    ),
    # A run named to read as another is written apart from it: a backslash as two.
    Case("audit-run-named-as-another", _audit_twin_names, 0, check=_two_runs_named_apart),
    # The error names the path; its newline is escaped, so the error is still one line.
    Case("error-line-path-with-newline", _newline_in_path, 2, "no\\nsuch run"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_recorded_newline_forges_no_line(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)


def test_one_long_name_is_written_once_not_padded_into_every_row(
    world: World, genuine: Any
) -> None:
    """``show`` of 400 plugins, one named with 100,000 characters: the output is its size.

    Every row was padded to the widest name: 40 MB of spaces for a 0.1 MB name.
    """
    import copy
    import json

    from hostile_kit import run_cli

    world.fields = {"genuine": genuine}
    field = world.field()
    template = field["plugins"][0]
    plugins = []
    for name in ["n" * 100_000, *(f"p{i:04d}" for i in range(400))]:
        plugin = copy.deepcopy(template)
        plugin["entry_point"]["name"] = name
        plugins.append(plugin)
    field["plugins"] = sorted(plugins, key=lambda p: p["entry_point"]["name"])
    run = world.run_dir("run", host_manifest(reseal(field)))
    result = run_cli(world, ["show", str(run)])
    assert result.code == 0, result.err
    assert len(result.stdout) < 300_000, len(result.stdout)
    assert ("n" * 100_000).encode() in result.stdout
    assert json.loads((run / "manifest.json").read_bytes())["custom"]["plugin_provenance"] == field
