"""Fixtures of the hostile-input corpus: a fresh world per case, genuine fields per session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hostile_kit import World, run_cli

MANIFEST = """
def plugin_manifest():
    return {
        "name": "%(name)s",
        "version": "1.0",
        "sdk_version": "1",
        "insideLLMs": ">=0.2.0,<0.3.0",
        "capabilities": {"models": ["%(name)s-model"], "probes": [], "datasets": []},
        "determinism": {"class": "deterministic", "notes": "fixed"},
    }
"""


def good_plugin(world: World, package: str, *, group: str = "insidellms.plugins") -> None:
    body = "def register():\n    return None\n" + MANIFEST % {"name": package}
    world.plugin(package, body, group=group)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def _record(tmp: Path, *args: str) -> dict[str, Any]:
    world = World(tmp)
    good_plugin(world, "alpha_plugin")
    good_plugin(world, "beta_plugin")
    good_plugin(world, "other_plugin", group="other.group")
    result = run_cli(world, ["record", *args])
    assert result.code == 0, result.err
    value: dict[str, Any] = json.loads(result.stdout)
    return value


@pytest.fixture(scope="session")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real recording of two good plugins (the default group)."""
    return _record(tmp_path_factory.mktemp("genuine"))


@pytest.fixture(scope="session")
def genuine_other_group(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real recording of group ``other.group`` in the same environment."""
    return _record(tmp_path_factory.mktemp("genuine-other"), "--group", "other.group")


@pytest.fixture(scope="session")
def setuptools_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """setuptools as a build backend (PEP 660 editables), from the package index.

    pip's cache serves reruns. From 70.1 on it builds wheels without the ``wheel`` package.
    """
    directory = tmp_path_factory.mktemp("setuptools")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*command, "--dest", str(directory), "setuptools>=70.1,<80"], check=True)
    return directory
