"""Import a group's plugins in a child process, so plugin code cannot end or hang ours.

The CLI's ``record``, ``embed``, ``check`` and ``doctor`` import plugins to fingerprint
them. Plugin code may call ``os._exit``, die of a signal, or never return; in the CLI's
own process that would end it with a success exit code and no output, or hang it. Here
one child imports the plugins in load order and reports each plugin's outcome on a pipe
as it goes; the parent requires the complete answer:

- a plugin that ends the child is ``failed`` ("the plugin ended the process ..."), and
  a new child carries on with the plugins after it;
- a plugin that does not finish within the timeout (``INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT``
  seconds, default :data:`DEFAULT_TIMEOUT`) is ``failed`` the same way;
- ``KeyboardInterrupt`` in the child, or Ctrl-C, interrupts the parent.

The child sends fd 1 to stderr while plugin code runs (see
:func:`~insidellms_provenance.fingerprint.loader.plugin_output_to_stderr`) and reports on
its own duplicate of the pipe. Inside a host run nothing of this is used: the host
imports its plugins itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from typing import IO, Any, Final, TypedDict

from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import LoadOutcome, ManifestSummary

__all__ = ["DEFAULT_TIMEOUT", "TIMEOUT_VARIABLE", "ImportResult", "import_isolated"]

DEFAULT_TIMEOUT: Final = 300.0
_INTERRUPTED: Final = 130  # the child's exit status after a KeyboardInterrupt
TIMEOUT_VARIABLE: Final = "INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT"


class ImportResult(TypedDict):
    """What importing one entry point in the child showed."""

    load: LoadOutcome
    manifest: ManifestSummary
    module_file: str | None


# Ctrl-C reaches the parent too, which stops the child: the child ignores SIGINT so it
# never prints a traceback of its own.
_CHILD: Final = """
import json, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
spec = json.loads(sys.stdin.readline())
sys.path[:] = spec["path"]
from insidellms_provenance.fingerprint.isolation import _serve
_serve(spec)
"""


def import_isolated(
    entry_points: Sequence[metadata.EntryPoint], environ: Mapping[str, str] = os.environ
) -> dict[tuple[str, str], ImportResult]:
    """Import every entry point in a child process; one result per (name, value).

    Raises ``KeyboardInterrupt`` when plugin code or the user interrupted.
    """
    timeout = _timeout(environ)
    results: dict[tuple[str, str], ImportResult] = {}
    remaining = [(ep.name, ep.value, ep.group) for ep in entry_points]
    while remaining:
        done, failure = _run_child(remaining, timeout)
        results.update(done)  # two entry points with one (name, value) share a result
        remaining = remaining[len(done) :]
        if failure is not None:
            results[(remaining[0][0], remaining[0][1])] = failure
            remaining = remaining[1:]
    return results


def _timeout(environ: Mapping[str, str]) -> float:
    try:
        value = float(environ.get(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def _run_child(
    entry_points: list[tuple[str, str, str]], timeout: float
) -> tuple[list[tuple[tuple[str, str], ImportResult]], ImportResult | None]:
    """Results of the plugins the child finished, in order, and the failure of the next."""
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,
    )
    done: list[tuple[tuple[str, str], ImportResult]] = []
    load: LoadOutcome | None = None
    try:
        assert process.stdin is not None  # noqa: S101 - both pipes were just requested
        assert process.stdout is not None  # noqa: S101
        spec = {"path": [p for p in sys.path if isinstance(p, str)], "entry_points": entry_points}
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(json.dumps(spec).encode() + b"\n")
            process.stdin.close()
        for message in _messages(process.stdout, timeout):
            if message is None:
                _stop(process)
                return done, _failure(load, f"did not finish within {timeout:g} s; stopped")
            if "interrupted" in message:
                break
            if "loaded" in message:
                load = message["loaded"]
            elif "done" in message:
                done.append(((message["done"][0], message["done"][1]), message["result"]))
                load = None
            elif "complete" in message:
                process.wait()
                return done, None
        code = process.wait()
    except BaseException:
        _stop(process)
        raise
    if code == _INTERRUPTED:
        raise KeyboardInterrupt
    return done, _failure(load, f"the plugin ended the process ({_exit_text(code)})")


def _messages(stream: IO[bytes], timeout: float) -> Iterator[dict[str, Any] | None]:
    """Decoded lines from the child; ``None`` once no line came within ``timeout``."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    fd = stream.fileno()
    buffer = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                yield None
                return
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                deadline = time.monotonic() + timeout
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict):
                    yield message
    finally:
        selector.close()


def _failure(load: LoadOutcome | None, reason: str) -> ImportResult:
    """A plugin that never answered: failed at import, or at ``plugin_manifest()``."""
    if load is None:
        return {
            "load": schema.load_outcome(
                status="failed", error_type="ProcessEnded", error_message=reason
            ),
            "manifest": schema.manifest_summary(
                status="error", problems=("module failed to import",)
            ),
            "module_file": None,
        }
    return {
        "load": load,
        "manifest": schema.manifest_summary(
            status="error", problems=(f"plugin_manifest(): {reason}",)
        ),
        "module_file": None,
    }


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


def _serve(spec: Mapping[str, Any]) -> None:
    """The child: import each entry point, report each step on the original stdout."""
    from insidellms_provenance.fingerprint.loader import call_plugin_manifest, load_entry_point
    from insidellms_provenance.fingerprint.origin import imported_file

    report = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # plugin writes to fd 1 or sys.__stdout__ go to stderr
    sys.stdout = sys.stderr

    def send(message: dict[str, Any]) -> None:
        report.write(json.dumps(message).encode() + b"\n")

    try:
        for name, value, group in spec["entry_points"]:
            ep = metadata.EntryPoint(name=name, value=value, group=group)
            load = load_entry_point(ep)
            send({"loaded": load})
            manifest = call_plugin_manifest(ep, load)
            result = ImportResult(load=load, manifest=manifest, module_file=imported_file(ep))
            send({"done": [name, value], "result": result})
        send({"complete": True})
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            send({"interrupted": True})
        os._exit(_INTERRUPTED)
    report.close()
    # Skip interpreter shutdown: plugin atexit handlers and threads are not our business.
    sys.stderr.flush()
    os._exit(0)
