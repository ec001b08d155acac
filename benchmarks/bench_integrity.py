"""What checking a plugin's integrity costs: hashing its files, and comparing its caches.

Run: ``python benchmarks/bench_integrity.py [--files 300] [--megabytes 20]``. Builds one
distribution of that many Python modules (with bytecode caches, as pip writes them) and
times, best of 5, in this process: the floor (``hashlib.sha256`` over the same files),
``check_files`` without bytecode (what a host run does) and with it (what ``record`` and
``verify`` do). Also times the same for ten one-module plugins, the shape of
``bench_host.py``'s typical plugins.
"""

from __future__ import annotations

import argparse
import base64
import compileall
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from insidellms_provenance.fingerprint._integrity import check_files
from insidellms_provenance.fingerprint._record_file import parse_record

REPEATS = 5


def _module(index: int, size: int) -> bytes:
    """Plausible code of about ``size`` bytes: small functions with constants and loops."""
    parts = [f'"""Module {index}."""\n\nimport os\n\n']
    function = 0
    while sum(map(len, parts)) < size:
        parts.append(
            f"def function_{function}(value, *, scale={function}.5, names=('a', 'b')):\n"
            f'    """Return something from {{value}} ({function})."""\n'
            "    total = 0\n"
            "    for item in range(value):\n"
            "        if item % 3 == 0 and names:\n"
            "            total += item * scale\n"
            "        else:\n"
            f"            total -= len(os.sep) + {function}\n"
            "    return {'total': total, 'names': list(names)}\n\n\n"
        )
        function += 1
    return "".join(parts).encode()


def build(site: Path, name: str, files: int, total: int) -> tuple[str, str]:
    """A package of ``files`` modules totalling about ``total`` bytes, RECORD and caches."""
    package = site / name
    package.mkdir(parents=True)
    rows = []
    for index in range(files):
        path = package / ("__init__.py" if index == 0 else f"module_{index}.py")
        data = _module(index, total // files)
        path.write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{name}/{path.name},sha256={digest},{len(data)}\n")
    info = f"{name}-1.0.dist-info"
    (site / info).mkdir()
    rows.append(f"{info}/RECORD,,\n")
    (site / info / "RECORD").write_text("".join(rows))
    compileall.compile_dir(package, quiet=2)
    return info, "".join(rows)


def best(function: object) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def measure(site: Path, dists: list[tuple[str, str]]) -> tuple[float, float, float]:
    parsed = [(info, parse_record(text)[0]) for info, text in dists]
    paths = [site / entry.path for _, entries in parsed for entry in entries if entry.hash_]

    def floor() -> None:
        for path in paths:
            hashlib.sha256(path.read_bytes()).digest()

    def hashing(*, bytecode: bool) -> None:
        for info, entries in parsed:
            assert not check_files(str(site), info, entries, 0, bytecode=bytecode)

    return best(floor), best(lambda: hashing(bytecode=False)), best(lambda: hashing(bytecode=True))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--megabytes", type=float, default=20)
    arguments = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        big = [build(site, "big_plugin", arguments.files, int(arguments.megabytes * 2**20))]
        small = [build(site, f"small_{i}", 1, 600) for i in range(10)]
        for label, dists in (
            (f"1 plugin, {arguments.files} files, {arguments.megabytes:g} MB", big),
            ("10 one-module plugins", small),
        ):
            floor, hashed, compared = measure(site, dists)
            print(
                f"{label}: floor (sha256 of the files) {floor * 1000:.1f} ms, "
                f"integrity without bytecode {hashed * 1000:.1f} ms ({hashed / floor:.2f}x), "
                f"with bytecode {compared * 1000:.1f} ms ({compared / floor:.2f}x)"
            )


if __name__ == "__main__":
    main()
