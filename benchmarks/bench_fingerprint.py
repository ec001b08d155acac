"""``fingerprint``'s throughput against plain ``hashlib`` over the same decompressed members.

Run: ``python benchmarks/bench_fingerprint.py``. Builds 40 wheels of 250 members each
(mixed sizes, deflated, about 75 MB decompressed), then times, interleaved, best CPU time of 9:

- the floor: for every member, ``hashlib.sha256(archive.read(member))``, the least any
  tool must do to hash a wheel's decompressed contents;
- ``fingerprint_wheel`` on every wheel (reading the file, the file's sha256, the
  members, RECORD comparison, canonical rows, digest).

Prints fingerprint's throughput as a ratio of the floor's (target: at least 0.8), and
the floor's own share spent decompressing versus hashing. No assertion is made.
"""

from __future__ import annotations

import base64
import hashlib
import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from insidellms_provenance.fingerprint._wheel import fingerprint_wheel

WHEELS = 40
MEMBERS = 250
ROUNDS = 9


def build(directory: Path) -> tuple[list[Path], int]:
    rng = random.Random(16)  # noqa: S311 - reproducible sizes, not a secret
    # Source-like text that deflates about 3x, as real wheels' Python files do.
    vocabulary = [rng.randbytes(rng.randint(2, 9)).hex().encode() for _ in range(3000)]
    corpus = b" ".join(rng.choice(vocabulary) for _ in range(250_000))
    paths, total = [], 0
    for index in range(WHEELS):
        name = f"pkg{index:02d}"
        info = f"{name}-1.0.dist-info"
        members: dict[str, bytes] = {}
        for number in range(MEMBERS):
            size = rng.choice((300, 3_000, 10_000, 20_000))
            start = rng.randrange(len(corpus) - size)
            members[f"{name}/m{number}.py"] = corpus[start : start + size]
        members[f"{info}/METADATA"] = f"Name: {name}\nVersion: 1.0\n".encode()
        members[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
        rows = "".join(
            f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()},{len(b)}\n"
            for p, b in members.items()
        )
        members[f"{info}/RECORD"] = (rows + f"{info}/RECORD,,\n").encode()
        path = directory / f"{name}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member, data in members.items():
                archive.writestr(member, data)
        paths.append(path)
        total += sum(len(b) for b in members.values())
    return paths, total


def floor(paths: list[Path]) -> None:
    for path in paths:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                hashlib.sha256(archive.read(info)).digest()


def decompress_only(paths: list[Path]) -> None:
    for path in paths:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                archive.read(info)


def fingerprint(paths: list[Path]) -> None:
    for path in paths:
        fingerprint_wheel(path)


def best(function, paths: list[Path], times: list[float]) -> None:
    # CPU time: the machine is shared, and other processes' load inflates wall time.
    start = time.process_time()
    function(paths)
    times.append(time.process_time() - start)


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        paths, total = build(Path(temp))
        compressed = sum(path.stat().st_size for path in paths)
        fingerprint(paths)  # warm the page cache and imports
        measured: dict[str, list[float]] = {"floor": [], "decompress": [], "fingerprint": []}
        for _ in range(ROUNDS):
            best(floor, paths, measured["floor"])
            best(decompress_only, paths, measured["decompress"])
            best(fingerprint, paths, measured["fingerprint"])
    floor_s, decompress_s, ours_s = (min(measured[k]) for k in measured)
    mb = total / 1e6
    print(f"python {sys.version.split()[0]}: {WHEELS} wheels, {WHEELS * MEMBERS} members")
    print(f"  {mb:.1f} MB decompressed, {compressed / 1e6:.1f} MB compressed")
    print(f"  floor (read + sha256 per member): {floor_s * 1e3:7.1f} ms  {mb / floor_s:6.0f} MB/s")
    print(f"    of which decompressing:         {decompress_s * 1e3:7.1f} ms")
    print(f"  fingerprint_wheel:                {ours_s * 1e3:7.1f} ms  {mb / ours_s:6.0f} MB/s")
    print(f"  throughput ratio (target >= 0.8): {floor_s / ours_s:.2f}")


if __name__ == "__main__":
    main()
