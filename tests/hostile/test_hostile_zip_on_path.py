"""A plugin imported from a zip archive on ``sys.path`` is ``unverifiable``, not tampered.

``zipimport`` loads it and ``importlib.metadata`` reads its RECORD, but its files are
members of the archive: the integrity check reported each one ``missing`` and the intact
archive read as ``modified``. It is now one problem on that distribution (its RECORD:
nothing it lists was checked), the status ``unverifiable``, and verdicts still fail
(exit 1). The plugin beside it, in a directory, is verified as before; no file changes.
"""

from __future__ import annotations

import json
import zipfile
from typing import Any

import pytest
from hostile_kit import Case, Result, World, run_case

from conftest import good_plugin

PROBLEM = "unreadable (inside an archive file: the files it lists are not checked)"


def _zipped(*args: str) -> Any:
    def make(world: World) -> list[str]:
        good_plugin(world, "good_plugin")
        inner = World(world.root / "zipped")
        good_plugin(inner, "zip_plugin")
        with zipfile.ZipFile(world.path("plugins.zip"), "w") as archive:
            for path in sorted(inner.site.rglob("*")):
                archive.write(path, path.relative_to(inner.site).as_posix())
        world.env["PYTHONPATH"] = f"{world.site}:{world.path('plugins.zip')}"
        return list(args)

    return make


def _recorded(_world: World, result: Result) -> None:
    integrity = {
        plugin["entry_point"]["name"]: plugin["distribution"]["integrity"]
        for plugin in json.loads(result.stdout)["plugins"]
    }
    assert integrity["good_plugin"]["status"] == "verified"
    assert (integrity["zip_plugin"]["status"], integrity["zip_plugin"]["paths"]) == (
        "unverifiable",
        ["zip_plugin-1.0.dist-info/RECORD"],
    )


def _verified(_world: World, result: Result) -> None:
    findings = json.loads(result.stdout)["findings"]
    assert [(f["distribution"], f["path"], f["problem"]) for f in findings] == [
        ("zip-plugin", "zip_plugin-1.0.dist-info/RECORD", PROBLEM)
    ]


CASES = [
    Case("record", _zipped("record"), 0, "good_plugin", check=_recorded),
    Case("verify-json", _zipped("verify", "--format", "json"), 1, check=_verified),
    Case("check-live", _zipped("check", "--no-load"), 1, "zip_plugin"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_plugin_in_a_zip_is_unverifiable_not_modified(case: Case, world: World) -> None:
    run_case(case, world)
