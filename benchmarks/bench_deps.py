"""What recording dependency closures costs: 10 plugins over 60 installed dependencies.

Run: ``python benchmarks/bench_deps.py [--repeats N] [--pypi [--python VENV/bin/python]
[--installers]]``.

- By default the dependencies are **synthetic** wheels made by ``tests/wheelbuilder.py``:
  10 plugins, each importing its direct dependencies, whose closures together hold 60
  distributions of a line of code each, one of them (``bench-big``, as ``torch``) with
  10,000 files and RECORD rows. The floor is tiny, so the ratios are the worst case.
- ``--pypi`` is issue 17's case as stated: 10 plugins whose closure is 60 **real PyPI
  distributions**, pinned (``pypi_closure.py``), ``plotly`` 6.0.1's RECORD of 14,972 rows
  the large one. It needs the network or a warm uv cache. With ``--python`` the
  plugins are installed into that environment, which has the real insideLLMs, and the
  host run is its ``insidellms run``; ``--installers`` also installs the same closure
  with pip elsewhere and says whether ``record`` writes the same bytes for both.

Both install with uv (bytecode compiled) into a venv with the test suite's fake host
(or the given one), then print, every command run in turns (the first round not
counted), median, best and range of wall and CPU time (user + system, children
included: ``record`` imports the plugins in a child process) and the per-round ratios:

- ``record`` with the description cache warm and with it off
  (``INSIDELLMS_PROVENANCE_CACHE=off``) against the floor of ``entry_points()`` +
  ``ep.load()`` + ``importlib.metadata.requires()`` of every plugin and dependency
  (target <= 1.5x);
- a host run with the hook (cache warm; cache off) against the same run without it
  (``INSIDELLMS_PROVENANCE=off``; target <= 1.05x).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pypi_closure
from bench_host import FAKE_RUN
from environments import clean_environment
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
import os, sys
from importlib.metadata import entry_points, requires
for ep in sorted(entry_points(group={group!r}), key=lambda ep: (ep.name, ep.value)):
    ep.load()
for name in {names!r}:
    requires(name)
"""
# record's plugin-importing child ends with os._exit (no interpreter finalization: with
# real libraries imported, ≈ 0.9 s of CPU in the PyPI benchmark), so the floor ends so
# too, and a floor that ends as a script does is printed beside it, not compared with.
FLOOR_EXIT = "sys.stdout.flush()\nos._exit(0)\n"


