"""Signals and concurrency: Ctrl-C is one line and exit 130; SIGTERM and SIGHUP end the
command by that signal once it cleaned up; parallel and concurrent writers lose nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import (
    World,
    assert_outcome,
    cli_env,
    host_manifest,
    install_fake_host,
    run_cli,
    snapshot,
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


def _interrupt(process: subprocess.Popen[bytes], signum: int = signal.SIGINT) -> tuple[int, str]:
    """Send ``signum`` to the command's process group, as a terminal's Ctrl-C does."""
    os.killpg(process.pid, signum)
    return _ended(process)


def _ended(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    """The command's exit status and stderr, once the signal sent to it ended it."""
    try:
        _, stderr = process.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError("the signal did not stop the command") from None
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


# (the signal, the exit status it ends the command with, what is said on stderr)
ENDINGS = [
    (signal.SIGINT, 130, ["insidellms-provenance: interrupted"]),
    (signal.SIGTERM, -signal.SIGTERM, []),  # ended by the signal, after the cleanup
    (signal.SIGHUP, -signal.SIGHUP, []),
]
TERMINATIONS = [signal.SIGTERM, signal.SIGHUP]


@pytest.mark.parametrize(
    ("signum", "status", "said"), ENDINGS, ids=[signum.name for signum, _, _ in ENDINGS]
)
def test_a_signal_in_verify_all_stops_the_workers_quietly(
    world: World, signum: signal.Signals, status: int, said: list[str]
) -> None:
    """Sent to the process group (Ctrl-C, a closed terminal, ``timeout``): the workers
    end as before, by the signal's default action, and the command cleans up quietly."""
    process = _start(world, "verify", "--all")
    _wait_for(lambda: len(_children(process.pid)) >= 2, process)
    workers = _children(process.pid)
    code, stderr = _interrupt(process, signum)
    assert code == status, stderr
    assert stderr.splitlines() == said
    _wait_for_exit(workers)


def _wait_for_exit(pids: list[str]) -> None:
    """Poll until none of ``pids`` is left (a process killed now may be reaped a moment later)."""
    deadline = time.monotonic() + DEADLINE
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        assert time.monotonic() < deadline, f"processes left running: {pids}"
        time.sleep(0.01)


@pytest.mark.parametrize("send", [os.kill, os.killpg], ids=["to-the-command", "to-the-group"])
@pytest.mark.parametrize("signum", TERMINATIONS, ids=lambda signum: signum.name)
def test_a_termination_while_a_plugin_hangs_stops_the_child(
    world: World, signum: signal.Signals, send: Callable[[int, int], None]
) -> None:
    """Sent to the command alone (``kill PID``, ``docker stop``) or to its process group
    (``timeout``, a closed terminal): the plugin-importing child is stopped too, never
    left importing on its own, and nothing is said."""
    good_plugin(world, "good_plugin")
    marker = world.path("importing")
    world.plugin(
        "slow_plugin", f"open({str(marker)!r}, 'w').close()\nimport time\ntime.sleep(600)\n"
    )
    world.env["INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT"] = "600"
    process = _start(world, "record")
    try:
        _wait_for(marker.exists, process)
        children = _children(process.pid)
        assert children, "the plugin is imported in a child process"
        send(process.pid, signum)
        code, stderr = _ended(process)
        assert (code, stderr) == (-signum, "")
        _wait_for_exit(children)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # a child left behind: not for ever


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


def _host_rewrites(path: Path) -> None:
    """The host writes its manifest again, with one more success."""
    updated = host_manifest()
    updated["custom"]["status_counts"] = {"success": 6}
    path.write_text(json.dumps(updated, sort_keys=True, indent=2))


def _rewrites_in_place_keeping_mtime(path: Path) -> None:
    """The same update written in place, same length, the modification time set back
    (``cp -p``, ``rsync -t --inplace``, ``touch -r``): only the change time tells."""
    before = os.stat(path)
    _after_a_clock_tick(before.st_ctime_ns, path.parent)
    data = path.read_bytes()
    updated = data.replace(b'"success": 5', b'"success": 6')
    assert len(updated) == len(data)
    with path.open("r+b") as file:
        file.write(updated)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )


def _after_a_clock_tick(ctime_ns: int, directory: Path) -> None:
    """Return once a change made now is stamped later than ``ctime_ns``.

    File times come from a coarse clock (a few milliseconds a tick): a change within
    the tick of the last one leaves every stamp as it was, and nothing can tell it.
    """
    with tempfile.TemporaryFile(dir=directory.parent) as probe:
        while os.fstat(probe.fileno()).st_ctime_ns <= ctime_ns:
            os.fchmod(probe.fileno(), 0o600)  # a change, stamped now


@pytest.mark.parametrize(
    "writer", [_host_rewrites, _rewrites_in_place_keeping_mtime], ids=["rewrite", "in-place"]
)
def test_host_rewrite_between_read_and_replace_is_not_lost(
    world: World, genuine: Any, writer: Callable[[Path], None]
) -> None:
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
            writer(run / "manifest.json")
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


