"""The in-run hook against a fake insideLLMs built from the host contract."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from golden import check_golden
from plugin_catalog import GROUP
from venvtools import create_venv, install
from wheelbuilder import WheelSpec, build_wheel

FAKE_HOST = Path(__file__).parent / "fakehost"
RUN = (
    "import sys, insideLLMs\n"
    "from insideLLMs.runtime.runner import validate\n"
    "insideLLMs.run({'questions': ['a', 'b']}, sys.argv[1])\n"
    "validate(sys.argv[1])\n"
)


def host_spec(version: str = "0.2.0", edits: tuple[tuple[str, str, str], ...] = ()) -> WheelSpec:
    """The fake host as a wheel reporting ``version``; ``edits`` are (file, old, new) changes."""
    files = {
        path.relative_to(FAKE_HOST).as_posix(): path.read_bytes()
        for path in sorted(FAKE_HOST.rglob("*.py"))
    }
    edits = (("insideLLMs/__init__.py", '"0.2.0"', f'"{version}"'), *edits)
    for path, old, new in edits:
        assert old.encode() in files[path], (path, old)
        files[path] = files[path].replace(old.encode(), new.encode())
    return WheelSpec(name="insideLLMs", version=version, files=files)


def registering(name: str, body: str) -> WheelSpec:
    package = name.replace("-", "_")
    code = "def register(*, model_registry, probe_registry, dataset_registry):\n" + "".join(
        f"    {line}\n" for line in body.splitlines()
    )
    return WheelSpec(
        name=name,
        version="1.0.0",
        files={f"{package}/__init__.py": code.encode()},
        entry_points={GROUP: {name: f"{package}:register"}},
    )


REGISTERING = [
    registering(
        "reg-a", "model_registry.register('shared', object)\nprobe_registry.register('pa', object)"
    ),
    registering("reg-b", "model_registry.register('shared', dict, overwrite=True)"),
    registering("reg-c", "model_registry.register('shared', list)"),
    registering("reg-d", "model_registry.register('dummy', set, overwrite=True)"),
]


@pytest.fixture(scope="module")
def host_env(wheelhouse, tmp_path_factory):
    links = tmp_path_factory.mktemp("host-wheels")
    for spec in [host_spec(), *REGISTERING]:
        build_wheel(spec, links)
    venv = create_venv(tmp_path_factory.mktemp("host") / "venv", "uv")
    names = [
        "insideLLMs",
        "insidellms-provenance",
        "Alpha-Plugin",
        "beta_plugin",
        "broken-import-plugin",
    ]
    install(
        venv,
        *names,
        *(s.name for s in REGISTERING),
        find_links=links,
        extra=("--find-links", str(wheelhouse)),
    )
    return venv


def fake_run(venv, run_dir: Path, env: dict[str, str] | None = None):
    result = venv.run("-c", RUN, str(run_dir), env=env)
    assert result.returncode == 0, result.stderr.decode()
    return result


def test_runs_carry_the_field_in_host_format_byte_identically(host_env, tmp_path):
    fake_run(host_env, tmp_path / "r1")
    fake_run(host_env, tmp_path / "r2")
    first = (tmp_path / "r1" / "manifest.json").read_bytes()
    assert first == (tmp_path / "r2" / "manifest.json").read_bytes()
    value = json.loads(first)
    assert json.dumps(value, sort_keys=True, indent=2).encode() == first  # the host's format
    assert set(value) <= {
        "schema_version",
        "run_id",
        "model",
        "probe",
        "python_version",
        "platform",
        "command",
        "created_at",
        "custom",
    }
    check_golden("host/manifest.json", first)


MODES = {
    "sync": "insideLLMs.run({'questions': ['a', 'b']}, sys.argv[1])",
    "async": "asyncio.run(runner.arun({'questions': ['a', 'b']}, sys.argv[1]))",
    "harness": "runner.harness({'models': ['dummy']}, sys.argv[1])",
}


def test_sync_async_and_harness_runs_all_carry_the_same_field(host_env, tmp_path):
    fields = {}
    for mode, call in MODES.items():
        code = (
            "import asyncio, sys, insideLLMs\n"
            "from insideLLMs.runtime import runner\n"
            f"{call}\n"
            "runner.validate(sys.argv[1])\n"
        )
        result = host_env.run("-c", code, str(tmp_path / mode))
        assert result.returncode == 0, result.stderr.decode()
        text = (tmp_path / mode / "manifest.json").read_text()
        assert json.dumps(json.loads(text), sort_keys=True, indent=2) == text
        fields[mode] = json.loads(text)["custom"]["plugin_provenance"]
    assert fields["sync"]["plugins"]
    assert fields["async"] == fields["sync"]
    assert fields["harness"] == fields["sync"]
    explain = json.loads((tmp_path / "harness" / "explain.json").read_text())
    assert "custom" not in explain  # only manifest.json files are annotated


def test_registrations_and_conflicts_are_observed(host_env, tmp_path):
    fake_run(host_env, tmp_path / "run")
    field = json.loads((tmp_path / "run" / "manifest.json").read_bytes())["custom"][
        "plugin_provenance"
    ]
    plugins = {p["entry_point"]["name"]: p for p in field["plugins"]}
    assert "!provenance" not in plugins
    assert plugins["reg-a"]["registered"] == {
        "models": ["shared"],
        "probes": ["pa"],
        "datasets": [],
    }
    assert plugins["reg-b"]["replaced"] == {"models": ["shared"], "probes": [], "datasets": []}
    assert plugins["reg-c"]["load"]["status"] == "failed"
    assert plugins["reg-c"]["load"]["error_message"] == "model 'shared' is already registered"
    assert plugins["reg-d"]["replaced"]["models"] == ["dummy"]
    assert plugins["alpha"]["registered"] == {"models": [], "probes": [], "datasets": []}
    assert plugins["broken_import_plugin"]["load"]["status"] == "failed"  # never reached the hook
    assert plugins["broken_import_plugin"]["registered"] is None
    assert field["conflicts"] == [
        {
            "kind": "models",
            "key": "dummy",
            "outcome": "overwritten",
            "plugins": ["builtin", "reg-d"],
            "winner": "reg-d",
        },
        {
            "kind": "models",
            "key": "shared",
            "outcome": "overwritten",
            "plugins": ["reg-a", "reg-b"],
            "winner": "reg-b",
        },
        {
            "kind": "models",
            "key": "shared",
            "outcome": "failed",
            "plugins": ["reg-b", "reg-c"],
            "winner": "reg-b",
        },
    ]


def test_embed_after_the_run_changes_nothing(host_env, tmp_path):
    fake_run(host_env, tmp_path / "run")
    before = (tmp_path / "run" / "manifest.json").read_bytes()
    field = json.loads(before)["custom"]["plugin_provenance"]
    (tmp_path / "field.json").write_text(json.dumps(field))
    result = host_env.run(
        "-m",
        "insidellms_provenance",
        "embed",
        str(tmp_path / "run"),
        "--from",
        str(tmp_path / "field.json"),
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "manifest.json").read_bytes() == before


def test_in_run_field_agrees_with_record_on_what_both_can_see(host_env, tmp_path):
    """Only what the run observed (load, registrations, conflicts) may differ."""
    fake_run(host_env, tmp_path / "run")
    in_run = json.loads((tmp_path / "run" / "manifest.json").read_bytes())["custom"]
    result = host_env.run("-m", "insidellms_provenance", "record")
    assert result.returncode == 0, result.stderr
    recorded = json.loads(result.stdout)
    static = ("entry_point", "distribution", "source", "origin", "manifest")

    def static_part(plugin):
        part = {k: plugin[k] for k in static}
        integrity = part["distribution"]["integrity"]
        # The only difference allowed: the run does not compare bytecode caches.
        part["distribution"] = {**part["distribution"], "integrity": {**integrity, "bytecode": "-"}}
        return part

    field = in_run["plugin_provenance"]
    assert [static_part(p) for p in field["plugins"]] == [
        static_part(p) for p in recorded["plugins"]
    ]
    assert {p["distribution"]["integrity"]["bytecode"] for p in field["plugins"]} == {"not_checked"}
    assert {p["distribution"]["integrity"]["bytecode"] for p in recorded["plugins"]} == {"checked"}
    assert all(p["registered"] is None for p in recorded["plugins"])
    assert any(p["registered"] for p in field["plugins"])
    assert (field["observed_in_run"], recorded["observed_in_run"]) == (True, False)


def test_opting_out_leaves_the_run_alone(host_env, tmp_path):
    fake_run(host_env, tmp_path / "run", env={"INSIDELLMS_PROVENANCE": "off"})
    value = json.loads((tmp_path / "run" / "manifest.json").read_bytes())
    assert "plugin_provenance" not in value["custom"]


@pytest.mark.parametrize(
    "injection",
    [
        (
            "import insidellms_provenance.runfile._embed as e\n"
            "def boom(*a, **k): raise RuntimeError('injected')\n"
            "e.embed_text = boom\n"
        ),
        (
            "import insidellms_provenance.host._observer as o\n"
            "def boom(*a, **k): raise RuntimeError('injected')\n"
            "o.OBSERVER.note = boom\n"
        ),
    ],
)
def test_injected_failures_never_change_the_run(host_env, tmp_path, injection):
    fake_run(host_env, tmp_path / "clean", env={"INSIDELLMS_PROVENANCE": "off"})
    result = host_env.run("-c", injection + RUN, str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert b"insidellms-provenance:" in result.stderr  # warned once
    assert result.stderr.count(b"ProvenanceHookWarning") <= 1
    run = json.loads((tmp_path / "run" / "manifest.json").read_bytes())
    clean = json.loads((tmp_path / "clean" / "manifest.json").read_bytes())
    run["custom"].pop("plugin_provenance", None)
    assert run == clean
    assert (tmp_path / "run" / "records.jsonl").read_bytes() == (
        tmp_path / "clean" / "records.jsonl"
    ).read_bytes()


def _host_variant(wheelhouse, tmp_path, spec):
    links = tmp_path / "links"
    build_wheel(spec, links)
    venv = create_venv(tmp_path / "venv", "uv")
    install(
        venv,
        "insideLLMs",
        "insidellms-provenance",
        "Alpha-Plugin",
        find_links=links,
        extra=("--find-links", str(wheelhouse)),
    )
    return venv


@pytest.mark.parametrize("version", ["0.2.1", "0.3.0"])
def test_untested_host_version_with_the_contract_intact_is_recorded(wheelhouse, tmp_path, version):
    venv = _host_variant(wheelhouse, tmp_path, host_spec(version))
    result = fake_run(venv, tmp_path / "run")
    warning = (
        f"insideLLMs {version} is not a tested version; the plugin contract this hook relies "
        "on is intact, so provenance is recorded"
    )
    assert result.stderr.decode().count(warning) == 1
    assert result.stderr.decode().count("insidellms-provenance:") == 1
    # The warning points at the host's code that called the hook, not at the hook's own.
    (location,) = [
        line for line in result.stderr.decode().splitlines() if "ProvenanceHookWarning" in line
    ]
    assert "insideLLMs" in location, location
    assert "insidellms_provenance" not in location, location
    field = json.loads((tmp_path / "run" / "manifest.json").read_bytes())["custom"][
        "plugin_provenance"
    ]
    assert [plugin["entry_point"]["name"] for plugin in field["plugins"]] == ["alpha"]
    assert field["plugins"][0]["load"]["status"] == "loaded"


def test_a_failed_annotation_is_warned_of_on_an_untested_host(wheelhouse, tmp_path):
    """The note that an untested host is recorded never hides that this run was not."""
    venv = _host_variant(wheelhouse, tmp_path, host_spec("0.2.1"))
    injection = (
        "import insidellms_provenance.runfile._embed as e\n"
        "def boom(*a, **k): raise RuntimeError('injected')\n"
        "e.embed_text = boom\n"
    )
    result = venv.run("-c", injection + RUN, str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    stderr = result.stderr.decode()
    assert stderr.count("insidellms-provenance:") == 2, stderr
    assert "insideLLMs 0.2.1 is not a tested version" in stderr
    assert "insidellms-provenance: manifest not annotated (RuntimeError: injected)" in stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_bytes())
    assert "plugin_provenance" not in manifest["custom"]


BROKEN_CONTRACTS = {
    "function removed": (
        ("insideLLMs/registry.py", "def _call_plugin_register(fn):", "def _call_register(fn):"),
        ("insideLLMs/registry.py", "_call_plugin_register(fn)", "_call_register(fn)"),
        "insideLLMs.registry._call_plugin_register is missing",
    ),
    "signature changed": (
        (
            "insideLLMs/resources.py",
            "def atomic_write_text(path, text):",
            "def atomic_write_text(path, text, encoding):",
        ),
        (
            "insideLLMs/runtime/_artifact_utils.py",
            "    atomic_write_text(path, text)\n",
            '    atomic_write_text(path, text, "utf-8")\n',
        ),
        "insideLLMs.resources.atomic_write_text no longer accepts (path, text)",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CONTRACTS))
def test_a_broken_contract_is_declined_naming_what_is_missing(wheelhouse, tmp_path, case):
    *edits, missing = BROKEN_CONTRACTS[case]
    venv = _host_variant(wheelhouse, tmp_path, host_spec("0.3.0", tuple(edits)))
    run = venv.run("-c", RUN, str(tmp_path / "run"))
    stderr = run.stderr.decode()
    assert stderr.count("insidellms-provenance:") == 1, stderr
    assert (
        f"insideLLMs 0.3.0 does not keep the plugin contract this hook relies on ({missing}), "
        "so this run records no plugin provenance"
    ) in stderr
    assert run.returncode == 0, stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_bytes())
    assert "plugin_provenance" not in manifest["custom"]


def test_host_spec_is_deterministic():
    assert attrs.asdict(host_spec()) == attrs.asdict(host_spec())


def test_doctor_text_json_and_strict(host_env):
    text = host_env.run("-m", "insidellms_provenance", "doctor")
    assert text.returncode == 0, text.stderr  # warn-only by default
    check_golden("host/doctor.txt", text.stdout)
    assert b"warning: alpha: environment variables not set: ALPHA_TOKEN" in text.stdout
    strict = host_env.run("-m", "insidellms_provenance", "doctor", "--strict-plugins")
    assert strict.returncode == 1
    with_token = host_env.run(
        "-m", "insidellms_provenance", "doctor", env={"ALPHA_TOKEN": "s3cret"}
    )
    assert b"ALPHA_TOKEN" not in with_token.stdout
    assert b"s3cret" not in with_token.stdout
    as_json = host_env.run("-m", "insidellms_provenance", "doctor", "--format", "json")
    check_golden("host/doctor.json", as_json.stdout)
    plugins = json.loads(as_json.stdout)["plugins"]
    # a superset of insideLLMs' own `doctor --capabilities` plugin keys
    assert {
        "entry_point_group",
        "auto_loading_enabled",
        "disabled_by_env",
        "discovered_entry_points",
        "registered_extensions",
    } <= set(plugins)
    assert plugins["registered_extensions"]["models"] == ["shared"]


def test_list_attributes_every_key(host_env):
    result = host_env.run("-m", "insidellms_provenance", "list")
    assert result.returncode == 0, result.stderr
    check_golden("host/list.txt", result.stdout)
    lines = result.stdout.decode().splitlines()
    assert any(line.split()[:3] == ["models", "dummy", "plugin"] for line in lines)  # reg-d won
    assert any(line.split()[:3] == ["probes", "logic", "builtin"] for line in lines)


def test_fake_host_imports_its_writer_lazily_like_the_real_one(host_env):
    probe = "import sys, insideLLMs; print('insideLLMs.resources' in sys.modules)"
    off = host_env.run("-c", probe, env={"INSIDELLMS_PROVENANCE": "off"})
    assert off.stdout.strip() == b"False"


def test_embed_after_a_run_without_the_hook_diffs_as_unchanged(host_env, tmp_path):
    """The issue's reproducer: the same environment, observed in a run or recorded after."""
    fake_run(host_env, tmp_path / "in-run")
    fake_run(host_env, tmp_path / "after", env={"INSIDELLMS_PROVENANCE": "off"})
    embed = host_env.run("-m", "insidellms_provenance", "embed", str(tmp_path / "after"))
    assert embed.returncode == 0, embed.stderr
    result = host_env.run(
        "-m",
        "insidellms_provenance",
        "diff",
        str(tmp_path / "in-run"),
        str(tmp_path / "after"),
        "--fail-on",
        "any",
    )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "group insidellms.plugins: 0 changes in 0 plugins"
    assert (
        "note: load outcomes, registrations and conflicts not compared: "
        "observed in a host run before, recorded outside a run after"
    ) in lines


