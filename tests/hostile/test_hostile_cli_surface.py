"""The command line's own surface: empty paths, repeated options, closed and failing output.

An empty path argument (an unset shell variable) names no file; a single-valued option
given twice is refused, not "last one wins"; a record is not written over a run
manifest. Output that cannot be written (stdout closed, a full disk) is one line on
stderr and exit 2, a broken pipe exit 141: never a verdict's 0 or 1, never a traceback,
never an error line in the results. Each case states its exit code and that no other
file changed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import (
    Case,
    Result,
    World,
    assert_outcome,
    host_manifest,
    run_case,
    run_cli,
    snapshot,
)

from conftest import good_plugin

EMPTY = "an empty path names no file"
TWICE = "may be given once"


def _in_run_dir(make_args: Callable[[World, str], list[str]]) -> Callable[[World], list[str]]:
    """A genuine run in ``run/`` and one in the working directory, which "" once meant."""

    def build(world: World) -> list[str]:
        manifest = host_manifest(world.field())
        world.run_dir("run", manifest)
        world.write("manifest.json", json.dumps(manifest, sort_keys=True, indent=2))
        world.write("policy.toml", 'require-determinism = "deterministic"\n')
        world.write("team.toml", "strict-plugins = false\n")
        world.write("pylock.toml", 'lock-version = "1.0"\ncreated-by = "x"\n')
        return make_args(world, str(world.path("run")))

    return build


def _args(*words: str) -> Callable[[World], list[str]]:
    """The words, with ``RUN`` standing for the genuine run directory."""
    return _in_run_dir(lambda _world, run: [run if word == "RUN" else word for word in words])


EMPTY_PATH_CASES = [
    Case("diff-empty-before", _args("diff", "", "RUN"), 2, EMPTY, ("identical",)),
    Case("diff-empty-after", _args("diff", "RUN", ""), 2, EMPTY, ("identical",)),
    Case("diff-empty-json", _args("diff", "", "RUN", "--format", "json"), 2, EMPTY),
    Case("show-empty", _args("show", ""), 2, EMPTY),
    Case("check-empty", _args("check", ""), 2, EMPTY, ("violation",)),
    Case("verify-empty", _args("verify", ""), 2, EMPTY),
    Case("export-empty", _args("export", "", "--format", "cyclonedx"), 2, EMPTY),
    Case("audit-empty", _args("audit", ""), 2, EMPTY),
    Case("audit-second-empty", _args("audit", "RUN", ""), 2, EMPTY),
    Case("embed-empty", _args("embed", ""), 2, EMPTY),  # ./manifest.json stays as it is
    Case("embed-from-empty", _args("embed", "RUN", "--from", ""), 2, EMPTY),
    Case("fingerprint-empty", _args("fingerprint", ""), 2, EMPTY),
    Case("export-wheels-empty", _args("export", "RUN", "--wheels", ""), 2, EMPTY),
    Case("verify-wheels-empty", _args("verify", "RUN", "--wheels", ""), 2, EMPTY),
    Case("check-policy-empty", _args("check", "RUN", "--policy", ""), 2, EMPTY),
    Case("check-lock-empty", _args("check", "RUN", "--lock", ""), 2, EMPTY),
    Case("demo-empty", _args("demo", ""), 2, EMPTY),
]

TWICE_CASES = [
    Case(
        "check-policy-twice",
        _args("check", "RUN", "--policy", "policy.toml", "--policy", "team.toml"),
        2,
        "--policy policy.toml --policy team.toml",
    ),
    Case(
        "check-version-twice",
        _args("check", "RUN", "--insidellms-version", "0.1.0", "--insidellms-version", "0.2.5"),
        2,
        "--insidellms-version 0.1.0 --insidellms-version 0.2.5",
    ),
    Case(
        "check-determinism-twice",
        _args(
            "check",
            "RUN",
            "--require-determinism",
            "deterministic",
            "--require-determinism=best_effort",
        ),
        2,
        TWICE,
    ),
    Case(
        "check-lock-twice",
        _args("check", "RUN", "--lock", "pylock.toml", "--lock", "pylock.toml"),
        2,
        TWICE,
    ),
    Case(
        "check-group-twice",
        _args("check", "RUN", "--group", "insidellms.plugins", "--group", "other"),
        2,
        TWICE,
    ),
    Case("show-group-twice", _args("show", "RUN", "--group", "a", "--group", "b"), 2, TWICE),
    Case(
        "diff-fail-on-twice",
        _args("diff", "RUN", "RUN", "--fail-on", "any", "--fail-on", "content"),
        2,
        "--fail-on any --fail-on content); combine selectors with commas",
    ),
    Case(
        "diff-fail-on-twice-joined",
        _args("diff", "RUN", "RUN", "--fail-on=-low", "--fail-on", "any"),
        2,
        "--fail-on -low --fail-on any",
    ),
]


def _record_onto(relative: str, content: bytes | None) -> Callable[[World], list[str]]:
    def build(world: World) -> list[str]:
        if content is not None:
            world.write(relative, content)
        return ["record", "--output", str(world.path(relative))]

    return build


def _replaced_by_a_record(world: World, result: Result) -> None:
    del result
    value = json.loads(world.path("old.json").read_bytes())
    assert value["schema"].startswith("insidellms-provenance/plugins/")


def _record_over_a_record(world: World) -> list[str]:
    world.write("old.json", json.dumps(world.field()))
    return ["record", "--output", world.output("old.json")]


RECORD_OUTPUT_CASES = [
    Case(
        "record-over-run-manifest",
        _record_onto("run/manifest.json", json.dumps(host_manifest()).encode()),
        2,
        "run/manifest.json: is a run manifest, not a record file; refusing to replace it "
        "('embed' writes",
    ),
    Case(
        "record-over-manifest-with-field",
        lambda world: _record_onto("m.json", json.dumps(host_manifest(world.field())).encode())(
            world
        ),
        2,
        "is a run manifest",
    ),
    Case(
        "record-over-another-json-object",
        _record_onto("package.json", b'{"name": "app", "version": "1.0.0"}'),
        2,
        "package.json: is a JSON object, read as a run manifest, not a record file; refusing",
    ),
    Case("record-over-a-record", _record_over_a_record, 0, check=_replaced_by_a_record),
]

SHARD_CASES = [
    Case("shard-superscript", _args("audit", "RUN", "--shard", "1/\u00b2"), 2, "--shard '1/"),
    Case("shard-superscript-index", _args("audit", "RUN", "--shard", "\u00b9/2"), 2, "--shard"),
    Case("shard-fullwidth", _args("audit", "RUN", "--shard", "\uff11/\uff12"), 2, "--shard"),
    Case("shard-huge", _args("audit", "RUN", "--shard", "1/" + "9" * 5000), 2, "--shard"),
]

CASES = EMPTY_PATH_CASES + TWICE_CASES + RECORD_OUTPUT_CASES + SHARD_CASES


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_cli_surface(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)


# Timeouts: a value beyond what select() takes (about 24.8 days) or infinite is that
# wait, "no practical limit"; the plugin is imported and recorded as ever.
@pytest.mark.parametrize("value", ["2147484", "1e9", "1e20", "inf", "1e308"])
def test_a_plugin_timeout_beyond_what_the_system_waits_is_the_longest_wait(
    world: World, value: str
) -> None:
    good_plugin(world, "alpha_plugin")
    world.env["INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT"] = value
    result = _run_unchanged(world, ["record"])
    assert_outcome(result, 0)
    plugins = json.loads(result.stdout)["plugins"]
    assert [plugin["load"]["status"] for plugin in plugins] == ["loaded"]


@pytest.mark.parametrize("command", ["check", "doctor"])
def test_an_infinite_plugin_timeout_is_no_error_for_commands_that_import(
    world: World, command: str
) -> None:
    good_plugin(world, "alpha_plugin")
    world.env["INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT"] = "inf"
    result = _run_unchanged(world, [command])
    assert_outcome(result, 0)


def _run_unchanged(
    world: World, args: list[str], preexec: Callable[[], None] | None = None
) -> Result:
    """Run with ``preexec`` (what the standard streams are); no file may change."""
    (world.root / "home").mkdir(exist_ok=True)
    assert world.site.is_dir()  # made when first asked for: before the snapshot
    before = snapshot(world.root, world.outputs)
    result = run_cli(world, args, preexec=preexec)
    after = snapshot(world.root, world.outputs)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert not changed, f"files changed: {changed}"
    return result


def _close(fd: int) -> Callable[[], None]:
    def preexec() -> None:
        os.close(fd)

    return preexec


def _full_stdout() -> None:
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, 1)
    os.close(full)


def _broken_pipe_stdout() -> None:
    """stdout a pipe whose reader is gone: every write fails with EPIPE (SIGPIPE ignored)."""
    read, write = os.pipe()
    os.close(read)
    os.dup2(write, 1)
    os.close(write)


def _genuine_run(world: World) -> str:
    return str(world.run_dir("run", host_manifest(world.field())))


# Commands whose results go to stdout, given a genuine run; diff of identical runs and
# check of a passing run would exit 0, and 1 is their verdict "changed" / "violated".
STDOUT_COMMANDS = [
    pytest.param(lambda run: ["diff", run, run], id="diff"),
    pytest.param(lambda run: ["diff", run, run, "--format", "json"], id="diff-json"),
    pytest.param(lambda run: ["show", run, "--format", "json"], id="show-json"),
    pytest.param(lambda run: ["show", run], id="show"),
    pytest.param(lambda run: ["check", run], id="check"),
    pytest.param(lambda run: ["verify", run], id="verify"),
    pytest.param(lambda run: ["audit", os.path.dirname(run)], id="audit"),
    pytest.param(lambda _run: ["--help"], id="help"),
    pytest.param(lambda _run: ["--version"], id="version"),
    pytest.param(lambda _run: ["diff", "--help"], id="diff-help"),
]


@pytest.mark.parametrize("args", STDOUT_COMMANDS)
def test_a_closed_stdout_is_one_line_and_exit_2(world: World, genuine: Any, args: Any) -> None:
    world.fields = {"genuine": genuine}
    result = _run_unchanged(world, args(_genuine_run(world)), preexec=_close(1))
    assert_outcome(result, 2, "insidellms-provenance: error: stdout is closed")


@pytest.mark.parametrize("args", STDOUT_COMMANDS)
def test_a_full_stdout_is_one_line_and_exit_2(world: World, genuine: Any, args: Any) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    world.fields = {"genuine": genuine}
    result = _run_unchanged(world, args(_genuine_run(world)), preexec=_full_stdout)
    assert_outcome(result, 2, "insidellms-provenance: error: stdout: cannot write: ")


@pytest.mark.parametrize("args", STDOUT_COMMANDS)
def test_a_broken_pipe_is_exit_141_never_a_verdict(world: World, genuine: Any, args: Any) -> None:
    world.fields = {"genuine": genuine}
    result = _run_unchanged(world, args(_genuine_run(world)), preexec=_broken_pipe_stdout)
    assert_outcome(result, 141)
    assert result.stderr == b""


def test_record_with_stdout_closed_is_refused_before_any_plugin_runs(world: World) -> None:
    """Its results cannot be written: no plugin's code is run for them."""
    marker = world.root / "imported"
    body = f"open({str(marker)!r}, 'w').close()\ndef register():\n    return None\n"
    world.plugin("alpha_plugin", body)
    result = _run_unchanged(world, ["record"], preexec=_close(1))
    assert_outcome(result, 2, "insidellms-provenance: error: stdout is closed")
    assert not marker.exists()


