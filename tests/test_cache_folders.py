"""``--wheels DIR`` on installer caches: pip's nested wheel files and uv's unpacked wheels.

An unpacked wheel is fingerprinted from its files exactly as its archive is; real pip and
real uv fill private caches offline, and ``verify RUN --wheels CACHE`` finds the run's
exact wheels there, and names a file changed in the cache as other content.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from golden import GOLDEN, check_golden
from insidellms_provenance.fingerprint._wheel import (
    SEARCH_DEPTH,
    InvalidWheelError,
    WheelTarget,
    fingerprint_paths,
    fingerprint_unpacked,
    fingerprint_wheel,
)
from plugin_catalog import ALL, GOOD, catalog
from test_cli import cli
from venvtools import create_venv, install
from wheelbuilder import build_wheel

FIELD = GOLDEN / "record" / "field.json"
PY311 = WheelTarget(python="3.11", scripts_dir="bin")
PIP_LAYOUT = "wheels/1d/a6/e8/5a333b5748c843e92442dfe8d9571073febe6775caa6974824"


def unpack(wheel: Path, directory: Path) -> Path:
    """The wheel's members as files under ``directory``, as uv's ``archive-v0/<id>/``."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(directory)  # noqa: S202 - our own test wheels
    return directory


@pytest.mark.parametrize("name", ALL)
def test_an_unpacked_wheel_has_its_archives_fingerprint(tmp_path, name):
    wheel = build_wheel(catalog()[name], tmp_path / "w")
    tree = unpack(wheel, tmp_path / "t")
    archived = fingerprint_wheel(wheel, PY311)
    unpacked = fingerprint_unpacked(tree, PY311)
    assert unpacked.distribution == archived.distribution
    assert unpacked.listed_digest == archived.listed_digest
    assert unpacked.record_problems == archived.record_problems
    assert unpacked.digest is None
    assert unpacked.unpacked
    assert not archived.unpacked
    assert unpacked.filename == "t/"


def test_a_changed_file_changes_the_digest_and_the_trees_record_is_not_believed(tmp_path):
    wheel = build_wheel(catalog()["beta"], tmp_path / "w")
    tree = unpack(wheel, tmp_path / "t")
    original = fingerprint_unpacked(tree, PY311)
    module = tree / "beta_plugin" / "__init__.py"
    module.write_bytes(module.read_bytes() + b"# changed\n")
    changed = fingerprint_unpacked(tree, PY311)
    assert changed.distribution["record_digest"] != original.distribution["record_digest"]
    # The tree's RECORD still lists the original file: reported, never believed.
    assert changed.listed_digest == original.distribution["record_digest"]
    assert "RECORD hash of 'beta_plugin/__init__.py' does not match its contents" in (
        changed.record_problems
    )


def test_search_finds_nested_wheels_and_unpacked_wheels_within_the_depth(tmp_path):
    specs = catalog()
    build_wheel(specs["alpha"], tmp_path / "cache" / PIP_LAYOUT)
    unpack(build_wheel(specs["beta"], tmp_path / "w"), tmp_path / "cache/archive-v0/b1")
    too_deep = tmp_path / "cache" / "/".join(["d"] * (SEARCH_DEPTH + 1))
    build_wheel(specs["gamma"], too_deep)
    fingerprints, unreadable = fingerprint_paths([tmp_path / "cache"])
    assert unreadable == []
    assert [f.filename for f in fingerprints] == [
        "archive-v0/b1/",
        f"{PIP_LAYOUT}/alpha_plugin-1.0.0-py3-none-any.whl",
    ]
    within = tmp_path / "cache" / "/".join(["d"] * SEARCH_DEPTH)
    build_wheel(specs["gamma"], within)
    fingerprints, _ = fingerprint_paths([tmp_path / "cache"])
    assert len(fingerprints) == 3


