"""Warnings, notes and progress are lines a recorded string cannot clear, break or disguise.

A distribution's version, a wheel's file name or an attestation's file name put in a
warning on stderr, a run's path in the progress line, and a recorded message holding a
line or paragraph separator (U+2028, U+2029: line breaks to ``str.splitlines`` and to
the tools that read logs) are written escaped: no escape sequence reaches the terminal,
and every line of the output is one the command wrote.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import Case, Result, World, host_manifest, reseal, run_case, snapshot, with_run

# Clears the screen, then starts a line of its own.
FORGE = "\x1b[2J\n"
FORGED_PINNED = "insidellms-provenance: all plugins pinned"
FORGED_ROW = "sampler  demo-sampler-plugin  0.4.1  index  deterministic  loaded"


def _no_line_starts_with(forged: str) -> Any:
    def check(world: World, result: Result) -> None:
        for line in (result.out + result.err).splitlines():
            assert not line.lstrip().startswith(forged), f"a line was forged: {line!r}"
        assert "\u2028" not in result.out + result.err

    return check


def _run_with(world: World, name: str, mutate: Any) -> Path:
    field = world.field()
    mutate(field["plugins"][0])
    return world.run_dir(name, host_manifest(reseal(field)))


def _forged_version(plugin: dict[str, Any]) -> None:
    plugin["distribution"]["version"] = f"1.0{FORGE}{FORGED_PINNED}"


def _separated_message(plugin: dict[str, Any]) -> None:
    plugin["load"] = {
        "status": "failed",
        "error_type": "RuntimeError",
        "error_message": f"boom\u2028{FORGED_ROW}\u2029\u200f",
    }


def _export_forged_version(world: World) -> list[str]:
    return ["export", str(_run_with(world, "run", _forged_version)), "--format", "pylock"]


@with_run
def _export_forged_wheel_name(world: World, run: Path) -> list[str]:
    world.write(f"wheels/a{FORGE}FORGED.whl", b"not a zip")
    return ["export", str(run), "--format", "cyclonedx", "--wheels", str(world.path("wheels"))]


def _embed_forged_attestation_name(world: World) -> list[str]:
    world.run_dir("run", host_manifest())
    world.write(f"run/attestations/x{FORGE}FORGED.dsse.json", "{}")
    source = world.write("field.json", json.dumps(world.field()))
    return ["embed", world.output("run/manifest.json"), "--from", str(source)]


def _diff_separated_message(world: World) -> list[str]:
    before = world.run_dir("before", host_manifest(world.field()))
    return ["diff", str(before), str(_run_with(world, "after", _separated_message))]


def _show_separated_message(world: World) -> list[str]:
    return ["show", str(_run_with(world, "run", _separated_message))]


CASES = [
    Case(
        "export-warning-forged-version",
        _export_forged_version,
        1,
        "1.0\\x1b[2J\\ninsidellms-provenance: all plugins pinned",
        absent=("\x1b",),
        check=_no_line_starts_with(FORGED_PINNED),
    ),
    Case(
        "export-warning-forged-wheel-name",
        _export_forged_wheel_name,
        1,
        "unreadable wheel a\\x1b[2J\\nFORGED.whl",
        absent=("\x1b",),
        check=_no_line_starts_with("FORGED.whl"),
    ),
    Case(
        "embed-warning-forged-attestation-name",
        _embed_forged_attestation_name,
        0,
        "such as attestations/x\\x1b[2J\\nFORGED.dsse.json were computed",
        absent=("\x1b",),
        check=_no_line_starts_with("FORGED.dsse.json"),
    ),
    Case(
        "diff-line-separator-in-message",
        _diff_separated_message,
        1,
        "boom\\u2028sampler  demo-sampler-plugin",
        absent=("\u2029", "\u200f"),
        check=_no_line_starts_with(FORGED_ROW),
    ),
    Case(
        "show-line-separator-in-message",
        _show_separated_message,
        0,
        "load failed: boom\\u2028sampler  demo-sampler-plugin  0.4.1  index  deterministic  "
        "loaded\\u2029\\u200f",
        check=_no_line_starts_with(FORGED_ROW),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_recorded_string_forges_no_warning(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)


def test_a_run_path_in_the_progress_line_moves_no_cursor(world: World, genuine: Any) -> None:
    """``audit``'s progress line on a terminal names the run: escaped, as any other line."""
    from test_progress import run_with_terminal_stderr

    world.fields = {"genuine": genuine}
    world.run_dir(f"fleet/r{FORGE}FORGED", host_manifest(world.field()))
    lines = world.output("lines.jsonl")
    before = snapshot(world.root, world.outputs)
    code, stdout, stderr = run_with_terminal_stderr("audit", "fleet", "-o", lines, cwd=world.root)
    assert (code, stdout.startswith(b"audit: 1 run(s)")) == (0, True), stderr
    assert b"/s) fleet/r\\x1b[2J\\nFORGED" in stderr, stderr
    assert b"\x1b[2J" not in stderr, stderr
    assert not any(line.startswith(b"FORGED") for line in stderr.splitlines()), stderr
    assert snapshot(world.root, world.outputs) == before
    assert os.path.getsize(lines) > 0
