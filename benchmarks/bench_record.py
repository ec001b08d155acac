"""Time ``record`` against the floor of importing the same plugins, in the same rounds.

Run: ``python benchmarks/bench_record.py [COUNT PLUGINS] [--real]``.

- For synthetic environments of 1,000 and 5,000 distributions on ``PYTHONPATH`` (or the
  one shape given), ``record``'s whole process against the floor: entry-point discovery
  and ``ep.load()`` of every plugin of the group, sorted, as the host loads them. Both
  run in a venv with only this package (``environments.py``: not with the interpreter
  that runs this script, whose start-up may import more).
- With ``--real``, in a venv built with ``uv`` from the package index, as
  ``bench_verify.py`` builds its own (this package, ``jupyter``, ``pandas``, ``mypy``,
  ``pytest``, ``hypothesis``, ``sqlalchemy``), plus ``pip`` and 10 small plugins:
  ``record`` against the same floor, and beside it ``uv pip list`` and the venv's own
  ``pip freeze``, which list what is installed without importing anything. They are
  not floors of ``record``'s work, but users ask why ``record`` takes longer than they do.

The commands run in turns in every round; the script prints median wall and CPU times
(user + system, children included: ``record`` imports the plugins in a child process)
and the median (min-max) of the per-round ratios. Last, the import cost of the package
against ``importlib.metadata``. No timing is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from bench_host import ten_plugins
from bench_verify import REAL_SET
from environments import build_venv, clean_environment, describe, site_packages
from interleave import interleaved, median_ms, ratio, run_process, run_process_usage
from synthetic_env import build_site, time_with_bytecode_caches

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
SYNTHETIC_GROUP = "bench.plugins"
HOST_GROUP = "insidellms.plugins"
FLOOR = (
    "import sys\n"
    "from importlib.metadata import entry_points\n"
    "for ep in sorted(entry_points(group=sys.argv[1]), key=lambda ep: (ep.name, ep.value)):\n"
    "    ep.load()\n"
)
SHAPES = ((1000, 20), (1000, 100), (5000, 100), (5000, 500))


def compare(
    label: str, commands: dict[str, list[str]], env: dict[str, str], target: str | None
) -> None:
    """Time ``commands`` in turns; print each against the first (the floor) and ``record``."""
    for argv in commands.values():  # warm the page cache, bytecode caches, record's cache
        run_process(argv, env)
    cpu: dict[str, list[float]] = {name: [] for name in commands}

    def timed(name: str) -> None:
        cpu[name].append(run_process_usage(commands[name], env)[2])

    wall = interleaved({name: lambda name=name: timed(name) for name in commands}, ROUNDS)
    floor, *others = commands
    print(f"{label}, {ROUNDS} interleaved rounds (median, and range of per-round ratios)")
    print(f"  {floor}: wall {median_ms(wall[floor])}, cpu {median_ms(cpu[floor])}")
    for name in others:
        print(f"  {name}: wall {median_ms(wall[name])}, cpu {median_ms(cpu[name])}")
    print(
        f"  record / {floor}: wall {ratio(wall['record'], wall[floor])}, "
        f"cpu {ratio(cpu['record'], cpu[floor])}"
        + (f"  (target <= {target})" if target else "  (no target for this shape)")
    )
    for name in others:
        if name != "record":
            print(
                f"  record / {name}: wall {ratio(wall['record'], wall[name])}, "
                f"cpu {ratio(cpu['record'], cpu[name])}"
            )


def synthetic(python: Path, count: int, plugins: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        build_site(site, count, plugins, SYNTHETIC_GROUP)
        env = {**clean_environment(), "PYTHONPATH": str(site)}
        record = ["-m", "insidellms_provenance", "record", "--group", SYNTHETIC_GROUP]
        compare(
            f"{count} dists, {plugins} plugins",
            {
                "floor": [str(python), "-c", FLOOR, SYNTHETIC_GROUP],
                "record": [str(python), *record],
            },
            env,
            "1.5x for 100 plugins among 5,000",
        )


def real() -> None:
    from venvtools import uv_executable  # tests/, on the path once bench_host is imported

    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp) / "wheels"
        plugins = ten_plugins(wheels)
        wheel_files = map(str, sorted(wheels.glob("*.whl")))
        python = build_venv(Path(tmp) / "venv", *REAL_SET, "pip", *wheel_files)
        env = clean_environment()
        dists = len(list(site_packages(python).glob("*.dist-info")))
        commands = {
            "floor": [str(python), "-c", FLOOR, HOST_GROUP],
            "record": [str(python), "-m", "insidellms_provenance", "record"],
        }
        commands["uv pip list"] = [uv_executable(), "pip", "list", "--python", str(python)]
        commands["pip freeze"] = [str(python), "-m", "pip", "freeze"]
        label = f"real venv: {dists} dists, {len(plugins)} plugins and this package's hook"
        compare(label, commands, env, None)


def importtime_us(python: Path, module: str) -> int:
    """Cumulative microseconds for ``module`` as reported by ``python -X importtime``."""
    best = None
    for _ in range(7):
        result = subprocess.run(
            [str(python), "-X", "importtime", "-c", f"import {module}"],
            env=clean_environment(),
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", nargs="*", type=int, help="COUNT PLUGINS (default: four shapes)")
    parser.add_argument("--real", action="store_true", help="also a real venv built with uv")
    arguments = parser.parse_args()
    if len(arguments.shape) not in (0, 2):
        parser.error("give COUNT and PLUGINS, or neither")
    time_with_bytecode_caches()
    with tempfile.TemporaryDirectory() as tmp:
        python = build_venv(Path(tmp) / "venv")
        print(f"{os.cpu_count()} cores; {describe(python)}")
        for count, plugins in [tuple(arguments.shape)] if arguments.shape else SHAPES:
            synthetic(python, count, plugins)
        if arguments.real:
            real()
        base = importtime_us(python, "importlib.metadata")
        ours = importtime_us(python, "insidellms_provenance")
    print(
        f"import: importlib.metadata {base} us, insidellms_provenance {ours} us "
        f"(python -X importtime, cumulative), ratio {ours / base:.2f}x (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
