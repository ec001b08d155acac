"""What recording dependency closures costs: 10 plugins over 60 installed dependencies.

Run: ``python benchmarks/bench_deps.py [--repeats N]``. Builds real wheels (synthetic,
made by ``tests/wheelbuilder.py``: real PyPI wheels of that size would need the network)
and installs them with uv into a venv with the test suite's fake host: 10 plugins, each
importing its direct dependencies, whose closures together hold 60 distributions, one of
them (``bench-big``, as ``torch``) with 10,000 files and RECORD rows. Then prints:

- ``record`` against the floor of ``entry_points()`` + ``ep.load()`` +
  ``importlib.metadata.requires()`` of every distribution of the closures (target
  ≤ 1.5x), with the description cache warm and with it off
  (``INSIDELLMS_PROVENANCE_CACHE=off``), the three run in turns, wall and CPU time
  (``record`` imports the plugins in a child process, whose CPU time counts);
- a host run with the hook against the same run without it (target ≤ 1.05x), wall and
  CPU time, best and median of interleaved runs, cache warm.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_host import FAKE_RUN, timed_runs
from synthetic_env import time_with_bytecode_caches

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

GROUP = "insidellms.plugins"
PLUGINS = 10
PRIVATE = 5  # a chain of private dependencies per plugin
SHARED_CHAIN = 6  # bench-shared-b ... -g, shared by every plugin
BIG_ROWS = 10_000


def _module(imports: list[str]) -> bytes:
    return "".join(f"import {name}\n" for name in imports).encode() + b"VALUE = 1\n"


def build_wheels(directory: Path) -> tuple[list[str], list[str]]:
    """The plugins' and the dependencies' distribution names, their wheels in ``directory``."""
    from wheelbuilder import WheelSpec, build_wheel

    dependencies: list[str] = []

    def library(name: str, requires: tuple[str, ...] = (), files: int = 3, **extra: object) -> None:
        package = name.replace("-", "_")
        contents = {f"{package}/__init__.py": _module([])}
        contents |= {
            f"{package}/part{index // 100}/m{index}.py": b"X = %d\n" % index
            for index in range(files - 1)
        }
        build_wheel(
            WheelSpec(name=name, version="1.0.0", files=contents, requires_dist=requires, **extra),  # type: ignore[arg-type]
            directory,
        )
        dependencies.append(name)

    library("bench-big", files=BIG_ROWS - 4)  # METADATA, WHEEL and RECORD rows make the rest
    library("bench-extra-only")
    library("bench-never")
    library(
        "bench-common",
        ("bench-extra-only; extra == 'full'", "bench-never; python_version < '3'"),
        provides_extra=("full",),
    )
    library("bench-shared-a", ("bench-common[full]>=1.0",))
    for step in range(SHARED_CHAIN):  # bench-shared-b -> ... -> bench-shared-a
        following = f"bench-shared-{chr(ord('b') + step + 1)}" if step + 1 < SHARED_CHAIN else ""
        library(
            f"bench-shared-{chr(ord('b') + step)}",
            (following or "bench-shared-a", "bench-common"),
        )
    for plugin in range(PLUGINS):
        for step in range(PRIVATE):
            following = (f"bench-p{plugin}-d{step + 1}>=1",) if step + 1 < PRIVATE else ()
            library(f"bench-p{plugin}-d{step}", following)
    plugins = []
    for plugin in range(PLUGINS):
        name = f"bench-plugin-{plugin}"
        package = name.replace("-", "_")
        direct = [f"bench-p{plugin}-d0", "bench-shared-b"]
        if plugin % 2 == 0:
            direct.append("bench-big")
        code = (
            _module([d.replace("-", "_") for d in direct])
            + b"\ndef register(*, model_registry, probe_registry, dataset_registry):\n"
            + f"    model_registry.register('bench-model-{plugin}', object)\n".encode()
        )
        build_wheel(
            WheelSpec(
                name=name,
                version="1.0.0",
                files={f"{package}/__init__.py": code},
                entry_points={GROUP: {name: f"{package}:register"}},
                requires_dist=tuple(f"{d}>=1.0" for d in direct),
            ),
            directory,
        )
        plugins.append(name)
    closure = [d for d in dependencies if d not in ("bench-never", "bench-extra-only")]
    closure.append("bench-extra-only")  # named by bench-common[full]
    return plugins, sorted(set(closure))


def host_venv(directory: Path) -> tuple[Path, list[str]]:
    from test_host import host_spec
    from venvtools import create_venv, uv_executable
    from wheelbuilder import build_wheel

    wheels = directory / "wheels"
    build_wheel(host_spec(), wheels)
    plugins, closure = build_wheels(wheels)
    venv = create_venv(directory / "venv", "uv")
    install = [uv_executable(), "pip", "install", "--quiet", "--python", str(venv.python)]
    options = ["--find-links", str(wheels), "--compile-bytecode"]
    subprocess.run(
        [*install, *options, "insideLLMs", *plugins, str(ROOT)],
        check=True,
        env={**os.environ, "UV_LINK_MODE": "copy"},
    )
    return venv.python, closure


FLOOR = """
import sys
from importlib.metadata import entry_points, requires
for ep in sorted(entry_points(group={group!r}), key=lambda ep: (ep.name, ep.value)):
    ep.load()
