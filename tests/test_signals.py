"""``interrupts_held``: a Ctrl-C inside the block is raised once, when the block ends.

``terminations_end_the_process``: SIGTERM and SIGHUP unwind the block, then end the
process by the signal (in a process of its own: the test's must go on).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from insidellms_provenance._signals import interrupts_held

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "pthread_sigmask"), reason="no signal masks here"
)


@pytest.fixture(autouse=True)
def python_handler() -> Iterator[None]:
    """Ctrl-C raises even if this test run was started with SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _blocked() -> bool:
    return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())


def test_an_interrupt_inside_is_raised_after_the_block() -> None:
    done = []

    def start_and_keep() -> None:
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("kept")
        done.append("not reached")

    with pytest.raises(KeyboardInterrupt):
        start_and_keep()
    assert done == ["kept"]
    assert not _blocked()


@pytest.mark.parametrize("raised", [ValueError, KeyboardInterrupt])
def test_the_mask_is_restored_whatever_ends_the_block(raised: type[BaseException]) -> None:
    def held_then_raise() -> None:
        with interrupts_held():
            assert _blocked()
            raise raised

    with pytest.raises(raised):
        held_then_raise()
    assert not _blocked()


def test_nested_blocks_keep_it_held_until_the_outer_one_ends() -> None:
    with interrupts_held():
        with interrupts_held():
            pass
        assert _blocked()
    assert not _blocked()


# ---- SIGTERM and SIGHUP: unwound, then the process ends by the signal ----------------

_SCRIPT = """
import os, signal
from insidellms_provenance._signals import (
    Terminated, interrupts_held, terminations_end_the_process,
)
"""

# (id, the script's body, its exit status, what it printed); every one prints no error.
TERMINATIONS = [
    (
        "unwinds-then-ends-by-sigterm",
        """
with terminations_end_the_process():
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        print("not reached")
    finally:
        print("cleaned up")
print("not reached either")
""",
        -signal.SIGTERM,
        "cleaned up\n",
    ),
    (
        "unwinds-then-ends-by-sighup",
        """
with terminations_end_the_process():
    try:
        os.kill(os.getpid(), signal.SIGHUP)
    finally:
        print("cleaned up")
""",
        -signal.SIGHUP,
        "cleaned up\n",
    ),
    (
        "a-second-signal-waits-for-the-cleanup",
        """
with terminations_end_the_process():
    try:
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        os.kill(os.getpid(), signal.SIGTERM)
        print("cleaned up")
""",
        -signal.SIGTERM,
        "cleaned up\n",
    ),
    (
        "a-lost-exception-still-ends-the-process",
        """
with terminations_end_the_process():
    try:
        os.kill(os.getpid(), signal.SIGTERM)
    except Terminated:
        print("swallowed")
    print("went on")
print("not reached")
""",
        -signal.SIGTERM,
        "swallowed\nwent on\n",
    ),
    (
        "an-error-it-caused-is-not-reported",
        """
with terminations_end_the_process():
    try:
        os.kill(os.getpid(), signal.SIGTERM)
    except Terminated:
        raise ValueError("a pool broken by the signal") from None
""",
        -signal.SIGTERM,
        "",
    ),
    (
        "held-while-a-child-starts",
        """
with terminations_end_the_process():
    with interrupts_held():
        os.kill(os.getpid(), signal.SIGTERM)
        print("held")
    print("not reached")
""",
        -signal.SIGTERM,
        "held\n",
    ),
    (
        "an-ignored-signal-stays-ignored",
        """
signal.signal(signal.SIGHUP, signal.SIG_IGN)
with terminations_end_the_process():
    os.kill(os.getpid(), signal.SIGHUP)
    print("went on")
""",
        0,
        "went on\n",
    ),
    (
        "a-forked-child-leaves-them-to-its-parent",
        """
with terminations_end_the_process():
    pid = os.fork()
    if pid == 0:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGHUP)
        os._exit(7)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
""",
        0,
        "7\n",
    ),
    (
        # An exception raised through an extension module's initialization can crash the
        # interpreter: the signal waits until the module is made.
        "not-raised-while-an-extension-module-initializes",
        """
import importlib.machinery, importlib.util, sys, time
names = ["_lzma", "_bz2", "_decimal", "_ctypes", "_json", "_bisect", "_heapq", "_random"]
spec = next(
    found
    for found in map(importlib.util.find_spec, names)
    if found is not None and found.name not in sys.modules
    and isinstance(found.loader, importlib.machinery.ExtensionFileLoader)
)

made = False

class Slow(importlib.machinery.ExtensionFileLoader):
    def create_module(self, spec):
        global made
        os.kill(os.getpid(), signal.SIGTERM)
        end = time.monotonic() + 0.05
        while time.monotonic() < end:  # Python code, where a handler runs
            pass
        module = super().create_module(spec)
        made = True
        return module

spec.loader = Slow(spec.name, spec.origin)
with terminations_end_the_process():
    try:
        importlib.util.module_from_spec(spec)
        while True:  # Python code between short sleeps: a signal that came is handled
            time.sleep(0.01)
    finally:  # the signal is raised once: nothing interrupts this
        sys.stdout.write(f"made: {made}\\n")
""",
        -signal.SIGTERM,
        "made: True\n",
    ),
    (
        # A program a forked child starts gets the default action back, not "ignore".
        "a-forked-childs-program-ends-by-sigterm",
        """
import subprocess, sys
with terminations_end_the_process():
    pid = os.fork()
    if pid == 0:
        program = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        program.terminate()
        os._exit(0 if program.wait(timeout=20) == -signal.SIGTERM else 1)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
""",
        0,
        "0\n",
    ),
    (
        "the-default-actions-again-after-the-block",
        """
with terminations_end_the_process():
    pass
print(signal.getsignal(signal.SIGTERM) == signal.getsignal(signal.SIGHUP) == signal.SIG_DFL)
""",
        0,
        "True\n",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "printed"),
    [case[1:] for case in TERMINATIONS],
    ids=[case[0] for case in TERMINATIONS],
)
def test_terminations_end_the_process(body: str, status: int, printed: str) -> None:
    result = subprocess.run(
        [sys.executable, "-u", "-c", _SCRIPT + body],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (status, printed, "")
