"""Signals: Ctrl-C held back while a child starts, SIGTERM and SIGHUP unwound, safe forks.

Standard library only: the recording path (``fingerprint._isolation``) and ``verify``'s
pool both use it, as does the CLI's process entry (:func:`terminations_end_the_process`).

Typical usage::

    with interrupts_held():
        child = start()  # a Ctrl-C meanwhile is raised here, once ``child`` is stored
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal  # the same names, typed
    from types import FrameType
    from typing import NoReturn
else:
    # The C module under ``signal``, which builds its enums when imported: about 0.5 ms
    # of every command, since the CLI's entry sets the handlers of the terminating signals.
    import _signal

__all__ = ["Terminated", "interrupts_held", "one_thread", "terminations_end_the_process"]

# What ``kill``, ``timeout``, ``docker stop`` and a cancelled CI job send, and what a
# closed terminal sends (SIGHUP does not exist on Windows).
_TERMINATING = tuple(
    getattr(_signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(_signal, name)
)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """SIGINT blocked meanwhile; a Ctrl-C that came is delivered when the block ends.

    Between starting a child (``fork``, ``Popen``, a pool's workers) and storing it where
    the cleanup finds it, a ``KeyboardInterrupt`` would leave a process nobody stops.
    Processes started meanwhile inherit the blocked mask and unblock it themselves. Where
    signal masks do not exist (Windows) nothing is held. SIGTERM and SIGHUP, where
    :func:`terminations_end_the_process` handles them, are held too, by their handler
    (not the mask, which a new interpreter would inherit and keep).
    """
    terminations = _installed_terminations()
    with terminations.held() if terminations is not None else contextlib.nullcontext():
        if not hasattr(_signal, "pthread_sigmask"):
            yield
            return
        previous = _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGINT})
        try:
            yield
        finally:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, previous)


class Terminated(BaseException):
    """SIGTERM or SIGHUP came: raised where the process is, so that every cleanup runs.

    A ``BaseException``, as ``KeyboardInterrupt`` is: no ``except Exception`` takes it
    for an error to report.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Terminations:
    """The terminating signals' handler: the first one raises, later ones wait for it."""

    def __init__(self) -> None:
        self.signum: int | None = None  # the first that came
        self.holding = 0  # how many :meth:`held` blocks are open
        self.pending: int | None = None  # one that came while held: raised when they end

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """Raise :class:`Terminated` once; a second signal must not cut the cleanup short.

        Not while an extension module initializes (orjson, imported on first use): an
        exception raised through its initialization can crash the interpreter (seen as
        SIGSEGV); the signal is sent again a moment later instead.
        """
        if self.signum is not None:
            return
        if _initializing_an_extension(frame):
            _send_again_soon(signum)
            return
        self.signum = signum
        if self.holding:
            self.pending = signum
        else:
            raise Terminated(signum)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """A signal that comes meanwhile is raised when the outermost block ends."""
        self.holding += 1
        try:
            yield
        finally:
            self.holding -= 1
        if self.pending is not None and not self.holding:
            signum, self.pending = self.pending, None
            raise Terminated(signum)

    def leave_to_parent(self) -> None:
        """In a forked child: the signals have no effect, as Ctrl-C has none; the parent stops it.

        A child that raised :class:`Terminated` would go on with it as a plugin's error,
        or print a traceback (a pool's idle worker); a worker ended at once by a signal
        sent to the process group breaks the pool while the parent shuts it down, and
        Python 3.11's pool thread prints a traceback then.

        A handler that does nothing, not ``SIG_IGN``: a process a plugin starts from the
        child (``exec``) is reset to the default action, and ends by a SIGTERM as it would
        without this package.
        """
        for signum in _TERMINATING:
            if _signal.getsignal(signum) == self.handle:
                _signal.signal(signum, _no_effect)


def _no_effect(signum: int, frame: FrameType | None) -> None:
    """The handler of a terminating signal in a forked child: nothing (see ``leave_to_parent``)."""


def _initializing_an_extension(frame: FrameType | None) -> bool:
    """Whether the interrupted code runs inside an extension module's initialization."""
    from importlib.machinery import ExtensionFileLoader

    while frame is not None:
        code = frame.f_code
        if code.co_name in ("create_module", "exec_module") and isinstance(
            frame.f_locals.get("self"), ExtensionFileLoader
        ):
            return True
        frame = frame.f_back
    return False


def _send_again_soon(signum: int) -> None:
    """Send ``signum`` to the main thread again in a few milliseconds, from a timer thread.

    To the main thread, which handles signals: sent to the process, the kernel may give
    it to the timer's own thread, and a main thread blocked in a system call (a sleep, a
    wait for a child) would not hear of it until that call returned.
    """
    import threading

    main = threading.main_thread().ident
    if hasattr(_signal, "pthread_kill") and main is not None:
        timer = threading.Timer(0.005, _signal.pthread_kill, (main, signum))
    else:
        timer = threading.Timer(0.005, os.kill, (os.getpid(), signum))
    timer.daemon = True
    timer.start()


def _installed_terminations() -> _Terminations | None:
    """The handler :func:`terminations_end_the_process` set in this process, if any."""
    for signum in _TERMINATING:
        owner = getattr(_signal.getsignal(signum), "__self__", None)
        if isinstance(owner, _Terminations):
            return owner
    return None


@contextlib.contextmanager
def terminations_end_the_process() -> Iterator[None]:
    """SIGTERM and SIGHUP unwind the block as Ctrl-C does, then end the process by it.

    By default either signal ends the process at once: a temp file being written is
    left behind, a child importing plugins runs on. Meanwhile, the first of them raises
    :class:`Terminated` instead, so every ``except BaseException`` and ``finally`` on
    the way runs (the writers remove their temp file, children are stopped); then the
    process ends by that signal at its default action, so that its parent sees what
    ``kill`` asked for happen (a shell reports status 128 + N). A signal whose exception
    was lost (raised where Python cannot carry one, such as a weakref callback) still
    ends the process when the block ends, and so does one that made something else go
    wrong first. Only a default action is replaced: a signal ignored (``nohup``) stays
    ignored. Children forked meanwhile (the plugin-importing child, verify's workers)
    ignore both, as they ignore Ctrl-C: this process stops them as it unwinds. Starting
    a child is not interrupted (:func:`interrupts_held` holds them too).
    """
    terminations = _Terminations()
    installed = []
    with contextlib.suppress(ValueError):  # not the main thread: signals are not handled here
        for signum in _TERMINATING:
            if _signal.getsignal(signum) == _signal.SIG_DFL:
                _signal.signal(signum, terminations.handle)
                installed.append(signum)
    if installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=terminations.leave_to_parent)
    try:
        yield
    except Terminated:
        pass  # the process ends by the signal below
    finally:
        for signum in installed:
            _signal.signal(signum, _signal.SIG_DFL)
        if terminations.signum is not None:  # whatever else the signal made go wrong
            _end_by(terminations.signum)


def _end_by(signum: int) -> NoReturn:
    """End the process by ``signum`` at its default action; exit 128 + N if it goes on."""
    _signal.raise_signal(signum)
    raise SystemExit(128 + signum)  # the signal was blocked (inherited so): still ended


def one_thread() -> bool:
    """Whether this process has one thread, counted by the system (C libraries' too).

    Only then is ``fork`` safe: a lock another thread holds at the fork stays held in the
    child for ever. ``False`` where the count cannot be read (no ``/proc``: not Linux).
    """
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False
