"""Dependencies in ``export``, ``verify RUN --wheels`` and ``check --lock`` (issue 17).

Goldens of a run with a dependency chain in every format, the v1 goldens that must not
move, validation by each standard's own tools, and the offline round trip with real pip
and uv: a lock that dropped the dependencies would not reproduce the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
import tomli_w

from dependency_catalog import dependency_catalog
from golden import GOLDEN, check_golden
from insidellms_provenance.analyze._reproduce import dependency_owners, match_wheels
from insidellms_provenance.analyze.export._pylock import build_lock, lock_text
from insidellms_provenance.errors import InvalidFieldError
from insidellms_provenance.field import schema
from insidellms_provenance.field._build import make_field
from insidellms_provenance.fingerprint._wheel import WheelFingerprint
from test_cli import cli
from test_export import FORMATS, export_to, uv_install_lock
from venvtools import Venv, create_venv, install
from wheelbuilder import build_wheel

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

V1_FIELD = GOLDEN / "v1" / "field.json"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_v1_field_exports_as_before(catalog_wheels, fmt):
    """A v1 field has no dependency table: its exports are those of 0.1.0's fields."""
    output = catalog_wheels.parent / FORMATS[fmt]
    result = export_to(V1_FIELD, fmt, catalog_wheels, output)
    assert result.returncode == 1, result.stderr
    check_golden(f"export/v1-{FORMATS[fmt]}", output.read_bytes())


# --- A run with a dependency chain (golden/record/dependencies.json, recorded from real
# pip and uv installs of tests/dependency_catalog.py's wheels).

DEPENDENCIES_FIELD = GOLDEN / "record" / "dependencies.json"
GOLDEN_NAMES = {
    "pylock": "dependencies-pylock.toml",
    "cyclonedx": "dependencies-bom.cdx.json",
    "in-toto": "dependencies-statement.json",
}
REBUILT_WARNING = (
    "lib-b 2.0.0 (dependency of: chain_plugin): same name and version, other content: "
    "a silent rebuild"
)
UNPINNED_WARNING = (
    "lib-c 1.0.0 (dependency of: chain_other, chain_plugin): installed from index, "
    "no matching wheel: content is not pinned"
)


