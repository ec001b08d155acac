"""Time ``diff`` of two fields (1% changed) against parsing them alone, in the same rounds.

Run: ``python benchmarks/bench_diff.py``. For fields of 10 (the common CI case), 1,000,
5,000 and 10,000 plugins, ``diff --format json`` (the whole process) and the floor (a
process that starts Python and parses both files with ``orjson``) take turns; the script
prints median times, the median (min-max) of the per-round ratios (targets: <= 1.8x for
10 plugins, <= 1.3x for the others) and the median peak RSS of each (target for 10,000
plugins: diff <= 1.3x the floor's). No timing is asserted.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
from pathlib import Path

from environments import build_venv, clean_environment, describe
from insidellms_provenance.field import schema
from insidellms_provenance.field._build import field_bytes, make_field
from insidellms_provenance.field.schema import PluginFingerprint
from interleave import interleaved, median_ms, ratio, run_process, run_process_usage
from synthetic_env import time_with_bytecode_caches

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))


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


def main() -> None:
    time_with_bytecode_caches()
    floor_code = (
        "import orjson, sys; orjson.loads(open(sys.argv[1], 'rb').read());"
        " orjson.loads(open(sys.argv[2], 'rb').read())"
    )
    with tempfile.TemporaryDirectory() as tmp:
        python = str(build_venv(Path(tmp) / "venv"))
        print(describe(python))
        for count, target in ((10, "1.8x"), (1000, "1.3x"), (5000, "1.3x"), (10000, "1.3x")):
            before, after = write_pair(Path(tmp), count)
            floor = [python, "-c", floor_code, str(before), str(after)]
            diff = [python, "-m", "insidellms_provenance", "diff"]
            diff += [str(before), str(after), "--format", "json"]
            rss: dict[str, list[int]] = {"floor": [], "diff": []}
            cpu: dict[str, list[float]] = {"floor": [], "diff": []}

            def timed(
                name: str,
                argv: list[str],
                rss: dict[str, list[int]] = rss,
                cpu: dict[str, list[float]] = cpu,
            ) -> None:
                _, peak, seconds = run_process_usage(argv, clean_environment())
                rss[name].append(peak)
                cpu[name].append(seconds)

            run_process(diff, clean_environment())  # bytecode caches
            times = interleaved(
                {
                    "floor": lambda floor=floor: timed("floor", floor),
                    "diff": lambda diff=diff: timed("diff", diff),
                },
                ROUNDS if count > 10 else 3 * ROUNDS,
            )
            floor_rss, diff_rss = statistics.median(rss["floor"]), statistics.median(rss["diff"])
            size = before.stat().st_size / 2**20
            print(
                f"{count:6d} plugins ({size:.2f} MiB a side): floor {median_ms(times['floor'])}, "
                f"diff {median_ms(times['diff'])}, diff / floor "
                f"{ratio(times['diff'], times['floor'])} (target <= {target}); peak RSS "
                f"floor {floor_rss / 1024:.0f} MiB, diff {diff_rss / 1024:.0f} MiB "
                f"({diff_rss / floor_rss:.2f}x); CPU time {ratio(cpu['diff'], cpu['floor'])}"
            )


if __name__ == "__main__":
    main()
