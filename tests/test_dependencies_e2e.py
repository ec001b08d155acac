"""Dependency closures end to end: real chains installed by real pip and uv, then recorded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dependency_catalog import CLOSURES
from golden import check_golden
from venvtools import Venv, create_venv, install, uv_executable

# lib-d (behind an extra nobody names) and lib-never (behind a false marker) are
# installed too: present, and still in no closure.
EVERYTHING = ("chain-plugin", "chain-other", "lib-b==2.0.0", "lib-d", "lib-never")


@pytest.fixture
def make_chain_env(tmp_path_factory, wheelhouse, chain_wheels):
    def make(installer: str, *requirements: str, directory: str = "env") -> Venv:
        venv = create_venv(tmp_path_factory.mktemp(directory) / "venv", installer)
        extra = ("--find-links", str(wheelhouse))
        install(venv, "insidellms-provenance", *requirements, find_links=chain_wheels, extra=extra)
        return venv

    return make


def change(venv: Venv, *arguments: str) -> None:
    """Install or uninstall in ``venv`` with its own installer."""
    if venv.installer == "uv":
        command = [uv_executable(), "pip", *arguments[:1], "--python", str(venv.python)]
    else:
        command = [sys.executable, "-m", "pip", "--python", str(venv.python), arguments[0]]
    subprocess.run([*command, *arguments[1:]], check=True, capture_output=True)


def cli(venv: Venv, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    return venv.run("-m", "insidellms_provenance", *arguments)


def chain_plugins(field: dict) -> dict[str, dict]:
    return {
        p["entry_point"]["name"]: p
        for p in field["plugins"]
        if p["entry_point"]["name"].startswith("chain_")
    }


def test_pip_and_uv_record_the_same_closures_in_the_same_bytes(make_chain_env):
    from_pip = make_chain_env("pip", *EVERYTHING).record()
    from_uv = make_chain_env("uv", *EVERYTHING, directory="uv env, elsewhere").record()
    assert from_pip == from_uv
    check_golden("record/dependencies.json", from_pip)
    field = json.loads(from_pip)
    plugins = chain_plugins(field)
    assert {name.replace("_", "-"): p["dependencies"] for name, p in plugins.items()} == CLOSURES
    assert all(p["unsatisfied"] == [] for p in plugins.values())
    # Described once, however many plugins share it; a false marker or an unnamed
    # extra keeps an installed distribution out.
    assert sorted(field["dependencies"]) == ["lib-a", "lib-b", "lib-c"]
    assert field["dependencies"]["lib-b"]["distribution"]["version"] == "2.0.0"


def test_an_upgraded_dependency_is_named_under_each_unchanged_plugin(
    make_chain_env, chain_wheels, tmp_path
):
    venv = make_chain_env("pip", *EVERYTHING)
    before = tmp_path / "before.json"
    before.write_bytes(venv.record())
    links = ("--no-index", "--find-links", str(chain_wheels))
    change(venv, "install", "--quiet", "--no-deps", *links, "lib-b==2.1.0")
    after = tmp_path / "after.json"
    after.write_bytes(venv.record())
    result = cli(venv, "diff", str(before), str(after))
    assert result.returncode == 1, result.stderr
    lines = [line.split() for line in result.stdout.decode().splitlines() if line[:6] == "chain_"]
    assert lines == [
        [
            "chain_plugin",
            "medium",
            "dependency",
            *[
                "unchanged;",
                "its",
                "dependency",
                "lib-b",
                "2.0.0",
                "->",
                "2.1.0",
                "(minor",
                "upgrade)",
            ],
        ]
    ]
    json_report = json.loads(cli(venv, "diff", str(before), str(after), "--format", "json").stdout)
    (only,) = json_report["changes"]
    assert (only["size"], only["direction"]) == ("minor", "upgrade")
    assert cli(venv, "diff", str(before), str(after), "--fail-on=any,-minor").returncode == 0
    assert cli(venv, "diff", str(before), str(after), "--fail-on", "dependency").returncode == 1
    # verify RUN sees the same change in the live environment.
    verified = cli(venv, "verify", str(before))
    assert verified.returncode == 1
    assert b"its dependency lib-b 2.0.0 -> 2.1.0" in verified.stdout


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_a_removed_dependency_is_unsatisfied_and_fails_check(make_chain_env, tmp_path, installer):
    venv = make_chain_env(installer, *EVERYTHING)
    before = tmp_path / "before.json"
    before.write_bytes(venv.record())
    change(venv, "uninstall", "-y" if installer == "pip" else "--quiet", "lib-b")
    after = tmp_path / "after.json"
    after.write_bytes(venv.record())
    plugin = chain_plugins(json.loads(after.read_bytes()))["chain_plugin"]
    assert plugin["dependencies"] == ["lib-a"]  # lib-c came only through lib-b[fast]
    assert plugin["unsatisfied"] == [
        {
            "name": "lib-b",
            "requirement": "lib-b[fast]>=2",
            "required_by": "lib-a",
            "installed": None,
            "reason": "missing",
        }
    ]
    checked = cli(venv, "check", str(after), "--strict-dependencies")
    assert checked.returncode == 1
    assert (
        b"chain_plugin  strict-dependencies  requirement 'lib-b[fast]>=2' of lib-a: not installed"
        in checked.stdout
    )
    assert cli(venv, "check", str(before), "--strict-dependencies").returncode == 0
    shown = cli(venv, "show", str(after)).stdout.decode()
    assert "chain_plugin: unsatisfied requirement 'lib-b[fast]>=2' of lib-a: not installed" in shown
    diffed = cli(venv, "diff", str(before), str(after)).stdout.decode()
    assert "unchanged; unsatisfied requirement 'lib-b[fast]>=2' of lib-a: not installed" in diffed
    assert "unchanged; no longer depends on lib-b 2.0.0" in diffed


def test_show_and_audit_list_closures(make_chain_env, tmp_path):
    venv = make_chain_env("uv", *EVERYTHING)
    run = tmp_path / "runs" / "one"
    run.mkdir(parents=True)
    field = json.loads(venv.record())
    (run / "manifest.json").write_text(json.dumps({"custom": {"plugin_provenance": field}}))
    shown = cli(venv, "show", str(run), "--deps")
    assert shown.returncode == 0, shown.stderr
    assert "  chain_plugin: lib-a 1.0.0, lib-b 2.0.0, lib-c 1.0.0" in shown.stdout.decode()
    assert "  chain_other: lib-c 1.0.0" in shown.stdout.decode()
    check_golden("record/dependencies-show.txt", shown.stdout)
    audited = cli(venv, "audit", str(tmp_path / "runs"), "--deps")
    assert audited.returncode == 0, audited.stderr
    lines = [json.loads(line) for line in audited.stdout.splitlines()]
    assert len({tuple(sorted(line)) for line in lines}) == 1  # every line, every column
    dependency_lines = [
        (line["entry_point"], line["distribution"], line["version"])
        for line in lines
        if line["kind"] == "dependency"
    ]
    assert ("chain_plugin", "lib-b", "2.0.0") in dependency_lines
    assert ("chain_other", "lib-c", "1.0.0") in dependency_lines
    assert not [d for d in dependency_lines if d[1] in ("lib-d", "lib-never")]


def test_recording_closures_stays_on_the_lean_path(make_chain_env):
    """Plain requirements and markers are read without packaging inside a host run."""
    from test_lean_imports import RECORDING_PATH, new_modules, outside

    venv = make_chain_env("pip", *EVERYTHING)
    code = (
        "from insidellms_provenance.fingerprint._recorder import record_field\n"
        "field = record_field('insidellms.plugins')\n"
        "assert sorted(field['dependencies']) == ['lib-a', 'lib-b', 'lib-c']\n"
    )
    loaded = new_modules(venv, code)
    assert "insidellms_provenance.fingerprint._requirements" in loaded
    assert outside(loaded, (*RECORDING_PATH, "chain_plugin", "chain_other")) == []


def test_descriptions_are_cached_where_the_suite_says_never_in_home(
    make_chain_env, tmp_path, monkeypatch
):
    """Recording closures writes description entries: into ``XDG_CACHE_HOME`` as the
    suite sets it (conftest ``private_user_cache``), passed on by ``Venv.run``, never into
    ``HOME``'s ``~/.cache``."""
    cache, home = tmp_path / "cache", tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    make_chain_env("pip", "chain-plugin").record(env={"HOME": str(home)})
    assert list(cache.glob("insidellms-provenance/descriptions/*.json"))
    assert list(home.iterdir()) == []
