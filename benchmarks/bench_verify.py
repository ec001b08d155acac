"""Time ``verify`` as a whole process against hashing the same files, in the same rounds.

Run: ``python benchmarks/bench_verify.py [--venv DIR]``. Two cases:

1. ``verify --all`` on a real virtual environment: ``--venv DIR`` (a venv with this
   package installed) or, by default, one built in a temporary directory with ``uv``
   from the package index: this package plus ``jupyter``, ``pandas``, ``mypy``,
   ``pytest``, ``hypothesis`` and ``sqlalchemy`` (about 115 distributions, 17,000 files).
2. ``verify`` of 5,000 plugin distributions (45,000 files) laid out in a directory on
   ``PYTHONPATH``, with the same venv's interpreter.

The floor is one process of the same interpreter that reads the list of files (every
regular file RECORD lists, made beforehand) and hashes them with ``hashlib`` in 2
processes, as verify hashes in 2. Both run cold-started and warm-cached, in turns; the
script prints median times and the median (min-max) of the per-round ratios (targets:
<= 1.2x and <= 1.25x). No timing is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

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


def build_venv(directory: Path, *extra: str) -> Path:
    """A venv with this package (not editable), a realistic set of distributions and ``extra``."""
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "-q", "-p", sys.executable, str(directory)], check=True)
    python = directory / "bin" / "python"
    root = Path(__file__).resolve().parent.parent
    # Named with --python: run as `python -m uv`, uv installs into the environment of the
    # Python that runs it, whatever VIRTUAL_ENV says.
    install = [*uv, "pip", "install", "-q", "--python", str(python), str(root), *REAL_SET, *extra]
    subprocess.run(install, check=True)
    return python


def compare(label: str, python: Path, scope: str, target: str, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "files.txt"
        lister = [str(python), "-c", LIST_FILES, str(listing), scope, GROUP]
        subprocess.run(lister, check=True, env=env)
        files = len(listing.read_text().splitlines())
        floor = [str(python), "-c", FLOOR, str(listing)]
        verify = [str(python), "-m", "insidellms_provenance", "verify", "--format", "json"]
        if scope == "all":
            verify.append("--all")
        for argv in (floor, verify):  # warm the page cache and bytecode caches
            run_process(argv, env)
        cpu: dict[str, list[float]] = {"floor": [], "verify": []}

        def timed(name: str, argv: list[str]) -> None:
            cpu[name].append(run_process_usage(argv, env)[2])

        times = interleaved(
            {"floor": lambda: timed("floor", floor), "verify": lambda: timed("verify", verify)},
            ROUNDS,
        )
    print(f"{label}: {files} files, {ROUNDS} interleaved rounds")
    print(
        f"  floor (hashlib, 2 processes) {median_ms(times['floor'])}, "
        f"verify {median_ms(times['verify'])}"
    )
    print(f"  verify / floor: {ratio(times['verify'], times['floor'])}  (target <= {target})")
    print(f"  CPU time (workers included): {ratio(cpu['verify'], cpu['floor'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, help="a venv with insidellms-provenance installed")
    arguments = parser.parse_args()
    time_with_bytecode_caches()
    with tempfile.TemporaryDirectory() as tmp:
        if arguments.venv is not None:
            python = arguments.venv / "bin" / "python"
        else:
            python = build_venv(Path(tmp) / "venv")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        compare("verify --all, real venv", python, "all", "1.2x", env)
        site = Path(tmp) / "plugins"
        build_site(site, 5000, 5000, GROUP)
        compare(
            "verify, 5,000 plugin dists on PYTHONPATH",
            python,
            "plugins",
            "1.25x",
            {**env, "PYTHONPATH": str(site)},
        )


if __name__ == "__main__":
    main()
