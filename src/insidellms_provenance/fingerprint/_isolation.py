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
:func:`~insidellms_provenance.fingerprint._loader.plugin_output_to_stderr`) and reports on
its own duplicate of the pipe. Inside a host run nothing of this is used: the host
imports its plugins itself. ``doctor`` and ``list`` with insideLLMs installed let the
host load its plugins in a child of the same kind (:func:`spawn`, :func:`converse` and
:func:`serve_child`, used by :mod:`insidellms_provenance.host._inspect`).
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import metadata
from typing import IO, Any, Final, NoReturn, TypedDict

from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import LoadOutcome, ManifestSummary

__all__ = [
    "DEFAULT_TIMEOUT",
    "TIMEOUT_VARIABLE",
    "ChildFailed",
    "ImportResult",
    "converse",
    "import_isolated",
    "serve_child",
    "spawn",
    "start_imports",
    "stop",
    "timeout",
]

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
import importlib
module, _, function = spec["serve"].partition(":")
getattr(importlib.import_module(module), function)(spec)
"""


class ChildFailed(Exception):  # noqa: N818 - an outcome, not a programming error
    """The child ended or overran the timeout before its complete answer.

    ``cause`` says how ("exit status 0", "killed by SIGKILL", "did not finish within
    1 s; stopped"); ``timed_out`` tells the last apart from the others.
    """

    def __init__(self, cause: str, *, timed_out: bool) -> None:
        super().__init__(cause)
        self.cause = cause
        self.timed_out = timed_out


def start_imports(entry_points: Sequence[metadata.EntryPoint]) -> subprocess.Popen[bytes]:
    """Start importing ``entry_points`` in a child; :func:`import_isolated` reads its answer.

    So that the caller can do other work (describing the distributions) meanwhile; if
    that work fails, the caller must :func:`stop` the child.
    """
    return spawn(f"{__name__}:_serve", {"entry_points": _triples(entry_points)})


def _triples(entry_points: Sequence[metadata.EntryPoint]) -> list[tuple[str, str, str]]:
    return [(ep.name, ep.value, ep.group) for ep in entry_points]


def import_isolated(
    entry_points: Sequence[metadata.EntryPoint],
    environ: Mapping[str, str] = os.environ,
    *,
    started: subprocess.Popen[bytes] | None = None,
) -> dict[tuple[str, str], ImportResult]:
    """Import every entry point in a child process; one result per (name, value).

    ``started`` is the child :func:`start_imports` started for these entry points.
    Raises ``KeyboardInterrupt`` when plugin code or the user interrupted.
    """
    limit = timeout(environ)
    results: dict[tuple[str, str], ImportResult] = {}
    remaining = _triples(entry_points)
    while remaining:
        done, failure = _run_child(remaining, limit, started)
        started = None  # a further child, after a failure, starts with what remains
        results.update(done)  # two entry points with one (name, value) share a result
        remaining = remaining[len(done) :]
        if failure is not None:
            results[(remaining[0][0], remaining[0][1])] = failure
            remaining = remaining[1:]
    return results


def timeout(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds a child may go without answering (:data:`TIMEOUT_VARIABLE`)."""
    try:
        value = float(environ.get(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def _run_child(
    entry_points: list[tuple[str, str, str]],
    timeout: float,
    started: subprocess.Popen[bytes] | None = None,
) -> tuple[list[tuple[tuple[str, str], ImportResult]], ImportResult | None]:
    """Results of the plugins the child finished, in order, and the failure of the next."""
    done: list[tuple[tuple[str, str], ImportResult]] = []
    load: LoadOutcome | None = None
    try:
        payload = {"entry_points": entry_points}
        child = started or spawn(f"{__name__}:_serve", payload)
        messages = converse(child, timeout)
        for message in messages:
            if "loaded" in message:
                load = message["loaded"]
            elif "done" in message:
                done.append(((message["done"][0], message["done"][1]), message["result"]))
                load = None
    except ChildFailed as failed:
        reason = failed.cause if failed.timed_out else f"the plugin ended the process ({failed})"
        return done, _failure(load, reason)
    return done, None


def spawn(serve: str, payload: Mapping[str, Any]) -> subprocess.Popen[bytes]:
    """Start ``serve`` ("module:function") in a child, without waiting for any answer.

    The function gets ``payload`` (with ``path``, the parent's ``sys.path``, and
    ``serve`` added) and should hand its work to :func:`serve_child`. Hand the process
    to :func:`converse` to read its answer, or to :func:`stop`.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,
    )
    try:
        assert process.stdin is not None  # noqa: S101 - both pipes were just requested
        spec = {
            **payload,
            "path": [p for p in sys.path if isinstance(p, str)],
            "serve": serve,
        }
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(json.dumps(spec).encode() + b"\n")
            process.stdin.close()
    except BaseException:
        stop(process)
        raise
    return process


def converse(process: subprocess.Popen[bytes], timeout: float) -> Iterator[dict[str, Any]]:
    """Yield the messages of a child :func:`spawn` started, until it is complete.

    Raises :class:`ChildFailed` when the child ends, or sends nothing for ``timeout``
    seconds (counted from the first read), before its ``complete`` message, and
    ``KeyboardInterrupt`` when it was interrupted. The child is stopped on any error.
    """
    try:
        assert process.stdout is not None  # noqa: S101 - spawn requested the pipe
        overran = False
        for message in _messages(process.stdout, timeout):
            if message is None:
                overran = True
                break
            if "interrupted" in message:
                break
            if "complete" in message:
                process.wait()
                return
            yield message
        if overran:
            stop(process)
        code = process.wait()
    except BaseException:
        stop(process)
        raise
    if overran:
        raise ChildFailed(f"did not finish within {timeout:g} s; stopped", timed_out=True)
    if code == _INTERRUPTED:
        raise KeyboardInterrupt
    raise ChildFailed(_exit_text(code), timed_out=False)


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


def stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the child if it still runs, and reap it (again, harmlessly)."""
    if process.poll() is None:
        process.kill()
    process.wait()


def serve_child(work: Callable[[Callable[[dict[str, Any]], None]], None]) -> NoReturn:
    """The child's side of :func:`converse`: run ``work(send)``, then say it is complete.

    Plugin writes to fd 1 or ``sys.__stdout__`` go to stderr; messages go on a duplicate
    of the original stdout. ``KeyboardInterrupt`` ends the child with the status the
    parent turns back into ``KeyboardInterrupt``.
    """
    report = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(message: dict[str, Any]) -> None:
        report.write(json.dumps(message).encode() + b"\n")

    try:
        work(send)
        send({"complete": True})
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            send({"interrupted": True})
        os._exit(_INTERRUPTED)
    report.close()
    # Skip interpreter shutdown: plugin atexit handlers and threads are not our business.
    sys.stderr.flush()
    os._exit(0)


def _serve(spec: Mapping[str, Any]) -> None:
    """The child of :func:`import_isolated`: import each entry point, report each step."""
    from insidellms_provenance.fingerprint._loader import call_plugin_manifest, load_entry_point
    from insidellms_provenance.fingerprint._origin import imported_file

    def work(send: Callable[[dict[str, Any]], None]) -> None:
        for name, value, group in spec["entry_points"]:
            ep = metadata.EntryPoint(name=name, value=value, group=group)
            load = load_entry_point(ep)
            send({"loaded": load})
            manifest = call_plugin_manifest(ep, load)
            result = ImportResult(load=load, manifest=manifest, module_file=imported_file(ep))
            send({"done": [name, value], "result": result})

    serve_child(work)