@pytest.fixture(scope="module")
def chain_house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chain's wheels as the run installed them, except: lib-b 2.0.0 silently
    rebuilt, lib-c absent. The plugins and lib-a match exactly."""
    directory = tmp_path_factory.mktemp("dependency-export") / "wheels"
    specs = dependency_catalog()
    for key in ("chain-plugin-1.0.0", "chain-other-1.0.0", "lib-a-1.0.0"):
        build_wheel(specs[key], directory, zipfile.ZIP_STORED)
    rebuilt = specs["lib-b-2.0.0"].with_changed_byte("lib_b/__init__.py")
    build_wheel(rebuilt, directory, zipfile.ZIP_STORED)
    return directory


def export(fmt: str, house: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    return cli("export", str(DEPENDENCIES_FIELD), "--format", fmt, "--wheels", str(house), *extra)


@pytest.mark.parametrize("fmt", list(GOLDEN_NAMES))
def test_dependencies_export_golden_and_warnings(chain_house, fmt):
    output = chain_house.parent / ("pylock.toml" if fmt == "pylock" else GOLDEN_NAMES[fmt])
    result = export(fmt, chain_house, "--output", str(output))
    assert result.returncode == 1, result.stderr
    warnings = result.stderr.decode().splitlines()
    assert f"insidellms-provenance: warning: {REBUILT_WARNING}" in warnings
    if fmt == "pylock":
        assert f"insidellms-provenance: warning: {UNPINNED_WARNING}" in warnings
    assert len(warnings) == (2 if fmt == "pylock" else 1), warnings
    check_golden(f"export/{GOLDEN_NAMES[fmt]}", output.read_bytes())


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("json", "json"), ("markdown", "md")])
def test_dependencies_verify_wheels_golden(chain_house, fmt, suffix):
    result = cli("verify", str(DEPENDENCIES_FIELD), "--wheels", str(chain_house), "--format", fmt)
    assert result.returncode == 1, result.stderr
    check_golden(f"export/dependencies-verify-wheels.{suffix}", result.stdout)


def test_dependencies_lock_is_valid_pep_751_and_pins_what_matched(chain_house):
    from packaging.pylock import Pylock

    output = chain_house.parent / "pylock.toml"
    export("pylock", chain_house, "--output", str(output))
    value = tomllib.loads(output.read_text())
    lock = Pylock.from_dict(value)
    packages = {str(p.name): p for p in lock.packages}
    assert sorted(packages) == ["chain-other", "chain-plugin", "lib-a"]
    (wheel,) = packages["lib-a"].wheels or []
    assert wheel.path == "wheels/lib_a-1.0.0-py3-none-any.whl"
    assert (
        wheel.hashes["sha256"]
        == hashlib.sha256((chain_house / wheel.name).read_bytes()).hexdigest()
    )  # type: ignore[operator]
    tool = {p["name"]: p["tool"]["insidellms-provenance"] for p in value["packages"]}
    assert tool["lib-a"]["required-by"] == ["chain_plugin"]
    assert tool["lib-a"]["plugins"] == []
    assert "required-by" not in tool["chain-plugin"]
    unpinned = {u["name"]: u for u in value["tool"]["insidellms-provenance"]["unpinned"]}
    assert sorted(unpinned) == ["lib-b", "lib-c"]
    assert unpinned["lib-c"]["required-by"] == ["chain_other", "chain_plugin"]
    assert "silent rebuild" in unpinned["lib-b"]["reason"]


def test_dependencies_cyclonedx_validates_and_has_the_graph(chain_house):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    result = export("cyclonedx", chain_house)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(result.stdout.decode())
    assert error is None, error
    bom = json.loads(result.stdout)
    refs = {c["name"]: c["bom-ref"] for c in bom["components"]}
    assert sorted(refs) == ["chain-other", "chain-plugin", "lib-a", "lib-b", "lib-c"]
    graph = {entry["ref"]: entry["dependsOn"] for entry in bom["dependencies"]}
    assert graph == {
        refs["chain-plugin"]: sorted(refs[n] for n in ("lib-a", "lib-b", "lib-c")),
        refs["chain-other"]: [refs["lib-c"]],
    }
    # dependsOn is the closure, and says so; the dependencies' own graphs are unknown.
    assert {"name": "insidellms-provenance:depends_on", "value": "closure"} in bom["metadata"][
        "properties"
    ]
    assert bom["compositions"] == [
        {
            "aggregate": "unknown",
            "dependencies": sorted(refs[n] for n in ("lib-a", "lib-b", "lib-c")),
        }
    ]
    lib_a = next(c for c in bom["components"] if c["name"] == "lib-a")
    assert lib_a["purl"] == "pkg:pypi/lib-a@1.0.0"
    assert lib_a["hashes"][0]["alg"] == "SHA-256"
    lib_b = next(c for c in bom["components"] if c["name"] == "lib-b")
    assert "hashes" not in lib_b  # a silent rebuild is not what ran


def test_dependencies_in_toto_parses_with_the_reference_bindings(chain_house):
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
    from in_toto_attestation.v1.statement import Statement

    result = export("in-toto", chain_house)
    Statement.copy_from_pb(json_format.Parse(result.stdout, statement_pb2.Statement())).validate()
    value = json.loads(result.stdout)
    predicate = json_format.ParseDict(value["predicate"], provenance_pb2.Provenance())
    for descriptor in predicate.build_definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(descriptor).validate()
    resolved = {
        d["annotations"]["insidellms-provenance"]["name"]: d
        for d in value["predicate"]["buildDefinition"]["resolvedDependencies"]
    }
    assert sorted(resolved) == ["chain-other", "chain-plugin", "lib-a", "lib-b", "lib-c"]
    lib_a = resolved["lib-a"]
    assert lib_a["name"] == "lib_a-1.0.0-py3-none-any.whl"
    assert set(lib_a["digest"]) == {"sha256"}
    assert lib_a["annotations"]["insidellms-provenance"]["required_by"] == ["chain_plugin"]
    assert "required_by" not in resolved["chain-plugin"]["annotations"]["insidellms-provenance"]


def test_check_lock_names_a_dependency_the_lock_lacks(tmp_path):
    lock = tmp_path / "pylock.toml"
    packages = "".join(
        f'[[packages]]\nname = "{name}"\nversion = "1.0.0"\n'
        f'[packages.archive]\nurl = "https://example.invalid/{name}.whl"\n'
        'hashes = {sha256 = "00"}\n'
        for name in ("chain-other", "chain-plugin", "lib-a", "lib-c")
    )
    lock.write_text(f'lock-version = "1.0"\ncreated-by = "test"\n{packages}')
    result = cli("check", str(DEPENDENCIES_FIELD), "--lock", str(lock), "--format", "json")
    assert result.returncode == 1, result.stderr
    violations = [v for v in json.loads(result.stdout)["violations"] if v["rule"] == "lock"]
    assert violations == [
        {
            "plugin": "chain_plugin",
            "rule": "lock",
            "message": "lib-b 2.0.0 (a dependency) is not in the lock",
        }
    ]


# --- Matching a dependency table, and the table checks, without a subprocess.

DIGEST = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64
PLUGIN_DIGEST = "sha256:" + "3" * 64  # no test wheel has it: plugins stay unmatched


def _dist(name: str, version: str = "1.0", digest: str | None = DIGEST) -> schema.DistributionInfo:
    return schema.distribution(
        name=name, normalized_name=name, version=version, record_digest=digest
    )


def _plugin(ep: str, dist: str, *closure: str) -> schema.PluginFingerprint:
    return schema.fingerprint(
        entry_point=schema.entry_point(group="insidellms.plugins", name=ep, value=f"{ep}:r"),
        distribution=_dist(dist, digest=PLUGIN_DIGEST),
        source=schema.source(kind="index"),
        origin=schema.origin(status="ok"),
        manifest=schema.manifest_summary(status="missing"),
        load=schema.load_outcome(status="loaded"),
        dependencies=closure,
        unsatisfied=(),
    )


def _field(plugins: list[schema.PluginFingerprint], table: dict[str, schema.Dependency]):
    return make_field("insidellms.plugins", plugins, dependencies=table)


def _entry(dist: schema.DistributionInfo) -> schema.Dependency:
    return schema.dependency(distribution=dist, source=schema.source(kind="index"))


def _wheel(name: str, digest: str = DIGEST) -> WheelFingerprint:
    return WheelFingerprint(
        filename=f"{name.replace('-', '_')}-1.0-py3-none-any.whl",
        digest="sha256:" + "a" * 64,
        distribution=_dist(name, digest=digest),
        listed_digest=digest,
        record_problems=(),
        python=None,
    )


@pytest.mark.parametrize(
    ("wheels", "status"),
    [
        ([_wheel("lib-x")], "exact"),
        ([_wheel("lib-x", OTHER)], "rebuilt"),
        ([], "no_candidate"),
    ],
)
def test_a_dependency_is_matched_like_a_plugin(wheels, status):
    field = _field(
        [_plugin("a", "plugin-a", "lib-x"), _plugin("b", "plugin-b", "lib-x")],
        {"lib-x": _entry(_dist("lib-x"))},
    )
    matches = {m.normalized_name: m for m in match_wheels(field, wheels)}
    assert list(matches) == ["plugin-a", "plugin-b", "lib-x"]  # plugins first, in load order
    assert matches["lib-x"].status == status
    assert matches["lib-x"].plugins == ()
    assert matches["lib-x"].required_by == ("a", "b")
    assert matches["lib-x"].label == "lib-x 1.0 (dependency of: a, b)"
    assert matches["plugin-a"].required_by == ()


def test_a_plugin_distribution_in_another_closure_is_one_match():
    field = _field(
        [_plugin("a", "plugin-a", "plugin-b"), _plugin("b", "plugin-b")],
        {"plugin-b": _entry(_dist("plugin-b", digest=PLUGIN_DIGEST))},
    )
    matches = match_wheels(field, [])
    assert [(m.normalized_name, m.plugins, m.required_by) for m in matches] == [
        ("plugin-a", ("a",), ()),
        ("plugin-b", ("b",), ("a",)),
    ]
    assert matches[1].label == "plugin-b 1.0 (plugins: b; dependency of: a)"
    lock = build_lock(field, matches, wheels_dir=None, lock_dir=Path())
    lock_text(lock.value)  # one entry per distribution: valid PEP 751
    assert [u["name"] for u in lock.value["tool"]["insidellms-provenance"]["unpinned"]] == [
        "plugin-a",
        "plugin-b",
    ]


@pytest.mark.parametrize(
    ("plugins", "table", "fragment"),
    [
        ([_plugin("a", "plugin-a", "ghost")], {}, "'a' depends on 'ghost', which is not in"),
        (
            [_plugin("a", "plugin-a")],
            {"orphan": _entry(_dist("orphan"))},
            "'orphan' is in no plugin's dependency closure",
        ),
        (
            [_plugin("a", "plugin-a", "Lib_X")],
            {"Lib_X": _entry(_dist("Lib_X"))},
            "'Lib_X' is not the PEP 503 name",
        ),
        (
            [_plugin("a", "plugin-a", "lib-x")],
            {"lib-x": _entry(_dist("lib-z"))},
            "'lib-x' is not the PEP 503 name of its distribution 'lib-z'",
        ),
        (
            [_plugin("a", "plugin-a", "plugin-b"), _plugin("b", "plugin-b")],
            {"plugin-b": _entry(_dist("plugin-b", digest=OTHER))},
            "'plugin-b' is not the installed plugin distribution of that name",
        ),
    ],
)
def test_a_table_that_contradicts_the_plugins_is_refused(plugins, table, fragment):
    field = _field(plugins, table)
    with pytest.raises(
        InvalidFieldError, match=r"run\.json: provenance field is malformed"
    ) as info:
        match_wheels(field, [], where="run.json")
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_a_v1_like_field_without_a_table_has_no_dependency_matches():
    field = make_field("insidellms.plugins", [_plugin("a", "plugin-a")])
    (match,) = match_wheels(field, [])
    assert match.required_by == ()
    assert dependency_owners(field) == {}


def test_unmet_requirements_are_plugin_properties_in_a_valid_bom():
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from insidellms_provenance._canonical import canonical_json
    from insidellms_provenance.analyze.export._cyclonedx import cyclonedx_value

    unmet = schema.unsatisfied_requirement(
        name="openai",
        requirement="openai>=1.45",
        required_by="plugin-a",
        installed="1.40.0",
        reason="version",
    )
    plugin = {**_plugin("a", "plugin-a", "lib-x"), "unsatisfied": [unmet]}
    field = _field([plugin], {"lib-x": _entry(_dist("lib-x"))})  # type: ignore[list-item]
    bom = cyclonedx_value(field, match_wheels(field, []), tool_version="0", with_wheels=False)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(canonical_json(bom).decode())
    assert error is None, error
    (component,) = [c for c in bom["components"] if c["name"] == "plugin-a"]
    assert {
        "name": "insidellms-provenance:plugin:a:unsatisfied",
        "value": "openai>=1.45 (required by plugin-a: version, installed 1.40.0)",
    } in component["properties"]


# --- End to end, offline: real pip and uv install the chain; the lock reproduces the run.


def fresh_env_from_lock(root: Path, lock: Path, wheelhouse: Path) -> Venv:
    """A new venv at another path: this tool from the wheelhouse, then the lock by uv."""
    venv = create_venv(root / "venv", "uv")
    install(venv, "insidellms-provenance", find_links=wheelhouse)
    installed = uv_install_lock(venv, lock)
    assert installed.returncode == 0, installed.stderr.decode()
    return venv


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_the_lock_reproduces_the_plugins_and_what_they_run_on(
    installer, wheelhouse, chain_wheels, tmp_path
):
    """Record a run whose plugins have a dependency chain; lock it; install the lock in a
    fresh venv; ``verify RUN`` there matches. Without the dependencies the same lock
    would not: the second half installs it with them dropped and shows what breaks."""
    source = create_venv(tmp_path / "source" / "venv", installer)
    install(
        source,
        "insidellms-provenance",
        "chain-plugin",
        "chain-other",
        "lib-b==2.0.0",
        find_links=chain_wheels,
        extra=("--find-links", str(wheelhouse)),
    )
    run = tmp_path / "run.json"
    run.write_bytes(source.record())
    assert sorted(json.loads(run.read_bytes())["dependencies"]) == ["lib-a", "lib-b", "lib-c"]

    lock = tmp_path / "lock" / "pylock.toml"
    lock.parent.mkdir()
    exported = cli(
        "export",
        str(run),
        "--format",
        "pylock",
        "--wheels",
        str(chain_wheels),
        "--output",
        str(lock),
    )
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr == b""
    value = tomllib.loads(lock.read_text())
    locked = {p["name"]: p for p in value["packages"]}
    assert sorted(locked) == ["chain-other", "chain-plugin", "lib-a", "lib-b", "lib-c"]
    assert locked["lib-b"]["version"] == "2.0.0"  # not 2.1.0, the newest in the wheelhouse
    assert cli("check", str(run), "--lock", str(lock)).returncode == 0
    assert cli("verify", str(run), "--wheels", str(chain_wheels)).returncode == 0

    reproduced = fresh_env_from_lock(tmp_path / "elsewhere", lock, wheelhouse)
    verified = reproduced.run("-m", "insidellms_provenance", "verify", str(run))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert b"this environment matches the run" in verified.stdout

    # The same lock with the dependencies dropped (what export wrote before issue 17).
    dropped = tmp_path / "dropped" / "pylock.toml"
    dropped.parent.mkdir()
    value["packages"] = [p for p in value["packages"] if p["name"].startswith("chain-")]
    for package in value["packages"]:
        for wheel in package["wheels"]:
            wheel["path"] = os.path.relpath(lock.parent / wheel["path"], dropped.parent)
    dropped.write_text(tomli_w.dumps(value))
    checked = cli("check", str(run), "--lock", str(dropped))
    assert checked.returncode == 1
    for name in ("lib-a 1.0.0", "lib-b 2.0.0", "lib-c 1.0.0"):
        assert f"{name} (a dependency) is not in the lock".encode() in checked.stdout
    broken = fresh_env_from_lock(tmp_path / "broken", dropped, wheelhouse)
    verified = broken.run("-m", "insidellms_provenance", "verify", str(run))
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert b"lib-a" in verified.stdout


def test_cyclonedx_of_a_real_run_lists_the_closure(wheelhouse, chain_wheels, tmp_path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    source = create_venv(tmp_path / "venv", "uv")
    install(
        source,
        "insidellms-provenance",
        "chain-plugin",
        "lib-b==2.0.0",
        find_links=chain_wheels,
        extra=("--find-links", str(wheelhouse)),
    )
    run = tmp_path / "run.json"
    run.write_bytes(source.record())
    result = cli("export", str(run), "--format", "cyclonedx", "--wheels", str(chain_wheels))
    assert result.returncode == 0, result.stderr
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(result.stdout.decode()) is None
    bom = json.loads(result.stdout)
    by_ref = {c["bom-ref"]: c for c in bom["components"]}
    (entry,) = bom["dependencies"]
    assert by_ref[entry["ref"]]["name"] == "chain-plugin"
    assert sorted(by_ref[ref]["name"] for ref in entry["dependsOn"]) == ["lib-a", "lib-b", "lib-c"]
    assert all("hashes" in by_ref[ref] for ref in entry["dependsOn"])


GIT = schema.source(kind="vcs", url="https://example.invalid/lib.git", vcs="git", commit="c" * 40)
EDITABLE = schema.source(kind="directory", editable=True)


@pytest.mark.parametrize(
    ("source", "wheels", "key", "warning"),
    [
        (schema.source(kind="index"), [_wheel("lib-x")], "wheels", None),
        (GIT, [], "vcs", "pinned by VCS commit; the built content is not pinned"),
        (EDITABLE, [_wheel("lib-x")], "directory", "editable install"),
        (schema.source(kind="index"), [], None, "installed from index, no matching wheel"),
        (None, [], None, "installed from unknown, no matching wheel"),
        (schema.source(kind="index"), [_wheel("lib-x", OTHER)], None, "a silent rebuild"),
    ],
)
def test_each_dependency_source_becomes_what_a_plugin_source_becomes(
    tmp_path, source, wheels, key, warning
):
    field = _field(
        [_plugin("a", "plugin-a", "lib-x")],
        {"lib-x": schema.dependency(distribution=_dist("lib-x"), source=source)},
    )
    matches = match_wheels(field, wheels)
    lock = build_lock(field, matches, wheels_dir=tmp_path / "wheels", lock_dir=tmp_path)
    lock_text(lock.value)  # validated by packaging.pylock
    packages = {p["name"]: p for p in lock.value["packages"]}
    unpinned = {u["name"]: u for u in lock.value["tool"]["insidellms-provenance"]["unpinned"]}
    if key is None:
        assert "lib-x" not in packages
        assert unpinned["lib-x"]["required-by"] == ["a"]
    else:
        assert key in packages["lib-x"]
        assert packages["lib-x"]["tool"]["insidellms-provenance"]["required-by"] == ["a"]
    dependency_warnings = [w for w in lock.warnings if w.startswith("lib-x 1.0 (dependency of: a)")]
    if warning is None:
        assert dependency_warnings == []
    else:
        (line,) = dependency_warnings
        assert warning in line
