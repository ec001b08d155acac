"""Remembered bytecode matches: keyed by every byte the comparison reads, positive only."""

from __future__ import annotations

import importlib.util
import marshal
import os
import py_compile
import stat
from pathlib import Path

import pytest

from insidellms_provenance.fingerprint import _integrity
from insidellms_provenance.fingerprint._bytecode_verdicts import (
    BytecodeVerdicts,
    verdicts_directory,
)
from insidellms_provenance.fingerprint._integrity import cached_code_problem

SOURCE = b"def f(a, b=3):\n    return a + b\n"
INPUTS = (b"body", SOURCE, "/site/mod.py", 0)


@pytest.fixture
def verdicts(tmp_path: Path) -> BytecodeVerdicts:
    return BytecodeVerdicts(tmp_path / "verdicts")


@pytest.mark.parametrize(
    "changed",
    [
        (b"body2", SOURCE, "/site/mod.py", 0),
        (b"body", SOURCE + b"\n", "/site/mod.py", 0),
        (b"body", SOURCE, "/site/other.py", 0),
        (b"body", SOURCE, "/site/mod.py", 1),
        # Length-prefixed: moving a byte from one input to the next is another key.
        (b"bod", b"y" + SOURCE, "/site/mod.py", 0),
    ],
)
def test_every_input_of_the_comparison_is_in_the_key(verdicts, changed):
    assert verdicts.key(*INPUTS) == verdicts.key(*INPUTS)
    assert verdicts.key(*changed) != verdicts.key(*INPUTS)


def test_a_match_is_remembered_as_an_empty_private_file(verdicts, tmp_path):
    key = verdicts.key(*INPUTS)
    assert key is not None
    assert not verdicts.matched(key)
    verdicts.remember(key)
    assert verdicts.matched(key)
    marker = tmp_path / "verdicts" / key
    assert marker.read_bytes() == b""
    assert stat.S_IMODE(marker.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "verdicts").stat().st_mode) & 0o077 == 0
    verdicts.remember(key)  # a second recording's marker: already there, no error


def test_no_directory_no_verdicts():
    off = BytecodeVerdicts(None)
    assert off.key(*INPUTS) is None
    assert verdicts_directory({"INSIDELLMS_PROVENANCE_CACHE": "off"}) is None
    assert verdicts_directory({"INSIDELLMS_PROVENANCE_CACHE": "/c"}) == Path("/c/bytecode")


@pytest.mark.parametrize("what", ["group-writable directory", "non-empty", "symlink", "directory"])
def test_markers_not_ours_alone_are_not_believed(tmp_path, what):
    directory = tmp_path / "verdicts"
    directory.mkdir(mode=0o700)
    verdicts = BytecodeVerdicts(directory)
    key = verdicts.key(*INPUTS)
    assert key is not None
    marker = directory / key
    if what == "group-writable directory":
        marker.write_bytes(b"")
        directory.chmod(0o770)
    elif what == "non-empty":
        marker.write_bytes(b"x")
    elif what == "symlink":
        (tmp_path / "elsewhere").write_bytes(b"")
        marker.symlink_to(tmp_path / "elsewhere")
    else:
        marker.mkdir()
    assert not BytecodeVerdicts(directory).matched(key)


def _compiled_pair(directory: Path) -> tuple[Path, Path]:
    source = directory / "mod.py"
    source.write_bytes(SOURCE)
    py_compile.compile(str(source), doraise=True)
    return source, Path(importlib.util.cache_from_source(str(source)))


def test_a_remembered_match_skips_compiling_and_a_tampered_cache_is_still_found(
    tmp_path, verdicts, monkeypatch
):
    source, cache = _compiled_pair(tmp_path)
    assert cached_code_problem(str(source), str(cache), 0, verdicts) is None
    with monkeypatch.context() as patch:
        patch.setattr(_integrity, "_code_problem", lambda *_: pytest.fail("compiled again"))
        assert cached_code_problem(str(source), str(cache), 0, verdicts) is None
    # The same header (Python still loads it), other code: another key, compared anew.
    header = cache.read_bytes()[:16]
    tampered = compile(SOURCE.replace(b"b=3", b"b=4"), str(source), "exec", dont_inherit=True)
    cache.write_bytes(header + marshal.dumps(tampered))
    problem = "bytecode does not match its source"
    assert cached_code_problem(str(source), str(cache), 0, verdicts) == problem
    # A mismatch is never remembered: asked again, it is compared again.
    assert cached_code_problem(str(source), str(cache), 0, verdicts) == problem
    assert len(os.listdir(tmp_path / "verdicts")) == 1