def interleaved_runs(
    commands: dict[str, tuple[list[str], dict[str, str]]], repeats: int, workdir: Path
) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU times (user + system, children included) of each command, in turns.

    One round runs every command once, starting each round with a different one, so
    machine drift hits all of them alike; the first round warms caches and is not
    counted. ``{run}`` in a command becomes a new directory under ``workdir``.
    """
    times: dict[str, dict[str, list[float]]] = {
        clock: {label: [] for label in commands} for clock in ("wall", "cpu")
    }
    labels = list(commands)
    for index in range(-1, repeats):
        shift = max(index, 0) % len(labels)
        for position, label in enumerate(labels[shift:] + labels[:shift]):
            command, env = commands[label]
            run = str(workdir / f"run-{index}-{position}")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(
                [part.replace("{run}", run) for part in command],
                env=env,
                check=True,
                cwd=workdir,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if index >= 0:
                times["wall"][label].append(wall)
                times["cpu"][label].append(
                    (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                )
    return times


def report(what: str, times: dict[str, dict[str, list[float]]], base: str, target: float) -> None:
    """Each label against ``base``: best, median and range in ms; the ratio of the bests,
    of the medians, and the median and range of the per-round ratios."""
    for clock, by_label in times.items():
        floor = by_label[base]
        print(
            f"{what}, {clock} time, {base}: best {min(floor) * 1000:.1f} ms, median "
            f"{statistics.median(floor) * 1000:.1f} ms "
            f"({min(floor) * 1000:.1f}-{max(floor) * 1000:.1f})"
        )
        for label, measured in by_label.items():
            if label == base:
                continue
            if label.startswith(base):  # a variant of the floor, for information
                print(
                    f"{what}, {clock} time, {label}: best {min(measured) * 1000:.1f} ms, "
                    f"median {statistics.median(measured) * 1000:.1f} ms"
                )
                continue
            rounds = sorted(m / f for m, f in zip(measured, floor, strict=True))
            print(
                f"{what}, {clock} time, {label}: best {min(measured) * 1000:.1f} ms, median "
                f"{statistics.median(measured) * 1000:.1f} ms "
                f"({min(measured) * 1000:.1f}-{max(measured) * 1000:.1f}); ratio "
                f"{min(measured) / min(floor):.3f}x best, "
                f"{statistics.median(measured) / statistics.median(floor):.3f}x median, "
                f"per round {statistics.median(rounds):.3f}x "
                f"({rounds[0]:.3f}-{rounds[-1]:.3f}) (target <= {target}x)"
            )


def synthetic_env(workdir: Path) -> tuple[Path, list[str], list[str], list[str]]:
    """Python, plugins, closure and host command of the synthetic benchmark."""
    python, closure = host_venv(workdir)
    plugins = [f"bench-plugin-{index}" for index in range(PLUGINS)]
    return python, plugins, closure, [str(python), "-c", FAKE_RUN, "{run}"]


def pypi_env(workdir: Path, host: Path | None) -> tuple[Path, list[str], list[str], list[str]]:
    """Python, plugins, closure and host command of the PyPI benchmark.

    ``host`` is the Python of an environment with the real insideLLMs, into which the
    plugins are installed; without it, a new venv with the fake host.
    """
    from test_host import host_spec
    from venvtools import create_venv
    from wheelbuilder import build_wheel

    wheels = workdir / "wheels"
    plugins = pypi_closure.build_plugins(wheels)
    if host is None:
        build_wheel(host_spec(), wheels)
        python = create_venv(workdir / "venv", "uv").python
        pypi_closure.install(python, "uv", wheels, ["insideLLMs", *plugins, str(ROOT)], workdir)
        command = [str(python), "-c", FAKE_RUN, "{run}"]
    else:
        python = host
        pypi_closure.install(python, "uv", wheels, plugins, workdir)
        cli = python.with_name("insidellms")
        subprocess.run(
            [str(cli), "init", "config.yaml"], cwd=workdir, check=True, stdout=subprocess.DEVNULL
        )
        command = [str(cli), "run", "config.yaml", "--run-dir", "{run}"]
    field = json.loads(recorded(python))
    ours = [p for p in field["plugins"] if p["entry_point"]["name"] in plugins]
    assert len(ours) == len(plugins), "a plugin is missing from the field"
    assert all(p["unsatisfied"] == [] for p in ours), "a requirement is unsatisfied"
    closure = sorted({name for p in ours for name in p["dependencies"]})
    return python, plugins, closure, command


def recorded(python: Path) -> bytes:
    """What ``record`` writes in the environment of ``python``, its cache off."""
    return subprocess.run(
        [str(python), "-m", "insidellms_provenance", "record"],
        env={**clean_environment(), "INSIDELLMS_PROVENANCE_CACHE": "off"},
        check=True,
        capture_output=True,
    ).stdout


def same_bytes_from_pip_and_uv(workdir: Path, uv_python: Path) -> None:
    """Install the same plugins and closure with pip elsewhere; compare what ``record`` writes."""
    from test_host import host_spec
    from venvtools import create_venv
    from wheelbuilder import build_wheel

    wheels = workdir / "wheels"
    build_wheel(host_spec(), wheels)
    plugins = [name for name, _, _ in pypi_closure.PLUGINS]
    python = create_venv(workdir / "pip env" / "venv", "pip").python
    pypi_closure.install(python, "pip", wheels, ["insideLLMs", *plugins, str(ROOT)], workdir)
    fields = [recorded(venv) for venv in (uv_python, python)]
    same = fields[0] == fields[1]
    print(
        f"record from uv's and pip's installs: {'the same bytes' if same else 'DIFFERENT'} "
        f"({len(fields[0])} and {len(fields[1])} bytes)"
    )


def main() -> None:
    time_with_bytecode_caches()
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument(
        "--pypi", action="store_true", help="real PyPI dependencies (network or uv's cache)"
    )
    parser.add_argument(
        "--python", type=Path, help="with --pypi: an environment with the real insideLLMs"
    )
    parser.add_argument(
        "--installers", action="store_true", help="with --pypi: also install with pip, compare"
    )
    arguments = parser.parse_args()
    if (arguments.python or arguments.installers) and not arguments.pypi:
        parser.error("--python and --installers go with --pypi")
    if arguments.python and arguments.installers:
        # The comparison needs two environments built alike, but for their installer.
        parser.error("--installers compares two new venvs with the fake host: not with --python")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if arguments.pypi:
            python, plugins, closure, host = pypi_env(workdir, arguments.python)
        else:
            python, plugins, closure, host = synthetic_env(workdir)
        rows = pypi_closure.record_rows(python, closure)
        largest = max(rows, key=lambda name: rows[name])
        print(
            f"{len(plugins)} plugins, closure of {len(closure)} distributions, "
            f"{sum(rows.values())} RECORD rows; the largest RECORD: {largest}, {rows[largest]} rows"
        )
        if arguments.installers:
            same_bytes_from_pip_and_uv(workdir, python)
        cache = workdir / "cache"
        env = {**clean_environment(), "INSIDELLMS_PROVENANCE_CACHE": str(cache)}
        cold_env = {**env, "INSIDELLMS_PROVENANCE_CACHE": "off"}
        floor_code = FLOOR.format(group=GROUP, names=[*plugins, *closure])
        record = [str(python), "-m", "insidellms_provenance", "record"]
        subprocess.run(record, env=env, check=True, stdout=subprocess.DEVNULL)  # fills the cache
        commands = {
            "floor": ([str(python), "-c", floor_code + FLOOR_EXIT], env),
            "floor ending as a script does": ([str(python), "-c", floor_code], env),
            "record, cache warm": (record, env),
            "record, cache off": (record, cold_env),
        }
        report("record", interleaved_runs(commands, arguments.repeats, workdir), "floor", 1.5)
        host_name = "real insideLLMs" if arguments.python else "fake host"
        commands = {
            "without hook": (host, {**env, "INSIDELLMS_PROVENANCE": "off"}),
            "with hook, cache warm": (host, {**env, "INSIDELLMS_PROVENANCE": "on"}),
            "with hook, cache off": (host, {**cold_env, "INSIDELLMS_PROVENANCE": "on"}),
        }
        runs = interleaved_runs(commands, arguments.repeats, workdir)
        report(host_name, runs, "without hook", 1.05)


if __name__ == "__main__":
    main()
