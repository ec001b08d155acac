"""Hostile ``Requires-Dist`` lines in installed METADATA: one unmet requirement, never a stopped run.

A distribution's METADATA is its author's to write, and every ``Requires-Dist`` line of a
plugin's closure is parsed on the recording path: by ``record``, by ``check`` of the live
environment, and by the hook inside every host run. Three kinds of line stopped or stalled
all of them:

- a number of 5,000 digits (``lib-ok>=111...``), more than Python's ``int()`` reads: a
  ``ValueError`` traceback, and in a host run "hook not installed", no field at all;
- a marker nested 500 parentheses deep: ``RecursionError``, with the same outcomes;
- a long run of blanks the one regex could split many ways: from seconds (quadratic) to
  hours (``lib-ok`` + 3,000 blanks + ``!``), on every host run.

Each is now an ``invalid`` requirement in the plugin's ``unsatisfied`` (``required_by``
naming the distribution that declares it, a dependency's too), and a valid line with many
blanks is read as written. An installed ``Version`` of 5,000 digits satisfies no
specifier (``version``). Each case states ``record``'s exit code and field, ``check
--strict-dependencies``'s exit code and violation, and that no file changed; a host run
records the same field. The blank runs are sized so that the old code would have been
killed by the harness's timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hostile_kit import TIMEOUT, Case, Result, World, cli_env, install_fake_host, run_case, snapshot

from conftest import good_plugin

BLANKS = " " * 200_000
DIGITS = "1" * 5000
NESTED = "(" * 500 + 'python_version > "3"' + ")" * 500

# line -> the plugin's expected ``unsatisfied`` (``None``: the line is read, nothing unmet).
LINES: dict[str, tuple[str, bool]] = {
    "digits": (f"lib-ok>={DIGITS}", True),
    "digits-pre-release": (f"lib-ok>={DIGITS}rc1", True),
    "digits-in-marker": (f'lib-ok ; python_version >= "{DIGITS}"', True),
    "nested-marker": (f"lib-ok ; {NESTED}", True),
    "nested-marker-for-packaging": (f"lib-ok ; {NESTED.replace('>', '===')}", True),
    "blanks-then-second-semicolon": (f"lib-ok ; x{BLANKS}y;", True),
    "blanks-then-junk": (f"lib-ok{BLANKS[:3000]}!", True),
    "blanks-after-clause": (f"lib-ok>=1{BLANKS}!", True),
    "blanks-in-valid-marker": (f'lib-ok ; python_version{BLANKS}>= "3"', False),
}


def metadata(name: str, *requires: str, version: str = "1.0") -> bytes:
    lines = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
    lines += [f"Requires-Dist: {line}\n" for line in requires]
    return "".join(lines).encode()


def invalid(line: str, required_by: str = "pkg") -> dict[str, Any]:
    return {
        "installed": None,
        "name": None,
        "reason": "invalid",
        "required_by": required_by,
        "requirement": line.strip(),
    }


def plugins_of(field: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {plugin["entry_point"]["name"]: plugin for plugin in field["plugins"]}


def world_requiring(*requires: str, dependency: bytes | None = None) -> Callable[[World], None]:
    """A good plugin, and plugin ``pkg`` requiring ``lib-ok``, ``requires`` (and ``lib-dep``)."""

    def build(world: World) -> None:
        # No cache files: every case parses the lines cold, and changes no file.
        world.env["INSIDELLMS_PROVENANCE_CACHE"] = "off"
        good_plugin(world, "good_plugin")
        world.dist("lib-ok")
        if dependency is not None:
            world.dist("lib-dep", metadata=dependency)
        world.plugin("pkg", metadata=metadata("pkg", "lib-ok", *requires))

    return build


def expect_field(unsatisfied: list[dict[str, Any]], dependencies: set[str]) -> Any:
    def check(_world: World, result: Result) -> None:
        plugins = plugins_of(json.loads(result.stdout))
        assert set(plugins) == {"good_plugin", "pkg"}
        assert plugins["good_plugin"]["unsatisfied"] == []
        assert plugins["pkg"]["unsatisfied"] == unsatisfied
        assert set(plugins["pkg"]["dependencies"]) == dependencies

    return check


def command(build: Callable[[World], None], *args: str) -> Callable[[World], list[str]]:
    def make(world: World) -> list[str]:
        build(world)
        return list(args)

    return make


def cases_for(
    case_id: str,
    build: Callable[[World], None],
    unsatisfied: list[dict[str, Any]],
    dependencies: set[str],
    violation: str,
) -> list[Case]:
    record = Case(
        f"{case_id}-record",
        command(build, "record"),
        0,
        check=expect_field(unsatisfied, dependencies),
    )
    check_code = 1 if unsatisfied else 0
    strict = Case(
        f"{case_id}-check-strict-dependencies",
        command(build, "check", "--strict-dependencies"),
        check_code,
        violation,
        absent=() if unsatisfied else ("strict-dependencies",),
    )
    return [record, strict]


CASES: list[Case] = []
for _line_id, (_line, _unmet) in LINES.items():
    CASES += cases_for(
        _line_id,
        world_requiring(_line),
        [invalid(_line)] if _unmet else [],
        {"lib-ok"},
        "requirement 'lib-ok" if _unmet else "0 violations",
    )
# The same lines in a dependency's METADATA: recorded on the plugin, naming the dependency.
for _line_id in ("digits", "nested-marker", "blanks-then-second-semicolon"):
    _line = LINES[_line_id][0]
    CASES += cases_for(
        f"dependency-{_line_id}",
        world_requiring("lib-dep", dependency=metadata("lib-dep", _line)),
        [invalid(_line, "lib-dep")],
        {"lib-ok", "lib-dep"},
        "of lib-dep: cannot be read",
    )
# An installed version of 5,000 digits satisfies no specifier, whatever int() reads.
_LONG_VERSION = metadata("lib-dep", version=DIGITS)
CASES += cases_for(
    "dependency-version-digits",
    world_requiring("lib-dep>=1", dependency=_LONG_VERSION),
    [
        {
            "installed": DIGITS,
            "name": "lib-dep",
            "reason": "version",
            "required_by": "pkg",
            "requirement": "lib-dep>=1",
        }
    ],
    {"lib-ok", "lib-dep"},
    "requirement 'lib-dep>=1' of pkg",
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_hostile_requirements(case: Case, world: World) -> None:
    run_case(case, world)


HOST_RUN = "import sys, insideLLMs\ninsideLLMs.run({'questions': ['a']}, sys.argv[1])\n"


@pytest.mark.parametrize(
    "line_id", ["digits", "nested-marker", "blanks-then-second-semicolon", "blanks-in-valid-marker"]
)
def test_a_host_run_records_the_line_as_record_does(line_id: str, world: World) -> None:
    line, unmet = LINES[line_id]
    world_requiring(line)(world)
    install_fake_host(world)
    (world.root / "home").mkdir()
    run = world.root / "run"
    before = snapshot(world.root, set())
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", HOST_RUN, str(run)],
        cwd=world.root,
        env=cli_env(world),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,  # the old regex: hours for the blanks
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "hook not installed" not in result.stderr, result.stderr[-3000:]
    field = json.loads((run / "manifest.json").read_text())["custom"]["plugin_provenance"]
    plugins = plugins_of(field)
    assert plugins["good_plugin"]["unsatisfied"] == []
    assert plugins["pkg"]["unsatisfied"] == ([invalid(line)] if unmet else [])
    after = snapshot(world.root, set())
    changed = sorted(
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path) and not path.startswith(str(run))
    )
    assert not changed, changed