MARKER = "import os, pathlib\npathlib.Path(os.environ['MARKER_DIR'], {name!r}).touch()\n"


def marking_plugin(name: str, preamble: str = "") -> WheelSpec:
    """A plugin whose register() leaves a file named ``name`` in $MARKER_DIR."""
    module = name.replace("-", "_")
    body = MARKER.format(name=name).replace("\n", "\n    ")
    return WheelSpec(
        name=name,
        version="1.0.0",
        files={
            f"{module}/__init__.py": (f"{preamble}def register(**registries):\n    {body}").encode()
        },
        entry_points={GROUP: {name: f"{module}:register"}},
    )


def test_record_embed_and_check_never_call_register(wheelhouse, tmp_path_factory):
    """A plugin importing insideLLMs at module level must not set off the host's loader."""
    links = tmp_path_factory.mktemp("noreg-wheels")
    importing = marking_plugin("imports-host", preamble="import insideLLMs\n\n")
    beside = marking_plugin("beside")
    for spec in (host_spec(), importing, beside):
        build_wheel(spec, links)
    venv = create_venv(tmp_path_factory.mktemp("noreg") / "venv", "uv")
    install(
        venv,
        "insideLLMs",
        "insidellms-provenance",
        "imports-host",
        "beside",
        find_links=links,
        extra=("--find-links", str(wheelhouse)),
    )
    markers = tmp_path_factory.mktemp("markers")
    env = {"MARKER_DIR": str(markers)}
    run_dir = tmp_path_factory.mktemp("run") / "run"
    fake_run(venv, run_dir, env={**env, "INSIDELLMS_PROVENANCE": "off"})
    assert sorted(p.name for p in markers.iterdir()) == ["beside", "imports-host"]  # a real run
    for marker in markers.iterdir():
        marker.unlink()
    for command in (["record"], ["embed", str(run_dir)], ["check", "--no-load"]):
        result = venv.run("-m", "insidellms_provenance", *command, env=env)
        assert result.returncode == 0, (command, result.stderr, result.stdout)
        assert list(markers.iterdir()) == [], command
        assert b"Failed to load plugin" not in result.stderr
    field = json.loads(venv.run("-m", "insidellms_provenance", "record", env=env).stdout)
    assert {p["load"]["status"] for p in field["plugins"]} == {"loaded"}


