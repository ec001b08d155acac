"""Time ``canonical_json`` against the floor, ``orjson.dumps`` with sorted keys.

Run: ``python benchmarks/bench_canonical.py``. Builds provenance-like payloads of 5,000
plugin dicts (nested strings, lists, ints, booleans, nulls), one without floats (every
field this package writes: the fast path) and one where every tenth plugin carries a few
floats (the fallback), and prints the best-of-N time of each and its ratio to the floor
on the same value. No assertion is made.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson

from insidellms_provenance.canonical import canonical_json

PLUGINS = 5_000
REPEATS = 15


def plugin(index: int, *, with_floats: bool) -> dict[str, object]:
    name = f"plugin-{index:05d}"
    value: dict[str, object] = {
        "entry_point": {"group": "insidellms.plugins", "name": name, "value": f"p{index}:register"},
        "distribution": {
            "name": name,
            "normalized_name": name,
            "version": f"1.{index % 7}.{index % 13}",
            "record_digest": "sha256:" + f"{index:064x}",
            "problems": [],
        },
        "source": {
            "kind": "index",
            "url": None,
            "local_name": None,
            "vcs": None,
            "commit": None,
            "requested_revision": None,
            "editable": False,
            "editable_digest": None,
            "problems": [],
        },
        "origin": {"status": "ok", "duplicate_versions": []},
        "manifest": {
            "status": "ok",
            "digest": "sha256:" + f"{index * 7:064x}",
            "problems": [],
            "name": name,
            "version": "1.0.0",
            "sdk_version": "1",
            "insidellms": ">=0.2.0,<0.3.0",
            "capabilities": {
                "models": [f"model-{index}-{k}" for k in range(3)],
                "probes": [f"probe-{index}"],
                "datasets": [],
            },
            "requires": {"python": ">=3.10", "extras": ["gpu"], "env": ["API_KEY"]},
            "determinism": {"class": "deterministic", "notes": "seeded, temperature 0"},
        },
        "load": {"status": "loaded", "error_type": None, "error_message": None},
        "registered": {"models": [f"model-{index}-0"], "probes": [], "datasets": []},
        "replaced": None,
        "order": index,
        "size": index * 1_024,
    }
    if with_floats and index % 10 == 0:
        value["metrics"] = {"load_seconds": index / 7, "score": 0.1 * index, "ratio": 1e-7 * index}
    return value


def best_times(*functions: Callable[[], object]) -> list[float]:
    """Best time of each function, run in turn in every round so that drift hits all."""
    best = [float("inf")] * len(functions)
    for _ in range(REPEATS):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            function()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def report(label: str, payload: list[dict[str, object]]) -> None:
    floor, ours = best_times(
        lambda: orjson.dumps(payload, option=orjson.OPT_SORT_KEYS),
        lambda: canonical_json(payload),
    )
    size = len(canonical_json(payload))
    print(
        f"{label:<28} {size / 1e6:5.2f} MB  orjson {floor * 1e3:7.2f} ms  "
        f"canonical_json {ours * 1e3:7.2f} ms  ratio {ours / floor:5.2f}x"
    )


def main() -> None:
    print(f"{PLUGINS} plugins, best of {REPEATS}")
    report("no floats (fast path)", [plugin(i, with_floats=False) for i in range(PLUGINS)])
    report("floats in 10% (fallback)", [plugin(i, with_floats=True) for i in range(PLUGINS)])


if __name__ == "__main__":
    main()
