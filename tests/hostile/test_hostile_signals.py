"""Signals and concurrency: Ctrl-C is one line and exit 130; parallel embeds lose nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import (
    World,
    assert_outcome,
    host_manifest,
    install_fake_host,
    run_cli,
    start_cli,
)

from conftest import good_plugin

DEADLINE = 60.0


def _start(world: World, *args: str) -> subprocess.Popen[bytes]:
    (world.root / "home").mkdir(exist_ok=True)
    # A terminal's foreground job gets Ctrl-C's default action even when this test run
    # was started with SIGINT ignored (a background job of a non-interactive shell),
    # which the command would inherit and then rightly keep ignoring.
    return start_cli(world, *args, preexec=_default_interrupts)


def _default_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(condition: Any, process: subprocess.Popen[bytes]) -> None:
    """Poll until ``condition()`` holds; the process must still be running then."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert process.poll() is None, "the command ended before the signal could be sent"
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def _interrupt(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    try:
        _, stderr = process.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError("Ctrl-C did not stop the command") from None
    return process.returncode, stderr.decode()


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


@pytest.mark.parametrize(
    ("command", "host"),
    [
        ("record", False),  # the CLI imports the plugin in its child
        ("doctor", True),  # the host loads it, in doctor's child
    ],
)
def test_ctrl_c_while_a_plugin_hangs_is_one_line_and_130(
    world: World, command: str, *, host: bool
) -> None:
    if host:
        install_fake_host(world)
    good_plugin(world, "good_plugin")
    marker = world.path("importing")
    world.plugin(
        "slow_plugin", f"open({str(marker)!r}, 'w').close()\nimport time\ntime.sleep(600)\n"
    )
    world.env["INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT"] = "600"
    process = _start(world, command)
    _wait_for(marker.exists, process)
    code, stderr = _interrupt(process)
    assert code == 130, stderr
    assert stderr.splitlines() == ["insidellms-provenance: interrupted"]


def test_ctrl_c_in_verify_all_stops_the_workers_quietly(world: World) -> None:
    process = _start(world, "verify", "--all")
    _wait_for(lambda: len(_children(process.pid)) >= 2, process)
    workers = _children(process.pid)
    code, stderr = _interrupt(process)
    assert code == 130, stderr
    assert stderr.splitlines() == ["insidellms-provenance: interrupted"]
    assert [pid for pid in workers if Path(f"/proc/{pid}").exists()] == []


def test_parallel_embeds_all_succeed_and_keep_the_host_bytes(world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run = world.run_dir("run", host_manifest())
    sources = []
    for index in range(20):
        field = world.field()
        field["plugins"] = field["plugins"][:1] if index % 2 else field["plugins"]
        from hostile_kit import reseal

        sources.append(world.write(f"field-{index}.json", json.dumps(reseal(field))))
    processes = [_start(world, "embed", str(run), "--from", str(source)) for source in sources]
    for process in processes:
        _, stderr = process.communicate(timeout=DEADLINE)
        assert process.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr
    text = (run / "manifest.json").read_text()
    value = json.loads(text)
    assert text == json.dumps(value, sort_keys=True, indent=2)
    embedded = value["custom"].pop("plugin_provenance")
    assert value == host_manifest()
    assert embedded in [json.loads(source.read_text()) for source in sources]
    assert sorted(os.listdir(run)) == ["manifest.json"]


def test_host_rewrite_between_read_and_replace_is_not_lost(world: World, genuine: Any) -> None:
    """Compare-before-replace: a writer that changed the file first is redone, not lost."""
    from insidellms_provenance.field.schema import Provenance
    from insidellms_provenance.runfile import _embed as embed_module

    world.fields = {"genuine": genuine}
    run = world.run_dir("run", host_manifest())
    original = embed_module.embed_text
    rewritten = []

    def host_rewrites_first(text: str, provenance: Provenance, **options: Any) -> tuple[str, bool]:
        if not rewritten:
            rewritten.append(True)
            updated = host_manifest()
            updated["custom"]["status_counts"] = {"success": 6}
            (run / "manifest.json").write_text(json.dumps(updated, sort_keys=True, indent=2))
        return original(text, provenance, **options)

    embed_module.embed_text = host_rewrites_first  # type: ignore[assignment]
    try:
        result = embed_module.embed(run, world.field())  # type: ignore[arg-type]
    finally:
        embed_module.embed_text = original  # type: ignore[assignment]
    assert result.changed
    value = json.loads((run / "manifest.json").read_text())
    assert value["custom"]["status_counts"] == {"success": 6}
    assert "plugin_provenance" in value["custom"]


def test_plugin_exiting_during_check_never_passes_the_gate(world: World) -> None:
    good_plugin(world, "good_plugin")
    world.plugin("bad_plugin", "import os\nos._exit(0)\n")
    result = run_cli(world, ["check", "--strict-plugins"])
    assert_outcome(result, 1, "bad_plugin")


def _audit_to_a_file(world: World, genuine: Any) -> subprocess.Popen[bytes]:
    world.fields = {"genuine": genuine}
    text = json.dumps(host_manifest(world.field()), sort_keys=True, indent=2)
    # Enough runs that audit is still writing when the signal comes: at its speed a few
    # hundred runs are done between two polls, and a signal at interpreter exit kills
    # the process instead of interrupting it.
    for index in range(4000):
        world.write(f"runs/{index:04}/manifest.json", text)
    return _start(world, "audit", str(world.path("runs")), "--output", "runs.jsonl")


def _temp_file(world: World) -> int | None:
    """The size of audit's temp file, ``None`` while there is none."""
    for name in os.listdir(world.root):
        if name.startswith(".runs.jsonl."):
            with contextlib.suppress(FileNotFoundError):  # renamed meanwhile: done
                return os.path.getsize(world.root / name)
    return None


def _assert_interrupted(world: World, process: subprocess.Popen[bytes]) -> None:
    code, stderr = _interrupt(process)
    assert code == 130, stderr
    assert stderr.splitlines() == ["insidellms-provenance: interrupted"]
    assert sorted(os.listdir(world.root)) == ["home", "runs", "site"]


def test_ctrl_c_in_audit_output_leaves_no_partial_file(world: World, genuine: Any) -> None:
    process = _audit_to_a_file(world, genuine)
    # Lines have reached the temp file: the command is auditing, past its start-up.
    _wait_for(lambda: bool(_temp_file(world)), process)
    _assert_interrupted(world, process)


@pytest.mark.parametrize("offset_ms", range(0, 16, 2))
def test_ctrl_c_in_audit_outputs_first_milliseconds(
    world: World, genuine: Any, offset_ms: int
) -> None:
    """Ctrl-C from 0 to 14 ms after the temp file appears, while the first runs' code is
    still being imported: always one line and exit 130, never death by SIGINT or a
    Ctrl-C swallowed by the import system (docs/decisions.md, issue 11)."""
    process = _audit_to_a_file(world, genuine)
    deadline = time.monotonic() + DEADLINE
    while _temp_file(world) is None:
        assert process.poll() is None, "the command ended before the signal could be sent"
        assert time.monotonic() < deadline, "no temp file"
        time.sleep(0.0005)
    time.sleep(offset_ms / 1000)  # where the signal lands, not how long anything takes
    _assert_interrupted(world, process)
