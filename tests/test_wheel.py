"""``fingerprint``: a wheel's record_digest from its contents equals what ``record`` gives
after real pip and real uv installed it; wrong RECORDs are reported; goldens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import attrs
import pytest

from golden import check_golden
from insidellms_provenance.fingerprint._distribution import describe_distribution
from insidellms_provenance.fingerprint._wheel import (
    InvalidWheelError,
    WheelTarget,
    fingerprint_paths,
    fingerprint_wheel,
)
from plugin_catalog import ALL, catalog
from venvtools import create_venv, install
from wheelbuilder import WheelSpec, build_wheel

SPACED = "uv env with a much longer path, and spaces"
PY311 = WheelTarget(python="3.11", scripts_dir="bin")

HEADERS = WheelSpec(
    name="Header.Plugin",
    version="1.0",
    files={"header_plugin/__init__.py": b"def register():\n    return None\n"},
    entry_points={
        "insidellms.plugins": {"header": "header_plugin:register"},
        "console_scripts": {"header-cli": "header_plugin:register"},
    },
    scripts={"header-tool": b"#!/usr/bin/env python3\nprint('tool')\n"},
    data={"share/header/readme.txt": b"data\n"},
    headers={"header.h": b"int header;\n"},
)
WRONG = WheelSpec(
    name="wrong-record",
    version="1.0",
    files={"wrong_record/__init__.py": b"def register():\n    return None\n"},
    wrong_record=("wrong_record/__init__.py",),
)


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "insidellms_provenance", *args], capture_output=True, check=False
    )


def installed_digest(site_packages: Path, dist_info: str) -> str:
    info, _ = describe_distribution(metadata.PathDistribution(site_packages / dist_info))
    return str(info["record_digest"])


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_every_catalog_wheel_fingerprints_to_the_installed_digest(make_env, wheelhouse, installer):
    """Console scripts, .data/scripts, .data/data, subpackages: pip and uv, any path."""
    env = make_env("pip", ALL) if installer == "pip" else make_env("uv", ALL, directory=SPACED)
    recorded = {
        plugin["distribution"]["normalized_name"]: plugin["distribution"]["record_digest"]
        for plugin in json.loads(env.record())["plugins"]
    }
    fingerprints, unreadable = fingerprint_paths([wheelhouse])
    assert unreadable == []
    by_name = {f.distribution["normalized_name"]: f for f in fingerprints}
    assert set(recorded) <= set(by_name)
    for name, digest in recorded.items():
        assert by_name[name].distribution["record_digest"] == digest, name
        assert by_name[name].record_agrees
        assert by_name[name].listed_digest == digest


@pytest.mark.slow
@pytest.mark.parametrize(
    ("installer", "requirement"),
    [("pip", "file"), ("uv", "file"), ("uv", "Header.Plugin"), ("pip", "header-plugin")],
)
def test_headers_wheel_matches_for_this_python(tmp_path, installer, requirement):
    """.data/headers land in include/site/pythonX.Y/<name>: equal for this X.Y."""
    wheel = build_wheel(HEADERS, tmp_path / "wheels")
    venv = create_venv(tmp_path / "venv", installer)
    install(venv, str(wheel) if requirement == "file" else requirement, find_links=wheel.parent)
    fingerprint = fingerprint_wheel(wheel)
    assert fingerprint.python == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert fingerprint.distribution["record_digest"] == installed_digest(
        venv.site_packages, HEADERS.dist_info
    )
    other = "3.9" if fingerprint.python != "3.9" else "3.8"
    elsewhere = fingerprint_wheel(wheel, WheelTarget.current()._replace(python=other))
    assert elsewhere.distribution["record_digest"] != fingerprint.distribution["record_digest"]


@pytest.mark.slow
def test_pip_by_a_name_spelled_otherwise_places_headers_elsewhere(tmp_path):
    """pip names the headers directory after the requirement as typed (documented)."""
    wheel = build_wheel(HEADERS, tmp_path / "wheels")
    venv = create_venv(tmp_path / "venv", "pip")
    install(venv, "Header.Plugin", find_links=wheel.parent)
    assert list((venv.root / "include" / "site").glob("*/Header.Plugin/header.h"))
    assert fingerprint_wheel(wheel).distribution["record_digest"] != installed_digest(
        venv.site_packages, HEADERS.dist_info
    )


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_wrong_record_is_reported_and_the_digest_describes_contents(tmp_path, installer):
    wrong = build_wheel(WRONG, tmp_path / "wrong")
    right = build_wheel(attrs.evolve(WRONG, wrong_record=()), tmp_path / "right")
    fingerprint = fingerprint_wheel(wrong)
    assert fingerprint.record_problems == (
        "RECORD hash of 'wrong_record/__init__.py' does not match its contents",
    )
    assert not fingerprint.record_agrees
    assert fingerprint.digest != fingerprint_wheel(right).digest
    # Same contents, so the same digest as the wheel whose RECORD tells the truth.
    assert (
        fingerprint.distribution["record_digest"]
        == (fingerprint_wheel(right).distribution["record_digest"])
    )
    # Installers copy the wrong hash: what gets recorded is the listed digest.
    venv = create_venv(tmp_path / "venv", installer)
    install(venv, str(wrong), find_links=wrong.parent)
    assert installed_digest(venv.site_packages, WRONG.dist_info) == fingerprint.listed_digest
    assert fingerprint.listed_digest != fingerprint.distribution["record_digest"]


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _meta(name: str = "x") -> dict[str, bytes]:
    return {f"{name}-1.dist-info/METADATA": f"Name: {name}\nVersion: 1\n".encode()}


@pytest.mark.parametrize(
    ("members", "problem"),
    [
        ({"x/__init__.py": b""}, "expected one top-level .dist-info directory, found 0"),
        ({**_meta("x"), **_meta("y")}, "expected one top-level .dist-info directory, found 2"),
    ],
)
def test_archives_that_are_not_wheels_are_refused(tmp_path, members, problem):
    with pytest.raises(InvalidWheelError, match=problem):
        fingerprint_wheel(_zip(tmp_path / "x-1-py3-none-any.whl", members))


@pytest.mark.parametrize(
    ("members", "digest_problem", "record_problem"),
    [
        (
            {**_meta(), "../evil.py": b"x"},
            "archive member '../evil.py': path escapes the install root",
            "the wheel has no RECORD",
        ),
        (
            {**_meta(), "x-1.data/unknown/a": b"x"},
            "archive member 'x-1.data/unknown/a': unknown x-1.data directory",
            "the wheel has no RECORD",
        ),
        (
            {**_meta(), "x-1.dist-info/RECORD": b"x/gone.py,sha256=" + b"A" * 43 + b",1\n"},
            None,
            "RECORD lists 'x/gone.py', which is not in the archive",
        ),
        (
            {**_meta(), "x-1.dist-info/RECORD": b"x/a.py,,\n", "x/a.py": b"a"},
            None,
            "RECORD lists 'x/a.py' without a hash",
        ),
    ],
)
def test_member_and_record_problems(tmp_path, members, digest_problem, record_problem):
    fingerprint = fingerprint_wheel(_zip(tmp_path / "x-1-py3-none-any.whl", members))
    problems = fingerprint.distribution["problems"]
    assert problems == ([digest_problem] if digest_problem else [])
    assert record_problem in fingerprint.record_problems


@pytest.mark.parametrize("kind", ["not-zip", "fifo", "symlink", "missing-dist-info", "directory"])
def test_unreadable_wheels_are_listed_and_exit_1(tmp_path, kind):
    good = build_wheel(catalog()["beta"], tmp_path)
    bad = tmp_path / "bad-1-py3-none-any.whl"
    if kind == "not-zip":
        bad.write_bytes(b"not a zip")
    elif kind == "fifo":
        os.mkfifo(bad)
    elif kind == "symlink":
        bad.symlink_to(good)
    elif kind == "directory":
        bad.mkdir()
    else:
        _zip(bad, {"bad/__init__.py": b""})
    before = sorted((p.name, p.lstat().st_mtime_ns) for p in tmp_path.iterdir())
    result = cli("fingerprint", "--format", "json", str(tmp_path))
    assert result.returncode == 1, result.stderr
    value = json.loads(result.stdout)
    assert [w["filename"] for w in value["wheels"]] == [good.name]
    assert [u["filename"] for u in value["unreadable"]] == [bad.name]
    assert sorted((p.name, p.lstat().st_mtime_ns) for p in tmp_path.iterdir()) == before


def test_missing_path_is_bad_input(tmp_path):
    result = cli("fingerprint", str(tmp_path / "nope.whl"))
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        f"insidellms-provenance: error: {tmp_path / 'nope.whl'}: no such file or directory"
    ]


@pytest.mark.parametrize("value", ["3", "three.eleven", "3.11.1"])
def test_bad_python_option_is_bad_input(tmp_path, value):
    wheel = build_wheel(catalog()["beta"], tmp_path)
    result = cli("fingerprint", "--python", value, str(wheel))
    assert result.returncode == 2
    assert len(result.stderr.decode().splitlines()) == 1


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_fingerprint_golden(tmp_path, fmt):
    specs = catalog()
    for spec in (specs["alpha"], specs["gamma"], WRONG, HEADERS):
        build_wheel(spec, tmp_path, zipfile.ZIP_STORED)
    result = cli("fingerprint", "--python", "3.11", "--format", fmt, str(tmp_path))
    assert result.returncode == 1, result.stderr
    check_golden(f"fingerprint/wheels.{'txt' if fmt == 'text' else 'json'}", result.stdout)


def test_good_wheels_exit_0(tmp_path):
    wheel = build_wheel(catalog()["beta"], tmp_path)
    result = cli("fingerprint", str(wheel))
    assert result.returncode == 0, result.stderr
    assert f"\n{wheel.name}\n" in result.stdout.decode()


def test_target_is_only_reported_for_headers(tmp_path):
    wheel = build_wheel(catalog()["alpha"], tmp_path)
    assert fingerprint_wheel(wheel, PY311).python is None
    assert fingerprint_wheel(wheel, PY311._replace(python="3.9")) == fingerprint_wheel(wheel, PY311)


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2]
)
def test_member_reader_agrees_with_zipfile(tmp_path, compression):
    from insidellms_provenance.fingerprint._wheel import _Archive

    path = build_wheel(catalog()["alpha"], tmp_path, compression)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        reader = _Archive(archive, data)
        for info in archive.infolist():
            assert reader.read(info) == archive.read(info)
    if compression == zipfile.ZIP_BZIP2:  # not a wheel method: zipfile reads it, same digest
        stored = build_wheel(catalog()["alpha"], tmp_path / "stored", zipfile.ZIP_STORED)
        assert fingerprint_wheel(path).distribution == fingerprint_wheel(stored).distribution


def _corrupt(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) >= 1
    path.write_bytes(data.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        # A local header's file name, changed but not the central directory's.
        (None, None, "local header names another file"),
        # Stored contents changed under an unchanged CRC-32.
        (b"def echo(prompt)", b"def echo(PROMPT)", "bad size or CRC-32"),
    ],
)
def test_lying_archives_are_unreadable(tmp_path, old, new, problem):
    path = build_wheel(catalog()["alpha"], tmp_path, zipfile.ZIP_STORED)
    if old is None:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("alpha_plugin/models/echo.py")
        data = bytearray(path.read_bytes())
        data[info.header_offset + 30 + len(info.filename) - 1] ^= 1  # last byte of the name
        path.write_bytes(bytes(data))
    else:
        _corrupt(path, old, new)
    with pytest.raises(InvalidWheelError, match=problem):
        fingerprint_wheel(path)


def test_truncated_deflate_stream_is_unreadable(tmp_path):
    path = build_wheel(catalog()["alpha"], tmp_path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("alpha_plugin/models/echo.py")
    start = info.header_offset + 30 + len(info.filename)
    data[start : start + info.compress_size] = bytes(info.compress_size)  # zeroed stream
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidWheelError, match="not a readable wheel"):
        fingerprint_wheel(path)


def test_large_members_are_hashed_in_chunks_with_the_same_result(tmp_path, monkeypatch):
    import insidellms_provenance.fingerprint._wheel as wheel_module

    path = build_wheel(catalog()["alpha"], tmp_path)
    whole = fingerprint_wheel(path)
    monkeypatch.setattr(wheel_module, "_LARGE_MEMBER", 10)
    monkeypatch.setattr(wheel_module, "_CHUNK", 7)
    assert fingerprint_wheel(path) == whole
