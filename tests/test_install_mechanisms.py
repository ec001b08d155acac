"""Same plugins, same field: every install mechanism compared with a plain pip venv.

Each test installs the same wheels (or the same source) with one mechanism, runs
``record`` and compares the field's bytes with those of a plain ``pip install`` into a
venv. Where a key legitimately differs, the test names that key and checks the reason;
docs/record-digest.md has the table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_catalog import GOOD, GROUP, catalog
from venvtools import Venv, create_venv, install
from wheelbuilder import WheelSpec, build_wheel

pytestmark = pytest.mark.slow

# A plugin with every kind of installed file: a console script, `.data/scripts` with a
# `#!python` line, with another interpreter line and without any, and a data file.
EPSILON = WheelSpec(
    name="epsilon-plugin",
    version="1.0",
    files={
        "epsilon_plugin/__init__.py": b"def register():\n    return None\n",
        "epsilon_plugin/tool.py": b"def main():\n    return 0\n",
    },
    entry_points={
        GROUP: {"epsilon": "epsilon_plugin:register"},
        "console_scripts": {"epsilon-cli": "epsilon_plugin.tool:main"},
    },
    scripts={
        "epsilon-py": b"#!python\nprint('epsilon')\n",
        "epsilon-sh": b"#!/bin/sh\necho epsilon\n",
        "epsilon-raw": b"no interpreter line\n",
    },
    data={"share/epsilon/notes.txt": b"epsilon data\n"},
)
PLUGINS = (*(catalog()[name].name for name in GOOD), EPSILON.name)


@pytest.fixture(scope="module")
def wheels(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session wheelhouse plus EPSILON."""
    directory = tmp_path_factory.mktemp("mechanism-wheels")
    for wheel in wheelhouse.iterdir():
        (directory / wheel.name).symlink_to(wheel)
    build_wheel(EPSILON, directory)
    return directory


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Installers and build backends from the package index (pip's cache serves reruns)."""
    directory = tmp_path_factory.mktemp("tools")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    requirements = ["pip", "installer", "setuptools<80", "hatchling", "wheel"]
    subprocess.run([*command, "--dest", str(directory), *requirements], check=True)
    return directory


def _env(parent: Path, installer: str, wheels: Path, *requirements: str, extra=()) -> Venv:
    venv = create_venv(parent / "venv", installer)
    install(venv, "insidellms-provenance", *requirements, find_links=wheels, extra=tuple(extra))
    return venv


@pytest.fixture(scope="module")
def pip_field(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The reference: the plugins installed by plain ``pip install`` into a venv."""
    return _env(tmp_path_factory.mktemp("pip-reference"), "pip", wheels, *PLUGINS).record()


def _plugins(field: bytes) -> dict[str, dict]:
    return {plugin["entry_point"]["name"]: plugin for plugin in json.loads(field)["plugins"]}


def _differences(expected: bytes, actual: bytes) -> dict[str, dict[str, tuple]]:
    """Per plugin, the keys (``section.key``) whose values differ."""
    found: dict[str, dict[str, tuple]] = {}
    before, after = _plugins(expected), _plugins(actual)
    assert before.keys() == after.keys()
    for name in before:
        for section, value in before[name].items():
            other = after[name][section]
            if isinstance(value, dict) and isinstance(other, dict):
                for key in value.keys() | other.keys():
                    if value.get(key) != other.get(key):
                        found.setdefault(name, {})[f"{section}.{key}"] = (
                            value.get(key),
                            other.get(key),
                        )
            elif value != other:
                found.setdefault(name, {})[section] = (value, other)
    return found


# -- uv link modes ---------------------------------------------------------------------


@pytest.mark.parametrize("link_mode", ["copy", "symlink", "hardlink"])
def test_uv_link_modes_record_the_same_bytes_as_pip(link_mode, wheels, pip_field, tmp_path):
    venv = _env(tmp_path, "uv", wheels, *PLUGINS, extra=[f"--link-mode={link_mode}"])
    if link_mode == "symlink":
        # Really linked: the package's files are symlinks into uv's cache.
        init = venv.site_packages / "epsilon_plugin" / "__init__.py"
        assert init.is_symlink()
    field = venv.record()
    assert _differences(pip_field, field) == {}
    assert field == pip_field


# -- installer-generated wrappers ------------------------------------------------------


def _describe(venv: Venv, distribution: str, *, env: dict[str, str] | None = None) -> dict:
    code = (
        "import json, sys; from importlib import metadata;"
        "from insidellms_provenance.fingerprint.distribution import describe_distribution;"
        "print(json.dumps(describe_distribution(metadata.distribution(sys.argv[1]))[0]))"
    )
    result = venv.run("-c", code, distribution, env=env)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_pip_versioned_wrappers_do_not_make_pips_digest_installer_dependent(
    wheels, tools, tmp_path
):
    """pip and uv add ``pip3.X`` (not in pip's entry_points.txt); ``installer`` does not."""
    pip_wheel = next(tools.glob("pip-*.whl"))
    installer_wheel = next(tools.glob("installer-*.whl"))
    by_pip = _env(tmp_path / "pip", "pip", wheels)
    install(by_pip, str(pip_wheel), find_links=tools)
    by_uv = _env(tmp_path / "uv", "uv", wheels)
    install(by_uv, str(pip_wheel), find_links=tools)
    by_installer = _env(tmp_path / "installer", "pip", wheels)
    result = by_installer.run(
        "-m", "installer", str(pip_wheel), env={"PYTHONPATH": str(installer_wheel)}
    )
    assert result.returncode == 0, result.stderr.decode()

    minor = f"pip{sys.version_info[0]}.{sys.version_info[1]}"
    assert (by_pip.root / "bin" / minor).exists()
    assert (by_uv.root / "bin" / minor).exists()
    assert not (by_installer.root / "bin" / minor).exists()
    described = [_describe(venv, "pip") for venv in (by_pip, by_uv, by_installer)]
    assert described[0]["problems"] == []
    assert described[0] == described[1] == described[2]
