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

This module is the parent's side; :mod:`~insidellms_provenance.fingerprint._child` is
the child's. A child can be started before the parent knows what it will import
(:func:`start_imports`, then :func:`send`): its interpreter starts and imports the
loader while the parent discovers the entry points. The child sends fd 1 to stderr while
plugin code runs (see
:func:`~insidellms_provenance.fingerprint._loader.plugin_output_to_stderr`) and reports on
its own duplicate of the pipe. Inside a host run nothing of this is used: the host
imports its plugins itself. ``doctor`` and ``list`` with insideLLMs installed let the
host load its plugins in a child of the same kind (:func:`spawn`, :func:`converse` and
:func:`~insidellms_provenance.fingerprint._child.serve_child`, used by
:mod:`insidellms_provenance.host._inspect`).
"""

from __future__ import annotations

import contextlib
import json
import marshal
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

__all__ = [
    "DEFAULT_TIMEOUT",
    "TIMEOUT_VARIABLE",
    "ChildFailed",
    "ImportResult",
    "converse",
    "import_isolated",
    "send",
    "send_entry_points",
    "spawn",
    "start_imports",
    "stop",
    "timeout",
]

DEFAULT_TIMEOUT: Final = 300.0
TIMEOUT_VARIABLE: Final = "INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT"
_INTERRUPTED: Final = 130  # the child's exit status after a KeyboardInterrupt (_child)
_IMPORTS: Final = "insidellms_provenance.fingerprint._child:serve_imports"


class ImportResult(TypedDict):
    """What importing one entry point in the child showed."""

    load: LoadOutcome
    manifest: ManifestSummary
    module_file: str | None


# What the child runs. ``sys`` and ``marshal`` are built in: nothing is looked up on the
# path before the parent's ``sys.path`` is in place (``-c`` puts the working directory
# first). The parent sends two marshalled values on stdin, the path and the function to
# serve, then the function's payload (maybe later: the child imports its module
# meanwhile). marshal carries only the parent's own data into the child; the child's
# answers, which plugin code could forge, come back as JSON. Ctrl-C reaches the parent
# too, which stops the child: the child ignores SIGINT so it never prints a traceback of
# its own.
_CHILD: Final = """
import marshal, sys
path, serve = marshal.load(sys.stdin.buffer)
sys.path[:] = path
import importlib, signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
module, _, function = serve.partition(":")
serve = getattr(importlib.import_module(module), function)
serve(marshal.load(sys.stdin.buffer))
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


def start_imports() -> subprocess.Popen[bytes]:
    """Start a child that will import entry points; :func:`send_entry_points` says which.

    The child's interpreter starts and imports the loader while the caller discovers the
    entry points; hand them over with :func:`send_entry_points`, then read the answer
    with :func:`import_isolated`. If anything fails meanwhile, the caller must :func:`stop`
    the child.
    """
    return spawn(_IMPORTS)


def send_entry_points(
    process: subprocess.Popen[bytes], entry_points: Sequence[metadata.EntryPoint]
) -> None:
    """Tell a child :func:`start_imports` started which entry points to import, in order."""
    send(process, {"entry_points": _triples(entry_points)})


def _triples(entry_points: Sequence[metadata.EntryPoint]) -> list[tuple[str, str, str]]:
    return [(ep.name, ep.value, ep.group) for ep in entry_points]


def import_isolated(
    entry_points: Sequence[metadata.EntryPoint],
    environ: Mapping[str, str] = os.environ,
    *,
    started: subprocess.Popen[bytes] | None = None,
) -> dict[tuple[str, str], ImportResult]:
    """Import every entry point in a child process; one result per (name, value).

    ``started`` is a child :func:`start_imports` started and :func:`send_entry_points`
    sent these entry points to. Raises ``KeyboardInterrupt`` when plugin code or the
    user interrupted.
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
        child = started or spawn(_IMPORTS, {"entry_points": entry_points})
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


def spawn(serve: str, payload: Mapping[str, Any] | None = None) -> subprocess.Popen[bytes]:
    """Start ``serve`` ("module:function") in a child, without waiting for any answer.

    The child's ``sys.path`` is the parent's; it imports ``serve``'s module and calls the
    function with ``payload``, which should hand its work to
    :func:`~insidellms_provenance.fingerprint._child.serve_child`. Without ``payload``
    here, :func:`send` it later. Hand the process to :func:`converse` to read its answer,
    or to :func:`stop`.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,
    )
    path = [str(entry) for entry in sys.path if isinstance(entry, str)]
    _write(process, marshal.dumps((path, serve)), close=False)
    if payload is not None:
        send(process, payload)
    return process


def send(process: subprocess.Popen[bytes], payload: Mapping[str, Any]) -> None:
    """Hand a child :func:`spawn` started without one its payload (plain values only)."""
    _write(process, marshal.dumps(dict(payload)), close=True)


def _write(process: subprocess.Popen[bytes], data: bytes, *, close: bool) -> None:
    """Write to the child's stdin; a child that already ended is :func:`converse`'s to report."""
    try:
        assert process.stdin is not None  # noqa: S101 - spawn requested the pipe
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(data)
            process.stdin.flush()
            if close:
                process.stdin.close()
    except BaseException:
        stop(process)
        raise


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
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