def test_doctor_and_list_say_what_is_true_when_plugins_are_disabled(host_env):
    disabled = {"INSIDELLMS_DISABLE_PLUGINS": "1"}
    doctor = host_env.run("-m", "insidellms_provenance", "doctor", env=disabled)
    assert doctor.returncode == 0, doctor.stderr
    text = doctor.stdout.decode()
    assert (
        "environment: INSIDELLMS_DISABLE_PLUGINS=1: insideLLMs loads no plugin, this hook "
        "included, so runs have no provenance field; no plugin was imported and no manifest "
        "was read"
    ) in text
    assert "plugins are disabled" not in text  # the old claim about manifests
    assert "manifest missing" not in text
    rows = [line.split() for line in text.splitlines() if line.startswith("alpha ")]
    assert rows[0][3:5] == ["not", "read"]
    assert "warning: alpha: not checked: INSIDELLMS_DISABLE_PLUGINS is set" in text
    strict = host_env.run("-m", "insidellms_provenance", "doctor", "--strict-plugins", env=disabled)
    assert strict.returncode == 1  # nothing was checked, so strict cannot pass
    listed = host_env.run("-m", "insidellms_provenance", "list", env=disabled)
    assert listed.returncode == 0, listed.stderr
    sources = {
        line.split()[1]: line.split(None, 2)[2] for line in listed.stdout.decode().splitlines()[1:]
    }
    assert sources == {
        "dummy": "builtin (no plugin loaded: INSIDELLMS_DISABLE_PLUGINS is set)",
        "logic": "builtin (no plugin loaded: INSIDELLMS_DISABLE_PLUGINS is set)",
        "sample": "builtin (no plugin loaded: INSIDELLMS_DISABLE_PLUGINS is set)",
    }


def test_doctor_and_list_say_when_the_hook_is_off(host_env):
    off = {"INSIDELLMS_PROVENANCE": "off"}
    doctor = host_env.run("-m", "insidellms_provenance", "doctor", env=off)
    assert (
        b"environment: INSIDELLMS_PROVENANCE=off: the hook is off; insideLLMs runs record no "
        b"plugin provenance"
    ) in doctor.stdout
    listed = host_env.run("-m", "insidellms_provenance", "list", env=off).stdout.decode()
    assert "unknown (the hook is off: INSIDELLMS_PROVENANCE=off)" in listed
