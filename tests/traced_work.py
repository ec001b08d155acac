"""How much Python a call runs, counted in line events: growth measured without a clock.

A count of executed lines is the same on every machine and under any load, so a test
can say "doubling the input about doubles the work" (linear) where a quadratic loop
would quadruple it, with no timed assert.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["assert_linear", "lines_run"]


def lines_run(call: Callable[[], object]) -> int:
    """How many line events of Python code ``call()`` runs (C code counts for nothing)."""
    count = 0

    def trace(_frame: FrameType, event: str, _arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        call()
    finally:
        sys.settrace(previous)
    return count


def assert_linear(make_call: Callable[[int], Callable[[], object]], size: int) -> None:
    """``make_call(2 * size)`` runs at most 2.5 times the lines of ``make_call(size)``.

    Linear work doubles (plus a constant), quadratic work quadruples: 2.5 tells them apart.
    """
    small, large = lines_run(make_call(size)), lines_run(make_call(2 * size))
    assert large <= 2.5 * small, f"{size}: {small} lines, {2 * size}: {large} lines"
