"""Time ``audit`` of 10,000 runs against its floor, in the same rounds.

Run: ``python benchmarks/bench_audit.py``. Lays out 10,000 run directories, each with a
host-style ``manifest.json`` holding a provenance field of 21 plugins (then, in a second
tree, 3 plugins); the plugins change version every 1,000 runs, as in a fleet. The floor
is one Python process doing the work a reader of every run does: walk the tree,
``orjson.loads`` each manifest, check the field's digest (orjson's sorted bytes of every
key but ``digest``, hashed) and compute each plugin's canonical fingerprint. ``audit``
(the whole process, writing its JSON lines to a file) and the floor take turns; the
script prints median times and the median (min-max) of the per-round ratios, by wall
time and by the processes' CPU time (targets: <= 1.25x with 21 plugins, <= 1.5x with 3),
and the peak RSS of audit over the first 2,500 runs and over all 10,000 (flat memory:
equal). ``audit`` does not canonicalize a plugin identical to the last run's again; the
floor does. Both run in a venv with only this package, built with uv
(``environments.py``). No timing is asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path

from bench_diff import synthetic_plugin
from environments import build_venv, clean_environment, describe
from insidellms_provenance.field._build import field_digest, make_field
from interleave import interleaved, median_ms, ratio, run_process, run_process_usage
from synthetic_env import time_with_bytecode_caches

RUNS = 10_000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))

FLOOR = """
import hashlib, os, sys, orjson
from insidellms_provenance._canonical import canonical_digest
for root in sys.argv[1:]:
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if "manifest.json" in filenames:
            with open(os.path.join(directory, "manifest.json"), "rb") as file:
                field = orjson.loads(file.read())["custom"]["plugin_provenance"]
            sealed = {key: value for key, value in field.items() if key != "digest"}
            data = orjson.dumps(sealed, option=orjson.OPT_SORT_KEYS)
            if "sha256:" + hashlib.sha256(data).hexdigest() != field["digest"]:
                raise SystemExit("digest")
            for plugin in field["plugins"]:
                canonical_digest(plugin)
"""


def build(root: Path, plugins_per_run: int) -> None:
    """``RUNS`` runs in 100 directories of 100; plugins change version every 1,000 runs."""
    base = {"schema_version": "1.0.1", "custom": {"status_counts": {"success": 5}}}
    fields: dict[int, dict[str, object]] = {}
    for index in range(RUNS):
        epoch = index // 1000
        if epoch not in fields:
            plugins = [synthetic_plugin(p + epoch) for p in range(plugins_per_run)]
            fields[epoch] = dict(make_field("insidellms.plugins", plugins))
            assert fields[epoch]["digest"] == field_digest(fields[epoch])
        manifest = {
            **base,
            "run_id": f"run-{index}",
            "custom": {**base["custom"], "plugin_provenance": fields[epoch]},
        }
        run = root / f"{index // 100:03d}" / f"run-{index:05d}"
        run.mkdir(parents=True)
        (run / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=2))


def measure(python: str, plugins_per_run: int, target: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp) / "runs", Path(tmp) / "audit.jsonl"
        build(root, plugins_per_run)
        floor = [python, "-c", FLOOR, str(root)]
        audit = [python, "-m", "insidellms_provenance", "audit", str(root), "-o", str(out)]
        run_process(audit, clean_environment())  # warm the page cache and bytecode caches
        rss: dict[str, list[int]] = {"floor": [], "audit": []}
        cpu: dict[str, list[float]] = {"floor": [], "audit": []}

        def timed(name: str, argv: list[str]) -> None:
            _, peak, seconds = run_process_usage(argv, clean_environment())
            rss[name].append(peak)
            cpu[name].append(seconds)

        times = interleaved(
            {"floor": lambda: timed("floor", floor), "audit": lambda: timed("audit", audit)},
            ROUNDS,
        )
        quarter = [str(root / f"{index:03d}") for index in range(RUNS // 100 // 4)]
        small = run_process([*audit[:4], *quarter, "-o", str(out)], clean_environment())[1]
        lines = sum(1 for _ in out.open("rb"))
    print(f"{RUNS} runs, {plugins_per_run} plugins a run, {ROUNDS} interleaved rounds:")
    print(f"  floor {median_ms(times['floor'])}, audit {median_ms(times['audit'])}")
    print(f"  audit / floor: {ratio(times['audit'], times['floor'])}  (target <= {target})")
    print(
        f"  CPU time (user + system): floor {median_ms(cpu['floor'])}, audit "
        f"{median_ms(cpu['audit'])}, audit / floor: {ratio(cpu['audit'], cpu['floor'])}"
    )
    print(
        f"  peak RSS: floor {statistics.median(rss['floor']) / 1024:.0f} MiB, audit "
        f"{statistics.median(rss['audit']) / 1024:.0f} MiB for {RUNS} runs, "
        f"{small / 1024:.0f} MiB for {RUNS // 4} runs ({lines} lines in the last)"
    )


def main() -> None:
    time_with_bytecode_caches()
    with tempfile.TemporaryDirectory() as tmp:
        python = str(build_venv(Path(tmp) / "venv"))
        print(describe(python))
        measure(python, 21, "1.25x")
        measure(python, 3, "1.5x")


if __name__ == "__main__":
    main()
