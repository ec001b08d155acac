"""The child's side of isolation: import the plugins, report each step.

:mod:`~insidellms_provenance.fingerprint._isolation` starts the child, forked from the
parent (:func:`serve_forked`) or as a new interpreter (:func:`serve_imports`), and reads
its answer. What this module imports is what a new interpreter imports before the first
plugin, so it holds to the loader and what the loader needs: not ``importlib.metadata``
(≈ 25 ms; entry points are rebuilt from their name, value and group, and loaded as
importlib loads them: :class:`~insidellms_provenance.fingerprint._loader.NamedEntryPoint`),
nor the parent's process machinery (``subprocess``, ``selectors``; on Python 3.10
``orjson`` imports ``subprocess`` through ``uuid`` and ``platform``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any, Final, NoReturn, TypedDict

from insidellms_provenance.field.schema import LoadOutcome, ManifestSummary
from insidellms_provenance.fingerprint._loader import (
    NamedEntryPoint,
    call_plugin_manifest,
    imported_file,
    load_entry_point,
)

__all__ = ["INTERRUPTED", "ImportResult", "serve_child", "serve_forked", "serve_imports"]

INTERRUPTED: Final = 130
"""The child's exit status after a ``KeyboardInterrupt``; the parent raises it again."""
_FAILED: Final = 70  # the forked child's status if its own code failed (EX_SOFTWARE)


class ImportResult(TypedDict):
    """What importing one entry point in the child showed."""

    load: LoadOutcome
    manifest: ManifestSummary
    module_file: str | None


def serve_child(work: Callable[[Callable[[dict[str, Any]], None]], None], key: str) -> NoReturn:
    """Run ``work(send)``, then say the answer is complete, and end the process.

    Plugin writes to fd 1 or ``sys.__stdout__`` go to stderr; messages (JSON lines) go on
    a duplicate of the original stdout, each tagged with ``key`` (the parent's secret for
    this child) and this process's id: the parent takes no line without both
    (:func:`~insidellms_provenance.fingerprint._isolation.converse`). A copy of this
    process that plugin code forked sends nothing: it ends at its first message, so
    the parent hears one process. ``KeyboardInterrupt`` ends the child with
    :data:`INTERRUPTED`, which the parent turns back into ``KeyboardInterrupt``.
    """
    report = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    pid = os.getpid()

    def send(message: dict[str, Any]) -> None:
        if os.getpid() != pid:  # a fork of plugin code's: only the child answers
            os._exit(0)
        try:
            report.write(json.dumps({"key": key, "pid": pid, **message}).encode() + b"\n")
        except OSError:  # the parent stopped listening (it refused an answer, or timed out)
            os._exit(_FAILED)

    try:
        work(send)
        send({"complete": True})
    except KeyboardInterrupt:
        send({"interrupted": True})
        os._exit(INTERRUPTED)
    report.close()
    # Skip interpreter shutdown: plugin atexit handlers and threads are not our business.
    # The parent requires exit status 0 after the complete answer: a closed stderr
    # must not turn it into a failure.
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(0)


def serve_imports(spec: Mapping[str, Any]) -> NoReturn:
    """Import each entry point of ``spec["entry_points"]`` in order; report each step.

    A ``loaded`` message after the import and a ``done`` message with the
    :class:`ImportResult` after ``plugin_manifest()``, each tagged with ``spec["key"]``
    (:func:`serve_child`): a plugin that ends the process leaves the parent with every
    step before it.

    No bytecode cache is written: recording leaves the environment as it found it, and
    the next run's check of the plugins' directories (made before this child is told
    what to import) finds the caches it found this time.
    """
    sys.dont_write_bytecode = True

    def work(send: Callable[[dict[str, Any]], None]) -> None:
        for name, value, group in spec["entry_points"]:
            ep = NamedEntryPoint(name, value, group)
            load = load_entry_point(ep)
            send({"loaded": load})
            manifest = call_plugin_manifest(ep, load)
            result: ImportResult = {
                "load": load,
                "manifest": manifest,
                "module_file": imported_file(ep),
            }
            send({"done": [name, value], "result": result})

    serve_child(work, spec["key"])


def serve_forked(report_fd: int, spec: Mapping[str, Any]) -> NoReturn:
    """The start of a child forked from the parent: :func:`serve_imports`, never returning.

    The child keeps nothing of the parent's but its memory: stdin reads ``/dev/null``
    (a new interpreter's reads the closed pipe: both at once at their end), fd 1 is
    the report pipe (``report_fd``), every other descriptor above 2 is closed, so
    plugin code cannot write into the parent's files, and ``sys.stdin``, ``stdout``
    and ``stderr`` are new streams over fds 0, 1 and 2, as in a new interpreter (the
    parent's may be anything: a test's capture, an application's logger). Ctrl-C is
    left to the parent, as in a new interpreter. Whatever happens, the parent's code
    never runs on here.
    """
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held back at the fork
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(report_fd, 1)
        _close_descriptors_above(2)
        _new_standard_streams()
        serve_imports(spec)
    finally:
        os._exit(_FAILED)


def _new_standard_streams() -> None:
    """``sys.stdin``/``stdout``/``stderr`` (and their ``__x__``) over fds 0, 1 and 2.

    With the encoding and error handler of the interpreter's own streams, which the
    parent's environment chose as it would choose them for a new interpreter.
    """
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        model = getattr(sys, f"__{name}__", None)
        encoding = getattr(model, "encoding", None) or "utf-8"
        errors = getattr(model, "errors", None) or "strict"
        buffering = 1 if fd == 2 else -1  # stderr line-buffered, as Python makes it
        stream = open(  # noqa: SIM115 - the process's stream, for its whole life
            fd, mode, buffering, encoding=encoding, errors=errors, closefd=False
        )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _close_descriptors_above(last_kept: int) -> None:
    """Close every open file descriptor above ``last_kept`` (``/proc``'s list, else all)."""
    try:
        descriptors = [int(name) for name in os.listdir("/proc/self/fd")]
    except (OSError, ValueError):
        import resource

        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        os.closerange(last_kept + 1, limit if 0 < limit <= 1 << 20 else 1 << 16)
        return
    for descriptor in descriptors:
        if descriptor > last_kept:
            with contextlib.suppress(OSError):  # the listing's own, closed already
                os.close(descriptor)
