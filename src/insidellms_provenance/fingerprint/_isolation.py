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
the child's. On Linux, in a process with one thread that has not imported the plugins'
modules (the CLI), the child is forked: it starts with the loader already imported, and
no interpreter start-up (≈ 50 ms of CPU per ``record``). Elsewhere it is a new
interpreter, started before the parent knows what it will import (:class:`Imports`):
it starts and imports the loader while the parent discovers the entry points. Either
way it is another process, which plugin code can end, hang or change without touching
this one, and whose answer is read the same way. The child sends fd 1 to stderr while
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
import gc
import json
import marshal
import os
import selectors
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from typing import IO, TYPE_CHECKING, Any, Final, Protocol

from insidellms_provenance._signals import interrupts_held, one_thread
from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import LoadOutcome

if TYPE_CHECKING:
    import subprocess

    from insidellms_provenance.fingerprint._child import ImportResult

__all__ = [
    "DEFAULT_TIMEOUT",
    "TIMEOUT_VARIABLE",
    "ChildFailed",
    "ChildProcess",
    "Imports",
    "converse",
    "import_isolated",
    "send",
    "spawn",
    "stop",
    "timeout",
]

DEFAULT_TIMEOUT: Final = 300.0
TIMEOUT_VARIABLE: Final = "INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT"
_INTERRUPTED: Final = 130  # the child's exit status after a KeyboardInterrupt (_child)
_IMPORTS: Final = "insidellms_provenance.fingerprint._child:serve_imports"


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
if hasattr(signal, "pthread_sigmask"):  # started while the parent held SIGINT back
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
module, _, function = serve.partition(":")
serve = getattr(importlib.import_module(module), function)
serve(marshal.load(sys.stdin.buffer))
"""


class ChildProcess(Protocol):
    """What this module uses of a child: ``subprocess.Popen``'s names, or a forked child."""

    @property
    def stdin(self) -> IO[bytes] | None: ...

    @property
    def stdout(self) -> IO[bytes] | None: ...

    def poll(self) -> int | None: ...

    def kill(self) -> None: ...

    def wait(self) -> int: ...


class ChildFailed(Exception):  # noqa: N818 - an outcome, not a programming error
    """The child ended or overran the timeout before its complete answer.

    ``cause`` says how ("exit status 0", "killed by SIGKILL", "did not finish within
    1 s; stopped"); ``timed_out`` tells the last apart from the others.
    """

    def __init__(self, cause: str, *, timed_out: bool) -> None:
        super().__init__(cause)
        self.cause = cause
        self.timed_out = timed_out


class Imports:
    """The child importing one list of entry points, started as early as it can be.

    Typical usage (the caller discovers meanwhile, and describes while the child works)::

        imports = Imports()
        try:
            imports.start()
            entry_points = discover(group)
            imports.send(entry_points)
            ...
            results = imports.results(entry_points)
        finally:
            imports.stop()
    """

    def __init__(self) -> None:
        self._process: ChildProcess | None = None

    def start(self) -> None:
        """Start a new interpreter now, so that its start-up overlaps discovery.

        Not where the child will be forked: that needs no start-up, and happens once
        :meth:`send` knows what to import. Call it inside the ``try`` whose ``finally``
        calls :meth:`stop`.
        """
        if self._process is None and not _may_fork():
            with interrupts_held():
                self._process = spawn(_IMPORTS)

    def send(self, entry_points: Sequence[metadata.EntryPoint]) -> None:
        """Start importing ``entry_points``, in order."""
        triples = _triples(entry_points)
        if self._process is None:
            with interrupts_held():
                self._process = _start(triples)
        else:
            send(self._process, {"entry_points": triples})

    def results(
        self, entry_points: Sequence[metadata.EntryPoint], environ: Mapping[str, str] = os.environ
    ) -> dict[tuple[str, str], ImportResult]:
        """:func:`import_isolated` of what :meth:`send` sent, read from this child."""
        return import_isolated(entry_points, environ, started=self._process)

    def stop(self) -> None:
        """Stop the child if it still runs (nothing was sent, or something failed)."""
        if self._process is not None:
            stop(self._process)


def _triples(entry_points: Sequence[metadata.EntryPoint]) -> list[tuple[str, str, str]]:
    return [(ep.name, ep.value, ep.group) for ep in entry_points]


