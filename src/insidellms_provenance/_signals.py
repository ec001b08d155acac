"""Start child processes safely: Ctrl-C held back meanwhile, and fork only when it is safe.

Standard library only: the recording path (``fingerprint._isolation``) and ``verify``'s
pool both use it.

Typical usage::

    with interrupts_held():
        child = start()  # a Ctrl-C meanwhile is raised here, once ``child`` is stored
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

__all__ = ["interrupts_held", "one_thread"]


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """SIGINT blocked meanwhile; a Ctrl-C that came is delivered when the block ends.

    Between starting a child (``fork``, ``Popen``, a pool's workers) and storing it where
    the cleanup finds it, a ``KeyboardInterrupt`` would leave a process nobody stops.
    Processes started meanwhile inherit the blocked mask and unblock it themselves. Where
    signal masks do not exist (Windows) nothing is held.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def one_thread() -> bool:
    """Whether this process has one thread, counted by the system (C libraries' too).

    Only then is ``fork`` safe: a lock another thread holds at the fork stays held in the
    child for ever. ``False`` where the count cannot be read (no ``/proc``: not Linux).
    """
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False