for name in {names!r}:
    requires(name)
"""


def interleaved_runs(
    commands: dict[str, tuple[list[str], dict[str, str]]], repeats: int
) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU times (user + system, children included) of each command, in turns.

    One round runs every command once, so machine drift hits all of them; the first
    round warms caches and is not counted.
    """
    times: dict[str, dict[str, list[float]]] = {
        clock: {label: [] for label in commands} for clock in ("wall", "cpu")
    }
    for index in range(-1, repeats):
        for label, (command, env) in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if index >= 0:
                times["wall"][label].append(wall)
                times["cpu"][label].append(
                    (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                )
    return times


def main() -> None:
    time_with_bytecode_caches()
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=21)
    arguments = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        python, closure = host_venv(workdir)
        plugins = [f"bench-plugin-{index}" for index in range(PLUGINS)]
        print(f"{len(plugins)} plugins, closure of {len(closure)} distributions")
        cache = workdir / "cache"
        env = {**os.environ, "INSIDELLMS_PROVENANCE_CACHE": str(cache)}
        floor_code = FLOOR.format(group=GROUP, names=[*plugins, *closure])
        record = [str(python), "-m", "insidellms_provenance", "record"]
        subprocess.run(record, env=env, check=True, stdout=subprocess.DEVNULL)  # fills the cache
        cold_env = {**env, "INSIDELLMS_PROVENANCE_CACHE": "off"}
        record_runs = interleaved_runs(
            {
                "floor": ([str(python), "-c", floor_code], env),
                "cache warm": (record, env),
                "cache off": (record, cold_env),
            },
            arguments.repeats,
        )
        for clock, by_label in record_runs.items():
            for label in ("cache warm", "cache off"):
                floor, measured = by_label["floor"], by_label[label]
                best, median = min(measured), statistics.median(measured)
                print(
                    f"record, {label}, {clock} time: floor {min(floor) * 1000:.1f} ms best / "
                    f"{statistics.median(floor) * 1000:.1f} median, record {best * 1000:.1f} / "
                    f"{median * 1000:.1f} ms, ratio {best / min(floor):.2f}x best, "
                    f"{median / statistics.median(floor):.2f}x median (target <= 1.5x)"
                )
        os.environ["INSIDELLMS_PROVENANCE_CACHE"] = str(cache)
        times = timed_runs([str(python), "-c", FAKE_RUN], workdir, arguments.repeats)
        for clock, runs in times.items():
            for label, pick in (("best", min), ("median", statistics.median)):
                off, on = pick(runs["off"]), pick(runs["on"])
                print(
                    f"fake host, {clock} time, {label} of {len(runs['on'])}: without hook "
                    f"{off * 1000:.0f} ms, with hook {on * 1000:.0f} ms, ratio {on / off:.3f}x "
                    f"(target <= 1.05x), overhead {(on - off) * 1000:.1f} ms"
                )


if __name__ == "__main__":
    main()
