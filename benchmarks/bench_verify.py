"""Verify's hashing throughput against raw ``hashlib`` over the same files.

Run: ``python benchmarks/bench_verify.py``. Builds a synthetic site directory of about
50,000 files of mixed sizes in 500 distributions, warms the page cache, then prints
verify's throughput as a ratio of a bare sha256 loop over the same files with the same
parallelism (target: at least 0.8). No assertion is made.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from insidellms_provenance.analyze.verify import VerifyTarget, verify_targets

DISTS = 500
FILES_PER_DIST = 100


def build(site: Path) -> tuple[list[VerifyTarget], list[str], int]:
    rng = random.Random(50_000)  # noqa: S311 - reproducible sizes, not a secret
    targets, paths, total = [], [], 0
    for index in range(DISTS):
        package, info = f"pkg{index:03d}", f"pkg{index:03d}-1.0.dist-info"
        rows = []
        (site / package).mkdir(parents=True)
        (site / info).mkdir()
        for number in range(FILES_PER_DIST):
            size = rng.choice((200, 2_000, 8_000, 30_000)) if number else 0
            if rng.random() < 0.002:
                size = 4 << 20
            data = rng.randbytes(size)
            name = "__init__.py" if number == 0 else f"m{number}.py"
            (site / package / name).write_bytes(data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            rows.append(f"{package}/{name},sha256={digest.decode()},{size}\n")
            paths.append(str(site / package / name))
            total += size
        record = "".join(rows) + f"{info}/RECORD,,\n"
        (site / info / "RECORD").write_text(record)
        targets.append(
            VerifyTarget(name=package, site_dir=site, dist_info=info, record_text=record, depth=0)
        )
    return targets, paths, total


def _raw(paths: list[str]) -> int:
    for path in paths:
        with open(path, "rb") as file:
            hashlib.file_digest(file, "sha256")
    return len(paths)


def floor(paths: list[str], workers: int) -> None:
    batches = [paths[index :: workers * 8] for index in range(workers * 8)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_raw, batches))


def best(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    workers = min(os.cpu_count() or 1, 4)
    with tempfile.TemporaryDirectory() as tmp:
        targets, paths, total = build(Path(tmp))
        assert verify_targets(targets) == []  # also warms the page cache
        raw = best(lambda: floor(paths, workers))
        ours = best(lambda: verify_targets(targets))

        mib = total / 2**20
        print(f"{len(paths)} files, {mib:.0f} MiB, {workers} workers, warm cache")
        rate = f"{mib / raw:.0f} MiB/s, {len(paths) / raw:.0f} files/s"
        print(f"raw hashlib floor: {raw:.2f} s ({rate})")
        print(
            f"verify (RECORD checks, lstat, unexpected-file walk, hashing): {ours:.2f} s, "
            f"throughput ratio {raw / ours:.2f} of the floor (target >= 0.8)"
        )


if __name__ == "__main__":
    main()
