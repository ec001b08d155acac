"""Time a target and its floor in turn, and summarize per-round ratios (median, spread).

Machine noise (other processes on a shared machine) moves absolute times a lot; timing
the target and its floor alternately, in the same rounds, and taking the median of the
per-round ratios keeps the comparison fair. Each round starts with a different case so
that neither always runs first.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence


def interleaved(
    cases: Mapping[str, Callable[[], object]],
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds of each case in each round, the cases taking turns within every round.

    ``clock`` is wall time by default; ``time.process_time`` gives this process's CPU time,
    which other processes on a shared machine move far less.
    """
    names = list(cases)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = clock()
            cases[name]()
            times[name].append(clock() - start)
    return times


def run_process(argv: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process run to completion, output discarded."""
    elapsed, rss, _ = run_process_usage(argv, env)
    return elapsed, rss


def run_process_usage(
    argv: Sequence[str], env: Mapping[str, str] | None = None
) -> tuple[float, int, float]:
    """:func:`run_process`, and the CPU seconds (user + system) of the process."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise subprocess.CalledProcessError(process.returncode, list(argv))
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def median_ms(values: Sequence[float]) -> str:
    return f"{statistics.median(values) * 1e3:.1f} ms"


def ratio(target: Sequence[float], floor: Sequence[float], digits: int = 2) -> str:
    """``median x (min-max)`` of the per-round ratios target / floor."""
    ratios = sorted(t / f for t, f in zip(target, floor, strict=True))
    low, middle, high = (
        f"{r:.{digits}f}" for r in (ratios[0], statistics.median(ratios), ratios[-1])
    )
    return f"{middle}x ({low}-{high})"
