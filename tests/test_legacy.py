"""Installs without a wheel: ``setup.py develop`` links and ``.egg`` files, on disk."""

from __future__ import annotations

import os
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from insidellms_provenance.fingerprint._legacy import legacy_install, legacy_rows

PKG_INFO = "Metadata-Version: 2.1\nName: zeta-plugin\nVersion: 0.1\n"


def _develop(tmp_path: Path, link: str | None) -> tuple[Path, Path]:
    """A project with ``src/zeta_plugin.egg-info`` and a site directory with ``link``."""
    project = tmp_path / "project"
    info = project / "src" / "zeta_plugin.egg-info"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text(PKG_INFO)
    (info / "entry_points.txt").write_text("[insidellms.plugins]\nzeta = zeta_plugin:register\n")
    site = tmp_path / "site"
    site.mkdir()
    if link is not None:
        (site / "zeta-plugin.egg-link").write_text(link.format(src=project / "src"))
    return site, info


@pytest.mark.parametrize(
    ("link", "root"),
    [
        ("{src}\n..", "project"),
        ("{src}\n../\n", "project"),
        ("{src}\n.", "project/src"),
        ("{src}", "project/src"),  # no second line: the egg base is the project
        ("{src}/\n..\n", "project"),
        # Negative rows: no link, a link to somewhere else, an empty link.
        (None, None),
        ("/elsewhere/src\n..", None),
        ("", None),
    ],
)
def test_develop_install_is_found_by_its_egg_link(tmp_path, monkeypatch, link, root):
    site, info = _develop(tmp_path, link)
    monkeypatch.setattr(sys, "path", [str(site), str(info.parent)])
    found = legacy_install(metadata.PathDistribution(info))
    if root is None:
        assert found is None
    else:
        assert found is not None
        assert (found.kind, found.root, found.metadata_dir) == ("develop", tmp_path / root, info)


def test_a_symlinked_egg_link_is_not_followed(tmp_path, monkeypatch):
    site, info = _develop(tmp_path, None)
    target = tmp_path / "real.egg-link"
    target.write_text(f"{info.parent}\n..")
    (site / "zeta-plugin.egg-link").symlink_to(target)
    monkeypatch.setattr(sys, "path", [str(site), str(info.parent)])
    assert legacy_install(metadata.PathDistribution(info)) is None


def test_develop_rows_are_the_egg_info_files(tmp_path, monkeypatch):
    site, info = _develop(tmp_path, "{src}\n..")
    monkeypatch.setattr(sys, "path", [str(site), str(info.parent)])
    found = legacy_install(metadata.PathDistribution(info))
    assert found is not None
    rows, problems = legacy_rows(found)
    assert [row[0] for row in rows] == [
        "zeta_plugin.egg-info/PKG-INFO",
        "zeta_plugin.egg-info/entry_points.txt",
    ]
    assert rows[0][2] == len(PKG_INFO)
    assert problems == []


EGG_FILES = {
    "EGG-INFO/PKG-INFO": PKG_INFO.encode(),
    "zeta_plugin/__init__.py": b"def register():\n    return None\n",
    "zeta_plugin/__pycache__/__init__.cpython-311.pyc": b"\x00bytecode",
}


@pytest.mark.parametrize("form", ["zip", "directory"])
def test_egg_rows_are_its_files_without_bytecode_caches(tmp_path, form):
    egg = tmp_path / "zeta_plugin-0.1-py3.11.egg"
    if form == "zip":
        with zipfile.ZipFile(egg, "w") as archive:
            for name, data in EGG_FILES.items():
                archive.writestr(name, data)
        dist = next(iter(metadata.distributions(path=[str(egg)])))
    else:
        for name, data in EGG_FILES.items():
            (egg / name).parent.mkdir(parents=True, exist_ok=True)
            (egg / name).write_bytes(data)
        dist = metadata.PathDistribution(egg / "EGG-INFO")
    found = legacy_install(dist)
    assert found is not None
    assert (found.kind, found.root) == ("egg", egg)
    rows, problems = legacy_rows(found)
    assert [row[0] for row in rows] == ["EGG-INFO/PKG-INFO", "zeta_plugin/__init__.py"]
    assert problems == []


def test_an_unreadable_egg_is_a_problem(tmp_path):
    egg = tmp_path / "broken.egg"
    (egg.with_suffix(".tmp")).write_bytes(b"not a zip")
    egg.with_suffix(".tmp").rename(egg)
    found = legacy_install(metadata.PathDistribution(egg / "EGG-INFO"))
    assert found is not None
    assert legacy_rows(found) == ([], ["'broken.egg' cannot be read: BadZipFile"])


@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_a_hostile_zipped_egg_is_a_problem_never_followed_or_waited_on(tmp_path, kind):
    """A FIFO would hang a reader that opens it; a symlink would read another file."""
    egg = tmp_path / "zeta.egg"
    if kind == "fifo":
        os.mkfifo(egg)
    else:
        real = tmp_path / "real.zip"
        with zipfile.ZipFile(real, "w") as archive:
            archive.writestr("EGG-INFO/PKG-INFO", PKG_INFO)
        egg.symlink_to(real)
    found = legacy_install(metadata.PathDistribution(egg / "EGG-INFO"))
    assert found is not None
    rows, problems = legacy_rows(found)
    assert rows == []
    assert len(problems) == 1
    assert problems[0].startswith("'zeta.egg' ")


def test_a_fifo_egg_link_is_ignored_without_waiting(tmp_path, monkeypatch):
    site, info = _develop(tmp_path, None)
    os.mkfifo(site / "zeta-plugin.egg-link")
    monkeypatch.setattr(sys, "path", [str(site), str(info.parent)])
    assert legacy_install(metadata.PathDistribution(info)) is None
