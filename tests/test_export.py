"""``export`` (pylock, CycloneDX, in-toto), ``verify RUN --wheels`` and ``check --lock``:
goldens, validation by the standards' own tools, and the offline round trip with real uv."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from golden import GOLDEN, check_golden
from plugin_catalog import GOOD, catalog
from test_cli import cli
from venvtools import UV_ENVIRONMENT, Venv, create_venv, install, uv_executable
from wheelbuilder import build_wheel

FIELD = GOLDEN / "record" / "field.json"

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


FORMATS = {"pylock": "pylock.toml", "cyclonedx": "bom.cdx.json", "in-toto": "statement.json"}


def export_to(
    field: Path, fmt: str, wheels: Path, output: Path
) -> subprocess.CompletedProcess[bytes]:
    """``export FIELD --format FMT --wheels WHEELS --output OUTPUT``."""
    return cli(
        "export", str(field), "--format", fmt, "--wheels", str(wheels), "--output", str(output)
    )


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_golden_and_exit_1_with_warnings(catalog_wheels, tmp_path, fmt):
    output = catalog_wheels.parent / FORMATS[fmt]
    result = export_to(FIELD, fmt, catalog_wheels, output)
    assert result.returncode == 1, result.stderr
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert (
        "beta_plugin 2.1.0 (plugins: beta): same name and version, other content: a silent rebuild"
        in stderr
    )
    check_golden(f"export/{FORMATS[fmt]}", output.read_bytes())
    again = export_to(FIELD, fmt, catalog_wheels, output)
    assert again.returncode == 1
    check_golden(f"export/{FORMATS[fmt]}", output.read_bytes())


def test_pylock_is_valid_pep_751_and_pins_exact_wheels(catalog_wheels):
    from packaging.pylock import Pylock

    output = catalog_wheels.parent / "pylock.toml"
    export_to(FIELD, "pylock", catalog_wheels, output)
    lock = Pylock.from_dict(tomllib.loads(output.read_text()))
    packages = {str(p.name): p for p in lock.packages}
    assert "beta-plugin" not in packages  # a rebuild is not what ran
    alpha = packages["alpha-plugin"]
    assert [w.path for w in alpha.wheels or []] == ["wheels/alpha_plugin-1.0.0-py3-none-any.whl"]
    unpinned = {u["name"]: u for u in lock.tool["insidellms-provenance"]["unpinned"]}  # type: ignore[index]
    assert set(unpinned) == {"beta-plugin", "noisy-plugin"}
    assert "not pinned" in unpinned["noisy-plugin"]["reason"]


def test_cyclonedx_validates_against_the_official_schema(catalog_wheels):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    result = cli("export", str(FIELD), "--format", "cyclonedx", "--wheels", str(catalog_wheels))
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(result.stdout.decode())
    assert error is None, error
    bom = json.loads(result.stdout)
    alpha = next(c for c in bom["components"] if c["name"] == "Alpha-Plugin")
    assert alpha["purl"] == "pkg:pypi/alpha-plugin@1.0.0"
    assert alpha["hashes"][0]["alg"] == "SHA-256"
    names = {p["name"] for p in alpha["properties"]}
    assert {
        "insidellms-provenance:record_digest",
        "insidellms-provenance:plugin:alpha:manifest_digest",
        "insidellms-provenance:plugin:alpha:entry_point",
        "insidellms-provenance:plugin:alpha:load",
    } <= names
    beta = next(c for c in bom["components"] if c["name"] == "beta_plugin")
    assert "hashes" not in beta


def test_cyclonedx_serial_and_timestamp_only_when_asked(catalog_wheels):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    plain = cli("export", str(FIELD), "--format", "cyclonedx")
    assert plain.returncode == 0, plain.stderr
    assert b"serialNumber" not in plain.stdout
    assert b"timestamp" not in plain.stdout
    asked = cli("export", str(FIELD), "--format", "cyclonedx", "--serial-number", "--timestamp")
    value = json.loads(asked.stdout)
    assert value["serialNumber"].startswith("urn:uuid:")
    assert "timestamp" in value["metadata"]
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(asked.stdout.decode()) is None


def test_in_toto_parses_with_the_reference_bindings(catalog_wheels):
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement

    result = cli("export", str(FIELD), "--format", "in-toto", "--wheels", str(catalog_wheels))
    # Unknown field names are errors: every name is the specification's.
    proto = json_format.Parse(result.stdout, statement_pb2.Statement())
    Statement.copy_from_pb(proto).validate()
    value = json.loads(result.stdout)
    predicate = json_format.ParseDict(value["predicate"], provenance_pb2.Provenance())
    dependencies = predicate.build_definition.resolved_dependencies
    assert len(dependencies) == 11
    for descriptor in dependencies:
        ResourceDescriptor.copy_from_pb(descriptor).validate()
    alpha = next(
        d
        for d in value["predicate"]["buildDefinition"]["resolvedDependencies"]
        if d["uri"].startswith("pkg:pypi/alpha-plugin@")
    )
    assert alpha["name"] == "alpha_plugin-1.0.0-py3-none-any.whl"
    assert set(alpha["digest"]) == {"sha256"}
    assert alpha["annotations"]["insidellms-provenance"]["record_digest"].startswith("sha256:")
    assert (
        value["subject"][0]["digest"]["sha256"]
        == __import__("hashlib").sha256(FIELD.read_bytes()).hexdigest()
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--format", "pylock", "--output", "lock.toml"], "pylock.toml or pylock.<name>.toml"),
        (["--format", "pylock", "--serial-number"], "apply to --format cyclonedx only"),
        (["--format", "pylock", "--wheels", "nowhere"], "nowhere: not a directory"),
        (["--format", "cyclonedx", "--output", "field.json"], "refusing to overwrite an input"),
        (["--format", "cyclonedx", "--output", "."], "is a directory"),
    ],
)
def test_bad_export_input_is_one_line_exit_2(tmp_path, args, fragment):
    run = tmp_path / "field.json"
    run.write_bytes(FIELD.read_bytes())
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli("export", str(run), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert fragment in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert run.read_bytes() == FIELD.read_bytes()


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_verify_wheels_golden(catalog_wheels, fmt):
    result = cli("verify", str(FIELD), "--wheels", str(catalog_wheels), "--format", fmt)
    assert result.returncode == 1, result.stderr
    check_golden(
        f"export/verify-wheels.{ {'text': 'txt', 'json': 'json', 'markdown': 'md'}[fmt] }",
        result.stdout,
    )


def test_verify_wheels_needs_a_run(catalog_wheels):
    result = cli("verify", "--wheels", str(catalog_wheels))
    assert result.returncode == 2
    assert b"--wheels needs a RUN" in result.stderr


def uv_install_lock(venv, lock: Path) -> subprocess.CompletedProcess[bytes]:
    command = [
        uv_executable(),
        "pip",
        "install",
        "--quiet",
        "--offline",
        "--python",
        str(venv.python),
    ]
    return subprocess.run(
        [*command, "-r", str(lock)],
        capture_output=True,
        check=False,
        env={**os.environ, **UV_ENVIRONMENT},
    )


def export_lock(
    env: Venv, run: Path, wheels: Path, lock: Path
) -> subprocess.CompletedProcess[bytes]:
    """``export --format pylock`` run by the env's own copy of the tool."""
    arguments = ["export", str(run), "--format", "pylock", "--wheels", str(wheels)]
    return env.run("-m", "insidellms_provenance", *arguments, "--output", str(lock))