def test_a_command_that_writes_no_results_runs_with_stdout_closed(
    world: World, genuine: Any
) -> None:
    world.fields = {"genuine": genuine}
    run = world.run_dir("run", host_manifest())
    world.write("field.json", json.dumps(world.field()))
    world.outputs.add(run / "manifest.json")
    args = ["embed", str(run), "--from", str(world.path("field.json"))]
    result = _run_unchanged(world, args, preexec=_close(1))
    assert_outcome(result, 0)
    embedded = json.loads((run / "manifest.json").read_bytes())
    assert embedded["custom"]["plugin_provenance"] == world.field()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["diff", "/nonexistent", "RUN", "--format", "json"], id="diff-bad-input"),
        pytest.param(["show", "RUN", "--format", "nope"], id="usage-error"),
        pytest.param(["check", "RUN", "--policy", "/nonexistent.toml"], id="check-bad-policy"),
    ],
)
def test_with_stderr_closed_an_error_never_goes_to_stdout(
    world: World, genuine: Any, args: list[str]
) -> None:
    world.fields = {"genuine": genuine}
    run = _genuine_run(world)
    result = _run_unchanged(world, [run if a == "RUN" else a for a in args], preexec=_close(2))
    assert result.code == 2
    assert result.stdout == b""
    assert result.stderr == b""


def test_with_stderr_closed_results_still_go_to_stdout(world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run = _genuine_run(world)
    result = _run_unchanged(world, ["diff", run, run, "--format", "json"], preexec=_close(2))
    assert result.code == 0
    assert json.loads(result.stdout)["identical"] is True
