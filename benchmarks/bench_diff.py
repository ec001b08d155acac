"""Time ``diff`` of two 10,000-plugin fields (1% changed) against parsing them alone.

Run: ``python benchmarks/bench_diff.py``. Prints the ratio of ``diff``'s whole-process
time to the floor (a process that starts Python and parses both files with orjson), and
peak memory for 5,000 and 10,000 plugins to show linear growth. No assertion is made.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from insidellms_provenance.field import schema
from insidellms_provenance.field.build import field_bytes, make_field
from insidellms_provenance.field.schema import PluginFingerprint
from synthetic_env import time_with_bytecode_caches

REPEATS = 5


def synthetic_plugin(index: int) -> PluginFingerprint:
    name = f"plugin-{index:05d}"
    return schema.fingerprint(
        entry_point=schema.entry_point(
            group="insidellms.plugins", name=name, value=f"p{index}:register"
        ),
        distribution=schema.distribution(
            name=name,
            normalized_name=name,
            version=f"1.{index % 7}.{index % 13}",
            record_digest="sha256:" + f"{index:064x}",
        ),
        source=schema.source(kind="index"),
        origin=schema.origin(status="ok"),
        manifest=schema.manifest_summary(
            status="ok",
            digest="sha256:" + f"{index * 7:064x}",
            name=name,
            version="1.0.0",
            sdk_version="1",
            insidellms=">=0.2.0,<0.3.0",
            capabilities=schema.registry_keys(models=(f"m{index}",), probes=(f"p{index}",)),
            determinism=schema.determinism(level="deterministic", notes="seeded"),
        ),
        load=schema.load_outcome(status="loaded"),
    )


def write_pair(directory: Path, count: int) -> tuple[Path, Path]:
    before = [synthetic_plugin(i) for i in range(count)]
    after = list(before)
    rng = random.Random(8785)  # noqa: S311 - a reproducible sample, not a secret
    for index in rng.sample(range(count), count // 100):
        dist = after[index]["distribution"]
        assert dist is not None
        after[index] = {**after[index], "distribution": {**dist, "version": "9.9.9"}}
    paths = directory / f"before-{count}.json", directory / f"after-{count}.json"
    paths[0].write_bytes(field_bytes(make_field("insidellms.plugins", before)))
    paths[1].write_bytes(field_bytes(make_field("insidellms.plugins", after)))
    return paths


def best(command: list[str]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def peak_rss_mib(command: list[str]) -> float:
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *command], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip()) / 1024


def main() -> None:
    time_with_bytecode_caches()
    with tempfile.TemporaryDirectory() as tmp:
        for count in (5000, 10000):
            before, after = write_pair(Path(tmp), count)
            floor_code = (
                "import orjson, sys; orjson.loads(open(sys.argv[1], 'rb').read());"
                " orjson.loads(open(sys.argv[2], 'rb').read())"
            )
            floor_cmd = [sys.executable, "-c", floor_code, str(before), str(after)]
            diff_cmd = [
                sys.executable,
                "-m",
                "insidellms_provenance",
                "diff",
                str(before),
                str(after),
                "--format",
                "json",
            ]
            floor, ours = best(floor_cmd), best(diff_cmd)
            size = before.stat().st_size / 2**20
            print(
                f"{count:6d} plugins ({size:.1f} MiB per side, 1% changed): floor "
                f"{floor * 1000:.0f} ms, diff {ours * 1000:.0f} ms, ratio {ours / floor:.2f}x "
                f"(target <= 1.5x); peak RSS floor {peak_rss_mib(floor_cmd):.0f} MiB, "
                f"diff {peak_rss_mib(diff_cmd):.0f} MiB"
            )


if __name__ == "__main__":
    main()
