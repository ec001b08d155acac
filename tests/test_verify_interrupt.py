"""Ctrl-C during a pooled verify: raised where the workers are stopped, whenever it comes.

The interrupt is delivered at a chosen point (no sleeps, no timing): while SIGINT is
blocked for submitting work, and while results are awaited.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from insidellms_provenance.analyze import _verify as verify_module

pytestmark = pytest.mark.skipif(
    (os.cpu_count() or 1) < 2 or not hasattr(signal, "pthread_sigmask"),
    reason="the pool needs 2 CPUs; the interrupt point needs pthread_sigmask",
)


def _directories() -> list[str]:
    """Enough metadata directories for the pool (the same one, many times)."""
    path = getattr(metadata.distribution("pytest"), "_path", None)
    assert isinstance(path, Path)
    return [str(path)] * 48


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException]]:
    """Exceptions that escape any thread (the pool's manager thread prints them)."""
    errors: list[BaseException] = []
    monkeypatch.setattr(
        threading, "excepthook", lambda args: errors.append(args.exc_value or Exception())
    )
    # Ctrl-C raises here even if this test run was started with SIGINT ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield errors
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_while_work_is_submitted_stops_the_workers(
    monkeypatch: pytest.MonkeyPatch, thread_errors: list[BaseException]
) -> None:
    blocked = verify_module.interrupts_held

    @contextlib.contextmanager
    def interrupted_meanwhile() -> Iterator[None]:
        with blocked():
            yield
            _interrupt()  # pending: raised when SIGINT is unblocked

    monkeypatch.setattr(verify_module, "interrupts_held", interrupted_meanwhile)
    with pytest.raises(KeyboardInterrupt):
        verify_module.verify_targets(_directories())
    assert multiprocessing.active_children() == []
    assert thread_errors == []


def test_ctrl_c_while_results_are_awaited_stops_the_workers(
    thread_errors: list[BaseException],
) -> None:
    with pytest.raises(KeyboardInterrupt):
        verify_module.verify_targets(_directories(), progress=lambda *_: _interrupt())
    assert multiprocessing.active_children() == []
    assert thread_errors == []
