"""The hook's cost on a dummy-model run, with 10 plugins installed: hook on vs off.

Run: ``python benchmarks/bench_host.py [--python VENV/bin/python]``. With ``--python``
pointing at an environment that has the real insideLLMs (see docs/host-integration.md),
it times ``insidellms run`` on the config ``insidellms init`` writes (dummy model);
otherwise it builds a venv with the test suite's fake host. Either way it installs the
10 plugins there (with ``uv``; in the given environment they stay installed). Runs with
the hook disabled (``INSIDELLMS_PROVENANCE=off``, which imports nothing beyond the entry
point's module) and enabled alternate, 21 pairs (``BENCH_ROUNDS``), each pair starting
with the other mode than the last; prints the best and median of each, their ratios, and
the median (min-max) of the per-pair ratios, of wall and CPU time (target: at most
1.05x). Last, the time spent inside the hook's own functions.
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

from environments import clean_environment
from interleave import ratio
from synthetic_env import time_with_bytecode_caches

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "21"))  # pairs of runs, hook off and on
FAKE_CALL = "import insideLLMs; insideLLMs.run({'questions': ['a', 'b']}, sys.argv[1])"
FAKE_RUN = f"import sys; {FAKE_CALL}"


def ten_plugins(directory: Path) -> list[str]:
    from plugin_catalog import GROUP
    from wheelbuilder import WheelSpec, build_wheel

    names = []
    for index in range(10):
        name = f"bench-plugin-{index}"
        package = name.replace("-", "_")
        code = (
            "def register(*, model_registry, probe_registry, dataset_registry):\n"
            f"    model_registry.register('bench-model-{index}', object)\n\n"
            "def plugin_manifest():\n"
            f"    return {{'name': '{name}', 'version': '1.0.0', 'sdk_version': '1',\n"
            "            'insideLLMs': '>=0.2', 'capabilities': {'models': "
            f"['bench-model-{index}'], 'probes': [], 'datasets': []}},\n"
            "            'determinism': {'class': 'deterministic', 'notes': ''}}\n"
        )
        spec = WheelSpec(
            name=name,
            version="1.0.0",
            files={f"{package}/__init__.py": code.encode()},
            entry_points={GROUP: {name: f"{package}:register"}},
        )
        build_wheel(spec, directory)
        names.append(name)
    return names


def fake_host_venv(directory: Path) -> Path:
    from test_host import host_spec
    from venvtools import create_venv
    from wheelbuilder import build_wheel

    wheels = directory / "wheels"
    build_wheel(host_spec(), wheels)
    venv = create_venv(directory / "venv", "uv")
    install_plugins(venv.python, wheels, "insideLLMs", str(ROOT))
    return venv.python


def install_plugins(python: Path, wheels: Path, *more: str) -> None:
    """The ten plugins, built into ``wheels``, and ``more``, installed for ``python`` by uv."""
    from venvtools import uv_executable

    plugins = ten_plugins(wheels)
    uv = [uv_executable(), "pip", "install", "--quiet", "--python", str(python)]
    subprocess.run([*uv, "--find-links", str(wheels), *more, *plugins], check=True)


def timed_runs(
    command: list[str], workdir: Path, repeats: int = ROUNDS
) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU times of runs with the hook off and on, interleaved so drift hits both.

    CPU time (user + system of the run's process) is far less sensitive than wall time
    to whatever else the machine is doing, so both are reported. Each pair starts with
    the other mode than the pair before, so that neither always runs first.
    """
    times: dict[str, dict[str, list[float]]] = {
        clock: {"off": [], "on": []} for clock in ("wall", "cpu")
    }
    for index in range(-1, repeats):  # run -1 warms caches and is not counted
        for mode in ("off", "on") if index % 2 else ("on", "off"):
            env = {**clean_environment(), "INSIDELLMS_PROVENANCE": mode}
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(
                [*command, str(workdir / f"run-{mode}-{index}")],
                env=env,
                check=True,
                cwd=workdir,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            if index >= 0:
                times["wall"][mode].append(wall)
                times["cpu"][mode].append(cpu)
    return times


# Times every function through which the hook runs inside the host's process (the
# wrappers are installed before the host loads plugins and looks them up).
IN_PROCESS = """
import functools, sys, time
from insidellms_provenance.host import plugin

spent = 0.0


def timed(function):
    @functools.wraps(function)  # the host inspects register()'s signature
    def wrapper(*args, **kwargs):
        global spent
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent += time.perf_counter() - start
    return wrapper


start = time.perf_counter()
from insidellms_provenance.runfile import _embed as embed  # the hook imports it at the first write
spent += time.perf_counter() - start
for name in ("register", "_entry_point_of", "_spy", "_finish", "current_field"):
    setattr(plugin, name, timed(getattr(plugin, name)))
embed.embed_text = timed(embed.embed_text)  # the manifest annotation, looked up per call
try:
    HOST_CALL
except SystemExit:
    pass
print(spent)
"""
REAL_CALL = (
    "from insideLLMs.cli import main; main(['run', 'config.yaml', '--run-dir', sys.argv[1]])"
)


def in_process_seconds(python: str, call: str, workdir: Path, repeats: int = 21) -> list[float]:
    """Time spent inside the hook's own functions during each of ``repeats`` runs."""
    code = IN_PROCESS.replace("HOST_CALL", call)
    spent = []
    for index in range(repeats):
        result = subprocess.run(
            [python, "-c", code, str(workdir / f"run-inside-{index}")],
            check=True,
            cwd=workdir,
            capture_output=True,
            text=True,
        )
        spent.append(float(result.stdout.split()[-1]))
    return spent


def main() -> None:
    time_with_bytecode_caches()
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", type=Path, help="an environment with the real insideLLMs")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if arguments.python is not None:
            install_plugins(arguments.python, workdir / "wheels")
            cli = arguments.python.with_name("insidellms")
            subprocess.run(
                [str(cli), "init", "config.yaml"],
                cwd=workdir,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            command = [str(cli), "run", "config.yaml", "--run-dir"]
            python, call, host = str(arguments.python), REAL_CALL, "real insideLLMs"
        else:
            python = str(fake_host_venv(workdir))
            command = [python, "-c", FAKE_RUN]
            call, host = FAKE_CALL, "fake host"
        times = timed_runs(command, workdir)
        for clock, runs in times.items():
            for label, pick in (("best", min), ("median", statistics.median)):
                off, on = pick(runs["off"]), pick(runs["on"])
                print(
                    f"{host}, {clock} time, {label} of {len(runs['on'])}: without hook "
                    f"{off * 1000:.0f} ms, with hook {on * 1000:.0f} ms, ratio {on / off:.3f}x "
                    f"(target <= 1.05x), overhead {(on - off) * 1000:.1f} ms"
                )
            print(
                f"{host}, {clock} time, per pair of runs: ratio {ratio(runs['on'], runs['off'], 3)}"
                " (median, min-max)"
            )
        inside = statistics.median(in_process_seconds(python, call, workdir))
        off = statistics.median(times["wall"]["off"])
        print(
            f"{host}, in-process: the hook's own functions take {inside * 1000:.1f} ms "
            f"(median), {inside / off:.1%} of the median run without it"
        )


if __name__ == "__main__":
    main()