@pytest.mark.slow
def test_round_trip_offline_with_real_uv(make_env, wheelhouse, tmp_path):
    """Record in an env installed from a wheelhouse; lock; install the lock elsewhere; verify."""
    env = make_env("uv", GOOD)
    run = tmp_path / "run.json"
    run.write_bytes(env.record())

    # 1. The lock, from the env's own copy of the tool.
    lock = tmp_path / "lock" / "pylock.toml"
    lock.parent.mkdir()
    exported = export_lock(env, run, wheelhouse, lock)
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr == b""
    packages = tomllib.loads(lock.read_text())["packages"]
    assert sorted(p["name"] for p in packages) == ["alpha-plugin", "beta-plugin", "gamma-plugin"]

    # 2. A fresh venv at another path, the lock installed by uv, offline.
    elsewhere = create_venv(tmp_path / "somewhere else" / "venv", "uv")
    install(elsewhere, "insidellms-provenance", find_links=wheelhouse)
    installed = uv_install_lock(elsewhere, lock)
    assert installed.returncode == 0, installed.stderr
    verified = elsewhere.run("-m", "insidellms_provenance", "verify", str(run))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert b"this environment matches the run" in verified.stdout

    # 3. check --lock: the run is exactly the lock, wheels at hand.
    checked = cli("check", str(run), "--lock", str(lock))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # 4. The wheelhouse with beta silently rebuilt under the same version.
    rebuilt_house = tmp_path / "rebuilt"
    shutil.copytree(wheelhouse, rebuilt_house)
    beta = catalog()["beta"].with_changed_byte("beta_plugin/__init__.py")
    build_wheel(beta, rebuilt_house)
    relock = tmp_path / "relock" / "pylock.toml"
    relock.parent.mkdir()
    exported = export_lock(env, run, rebuilt_house, relock)
    assert exported.returncode == 1
    assert (
        b"beta_plugin 2.1.0 (plugins: beta): same name and version, other content: a silent rebuild"
        in exported.stderr
    )
    matched = cli("verify", str(run), "--wheels", str(rebuilt_house))
    assert matched.returncode == 1
    assert re.search(
        rb"\nbeta_plugin 2\.1\.0 +rebuilt +beta +beta_plugin-2\.1\.0-py3-none-any\.whl: same name and version, other content: a silent rebuild\n",
        matched.stdout,
    )

    # Installing from that wheelhouse gets the rebuild: verify names it.
    second = create_venv(tmp_path / "second" / "venv", "uv")
    install(second, "insidellms-provenance", "beta_plugin", find_links=rebuilt_house)
    assert uv_install_lock(second, relock).returncode == 0
    verified = second.run("-m", "insidellms_provenance", "verify", str(run))
    assert verified.returncode == 1
    assert re.search(
        rb"\nbeta +critical +content +beta_plugin 2\.1\.0: same version, different installed files",
        verified.stdout,
    ), verified.stdout

    # check --lock fails when the lock's wheel at hand is the rebuild.
    tampered_dir = tmp_path / "tampered"
    shutil.copytree(lock.parent, tampered_dir)
    text = (tampered_dir / "pylock.toml").read_text()
    original_path = next(
        w["path"] for p in packages if p["name"] == "beta-plugin" for w in p["wheels"]
    )
    (tampered_dir / "wheels").mkdir()
    shutil.copy(rebuilt_house / beta.filename, tampered_dir / "wheels" / beta.filename)
    (tampered_dir / "pylock.toml").write_text(
        text.replace(original_path, f"wheels/{beta.filename}")
    )
    failed = cli("check", str(run), "--lock", str(tampered_dir / "pylock.toml"))
    assert failed.returncode == 1
    assert b"beta" in failed.stdout
    assert b"sha256 differs" in failed.stdout


