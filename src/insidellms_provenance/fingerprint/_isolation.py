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
its own duplicate of the pipe.

Plugin code shares the child, so it can reach that pipe: the parent takes nothing on
trust. Every line must be a JSON object of at most :data:`MAX_LINE_BYTES` bytes carrying
the key this parent gave this child (plugin code would have to dig it out of the
child's memory) and one process id throughout; the answers must come exactly as asked,
``loaded`` then ``done`` for each entry point in order, each valid against the schema,
then ``complete``, then the child's exit with status 0 and nothing more. Anything else
is a :class:`ProtocolViolation`: the child is stopped, the entry point it was answering
for is ``failed`` ("the child's answers were not the tool's own: ..."), the answers it
gave before stand (each came whole and in order before the anomaly), and a new child goes
on with the plugins after it. Strings the child redacted are redacted again here.

Inside a host run nothing of this is used: the host imports its plugins itself.
``doctor`` and ``list`` with insideLLMs installed let the host load its plugins in a
child of the same kind (:func:`spawn`, :func:`converse` and
:func:`~insidellms_provenance.fingerprint._child.serve_child`, used by
:mod:`insidellms_provenance.host._inspect`).
"""

from __future__ import annotations

import collections
import contextlib
import gc
import json
import marshal
import os
import selectors
import signal
import sys
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from importlib import metadata
from typing import IO, TYPE_CHECKING, Any, Final, Protocol, TypeVar, cast

from insidellms_provenance._signals import interrupts_held, one_thread
from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import LoadOutcome

if TYPE_CHECKING:
    import subprocess

    from insidellms_provenance.fingerprint._child import ImportResult

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_LINE_BYTES",
    "TIMEOUT_VARIABLE",
    "ChildFailed",
    "ChildProcess",
    "Imports",
    "ProtocolViolation",
    "Redactor",
    "converse",
    "import_isolated",
    "new_key",
    "send",
    "spawn",
    "stop",
    "timeout",
]

DEFAULT_TIMEOUT: Final = 300.0
MAX_LINE_BYTES: Final = 1 << 26
"""The longest line the parent reads from a child: a whole field of thousands of plugins
fits (``doctor``'s view), and a line without end cannot fill the parent's memory."""
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
# its own. On POSIX the answer goes on a pipe of its own, whose descriptor is the one
# argument: what start-up code printed on stdout before this ran (``sitecustomize``, a
# ``.pth`` line) went to the parent's stderr, and is flushed there first.
_CHILD: Final = """
import marshal, sys
if len(sys.argv) > 1:
    import posix
    if sys.stdout is not None:
        sys.stdout.flush()
    posix.dup2(int(sys.argv[1]), 1)
    posix.close(int(sys.argv[1]))
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


class ProtocolViolation(ChildFailed):
    """The child sent what the tool's own child never sends: its answer is not evidence.

    ``cause`` names the anomaly, never quoting what the child sent.
    """

    def __init__(self, cause: str) -> None:
        super().__init__(cause, timed_out=False)


def new_key() -> str:
    """A child's secret: it tags every line, so lines plugin code writes blindly are told apart."""
    return os.urandom(16).hex()


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
        self._key = new_key()

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
                self._process = _start(triples, self._key)
        else:
            send(self._process, {"entry_points": triples, "key": self._key})

    def results(
        self, entry_points: Sequence[metadata.EntryPoint], environ: Mapping[str, str] = os.environ
    ) -> dict[tuple[str, str], ImportResult]:
        """:func:`import_isolated` of what :meth:`send` sent, read from this child."""
        started = None if self._process is None else (self._process, self._key)
        return import_isolated(entry_points, environ, started=started)

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
    started: tuple[ChildProcess, str] | None = None,
) -> dict[tuple[str, str], ImportResult]:
    """Import every entry point in a child process; one result per (name, value).

    ``started`` is a child already importing these entry points (:class:`Imports`), with
    its key. Raises ``KeyboardInterrupt`` when plugin code or the user interrupted.
    """
    limit = timeout(environ)
    results: dict[tuple[str, str], ImportResult] = {}
    remaining = _triples(entry_points)
    while remaining:
        done, failure = _run_child(remaining, limit, started)
        started = None  # a further child, after a failure, starts with what remains
        results.update(done)  # two entry points with one (name, value) share a result
        remaining = remaining[len(done) :]  # done answers the first len(done), in order
        if failure is not None:
            results[(remaining[0][0], remaining[0][1])] = failure
            remaining = remaining[1:]
    return results


# The longest wait a selector takes: poll and epoll count milliseconds in a C int
# (2**31 - 1 ms, about 24.8 days), in whole seconds; a longer one raised OverflowError.
_LONGEST_WAIT = 2_147_483.0


def timeout(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds a child may go without answering (:data:`TIMEOUT_VARIABLE`).

    A value that is not a positive number (``abc``, ``0``, ``nan``) is the default; one
    above the longest wait the system takes (``1e9``, ``inf``: "no limit") is that wait.
    """
    try:
        value = float(environ.get(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT
    return min(value, _LONGEST_WAIT) if value > 0 else DEFAULT_TIMEOUT


def _run_child(
    entry_points: list[tuple[str, str, str]],
    timeout: float,
    started: tuple[ChildProcess, str] | None = None,
) -> tuple[list[tuple[tuple[str, str], ImportResult]], ImportResult | None]:
    """Results of the plugins the child finished, in order, and the failure of the next."""
    answers = _Answers(entry_points)
    if started is None:
        key = new_key()
        with interrupts_held():
            child = _start(entry_points, key)
    else:
        child, key = started
    messages = converse(child, timeout, key)
    try:
        for message in messages:
            answers.take(message)
        answers.complete()
    except ProtocolViolation as violation:
        stop(child)
        reason = f"the child's answers were not the tool's own: {violation}; the child was stopped"
        return answers.kept(), _failure(None, answers.again(reason), "ProtocolViolation")
    except ChildFailed as failed:
        reason = failed.cause if failed.timed_out else f"the plugin ended the process ({failed})"
        return answers.done, _failure(answers.pending_load(), reason)
    except BaseException:
        stop(child)
        raise
    finally:
        messages.close()
    return answers.done, None


class _Answers:
    """The child's answers, taken only as asked: ``loaded``, then ``done``, per entry point.

    Each is checked against the schema and its strings redacted again; anything else is
    a :class:`ProtocolViolation`. A ``loaded`` outcome is checked where it is used:
    equal to the one in ``done`` (checked there), or alone when the child ended before.
    """

    def __init__(self, asked: list[tuple[str, str, str]]) -> None:
        self._asked = asked
        self.done: list[tuple[tuple[str, str], ImportResult]] = []
        self.load: object = None  # as sent, for the entry point being answered for
        self.again = Redactor()

    def take(self, message: dict[str, Any]) -> None:
        """Take the next message, or raise :class:`ProtocolViolation`."""
        if len(self.done) == len(self._asked):
            raise ProtocolViolation("an answer after every entry point was answered")
        name, value, _ = self._asked[len(self.done)]
        if self.load is None:
            if message.keys() != {"loaded"} or message["loaded"] is None:
                raise ProtocolViolation(f"{_kind(message)} where the import of {name} was due")
            self.load = message["loaded"]
            return
        if message.keys() != {"done", "result"} or message["done"] != [name, value]:
            raise ProtocolViolation(f"{_kind(message)} where the answer for {name} was due")
        result = message["result"]
        _check(result, _import_result(), "result")
        if result["load"] != self.load:
            raise ProtocolViolation(f"two different import outcomes for {name}")
        result["load"] = self.again(result["load"])
        result["manifest"] = self.again(result["manifest"])
        self.done.append(((name, value), result))
        self.load = None

    def pending_load(self) -> LoadOutcome | None:
        """The outcome ``loaded`` said for the entry point still unanswered, if valid."""
        if self.load is None:
            return None
        try:
            _check(self.load, LoadOutcome, "loaded")
        except ProtocolViolation:
            return None
        return self.again(cast("LoadOutcome", self.load))

    def complete(self) -> None:
        """The child said its answer is complete: every entry point must have been answered."""
        if len(self.done) < len(self._asked):
            name = self._asked[len(self.done)][0]
            raise ProtocolViolation(f"'complete' before the answer for {name}")

    def kept(self) -> list[tuple[tuple[str, str], ImportResult]]:
        """What stands after a violation: every answer but the last when all were given.

        An anomaly after the last answer follows that answer with no other in between,
        so it, like the answer an anomaly interrupts, is not taken.
        """
        return self.done[:-1] if len(self.done) == len(self._asked) else self.done


def _check(value: object, cls: type, where: str) -> None:
    """Raise :class:`ProtocolViolation` unless ``value`` is a valid ``cls`` (of the schema)."""
    from insidellms_provenance.field._validate import validate

    issues = validate(value, cls, where)
    if issues:
        raise ProtocolViolation(f"a malformed answer ({issues[0]})")


def _kind(message: dict[str, Any]) -> str:
    """What a message calls itself, in words that quote nothing the child sent."""
    known = {"loaded": "a 'loaded' message", "done": "a 'done' message"}
    return next((known[key] for key in message if key in known), "an unknown message")


def _import_result() -> type:
    from insidellms_provenance.fingerprint._child import ImportResult

    return ImportResult


_Value = TypeVar("_Value")
# Strings a Redactor keeps: statuses and digests, checked against the schema's values and
# pattern. (``module_file``, only compared with RECORD's paths, is not given to it.)
_CHECKED_STRINGS: Final = frozenset({"status", "digest"})


class Redactor:
    r"""Redact every string of a child's valid answer (a load outcome, a manifest) again.

    The child redacts them already, and :func:`~._redact.redact` is idempotent: the
    tool's own answer comes out as it went in, and a line plugin code wrote holds no
    secret either. Most answers need no redaction, which their JSON text says in a few
    microseconds (:class:`~._redact.Redactors`, the names looked up once a child), and
    they pass as they are.
    """

    def __init__(self) -> None:
        from insidellms_provenance.fingerprint._redact import Redactors

        self._redactors = Redactors()

    def __call__(self, value: _Value) -> _Value:
        clean = self._redactors(json.dumps(value))
        if clean is None:
            return value
        changed: _Value = _each_string(value, clean)
        return changed


def _each_string(value: Any, change: Callable[[str], str]) -> Any:  # noqa: ANN401 - JSON
    """``value`` (JSON) with ``change`` applied to each string, but statuses and digests."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_each_string(item, change) for item in value]
    if isinstance(value, dict):
        return {
            key: item if key in _CHECKED_STRINGS else _each_string(item, change)
            for key, item in value.items()
        }
    return value


def spawn(serve: str, payload: Mapping[str, Any] | None = None) -> subprocess.Popen[bytes]:
    """Start ``serve`` ("module:function") in a child, without waiting for any answer.

    The child's ``sys.path`` is the parent's; it imports ``serve``'s module and calls the
    function with ``payload``, which should hand its work to
    :func:`~insidellms_provenance.fingerprint._child.serve_child`. Without ``payload``
    here, :func:`send` it later. Hand the process to :func:`converse` to read its answer,
    or to :func:`stop`.
    """
    import subprocess  # a forked child needs none of it (its import: ≈ 2 ms, threading too)

    if os.name != "posix":  # no pass_fds: the answer shares stdout with start-up output
        process = subprocess.Popen(
            [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
    else:
        process = _spawn_with_an_answer_pipe()
    path = [str(entry) for entry in sys.path if isinstance(entry, str)]
    _write(process, marshal.dumps((path, serve)), close=False)
    if payload is not None:
        send(process, payload)
    return process


def _spawn_with_an_answer_pipe() -> subprocess.Popen[bytes]:
    """:func:`spawn`'s child on POSIX: its answers on a pipe of their own, as ``stdout``.

    A new interpreter runs ``sitecustomize`` and the ``.pth`` files' import lines before
    the child's code, and what they print on stdout would come before its first answer:
    a line without the key, so every plugin would fail. The child's stdout is this
    process's stderr instead (where plugin output goes too; nowhere if stderr is closed),
    and the child moves the pipe it is given onto fd 1 when its own code starts.
    """
    import subprocess

    try:
        os.fstat(2)
        start_up_output = 2
    except OSError:
        start_up_output = subprocess.DEVNULL
    read_fd, write_fd = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(write_fd)],
            stdin=subprocess.PIPE,
            stdout=start_up_output,
            pass_fds=(write_fd,),
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    process.stdout = os.fdopen(read_fd, "rb")
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


def converse(
    process: ChildProcess, timeout: float, key: str
) -> Generator[dict[str, Any], None, None]:
    """Yield the messages of a child :func:`spawn` started with ``key``, until it is complete.

    Each message is a line's object without its ``key`` and ``pid``. Raises
    :class:`ProtocolViolation` at a line the tool's child never sends (see the module's
    docstring), :class:`ChildFailed` when the child ends, or sends nothing for
    ``timeout`` seconds (counted from the first read), before its ``complete`` message,
    and ``KeyboardInterrupt`` when it was interrupted. The child is stopped on any error.
    """
    assert process.stdout is not None  # noqa: S101 - spawn requested the pipe
    lines = _Lines(process.stdout)
    try:
        frames = _Frames(key)
        overran = False
        while True:
            line = lines.next(timeout)
            if line is None:
                overran = not lines.ended
                break
            message = frames.take(line)
            if message == {"interrupted": True}:
                break
            if message == {"complete": True}:
                _finish(process, lines)
                return
            yield message
        if overran:
            stop(process)
        code = process.wait()
        _close_pipes(process)
    except BaseException:
        stop(process)
        raise
    finally:
        # Closed here, in this process, whatever ends the conversation: a selector left
        # for the collector would be inherited by the next forked child, which closes
        # its descriptor and may reuse the number, and would close that when freed.
        lines.close()
    if overran:
        raise ChildFailed(f"did not finish within {timeout:g} s; stopped", timed_out=True)
    if code == _INTERRUPTED:
        raise KeyboardInterrupt
    raise ChildFailed(_exit_text(code), timed_out=False)


def _finish(process: ChildProcess, lines: _Lines) -> None:
    """After ``complete``: the child ends with status 0, and sent nothing more."""
    code = process.wait()
    if code != 0:
        raise ProtocolViolation(f"{_exit_text(code)} after the complete answer")
    if lines.more():
        raise ProtocolViolation("a line after the complete answer")
    _close_pipes(process)


class _Frames:
    """The child's lines as messages: JSON objects with its key, all from one process."""

    def __init__(self, key: str) -> None:
        self._key = key
        self._pid: int | None = None

    def take(self, line: bytes) -> dict[str, Any]:
        """The message in ``line``, without ``key`` and ``pid``, or :class:`ProtocolViolation`."""
        try:
            value = json.loads(line, parse_constant=_no_constant)
        except (ValueError, RecursionError):  # not JSON, NaN, a number of 5,000 digits, ...
            raise ProtocolViolation("a line that is not JSON") from None
        if not isinstance(value, dict) or value.pop("key", None) != self._key:
            raise ProtocolViolation("a line without the child's key (plugin code wrote it)")
        pid = value.pop("pid", None)
        if type(pid) is not int or pid != (self._pid if self._pid is not None else pid):
            raise ProtocolViolation("lines from another process than the child")
        self._pid = pid
        return value


def _no_constant(name: str) -> object:
    raise ValueError(name)  # NaN, Infinity, -Infinity: not JSON numbers


class _Lines:
    """The lines of a child's pipe as they come, none longer than :data:`MAX_LINE_BYTES`."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._fd = stream.fileno()
        self._selector = selectors.DefaultSelector()
        self._selector.register(stream, selectors.EVENT_READ)
        self._ready: collections.deque[bytes] = collections.deque()
        self._partial: list[bytes] = []  # the line begun, in pieces (joined once, at its end)
        self._partial_size = 0
        self.ended = False  # the pipe's end was read

    def next(self, timeout: float) -> bytes | None:
        """The next line; ``None`` at the pipe's end (``ended``), or after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not self._ready:
            if self.ended:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            # Waits of at most what select takes; the deadline, checked again, decides.
            if self._selector.select(min(left, _LONGEST_WAIT)):
                self._read()
        return self._ready.popleft()

    def more(self) -> bool:
        """Whether anything but the pipe's end is there now (read without waiting)."""
        while not (self._ready or self._partial or self.ended) and self._selector.select(0):
            self._read()
        return bool(self._ready or self._partial)

    def close(self) -> None:
        """Close the selector (its own descriptor); the stream is the child's to close."""
        self._selector.close()

    def _read(self) -> None:
        chunk = os.read(self._fd, 1 << 16)
        if not chunk:
            self.ended = True
            self._selector.close()
            return
        *lines, rest = chunk.split(b"\n")
        if lines:
            lines[0] = b"".join([*self._partial, lines[0]])
            self._partial, self._partial_size = [], 0
        if rest:
            self._partial.append(rest)
            self._partial_size += len(rest)
        if self._partial_size > MAX_LINE_BYTES or any(len(ln) > MAX_LINE_BYTES for ln in lines):
            raise ProtocolViolation(f"a line over {MAX_LINE_BYTES} bytes")
        self._ready.extend(lines)


def _failure(
    load: LoadOutcome | None, reason: str, error_type: str = "ProcessEnded"
) -> ImportResult:
    """A plugin that never answered: failed at import, or at ``plugin_manifest()``."""
    if load is None:
        return {
            "load": schema.load_outcome(
                status="failed", error_type=error_type, error_message=reason
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


def _start(entry_points: list[tuple[str, str, str]], key: str) -> ChildProcess:
    """A child importing ``entry_points``, its lines tagged with ``key``.

    Forked where :func:`_may_fork`, else spawned.
    """
    spec = {"entry_points": entry_points, "key": key}
    return _fork(spec) if _may_fork(entry_points) else spawn(_IMPORTS, spec)


def _may_fork(entry_points: Sequence[tuple[str, str, str]] = ()) -> bool:
    """Whether a forked child would import ``entry_points`` as a new interpreter would.

    Only on Linux (macOS system libraries are not safe to use after ``fork``; Windows
    has none), only with one thread (a lock another thread holds would stay held in the
    child), and only if no module an entry point names, nor a package above it, was
    imported here: the child would find it already imported instead of importing it.
    """
    if sys.platform != "linux" or not hasattr(os, "fork") or not one_thread():
        return False
    from insidellms_provenance.fingerprint._loader import (
        NamedEntryPoint,
        entry_point_module,
        module_chain,
    )

    # No name longer than the longest imported one can be imported: a value of thousands
    # of parts (plugin-chosen text) is not looked up prefix by prefix, quadratically.
    longest = max((len(name) for name in sys.modules if isinstance(name, str)), default=0)
    for name, value, group in entry_points:
        module = entry_point_module(NamedEntryPoint(name, value, group)) or ""
        for prefix in module_chain(module):
            if len(prefix) > longest:
                break
            if prefix in sys.modules:
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
