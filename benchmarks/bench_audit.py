"""Audit throughput: runs per second over 10,000 synthetic run directories.

Run: ``python benchmarks/bench_audit.py``. Each run holds a host-style ``manifest.json``
with a 10-plugin provenance field; prints runs/s of the whole ``audit`` process and its
peak memory for 2,500 and 10,000 runs (flat memory means equal figures).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_diff import synthetic_plugin
from insidellms_provenance.field.build import make_field
from synthetic_env import time_with_bytecode_caches


def build(root: Path, runs: int) -> None:
    base = {"schema_version": "1.0.1", "custom": {"status_counts": {"success": 5}}}
    for index in range(runs):
        plugins = [synthetic_plugin(p + (index // 1000)) for p in range(10)]
        field = make_field("insidellms.plugins", plugins)
        manifest = {
            **base,
            "run_id": f"run-{index}",
            "custom": {**base["custom"], "plugin_provenance": field},
        }
        run = root / f"{index // 100:03d}" / f"run-{index:05d}"
        run.mkdir(parents=True)
        (run / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=2))


def main() -> None:
    time_with_bytecode_caches()
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    for runs in (2500, 10000):
        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp), runs)
            command = [sys.executable, "-m", "insidellms_provenance", "audit", tmp]
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", code, *command], capture_output=True, text=True, check=True
            )
            elapsed = time.perf_counter() - start
            print(
                f"{runs} runs: {elapsed:.2f} s, {runs / elapsed:.0f} runs/s, "
                f"peak RSS {int(out.stdout) / 1024:.0f} MiB"
            )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
