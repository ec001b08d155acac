"""Time ``canonical_json`` against the pure-Python ``rfc8785`` package and bare orjson.

Run: ``python benchmarks/bench_canonical.py``. Payloads are provenance-like objects keyed
by plugin name:

- 10,000 plugins, each with a float and a character above U+FFFF in a string (one float
  in seven integral, which orjson writes as ``1.0`` and RFC 8785 as ``1``);
- 10,000 plugins as the field is (no floats, ASCII);
- the first again as ``orjson.loads`` reads it from a file, where no two strings are one
  object (built here, equal literals are one object, which ``marshal`` writes once).

For each, the three writers take turns in every round, timed by the wall clock and then
by this process's CPU time (which the other processes of a shared machine move far
less); the script prints median times and the median (min-max) of the per-round ratios:
``rfc8785`` / ``canonical_json`` (the issue's target: at least 20) and ``canonical_json``
/ ``orjson.dumps`` with sorted keys (the floor: bytes written by orjson, nothing
checked). Two more cases show how near ``canonical_json`` can come to 20x at all: the
cheapest exact check of types and NaN found with the standard library,
``marshal.dumps(value, 4)`` (see docs/performance.md), then ``orjson.dumps``, over the
whole value, and the same a part at a time as ``canonical_json`` writes an object of
many members (each part checked and written while it is in the caches); their ratios to
``rfc8785`` are the ceilings of the two designs before any float is relaid. The bytes are
checked equal to ``rfc8785``'s first. No timing is asserted.
"""

from __future__ import annotations

import marshal
import os
import time

import orjson
import rfc8785

from insidellms_provenance._canonical import _PART, canonical_json
from interleave import interleaved, median_ms, ratio

PLUGINS = 10_000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))


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
            "vcs": None,
            "commit": None,
            "requested_revision": None,
            "editable": False,
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
        "order": index,
    }
    if with_floats:
        value["load_seconds"] = index / 7
        value["manifest"]["determinism"]["notes"] = "seeded \U0001f600"  # type: ignore[index]
    return value


def checked_in_parts(payload: dict[str, object]) -> None:
    """``marshal`` then ``orjson`` a part at a time, the parts made as canonical_json makes them."""
    keys = sorted(payload)
    for start in range(0, len(keys), _PART):
        part = {key: payload[key] for key in keys[start : start + _PART]}
        len(marshal.dumps(part, 4))
        orjson.dumps(part, option=orjson.OPT_SORT_KEYS)


def report(label: str, payload: dict[str, object]) -> None:
    assert canonical_json(payload) == rfc8785.dumps(payload)
    cases = {
        "orjson": lambda: orjson.dumps(payload, option=orjson.OPT_SORT_KEYS),
        # The marshal bytes are freed before orjson writes, as canonical_json frees them.
        "checked": lambda: (
            len(marshal.dumps(payload, 4)),
            orjson.dumps(payload, option=orjson.OPT_SORT_KEYS),
        ),
        "checked in parts": lambda: checked_in_parts(payload),
        "ours": lambda: canonical_json(payload),
        "rfc8785": lambda: rfc8785.dumps(payload),
    }
    size = len(canonical_json(payload)) / 1e6
    print(f"{label} ({size:.1f} MB), median of {ROUNDS} interleaved rounds:")
    for clock_name, clock in (("wall", time.perf_counter), ("CPU", time.process_time)):
        times = interleaved(cases, ROUNDS, clock)
        print(
            f"  {clock_name}: orjson.dumps {median_ms(times['orjson'])}, canonical_json "
            f"{median_ms(times['ours'])}, rfc8785 {median_ms(times['rfc8785'])}"
        )
        print(
            f"    rfc8785 / canonical_json: {ratio(times['rfc8785'], times['ours'])}"
            "  (target >= 20)"
        )
        print(f"    canonical_json / orjson.dumps: {ratio(times['ours'], times['orjson'])}")
        print(
            f"    rfc8785 / (marshal check + orjson.dumps): "
            f"{ratio(times['rfc8785'], times['checked'])}  (the ceiling of the whole-value "
            f"design; {median_ms(times['checked'])})"
        )
        print(
            f"    rfc8785 / (the same in parts of {_PART} members): "
            f"{ratio(times['rfc8785'], times['checked in parts'])}  (the ceiling of the design "
            f"in parts; {median_ms(times['checked in parts'])})"
        )


def main() -> None:
    plugins = range(PLUGINS)
    report(
        f"{PLUGINS} plugins, a float and a non-BMP character in each",
        {f"plugin-{i:05d}": plugin(i, with_floats=True) for i in plugins},
    )
    report(
        f"{PLUGINS} plugins as the field is (no floats, ASCII)",
        {f"plugin-{i:05d}": plugin(i, with_floats=False) for i in plugins},
    )
    loaded = orjson.loads(
        orjson.dumps({f"plugin-{i:05d}": plugin(i, with_floats=True) for i in plugins})
    )
    report(f"{PLUGINS} plugins as the first, read from a file (no string shared)", loaded)


if __name__ == "__main__":
    main()
