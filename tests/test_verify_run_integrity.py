"""``verify`` on real installs: the run's dependencies, and namespace directories made packages.

``verify RUN`` re-hashes the files of every distribution in the run's dependency closure
as it does the plugins' (docs/verify.md), so an in-place edit of a dependency the plugin
imports is reported, while a distribution outside every closure is not looked at. An
``__init__`` dropped into a plugin's PEP 420 namespace directory, which Python runs before
the plugin's module, is reported by ``verify`` and ``verify RUN`` alike. Real wheels,
installed by real pip and uv.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from plugin_catalog import GROUP
from venvtools import Venv, create_venv, install
from wheelbuilder import WheelSpec, build_wheel

if TYPE_CHECKING:
    import subprocess

# Every wheel of the chains: chain-plugin -> lib-a -> lib-b[fast] -> lib-c, chain-other ->
# lib-c; lib-d and lib-never are installed and in no closure (dependency_catalog.py).
EVERYTHING = ("chain-plugin", "chain-other", "lib-b==2.0.0", "lib-d", "lib-never")
EVIL = b"VERSION = 'not the installed code'\n"


def _venv(tmp_path: Path, installer: str, find_links: Path, wheelhouse: Path, *names: str) -> Venv:
    venv = create_venv(tmp_path / "venv", installer)
    extra = ("--find-links", str(wheelhouse))
    install(venv, "insidellms-provenance", *names, find_links=find_links, extra=extra)
    return venv


def _cli(venv: Venv, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    result = venv.run("-m", "insidellms_provenance", *arguments)
    assert b"Traceback" not in result.stderr, result.stderr.decode()
    return result


def _verify_json(venv: Venv, *arguments: str) -> tuple[int, dict[str, object]]:
    result = _cli(venv, "verify", *arguments, "--format", "json")
    return result.returncode, json.loads(result.stdout)


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_verify_run_checks_the_runs_dependencies(tmp_path, installer, chain_wheels, wheelhouse):
    venv = _venv(tmp_path, installer, chain_wheels, wheelhouse, *EVERYTHING)
    run = tmp_path / "run.json"
    run.write_bytes(venv.record())
    assert _verify_json(venv, str(run))[0] == 0
    # lib-d is installed but in no closure: not the run's code, not checked.
    (venv.site_packages / "lib_d" / "__init__.py").write_bytes(EVIL)
    code, clean = _verify_json(venv, str(run))
    assert (code, clean["checked"], clean["findings"]) == (0, 5, [])
    # lib-c, reached only through lib-a -> lib-b[fast], edited in place (RECORD untouched).
    (venv.site_packages / "lib_c" / "__init__.py").write_bytes(EVIL)
    code, report = _verify_json(venv, str(run))
    assert code == 1
    assert report["checked"] == 5  # 2 plugins, lib-a, lib-b, lib-c: each once
    assert report["findings"] == [
        {
            "distribution": "lib-c",
            "path": "lib_c/__init__.py",
            "problem": "content does not match RECORD hash",
        }
    ]
    assert report["reproducibility"] == {"identical": True, "changes": []}
    text = _cli(venv, "verify", str(run)).stdout.decode()
    assert "or in the run's dependencies: 1 problem" in text
    assert "lib-c  lib_c/__init__.py  content does not match RECORD hash" in text
    # Plain verify judges the group's plugin distributions only (docs/verify.md).
    code, plain = _verify_json(venv)
    assert (code, plain["checked"]) == (0, 2)


def test_a_dependency_that_is_a_plugin_too_is_checked_once(tmp_path, wheelhouse):
    wheels = tmp_path / "wheels"
    for spec in (
        WheelSpec(
            name="outer",
            version="1.0",
            files={"outer/__init__.py": b"import inner\ndef register():\n    return None\n"},
            entry_points={GROUP: {"outer": "outer:register"}},
            requires_dist=("inner",),
        ),
        WheelSpec(
            name="inner",
            version="1.0",
            files={"inner/__init__.py": b"def register():\n    return None\n"},
            entry_points={GROUP: {"inner": "inner:register"}},
        ),
    ):
        build_wheel(spec, wheels)
    venv = _venv(tmp_path, "uv", wheels, wheelhouse, "outer", "inner")
    run = tmp_path / "run.json"
    run.write_bytes(venv.record())
    (venv.site_packages / "inner" / "__init__.py").write_bytes(EVIL)
    code, report = _verify_json(venv, str(run))
    assert (code, report["checked"]) == (1, 2)
    assert [finding["path"] for finding in report["findings"]] == ["inner/__init__.py"]


NAMESPACE_INIT = "unexpected file: Python runs it before any module below its directory"


@pytest.mark.parametrize("installer", ["uv", "pip"])
@pytest.mark.parametrize(
    ("files", "entry", "dropped"),
    [
        ({"nsplug/core.py": b"def register():\n    return None\n"}, "nsplug.core", "nsplug"),
        (
            {
                "nsx/deep/pkg/__init__.py": b"def register():\n    return None\n",
                "nsx/deep/pkg/util.py": b"",
            },
            "nsx.deep.pkg",
            "nsx/deep",
        ),
    ],
    ids=["module-in-a-namespace", "package-below-namespaces"],
)
def test_an_init_dropped_into_a_namespace_directory_is_reported(  # noqa: PLR0917 - the case
    tmp_path, wheelhouse, installer, files, entry, dropped
):
    wheels = tmp_path / "wheels"
    name = entry.partition(".")[0]
    spec = WheelSpec(
        name=name, version="1.0", files=files, entry_points={GROUP: {name: f"{entry}:register"}}
    )
    build_wheel(spec, wheels)
    venv = _venv(tmp_path, installer, wheels, wheelhouse, name)
    run = tmp_path / "run.json"
    run.write_bytes(venv.record())
    assert _verify_json(venv)[0] == 0
    dropped_init = venv.site_packages / dropped / "__init__.py"
    dropped_init.write_text("import os\n")
    # Python now runs the dropped file first (the test imports nothing: a plain lookup).
    for arguments in ((), (str(run),)):
        code, report = _verify_json(venv, *arguments)
        assert code == 1, report
        assert report["findings"] == [
            {"distribution": name, "path": f"{dropped}/__init__.py", "problem": NAMESPACE_INIT}
        ]
    recorded = json.loads(venv.record())
    integrity = recorded["plugins"][0]["distribution"]["integrity"]
    assert (integrity["status"], integrity["paths"]) == ("modified", [f"{dropped}/__init__.py"])