def test_an_unpacked_wheel_with_a_symlinked_file_is_refused(tmp_path):
    tree = unpack(build_wheel(catalog()["beta"], tmp_path / "w"), tmp_path / "t")
    module = tree / "beta_plugin" / "__init__.py"
    module.unlink()
    module.symlink_to(tmp_path / "w" / "elsewhere.py")
    with pytest.raises(InvalidWheelError, match="a symlink"):
        fingerprint_unpacked(tree)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder: pip's nested wheels, uv's unpacked ones; a file of beta changed in it.

    alpha is both a wheel file and an unpacked wheel (the archive is preferred: it has a
    sha256); gamma and the manifest plugins only unpacked; noisy absent.
    """
    root = tmp_path_factory.mktemp("cache-folders")
    directory = root / "cache"
    built = root / "built"
    for index, (name, spec) in enumerate(catalog().items()):
        if name == "noisy":
            continue
        wheel = build_wheel(spec, built, zipfile.ZIP_STORED)
        if name in ("alpha", "broken-import"):
            target = directory / PIP_LAYOUT.replace("1d", f"{index:02d}")
            target.mkdir(parents=True)
            shutil.copy(wheel, target)
        if name != "broken-import":
            unpack(wheel, directory / "archive-v0" / f"id{index:02d}")
    beta = directory / "archive-v0" / "id01" / "beta_plugin" / "__init__.py"
    beta.write_bytes(beta.read_bytes() + b"# changed in the cache\n")
    return directory


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_verify_wheels_on_a_cache_golden(cache, fmt):
    result = cli("verify", str(FIELD), "--wheels", str(cache), "--format", fmt)
    assert result.returncode == 1, result.stderr
    check_golden(
        f"export/verify-wheels-cache.{ {'text': 'txt', 'json': 'json'}[fmt] }", result.stdout
    )
    if fmt == "json":
        value = json.loads(result.stdout)
        status = {d["normalized_name"]: d for d in value["distributions"]}
        assert status["alpha-plugin"]["wheel"]["digest"].startswith("sha256:")
        assert status["gamma-plugin"]["status"] == "exact"
        assert status["gamma-plugin"]["wheel"] == {"filename": "archive-v0/id02/", "digest": None}
        assert status["beta-plugin"]["status"] == "record_disagrees"
        assert status["beta-plugin"]["wheel"] == {"filename": "archive-v0/id01/", "digest": None}


def test_pylock_from_a_cache_locks_archives_and_warns_for_unpacked_matches(cache):
    output = cache.parent / "pylock.toml"
    result = cli(
        "export", str(FIELD), "--format", "pylock", "--wheels", str(cache), "--output", str(output)
    )
    assert result.returncode == 1, result.stderr
    stderr = result.stderr.decode()
    assert (
        "matches only the unpacked wheel archive-v0/id02/ (a cache directory: no archive, "
        "no sha256 to lock): content is not pinned"
    ) in stderr
    assert (
        "archive-v0/id01/: an unpacked wheel whose files changed after it was unpacked: its "
        "RECORD lists the run's files, its contents are other content"
    ) in stderr
    check_golden("export/pylock-cache.toml", output.read_bytes())


# Real installers, offline, with private caches.


def make_sdist(wheel: Path, directory: Path) -> Path:
    """An sdist whose in-tree build backend "builds" ``wheel`` (a copy): pip caches it."""
    name, version = wheel.name.split("-")[:2]
    base = f"{name}-{version}"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"{base}.dist-info/METADATA")
    backend = (
        "import pathlib, shutil\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        f"    source = pathlib.Path(__file__).parent / 'prebuilt' / {wheel.name!r}\n"
        "    shutil.copy(source, wheel_directory)\n"
        "    return source.name\n"
    )
    files = {
        "PKG-INFO": metadata,
        "pyproject.toml": (
            b'[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        ),
        "backend.py": backend.encode(),
        f"prebuilt/{wheel.name}": wheel.read_bytes(),
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member, data in files.items():
            info = tarfile.TarInfo(f"{base}/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def record_run(venv, directory: Path) -> Path:
    run = directory / "run.json"
    run.write_bytes(venv.record())
    return run


def matched_exactly(run: Path, cache: Path) -> dict[str, Any]:
    """``verify RUN --wheels CACHE --format json``, every distribution matched exactly."""
    result = cli("verify", str(run), "--wheels", str(cache), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    value = json.loads(result.stdout)
    assert {d["status"] for d in value["distributions"]} == {"exact"}
    return value


@pytest.mark.slow
def test_real_uv_cache_matches_exactly_and_names_a_changed_file(wheelhouse, tmp_path):
    uv_cache = tmp_path / "uv-cache"
    env = {"UV_CACHE_DIR": str(uv_cache), "UV_LINK_MODE": "copy"}
    venv = create_venv(tmp_path / "venv", "uv")
    names = [catalog()[name].name for name in GOOD]
    install(venv, "insidellms-provenance", *names, find_links=wheelhouse, env=env)
    run = record_run(venv, tmp_path)

    value = matched_exactly(run, uv_cache)
    assert all(
        d["wheel"]["filename"].startswith("archive-v0/") and d["wheel"]["digest"] is None
        for d in value["distributions"]
    )

    beta = next(
        d["wheel"]["filename"]
        for d in value["distributions"]
        if d["normalized_name"] == "beta-plugin"
    )
    module = uv_cache / beta / "beta_plugin" / "__init__.py"
    module.write_bytes(module.read_bytes() + b"# tampered in the cache\n")
    result = cli("verify", str(run), "--wheels", str(uv_cache))
    assert result.returncode == 1
    assert (
        f"{beta}: an unpacked wheel whose files changed after it was unpacked: its RECORD "
        "lists the run's files, its contents are other content"
    ).encode() in result.stdout.replace(b"\n", b" "), result.stdout


@pytest.mark.slow
def test_real_pip_cache_matches_exactly(wheelhouse, tmp_path):
    pip_cache = tmp_path / "pip-cache"
    sdists = tmp_path / "sdists"
    for name in GOOD:
        make_sdist(wheelhouse / catalog()[name].filename, sdists)
    venv = create_venv(tmp_path / "venv", "pip")
    env = {"PIP_CACHE_DIR": str(pip_cache)}
    install(venv, "insidellms-provenance", find_links=wheelhouse)
    # Not through venvtools.install: it passes --no-cache-dir.
    command = [sys.executable, "-m", "pip", "--python", str(venv.python), "install", "--quiet"]
    command += ["--disable-pip-version-check", "--no-index", "--find-links", str(sdists)]
    command += [catalog()[name].name for name in GOOD]
    installed = subprocess.run(command, capture_output=True, check=False, env={**os.environ, **env})
    assert installed.returncode == 0, installed.stderr
    assert sorted(p.name for p in (pip_cache / "wheels").rglob("*.whl")) == sorted(
        catalog()[name].filename for name in GOOD
    )
    run = record_run(venv, tmp_path)

    value = matched_exactly(run, pip_cache)
    assert all(
        d["wheel"]["filename"].startswith("wheels/") and d["wheel"]["digest"].startswith("sha256:")
        for d in value["distributions"]
    )


def test_a_search_past_its_entry_budget_is_bad_input(tmp_path, monkeypatch):
    from insidellms_provenance.fingerprint import _wheel as wheel

    for index in range(4):
        (tmp_path / "d" / str(index)).mkdir(parents=True)
    monkeypatch.setattr(wheel, "SEARCH_ENTRIES", 3)
    with pytest.raises(InvalidWheelError, match="more than 3 entries"):
        fingerprint_paths([tmp_path / "d"])
