"""``record`` on real wheels installed by real pip and uv into throwaway venvs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from golden import check_golden
from plugin_catalog import ALL, GOOD, catalog
from venvtools import create_venv, install
from wheelbuilder import build_wheel

SPACED = "uv env with a much longer path, and spaces"


@pytest.fixture(scope="module")
def pip_env(make_env):
    return make_env("pip", ALL)


@pytest.fixture(scope="module")
def uv_env(make_env):
    return make_env("uv", ALL, directory=SPACED)


def plugins_by_name(field: bytes) -> dict[str, dict]:
    return {plugin["entry_point"]["name"]: plugin for plugin in json.loads(field)["plugins"]}


def test_pip_and_uv_at_different_paths_record_identical_bytes(pip_env, uv_env):
    assert pip_env.root != uv_env.root
    from_pip = pip_env.record()
    assert from_pip == uv_env.record()
    check_golden("record/field.json", from_pip)


def test_installers_really_wrote_different_records(pip_env, uv_env):
    """The evidence behind docs/record-digest.md, re-checked on every run."""
    info = "alpha_plugin-1.0.0.dist-info"
    pip_info, uv_info = pip_env.site_packages / info, uv_env.site_packages / info
    assert (pip_info / "INSTALLER").read_text().strip() == "pip"
    assert (uv_info / "INSTALLER").read_text().strip() == "uv"
    assert (uv_info / "uv_cache.json").exists()
    assert not (pip_info / "uv_cache.json").exists()
    assert (pip_info / "RECORD").read_bytes() != (uv_info / "RECORD").read_bytes()
    assert (pip_env.root / "bin" / "alpha-tool").read_bytes() != (
        uv_env.root / "bin" / "alpha-tool"
    ).read_bytes()


def test_show_golden(pip_env, tmp_path):
    field = tmp_path / "field.json"
    field.write_bytes(pip_env.record())
    result = pip_env.run("-m", "insidellms_provenance", "show", str(field))
    assert result.returncode == 0, result.stderr
    check_golden("record/show.txt", result.stdout)


def test_record_output_option_writes_the_same_bytes(pip_env, tmp_path):
    output = tmp_path / "out" / "prov.json"
    output.parent.mkdir()
    result = pip_env.run("-m", "insidellms_provenance", "record", "--output", str(output))
    assert result.returncode == 0
    assert result.stdout == b""
    assert output.read_bytes() == pip_env.record()


@pytest.mark.parametrize(
    "variables",
    [
        {"PYTHONHASHSEED": "0"},
        {"PYTHONHASHSEED": "4242"},
        {"PYTHONHASHSEED": "random", "LC_ALL": "C", "TZ": "Pacific/Kiritimati"},
        {"LC_ALL": "C.UTF-8", "LANG": "de_DE.UTF-8", "TZ": "America/St_Johns"},
        {"LC_ALL": "POSIX", "TZ": "UTC", "PYTHONUTF8": "0"},
    ],
)
def test_bytes_do_not_depend_on_hash_seed_locale_or_time_zone(pip_env, variables):
    assert pip_env.record(env=variables) == pip_env.record(env={"PYTHONHASHSEED": "1"})


def test_broken_plugins_are_recorded_not_fatal(pip_env):
    result = pip_env.run("-m", "insidellms_provenance", "record")
    assert result.returncode == 0
    assert b"hello from a noisy plugin" in result.stderr  # plugin stdout kept off stdout
    plugins = plugins_by_name(result.stdout)
    broken = plugins["broken_import_plugin"]
    assert broken["load"] == {
        "status": "failed",
        "error_type": "RuntimeError",
        "error_message": "backend unavailable",
    }
    assert broken["manifest"]["status"] == "error"
    assert plugins["manifest_raises_plugin"]["manifest"]["problems"] == [
        "ValueError: no manifest today"
    ]
    assert plugins["manifest_not_dict_plugin"]["manifest"]["status"] == "invalid"
    assert plugins["manifest_nan_plugin"]["manifest"]["problems"] == [
        "not JSON: $.name: nan is not a JSON number"
    ]
    assert plugins["manifest_set_plugin"]["manifest"]["problems"] == [
        "not JSON: $.capabilities.models: set is not a JSON type"
    ]
    huge = plugins["manifest_huge_plugin"]["manifest"]
    assert huge["status"] == "invalid"
    assert huge["digest"].startswith("sha256:")
    assert plugins["not-callable"]["load"]["status"] == "skipped"
    gamma = plugins["gamma"]["manifest"]
    assert gamma["status"] == "ok"  # found in the parent package of gamma_plugin.hooks
    assert gamma["determinism"] == {"class": "non_deterministic", "notes": "température ≠ 0"}


def test_disabled_plugins_are_not_imported(pip_env):
    plugins = plugins_by_name(pip_env.record(env={"INSIDELLMS_DISABLE_PLUGINS": "1"}))
    assert {p["load"]["status"] for p in plugins.values()} == {"disabled"}
    assert plugins["noisy_plugin"]["manifest"]["status"] == "missing"


def _without(directory: Path, filename: str, target: Path) -> Path:
    target.mkdir()
    for wheel in directory.iterdir():
        if wheel.name != filename:
            shutil.copy2(wheel, target / wheel.name)
    return target


def test_one_changed_byte_changes_that_record_digest_only(make_env, wheelhouse, tmp_path):
    spec = catalog()["alpha"]
    rebuilt = _without(wheelhouse, spec.filename, tmp_path / "rebuilt")
    build_wheel(spec.with_changed_byte("alpha_plugin/models/echo.py"), rebuilt)
    assert (rebuilt / spec.filename).read_bytes() != (wheelhouse / spec.filename).read_bytes()
    before = plugins_by_name(make_env("uv", GOOD).record())
    after = plugins_by_name(make_env("pip", GOOD, find_links=rebuilt).record())
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"alpha"}
    alpha_before, alpha_after = before["alpha"]["distribution"], after["alpha"]["distribution"]
    assert alpha_before["version"] == alpha_after["version"]
    assert alpha_before["record_digest"] != alpha_after["record_digest"]


def _site_record(venv, dist_info: str) -> Path:
    return venv.site_packages / dist_info / "RECORD"


def test_malformed_record_rows_are_reported(make_env):
    venv = make_env("uv", GOOD, fresh=True)
    record = _site_record(venv, "alpha_plugin-1.0.0.dist-info")
    record.write_text(
        record.read_text()
        + "broken,sha256=abc,1,extra\n"
        + "alpha_plugin/x.py,md5=AAAA,1\n"
        + "alpha_plugin/y.py,sha256=not*base64,1\n"
        + "../../../../../etc/passwd,,\n"
        + "/etc/shadow,,\n"
    )
    result = venv.run("-m", "insidellms_provenance", "record")
    assert result.returncode == 0, result.stderr
    problems = plugins_by_name(result.stdout)["alpha"]["distribution"]["problems"]
    assert problems == [
        "RECORD row '../../../../../etc/passwd': path escapes the install root",
        "RECORD row 'alpha_plugin/x.py': unknown or forbidden hash algorithm 'md5'",
        "RECORD row 'alpha_plugin/y.py': hash value 'not*base64' is not urlsafe base64",
        "RECORD row 'broken,sha256=abc,1,extra': expected 3 fields, got 4",
        # An absolute row is quoted redacted: the field holds no absolute path.
        "RECORD row '{path}': absolute path",
    ]


def test_record_that_is_not_csv_is_reported(make_env):
    venv = make_env("pip", GOOD, fresh=True)
    _site_record(venv, "beta_plugin-2.1.0.dist-info").write_text('a.py,"never closed\n')
    plugin = plugins_by_name(venv.record())["beta"]
    beta = plugin["distribution"]
    assert beta["problems"] == ["RECORD is not valid CSV: unexpected end of data"]
    assert beta["record_digest"].startswith("sha256:")
    assert plugin["origin"]["status"] == "unknown"  # RECORD lists no file to own the module


def test_missing_record_and_metadata_fields(make_env):
    venv = make_env("uv", GOOD, fresh=True)
    _site_record(venv, "beta_plugin-2.1.0.dist-info").unlink()
    (venv.site_packages / "gamma_plugin-0.3.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nSummary: no name, no version\n"
    )
    plugins = plugins_by_name(venv.record())
    beta = plugins["beta"]["distribution"]
    assert beta["record_digest"] is None
    assert beta["problems"] == ["RECORD is missing"]
    # No list of its files: whether its module is its own cannot be told, not "shadowed".
    assert plugins["beta"]["origin"]["status"] == "unknown"
    gamma = plugins["gamma"]["distribution"]
    assert (gamma["name"], gamma["normalized_name"], gamma["version"]) == (
        "gamma_plugin",
        "gamma-plugin",
        "0.3.0",
    )
    assert gamma["problems"] == ["METADATA has no Name", "METADATA has no Version"]


def test_shadowed_module_and_duplicate_distribution(make_env, tmp_path):
    venv = make_env("pip", GOOD)
    shadow = tmp_path / "shadow"
    (shadow / "alpha_plugin").mkdir(parents=True)
    (shadow / "alpha_plugin" / "__init__.py").write_text("def register():\n    pass\n")
    copy = tmp_path / "copy"
    copy.mkdir()
    info = copy / "beta_plugin-0.9.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: beta_plugin\nVersion: 0.9.0\n")
    (copy / "beta_plugin").mkdir()
    (copy / "beta_plugin" / "__init__.py").write_text("def register():\n    pass\n")
    (info / "entry_points.txt").write_text("[insidellms.plugins]\nbeta = beta_plugin:register\n")
    (info / "RECORD").write_text(
        "beta_plugin/__init__.py,,\nbeta_plugin-0.9.0.dist-info/METADATA,,\n"
    )
    plugins = plugins_by_name(venv.record(env={"PYTHONPATH": f"{shadow}:{copy}"}))
    assert plugins["alpha"]["origin"] == {"status": "shadowed", "duplicate_versions": []}
    assert plugins["beta"]["distribution"]["version"] == "0.9.0"
    assert plugins["beta"]["origin"] == {"status": "ok", "duplicate_versions": ["0.9.0", "2.1.0"]}


EDITABLE_PYPROJECT = """\
[build-system]
requires = ["flit_core>=3.9,<5"]
build-backend = "flit_core.buildapi"

