"""Fuzz the readers: arbitrary bytes end in exit 0, 1 or 2 (or a recorded problem), never a crash.

The CLI runs in this process here (``main``), so thousands of inputs stay fast; every
exception that escapes ``main`` fails the test, as a traceback would.
"""

from __future__ import annotations

import contextlib
import io
import json
import pathlib
import tempfile
from collections.abc import Iterator
from importlib import metadata
from typing import Any

from hostile_kit import host_manifest, reseal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insidellms_provenance.analyze._verify import _verify_one, target_of
from insidellms_provenance.cli._main import main
from insidellms_provenance.fingerprint._discover import entry_points_of
from insidellms_provenance.fingerprint._distribution import describe_distribution, name_and_version
from insidellms_provenance.fingerprint._record_file import parse_record

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@contextlib.contextmanager
def _captured() -> Iterator[None]:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield


def _exit_code(*args: str) -> int:
    with _captured():
        try:
            return main(list(args))
        except SystemExit as error:  # argparse
            return int(error.code or 0)


@SETTINGS
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_as_a_run_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        run = pathlib.Path(directory, "run")
        run.mkdir()
        (run / "manifest.json").write_bytes(data)
        for args in (["show", str(run)], ["diff", str(run), str(run)], ["check", str(run)]):
            assert _exit_code(*args) in (0, 1, 2)
        assert _exit_code("audit", directory) == 0


@SETTINGS
@given(
    path=st.lists(
        st.sampled_from(
            [
                "plugins",
                "0",
                "1",
                "load",
                "manifest",
                "distribution",
                "entry_point",
                "source",
                "origin",
                "status",
                "name",
                "problems",
                "group",
                "conflicts",
                "registered",
            ]
        ),
        min_size=1,
        max_size=4,
    ),
    value=json_values,
)
def test_mutated_genuine_field(genuine: dict[str, Any], path: list[str], value: object) -> None:
    field = json.loads(json.dumps(genuine))
    target: Any = field
    for part in path[:-1]:
        try:
            target = target[int(part)] if isinstance(target, list) else target[part]
        except (KeyError, IndexError, ValueError, TypeError):  # noqa: PERF203 - a short path
            return
    if isinstance(target, dict):
        target[path[-1]] = value
    elif isinstance(target, list) and path[-1].isdigit() and int(path[-1]) < len(target):
        target[int(path[-1])] = value
    else:
        return
    with tempfile.TemporaryDirectory() as directory:
        run = pathlib.Path(directory, "run")
        run.mkdir()
        if isinstance(field.get("plugins"), list):
            reseal(field)
        (run / "manifest.json").write_text(json.dumps(host_manifest(field)))
        good = pathlib.Path(directory, "good")
        good.mkdir()
        (good / "manifest.json").write_text(json.dumps(host_manifest(genuine)))
        codes = {
            _exit_code("show", str(run)),
            _exit_code("diff", str(good), str(run)),
            _exit_code("check", str(run)),
        }
        assert codes <= {0, 1, 2}
        # One reader, one validation: show and check accept or refuse together.
        assert (_exit_code("show", str(run)) == 2) == (_exit_code("check", str(run)) == 2)


def _dist(directory: str, files: dict[str, bytes]) -> metadata.Distribution:
    info = pathlib.Path(directory, "fuzz-1.0.dist-info")
    info.mkdir()
    for name, data in files.items():
        (info / name).write_bytes(data)
    return metadata.PathDistribution(info)


@SETTINGS
@given(record=st.binary(max_size=300), metadata_bytes=st.binary(max_size=200))
def test_arbitrary_record_and_metadata(record: bytes, metadata_bytes: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        dist = _dist(directory, {"RECORD": record, "METADATA": metadata_bytes})
        info, paths = describe_distribution(dist)
        assert isinstance(info["problems"], list)
        assert all(isinstance(path, str) for path in paths)
        findings = _verify_one(target_of(dist))
        assert all(finding.problem for finding in findings)


@SETTINGS
@given(text=st.text(max_size=300))
def test_arbitrary_record_and_metadata_text(text: str) -> None:
    entries, rejected = parse_record(text)
    assert all(isinstance(row.problem, str) and row.text in text for row in rejected)
    assert all(entry.path for entry in entries)
    found: list[str] = []
    name_and_version(text, found)
    assert all(isinstance(problem, str) for problem in found)


@SETTINGS
@given(text=st.text(max_size=300), group=st.sampled_from(["insidellms.plugins", "x", ""]))
def test_arbitrary_entry_points_text(text: str, group: str) -> None:
    for ep in entry_points_of(text, group):
        assert ep.group == group
        assert isinstance(ep.name, str)
        assert isinstance(ep.value, str)