def _assert_interrupted(
    world: World, process: subprocess.Popen[bytes], ending: tuple[int, int, list[str]]
) -> None:
    signum, status, said = ending
    code, stderr = _interrupt(process, signum)
    assert code == status, stderr
    assert stderr.splitlines() == said
    assert sorted(os.listdir(world.root)) == ["home", "runs", "site"]


@pytest.mark.parametrize(
    ("signum", "status", "said"), ENDINGS, ids=[signum.name for signum, _, _ in ENDINGS]
)
def test_a_signal_in_audit_output_leaves_no_partial_file(
    world: World, genuine: Any, signum: signal.Signals, status: int, said: list[str]
) -> None:
    process = _audit_to_a_file(world, genuine)
    # Lines have reached the temp file: the command is auditing, past its start-up.
    _wait_for(lambda: bool(_temp_file(world)), process)
    os.kill(process.pid, signum)  # ``kill``, ``timeout``: the command alone
    code, stderr = _ended(process)
    assert code == status, stderr
    assert stderr.splitlines() == said
    assert sorted(os.listdir(world.root)) == ["home", "runs", "site"]


@pytest.mark.parametrize("ending", ENDINGS[:2], ids=lambda ending: ending[0].name)
@pytest.mark.parametrize("offset_ms", range(0, 16, 2))
def test_a_signal_in_audit_outputs_first_milliseconds(
    world: World, genuine: Any, offset_ms: int, ending: tuple[int, int, list[str]]
) -> None:
    """Ctrl-C or SIGTERM from 0 to 14 ms after the temp file appears, while the first
    runs' code is still being imported: Ctrl-C is always one line and exit 130, never
    death by SIGINT or a Ctrl-C swallowed by the import system (docs/decisions.md,
    issue 11); SIGTERM ends the command by SIGTERM, quietly. No file is left."""
    process = _audit_to_a_file(world, genuine)
    deadline = time.monotonic() + DEADLINE
    while _temp_file(world) is None:
        assert process.poll() is None, "the command ended before the signal could be sent"
        assert time.monotonic() < deadline, "no temp file"
        time.sleep(0.0005)
    time.sleep(offset_ms / 1000)  # where the signal lands, not how long anything takes
    _assert_interrupted(world, process, ending)


# Run as the CLI's process entry, but stopped just before the rename of the temp file,
# once it holds everything (``os.fsync`` of a ``.tmp`` file), until a signal comes.
_PAUSED_BEFORE_THE_RENAME = """
import os, sys, time
synced = os.fsync
def fsync(fd):
    if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
        open(os.environ["WRITING_MARKER"], "w").close()
        time.sleep(600)  # until the test's signal
    synced(fd)
os.fsync = fsync
from insidellms_provenance.cli._main import process_main
raise SystemExit(process_main())
"""


def _embed_from(world: World) -> list[str]:
    source = world.write("field.json", json.dumps(world.field()))
    return ["embed", str(world.run_dir("run", host_manifest())), "--from", str(source)]


def _record_output(world: World) -> list[str]:
    good_plugin(world, "good_plugin")
    world.write("out.json", "the previous recording\n")
    return ["record", "--output", "out.json"]


def _export_output(world: World) -> list[str]:
    run = world.run_dir("run", host_manifest(world.field()))
    return ["export", str(run), "--format", "cyclonedx", "--output", "out.json"]


def _audit_output(world: World) -> list[str]:
    world.run_dir("runs/a", host_manifest(world.field()))
    return ["audit", "runs", "--output", "out.jsonl"]


WRITERS = {
    "embed": _embed_from,
    "record-output": _record_output,
    "export-output": _export_output,
    "audit-output": _audit_output,
}


@pytest.mark.parametrize("signum", TERMINATIONS, ids=lambda signum: signum.name)
@pytest.mark.parametrize("command", WRITERS)
def test_a_termination_before_the_rename_leaves_every_file_as_it_was(
    world: World, genuine: Any, command: str, signum: signal.Signals
) -> None:
    """Whatever writes, a SIGTERM or SIGHUP with its temp file written but not yet
    renamed: the temp file is removed, the target is as it was, the command is ended by
    the signal, and nothing is said (no traceback)."""
    world.fields = {"genuine": genuine}
    args = WRITERS[command](world)
    (world.root / "home").mkdir(exist_ok=True)
    marker = world.path("writing")
    env = {**cli_env(world), "WRITING_MARKER": str(marker)}
    before = snapshot(world.root, {marker})
    process = subprocess.Popen(
        [sys.executable, "-c", _PAUSED_BEFORE_THE_RENAME, *args],
        cwd=world.root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    _wait_for(marker.exists, process)
    os.kill(process.pid, signum)
    code, stderr = _ended(process)
    assert (code, stderr) == (-signum, "")
    assert snapshot(world.root, {marker}) == before