def test_check_lock_fails_on_other_names_and_versions(tmp_path):
    lock = tmp_path / "pylock.toml"
    lock.write_text(
        'lock-version = "1.0"\ncreated-by = "test"\n'
        '[[packages]]\nname = "alpha-plugin"\nversion = "9.9"\n'
        '[packages.archive]\nurl = "https://example.invalid/a.whl"\nhashes = {sha256 = "00"}\n'
        '[[packages]]\nname = "other"\nversion = "1"\n'
        '[packages.archive]\nurl = "https://example.invalid/o.whl"\nhashes = {sha256 = "00"}\n'
    )
    result = cli("check", str(FIELD), "--lock", str(lock), "--format", "json")
    assert result.returncode == 1
    messages = [
        v["message"] for v in json.loads(result.stdout)["violations"] if v["rule"] == "lock"
    ]
    assert "Alpha-Plugin is 1.0.0 in the run, 9.9 in the lock" in messages
    assert "other 1 is locked but not in the run" in messages
    assert "beta_plugin 2.1.0 is not in the lock" in messages


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("not toml [", "not valid TOML"),
        ('lock-version = "1.0"\n', "not a valid PEP 751 lock"),
        ('lock-version = "3.0"\ncreated-by = "x"\npackages = []\n', "not a valid PEP 751 lock"),
        ("fifo", "not a regular file"),
        ("directory", "is a directory"),
    ],
)
def test_check_bad_lock_is_exit_2(tmp_path, content, fragment):
    lock = tmp_path / "pylock.toml"
    if content == "fifo":
        os.mkfifo(lock)
    elif content == "directory":
        lock.mkdir()
    else:
        lock.write_text(content)
    result = cli("check", str(FIELD), "--lock", str(lock))
    assert result.returncode == 2, result.stdout
    assert fragment in result.stderr.decode()
    assert len(result.stderr.decode().splitlines()) == 1


@pytest.mark.parametrize("fmt", ["pylock", "cyclonedx", "in-toto"])
def test_exports_do_not_depend_on_hash_seed_locale_or_time_zone(catalog_wheels, tmp_path, fmt):
    outputs = set()
    for seed, zone, locale in (("0", "UTC", "C"), ("12345", "Asia/Kolkata", "C.UTF-8")):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "insidellms_provenance",
                "export",
                str(FIELD),
                "--format",
                fmt,
                "--wheels",
                str(catalog_wheels),
            ],
            capture_output=True,
            check=False,
            cwd=catalog_wheels.parent,
            env={**os.environ, "PYTHONHASHSEED": seed, "TZ": zone, "LC_ALL": locale},
        )
        assert result.returncode == 1, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_cyclonedx_finds_each_components_plugins_in_linear_work():
    # Each component sorted and scanned every plugin: 8,000 plugins took 42 s.
    import copy

    from insidellms_provenance.analyze._reproduce import match_wheels
    from insidellms_provenance.analyze.export._cyclonedx import cyclonedx_value
    from traced_work import assert_linear

    field = json.loads(FIELD.read_bytes())
    model = field["plugins"][0]

    def call(count: int) -> Callable[[], object]:
        plugins = []
        for index in range(count):
            plugin = copy.deepcopy(model)
            plugin["entry_point"]["name"] = f"p{index:04}"
            plugin["distribution"]["name"] = f"demo-p{index:04}"
            plugin["distribution"]["normalized_name"] = f"demo-p{index:04}"
            plugin["distribution"]["record_digest"] = f"sha256:{index:064}"
            plugins.append(plugin)
        provenance = {**field, "plugins": plugins}
        matches = match_wheels(provenance, ())
        return lambda: cyclonedx_value(provenance, matches, tool_version="0", with_wheels=False)

    assert_linear(call, 150)
