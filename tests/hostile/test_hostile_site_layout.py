"""Where a site directory's scripts and data are cannot be talked into another place.

A venv's ``site-packages`` reached through a link climbs to that venv's prefix, and a
directory named like a site directory is read as a ``--target`` directory only when the
prefix its name implies holds nothing but the way down to it
(``fingerprint/_install_layout.py``). So a genuine venv's removed script is never found
where a ``--target`` directory would keep it, nor in the link's own parent: each case
removes the script pip installed into a real venv, puts its genuine bytes in such a
place, and states the exit code, the integrity verdict, and that no file changed.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_kit import Case, Result, World, run_case

from venvtools import create_venv, install
from wheelbuilder import WheelSpec, build_wheel

KAPPA = WheelSpec(
    name="kappa-plugin",
    version="1.0",
    files={"kappa_plugin/__init__.py": b"def register():\n    return None\n"},
    entry_points={"insidellms.plugins": {"kappa": "kappa_plugin:register"}},
    scripts={"kappa-sh": b"#!/bin/sh\necho kappa\n"},
    data={"share/kappa/n.txt": b"kappa data\n"},
)
THIS_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"
SCRIPT = "{prefix}/bin/kappa-sh"


@pytest.fixture(scope="module")
def kappa_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("kappa-wheels")
    build_wheel(KAPPA, directory)
    return directory


def _moved_into_the_site_directory(world: World, prefix: Path, site: Path) -> str:
    """The script moved to where a ``--target`` directory keeps it: ``site/bin/``."""
    (site / "bin").mkdir()
    (prefix / "bin" / "kappa-sh").rename(site / "bin" / "kappa-sh")
    return str(site)


def _prefix_stripped_to_lib(world: World, prefix: Path, site: Path) -> str:
    """Also everything but ``lib/`` removed from the prefix, so it looks like a target's."""
    _moved_into_the_site_directory(world, prefix, site)
    (site / "share").mkdir()
    (prefix / "share" / "kappa").rename(site / "share" / "kappa")
    for entry in prefix.iterdir():
        if entry.name != "lib":
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return str(site)


def _in_the_links_parent(world: World, prefix: Path, site: Path) -> str:
    """The script moved to where climbing by name from a link to ``site`` would look."""
    link = world.link("a/b/c/plugins", site)
    (world.root / "a" / "bin").mkdir()
    (prefix / "bin" / "kappa-sh").rename(world.root / "a" / "bin" / "kappa-sh")
    return str(link)


def _integrity(status: str, paths: list[str]) -> Callable[[World, Result], None]:
    def check(world: World, result: Result) -> None:
        (plugin,) = json.loads(result.stdout)["plugins"]
        integrity = plugin["distribution"]["integrity"]
        assert integrity["status"] == status, integrity
        assert integrity["paths"] == paths, integrity

    return check


TAMPERINGS = {
    # The venv's pyvenv.cfg makes its prefix one: the script is missing there.
    "script-moved-into-the-site-directory": (_moved_into_the_site_directory, "modified"),
    # A prefix holding only lib/ implies a --target directory: rows climbing to the
    # prefix (3 levels) then leave it, and are refused, never looked for elsewhere.
    "prefix-stripped-to-lib": (_prefix_stripped_to_lib, "unverifiable"),
    # Through a link, rows climb from the resolved entry, as the kernel's `..` does.
    "script-in-the-links-parent": (_in_the_links_parent, "modified"),
}
PATHS = {
    # RECORD too: the digest cannot read the script it lists (a problem on RECORD).
    "modified": ["kappa_plugin-1.0.dist-info/RECORD", SCRIPT],
    "unverifiable": ["kappa_plugin-1.0.dist-info/RECORD"],
}


@pytest.mark.parametrize("command", ["record", "check"])
@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_a_venvs_missing_script_is_not_found_elsewhere(
    tampering: str, command: str, world: World, kappa_wheels: Path
) -> None:
    tamper, status = TAMPERINGS[tampering]

    def build(world: World) -> list[str]:
        venv = create_venv(world.root / "venv", "pip")
        install(venv, KAPPA.name, find_links=kappa_wheels)
        site = venv.root / "lib" / THIS_PYTHON / "site-packages"
        world.env["PYTHONPATH"] = tamper(world, venv.root, site)
        world.env["INSIDELLMS_PROVENANCE_CACHE"] = "off"  # no description cache written
        return ["record"] if command == "record" else ["check", "--no-load"]

    if command == "record":
        case = Case(tampering, build, 0, check=_integrity(status, PATHS[status]))
    else:
        case = Case(tampering, build, 1)
    run_case(case, world)
