"""``check``'s ``origin`` rule: a plugin whose module is not its distribution's own fails.

The live environment and a recorded run alike; on by default, like ``integrity`` and
``load``. ``unknown`` (nothing to compare) passes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from insidellms_provenance.analyze._check import Policy, check_policy, policy_from
from test_cli import GOLDEN_FIELD, cli
from venvtools import Venv, create_venv, install
from wheelbuilder import WheelSpec, build_wheel

GROUP = "insidellms.plugins"


def golden_with_origin(tmp_path: Path, status: str, versions: list[str]) -> Path:
    """The golden field with its first plugin's origin replaced, digest made again."""
    from insidellms_provenance.field._build import field_digest

    field = json.loads(GOLDEN_FIELD.read_bytes())
    field["plugins"][0]["origin"] = {"status": status, "duplicate_versions": versions}
    field["digest"] = field_digest(field)
    path = tmp_path / "field.json"
    path.write_text(json.dumps(field))
    return path


SHADOWED = b"alpha  origin  origin shadowed: the module imported is not one of its distribution's"


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ([], SHADOWED + b" files\n"),
        (["0.9.0", "1.0.0"], SHADOWED + b" files (installed copies: 0.9.0, 1.0.0)\n"),
    ],
)
def test_a_shadowed_plugin_fails_check_run_and_unknown_passes(tmp_path, versions, message):
    path = golden_with_origin(tmp_path, "shadowed", versions)
    before = path.read_bytes()
    result = cli("check", str(path), "--no-load")
    assert result.returncode == 1, result.stdout
    assert message in result.stdout
    assert b"Traceback" not in result.stderr
    assert path.read_bytes() == before
    unknown = cli("check", str(golden_with_origin(tmp_path, "unknown", versions)), "--no-load")
    assert (unknown.returncode, unknown.stdout.splitlines()[0]) == (
        0,
        b"policy: 11 plugin(s) of group insidellms.plugins checked, 0 violations",
    )


def test_the_rule_is_on_by_default_and_can_be_turned_off():
    field = json.loads(GOLDEN_FIELD.read_bytes())
    field["plugins"][0]["origin"] = {"status": "shadowed", "duplicate_versions": []}
    assert policy_from({}).origin
    assert [v.rule for v in check_policy(field, Policy(load=False))] == ["origin"]
    assert check_policy(field, Policy(load=False, origin=False)) == []
    assert check_policy(field, policy_from({"load": False, "origin": False})) == []


NAMESPACE_PLUGIN = WheelSpec(
    name="ns-plug",
    version="1.0",
    files={"nsplug/plug.py": b"def register():\n    return 'installed'\n"},
    entry_points={GROUP: {"nsplug": "nsplug.plug:register"}},
)


@pytest.fixture
def shadowed(wheelhouse: Path, tmp_path: Path) -> tuple[Venv, Path]:
    """A uv venv where ``nsplug/plug/__init__.py``, added later, replaces ``nsplug/plug.py``.

    Every RECORD-listed file still matches (integrity ``verified``): only the origin
    check sees that other code runs. Returns the venv and a field recorded before.
    """
    build_wheel(NAMESPACE_PLUGIN, tmp_path / "links")
    venv = create_venv(tmp_path / "venv", "uv")
    install(
        venv,
        "insidellms-provenance",
        "ns-plug",
        find_links=tmp_path / "links",
        extra=("--find-links", str(wheelhouse)),
    )
    clean = tmp_path / "clean.json"
    clean.write_bytes(venv.record())
    added = venv.site_packages / "nsplug" / "plug" / "__init__.py"
    added.parent.mkdir()
    added.write_bytes(b"def register():\n    return 'other code'\n")
    return venv, clean


def run(venv: Venv, *args: str) -> Any:
    return venv.run("-m", "insidellms_provenance", *args, env={"PYTHONDONTWRITEBYTECODE": "1"})


def snapshot(root: Path, skip: set[Path]) -> dict[str, bytes | str]:
    """Every file and link below ``root`` but ``skip``: its bytes, or its target."""
    return {
        str(path): os.readlink(path) if path.is_symlink() else path.read_bytes()
        for path in root.rglob("*")
        if path not in skip and (path.is_symlink() or path.is_file())
    }


def test_a_shadowed_plugin_fails_live_check_and_check_run(shadowed, tmp_path):
    venv, clean = shadowed
    now = tmp_path / "now.json"
    before = snapshot(tmp_path, {now})
    live = run(venv, "check")
    recorded = run(venv, "record", "--output", str(now))
    of_run = run(venv, "check", str(now))
    of_clean = run(venv, "check", str(clean))
    assert snapshot(tmp_path, {now}) == before  # nothing changed but record's output
    for result in (live, recorded, of_run, of_clean):
        assert b"Traceback" not in result.stderr, result.stderr
    # Both rules see it: origin (the module imported is not the listed one) and
    # integrity (an entry Python imports in place of a listed module is a finding).
    expected = (
        b"nsplug  integrity  integrity modified: nsplug/plug/__init__.py\n"
        b"nsplug  origin     origin shadowed: the module imported is not one of its"
    )
    assert live.returncode == 1, live.stdout
    assert expected in live.stdout
    assert b"2 violations\n" in live.stdout
    plugin = json.loads(now.read_bytes())["plugins"][0]
    assert (plugin["origin"]["status"], plugin["distribution"]["integrity"]["status"]) == (
        "shadowed",
        "modified",
    )
    assert of_run.returncode == 1, of_run.stdout
    assert expected in of_run.stdout
    only_origin = run(venv, "check", str(now), "--no-integrity")
    assert only_origin.returncode == 1, only_origin.stdout
    assert b"1 violation\n" in only_origin.stdout
    assert b"nsplug  origin  origin shadowed" in only_origin.stdout
    assert of_clean.returncode == 0, of_clean.stdout  # the run before it was added