def import_isolated(
    entry_points: Sequence[metadata.EntryPoint],
    environ: Mapping[str, str] = os.environ,
    *,
    started: ChildProcess | None = None,
) -> dict[tuple[str, str], ImportResult]:
    """Import every entry point in a child process; one result per (name, value).

    ``started`` is a child already importing these entry points (:class:`Imports`).
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
    started: ChildProcess | None = None,
) -> tuple[list[tuple[tuple[str, str], ImportResult]], ImportResult | None]:
    """Results of the plugins the child finished, in order, and the failure of the next."""
    done: list[tuple[tuple[str, str], ImportResult]] = []
    load: LoadOutcome | None = None
    child = started
    try:
        if child is None:
            with interrupts_held():
                child = _start(entry_points)
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
    except BaseException:
        if child is not None:  # interrupted before the conversation began
            stop(child)
        raise
    return done, None


def spawn(serve: str, payload: Mapping[str, Any] | None = None) -> subprocess.Popen[bytes]:
    """Start ``serve`` ("module:function") in a child, without waiting for any answer.

    The child's ``sys.path`` is the parent's; it imports ``serve``'s module and calls the
    function with ``payload``, which should hand its work to
    :func:`~insidellms_provenance.fingerprint._child.serve_child`. Without ``payload``
    here, :func:`send` it later. Hand the process to :func:`converse` to read its answer,
    or to :func:`stop`.
    """
    import subprocess  # a forked child needs none of it (its import: ≈ 2 ms, threading too)

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


def send(process: ChildProcess, payload: Mapping[str, Any]) -> None:
    """Hand a child :func:`spawn` started without one its payload (plain values only)."""
    _write(process, marshal.dumps(dict(payload)), close=True)


def _write(process: ChildProcess, data: bytes, *, close: bool) -> None:
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


def converse(process: ChildProcess, timeout: float) -> Iterator[dict[str, Any]]:
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
                _close_pipes(process)
                return
            yield message
        if overran:
            stop(process)
        code = process.wait()
        _close_pipes(process)
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


def stop(process: ChildProcess) -> None:
    """Kill the child if it still runs, reap it (again, harmlessly), close its pipes."""
    if process.poll() is None:
        process.kill()
    process.wait()
    _close_pipes(process)


def _close_pipes(process: ChildProcess) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _start(entry_points: list[tuple[str, str, str]]) -> ChildProcess:
    """A child importing ``entry_points``: forked where :func:`_may_fork`, else spawned."""
    if _may_fork(entry_points):
        return _fork({"entry_points": entry_points})
    return spawn(_IMPORTS, {"entry_points": entry_points})


def _may_fork(entry_points: Sequence[tuple[str, str, str]] = ()) -> bool:
    """Whether a forked child would import ``entry_points`` as a new interpreter would.

    Only on Linux (macOS system libraries are not safe to use after ``fork``; Windows
    has none), only with one thread (a lock another thread holds would stay held in the
    child), and only if no module an entry point names, nor a package above it, was
    imported here: the child would find it already imported instead of importing it.
    """
    if sys.platform != "linux" or not hasattr(os, "fork") or not one_thread():
        return False
    from insidellms_provenance.fingerprint._loader import NamedEntryPoint, entry_point_module

    for name, value, group in entry_points:
        module = entry_point_module(NamedEntryPoint(name, value, group)) or ""
        parts = module.split(".")
        if any(".".join(parts[: end + 1]) in sys.modules for end in range(len(parts))):
            return False
    return True


def _fork(spec: Mapping[str, Any]) -> ChildProcess:
    """Fork a child that serves ``spec`` (:func:`~._child.serve_forked`); its answer pipe."""
    from insidellms_provenance.fingerprint._child import serve_forked

    read_fd, write_fd = os.pipe()
    for stream in (sys.stdout, sys.stderr):  # nothing of ours may be written twice
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()
    # Objects alive now are frozen: the child's collections never visit (and so never
    # copy) them, nor finalize a garbage object of ours whose descriptor it closed. Not
    # where the application froze objects itself: unfreezing would undo its freeze.
    ours = gc.get_freeze_count() == 0
    if ours:
        gc.freeze()
    try:
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            serve_forked(write_fd, spec)  # never returns: this finally is the parent's
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    finally:
        if ours:
            gc.unfreeze()
    os.close(write_fd)
    return _Forked(pid, os.fdopen(read_fd, "rb"))


class _Forked:
    """A forked child, with the names of ``subprocess.Popen`` that :func:`converse` uses."""

    stdin: IO[bytes] | None = None

    def __init__(self, pid: int, stdout: IO[bytes]) -> None:
        self.pid = pid
        self.stdout: IO[bytes] | None = stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self._reap(os.WNOHANG)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        while self.returncode is None:
            self._reap(0)
        return self.returncode

    def _reap(self, options: int) -> None:
        try:
            pid, status = os.waitpid(self.pid, options)
        except ChildProcessError:  # reaped by someone else: its status is lost
            self.returncode = 0
            return
        if pid == self.pid:
            self.returncode = os.waitstatus_to_exitcode(status)
