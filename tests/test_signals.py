"""``interrupts_held``: a Ctrl-C inside the block is raised once, when the block ends."""

from __future__ import annotations

import os
import signal
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
