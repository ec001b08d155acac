"""Time ``record`` against the floor of bare entry-point discovery plus ``ep.load()``.

Run: ``python benchmarks/bench_record.py``. Prints, for synthetic environments of
1,000 and 5,000 distributions, the ratio of ``record``'s whole-process time to the floor
measured in the same run, and the import cost of the package against
``importlib.metadata``. Figures are best-of-N wall times; no assertion is made.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_env import build_site, time_with_bytecode_caches

GROUP = "bench.plugins"
FLOOR = (
    "from importlib.metadata import entry_points\n"
    f"for ep in sorted(entry_points(group={GROUP!r}), key=lambda ep: (ep.name, ep.value)):\n"
    "    ep.load()\n"
)
REPEATS = 7


def best_times(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Best wall time and best CPU time (user + system of the process) of ``REPEATS`` runs.

    CPU time moves far less than wall time with whatever else the machine is doing.
    """
    walls, cpus = [], []
    for _ in range(REPEATS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def importtime_us(module: str) -> int:
    """Cumulative microseconds for ``module`` as reported by ``python -X importtime``."""
    best = None
    for _ in range(7):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            check=True,
            capture_output=True,
            text=True,
        )
        for line in result.stderr.splitlines():
            parts = [part.strip() for part in line.split("|")]
            if len(parts) == 3 and parts[2] == module:
                value = int(parts[1])
                best = value if best is None else min(best, value)
    return best or 0


def main() -> None:
    time_with_bytecode_caches()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    wanted = [int(arg) for arg in sys.argv[1:3]] if len(sys.argv) > 2 else None
    shapes = ((1000, 20), (1000, 100), (5000, 100), (5000, 500))
    for count, plugins in [tuple(wanted)] if wanted else shapes:
        with tempfile.TemporaryDirectory() as tmp:
            site = Path(tmp) / "site"
            build_site(site, count, plugins, GROUP)
            env = {**os.environ, "PYTHONPATH": str(site)}
            best_times([sys.executable, "-c", FLOOR], env)  # writes the plugins' caches
            floor = best_times([sys.executable, "-c", FLOOR], env)
            recorded = best_times(
                [sys.executable, "-m", "insidellms_provenance", "record", "--group", GROUP], env
            )
            for clock, index in (("wall", 0), ("cpu", 1)):
                print(
                    f"{count:5d} dists, {plugins:3d} plugins, {clock}: floor "
                    f"{floor[index] * 1000:7.1f} ms, record {recorded[index] * 1000:7.1f} ms, "
                    f"ratio {recorded[index] / floor[index]:.2f}x "
                    "(target <= 1.5x for 100 plugins among 5,000)"
                )
    base = importtime_us("importlib.metadata")
    ours = importtime_us("insidellms_provenance")
    print(
        f"import: importlib.metadata {base} us, insidellms_provenance {ours} us "
        f"(python -X importtime, cumulative), ratio {ours / base:.2f}x (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
