"""Time ``verify`` as a whole process against hashing the same files, in the same rounds.

Run: ``python benchmarks/bench_verify.py [--venv DIR]``. Three cases:

1. ``verify --all`` on a real virtual environment: ``--venv DIR`` (a venv with this
   package installed) or, by default, one built in a temporary directory with ``uv``
   from the package index, without bytecode caches (uv's default): this package plus
   ``jupyter``, ``pandas``, ``mypy``, ``pytest``, ``hypothesis`` and ``sqlalchemy``
   (about 115 distributions, 17,000 files).
2. ``verify`` of 5,000 plugin distributions (45,000 files) laid out in a directory on
   ``PYTHONPATH``, with the same venv's interpreter.
3. Without ``--venv``: ``verify --all`` on the same venv once ``compileall`` has written
   a cache for every module, as ``pip`` does at install time by default.

Two floors, each one process of the same interpreter that reads the list of files (every
regular file RECORD lists, made beforehand) and works in 2 processes, as verify does:
``hashlib`` over every file (the floor of the targets), and the same with ``compile`` +
``marshal.dumps`` of each source that has a cache of this interpreter's: verify
compiles those to compare them with their caches (docs/verify.md), which no target's
floor counts. Without caches the two floors do the same work; after the first run of
this package in a venv, its own modules have caches. All three run cold-started and
warm-cached, in turns; the script prints median times and the median (min-max) of the
per-round ratios (targets: <= 1.2x and <= 1.25x of hashing). No timing is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from environments import build_venv, clean_environment, describe, site_packages
from interleave import interleaved, median_ms, ratio, run_process, run_process_usage
from synthetic_env import build_site, time_with_bytecode_caches

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
GROUP = "insidellms.plugins"
REAL_SET = ["jupyter", "pandas", "mypy", "pytest", "hypothesis", "sqlalchemy"]

# Every regular file RECORD lists, for the distributions verify checks.
LIST_FILES = """
import os, stat, sys
from importlib import metadata
everything = sys.argv[2] == "all"
seen = {}
for dist in metadata.distributions():
    if everything or any(ep.group == sys.argv[3] for ep in dist.entry_points):
        seen.setdefault((dist.name or "").lower(), dist)
with open(sys.argv[1], "w") as out:
    for dist in seen.values():
        for file in dist.files or ():
            path = str(file.locate())
            try:
                if stat.S_ISREG(os.lstat(path).st_mode):
                    out.write(path + "\\n")
            except OSError:
                pass
"""

FLOOR = """
import hashlib, sys
from concurrent.futures import ProcessPoolExecutor

def digest_all(paths):
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    return len(paths)

if __name__ == "__main__":
    paths = open(sys.argv[1]).read().splitlines()
    with ProcessPoolExecutor(max_workers=2) as pool:
        sum(pool.map(digest_all, [paths[0::2], paths[1::2]]))
"""

# The same, and each source that has a cache of this interpreter's is compiled and its
# code marshalled, as verify does to compare it with the cache.
FLOOR_COMPILING = FLOOR.replace(
    "    return len(paths)",
    """    import marshal, os
    from importlib.util import cache_from_source
    for path in paths:
        if path.endswith(".py") and os.path.exists(cache_from_source(path)):
            with open(path, "rb") as file:
                code = compile(file.read(), path, "exec", dont_inherit=True)
            marshal.dumps(code)
    return len(paths)""",
)
assert FLOOR_COMPILING != FLOOR


FLOORS = {"hashlib": FLOOR, "hashlib and compile": FLOOR_COMPILING}


def compare(label: str, scope: str, target: str | None, python: Path, env: dict[str, str]) -> None:
    """Time verify of ``scope`` ("all", or "plugins": GROUP's) and both floors, in turns."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "files.txt"
        lister = [str(python), "-c", LIST_FILES, str(listing), scope, GROUP]
        subprocess.run(lister, check=True, env=env)
        files = len(listing.read_text().splitlines())
        commands = {name: [str(python), "-c", code, str(listing)] for name, code in FLOORS.items()}
        verify = [str(python), "-m", "insidellms_provenance", "verify", "--format", "json"]
        commands["verify"] = [*verify, "--all"] if scope == "all" else verify
        for argv in commands.values():  # warm the page cache and bytecode caches
            run_process(argv, env)
        cpu: dict[str, list[float]] = {name: [] for name in commands}

        def timed(name: str) -> None:
            cpu[name].append(run_process_usage(commands[name], env)[2])

        times = interleaved({name: lambda name=name: timed(name) for name in commands}, ROUNDS)
    print(f"{label}: {files} files, {ROUNDS} interleaved rounds")
    print(f"  verify {median_ms(times['verify'])}")
    for name in FLOORS:
        aim = f"target <= {target}" if target and name == "hashlib" else "no target stated"
        print(
            f"  floor ({name}, 2 processes) {median_ms(times[name])}; verify / floor: "
            f"{ratio(times['verify'], times[name])} ({aim}), "
            f"CPU time (workers included) {ratio(cpu['verify'], cpu[name])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, help="a venv with insidellms-provenance installed")
    arguments = parser.parse_args()
    time_with_bytecode_caches()
    with tempfile.TemporaryDirectory() as tmp:
        if arguments.venv is not None:
            python = arguments.venv / "bin" / "python"
        else:
            python = build_venv(Path(tmp) / "venv", *REAL_SET, compile_bytecode=False)
        print(describe(python))
        env = clean_environment()
        compare("verify --all, real venv", "all", "1.2x", python, env)
        site = Path(tmp) / "plugins"
        build_site(site, 5000, 5000, GROUP)
        label = "verify, 5,000 plugin dists on PYTHONPATH"
        compare(label, "plugins", "1.25x", python, {**env, "PYTHONPATH": str(site)})
        if arguments.venv is None:
            # As pip compiles at install time: a module that does not compile (some
            # distributions ship such files as test data) is left without a cache.
            compileall = [str(python), "-m", "compileall", "-q", str(site_packages(python))]
            subprocess.run(compileall, check=False, stdout=subprocess.DEVNULL)
            label = "verify --all, the same venv, every module compiled (as pip installs)"
            compare(label, "all", None, python, env)


if __name__ == "__main__":
    main()
