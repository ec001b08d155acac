"""``export`` of a 100-plugin run, each format, against floors measured in the same run.

Run: ``python benchmarks/bench_export.py``. Builds 100 plugin wheels (30 members each,
deflated) and a recorded run whose plugins they match exactly, then times, interleaved,
best CPU time of 9 (in process: reading the run, fingerprinting the wheels, matching,
building and serializing the document):

- with ``--wheels``: each format against the floor "parse the run's JSON, then read and
  sha256 every decompressed member of every wheel", the least any exporter that checks
  content must do;
- without ``--wheels``: each format against "parse the run's JSON and serialize it again".

Prints milliseconds and ratios. No assertion is made.
"""

from __future__ import annotations

import base64
import hashlib
import random
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import orjson

from insidellms_provenance._canonical import canonical_json
from insidellms_provenance.analyze._reproduce import match_wheels
from insidellms_provenance.analyze.export._cyclonedx import cyclonedx_value
from insidellms_provenance.analyze.export._intoto import statement_value
from insidellms_provenance.analyze.export._pylock import build_lock, lock_text
from insidellms_provenance.field import schema
from insidellms_provenance.field._build import field_bytes, make_field
from insidellms_provenance.fingerprint._wheel import fingerprint_paths
from insidellms_provenance.runfile._read import load_provenance

PLUGINS = 100
MEMBERS = 30
ROUNDS = 9


def build(directory: Path) -> Path:
    """100 wheels in ``directory/wheels`` and the run that installed them, ``run.json``."""
    rng = random.Random(100)  # noqa: S311 - reproducible content, not a secret
    vocabulary = [rng.randbytes(rng.randint(2, 9)).hex().encode() for _ in range(2000)]
    corpus = b" ".join(rng.choice(vocabulary) for _ in range(100_000))
    wheels = directory / "wheels"
    wheels.mkdir()
    for index in range(PLUGINS):
        name = f"plugin{index:03d}"
        info = f"{name}-1.0.dist-info"
        members = {}
        for number in range(MEMBERS):
            size = rng.choice((500, 2_000, 6_000))
            start = rng.randrange(len(corpus) - size)
            members[f"{name}/m{number}.py"] = corpus[start : start + size]
        members[f"{info}/METADATA"] = f"Name: {name}\nVersion: 1.0\n".encode()
        members[f"{info}/entry_points.txt"] = (
            f"[insidellms.plugins]\n{name} = {name}:register\n".encode()
        )
        rows = "".join(
            f"{member},sha256={_b64(hashlib.sha256(data).digest())},{len(data)}\n"
            for member, data in members.items()
        )
        members[f"{info}/RECORD"] = (rows + f"{info}/RECORD,,\n").encode()
        with zipfile.ZipFile(
            wheels / f"{name}-1.0-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED
        ) as z:
            for member, data in members.items():
                z.writestr(member, data)
    fingerprints, _ = fingerprint_paths([wheels])
    plugins = [
        schema.fingerprint(
            entry_point=schema.entry_point(
                group=schema.DEFAULT_GROUP,
                name=f.distribution["name"],
                value=f"{f.distribution['name']}:register",
            ),
            distribution=f.distribution,
            source=schema.source(kind="index"),
            origin=schema.origin(status="ok"),
            manifest=schema.manifest_summary(status="ok", digest="sha256:" + "0" * 64),
            load=schema.load_outcome(status="loaded"),
        )
        for f in fingerprints
    ]
    run = directory / "run.json"
    run.write_bytes(field_bytes(make_field(schema.DEFAULT_GROUP, plugins)))
    return run


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def export(fmt: str, run: Path, wheels: Path | None) -> bytes:
    provenance, _ = load_provenance(run)
    fingerprints = fingerprint_paths([wheels])[0] if wheels is not None else []
    matches = match_wheels(provenance, fingerprints)
    if fmt == "pylock":
        lock = build_lock(provenance, matches, wheels_dir=wheels, lock_dir=run.parent)
        return lock_text(lock.value)
    if fmt == "cyclonedx":
        value = cyclonedx_value(
            provenance, matches, tool_version="0", with_wheels=wheels is not None
        )
    else:
        digest = hashlib.sha256(run.read_bytes()).hexdigest()
        value = statement_value(
            provenance,
            matches,
            subject_name=run.name,
            subject_sha256=digest,
            with_wheels=wheels is not None,
        )
    return canonical_json(value)


def floor_with_wheels(run: Path, wheels: Path) -> None:
    orjson.loads(run.read_bytes())
    for path in sorted(wheels.iterdir()):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                hashlib.sha256(archive.read(info)).digest()


def floor_without(run: Path) -> None:
    orjson.dumps(orjson.loads(run.read_bytes()))


def cpu(function: Callable[[], object]) -> float:
    start = time.process_time()
    function()
    return time.process_time() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        run = build(Path(temp))
        wheels = run.parent / "wheels"
        cases: dict[str, Callable[[], object]] = {
            "floor, with wheels": lambda: floor_with_wheels(run, wheels),
            "floor, without": lambda: floor_without(run),
        }
        for fmt in ("pylock", "cyclonedx", "in-toto"):
            cases[f"{fmt}, with wheels"] = lambda fmt=fmt: export(fmt, run, wheels)
            cases[f"{fmt}, without"] = lambda fmt=fmt: export(fmt, run, None)
        for case in cases.values():
            case()  # warm imports and the page cache
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(ROUNDS):
            for name, case in cases.items():
                times[name].append(cpu(case))
    best = {name: min(values) for name, values in times.items()}
    print(f"python {sys.version.split()[0]}: {PLUGINS} plugins, {PLUGINS} wheels")
    for name, seconds in best.items():
        kind = "with wheels" if name.endswith("with wheels") else "without"
        ratio = seconds / best[f"floor, {kind}"]
        print(f"  {name:24s} {seconds * 1e3:8.2f} ms  {ratio:5.2f}x of its floor")


if __name__ == "__main__":
    main()