[project]
name = "delta-plugin"
version = "0.1.0"
description = "An editable test plugin"

[project.entry-points."insidellms.plugins"]
delta = "delta_plugin:register"
"""


@pytest.fixture(scope="module")
def flit_wheelhouse(wheelhouse, tmp_path_factory):
    """flit_core for building editable wheels offline (fetched once, like the deps)."""
    directory = tmp_path_factory.mktemp("flit")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--dest",
            str(directory),
            "flit_core>=3.9,<5",
        ],
        check=True,
    )
    return directory


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_editable_install_digest_follows_source_edits(
    installer, tmp_path, wheelhouse, flit_wheelhouse
):
    project = tmp_path / "delta"
    (project / "delta_plugin").mkdir(parents=True)
    (project / "pyproject.toml").write_text(EDITABLE_PYPROJECT)
    source = project / "delta_plugin" / "__init__.py"
    source.write_text('"""Delta."""\n\n__version__ = "0.1.0"\n\n\ndef register():\n    pass\n')
    venv = create_venv(tmp_path / "venv", installer)
    install(venv, "insidellms-provenance", find_links=wheelhouse)
    install(
        venv,
        "-e",
        str(project),
        find_links=flit_wheelhouse,
        extra=("--find-links", str(wheelhouse)),
    )
    before = plugins_by_name(venv.record())["delta"]
    assert before["source"]["kind"] == "directory"
    assert before["source"]["editable"] is True
    assert before["source"]["local_name"] is None  # never the checkout directory's name
    assert before["origin"]["status"] == "ok"
    source.write_text(source.read_text() + "\n# edited\n")
    after = plugins_by_name(venv.record())["delta"]
    assert after["source"]["editable_digest"] != before["source"]["editable_digest"]
    assert after["distribution"]["record_digest"] == before["distribution"]["record_digest"]
