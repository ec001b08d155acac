"""Hostile plugins inside a host run: the in-host hook books each on the right entry point.

Against the fake host (``tests/fakehost``), with real wheels installed by real uv:

- an entry point naming a bound method (``pkg:Plugin.register``, a classmethod), which
  is a new object at each lookup;
- two entry points naming one function (an old name kept beside a new one);
- a module-level ``__getattr__`` that raises when ``plugin_manifest`` is looked up
  (a lazy loader's ``ModuleNotFoundError``, and ``SystemExit``);
- a plugin that puts its own wrapper on a registry instance;
- a thread an earlier plugin started, registering while a later plugin's
  ``register()`` runs.

Each case states the host's exit code, what the field says (the verdict) and what
``check RUN`` makes of it, and that the run changed no file outside its run directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import changed_outside, fake_host_venv

from venvtools import Venv
from wheelbuilder import WheelSpec

GROUP = "insidellms.plugins"
SIGNATURE = "*, model_registry, probe_registry, dataset_registry"

CLASS_METHOD = f"""
class Plugin:
    @classmethod
    def register(cls, {SIGNATURE}):
        model_registry.register('dummy', object)  # the host's own key: refused
"""
ALIASED = f"""
def register({SIGNATURE}):
    model_registry.register('alias-model', object)  # the second call is refused
"""
LAZY = f"""
import importlib
def register({SIGNATURE}):
    model_registry.register('lazy-model', object)
def __getattr__(name):  # a lazy loader: every missing attribute is a submodule
    return importlib.import_module('.' + name, __name__)
"""
EXITING = f"""
def register({SIGNATURE}):
    model_registry.register('exit-model', object)
def __getattr__(name):
    raise SystemExit(3)
"""
# A wrapper of its own on the instance: it sees every later registration.
AUDITING = f"""
SEEN = []
def register({SIGNATURE}):
    inner = model_registry.register
    def audited(name, *args, **kwargs):
        SEEN.append(name)
        return inner(name, *args, **kwargs)
    model_registry.register = audited
"""
PLAIN = f"""
def register({SIGNATURE}):
    model_registry.register('plain-model', object)
"""
# th-a's thread registers while th-b's register() runs, in a fixed order: th-b lets it
# go and waits until it is done.
THREAD_A = f"""
import threading
GO, DONE = threading.Event(), threading.Event()
def register({SIGNATURE}):
    model_registry.register('a-now', object)
    def later():
        GO.wait(30)
        model_registry.register('a-late', object)
        model_registry.register('dummy', object, overwrite=True)
        DONE.set()
    threading.Thread(target=later, daemon=True).start()
"""
THREAD_B = f"""
import th_a
def register({SIGNATURE}):
    th_a.GO.set()
    th_a.DONE.wait(30)
    model_registry.register('b-own', object)
"""
PLUGINS: dict[str, tuple[str, dict[str, str]]] = {
    "aa-audit": (AUDITING, {"aa-audit": "aa_audit:register"}),
    "alias": (ALIASED, {"new-name": "alias:register", "old-name": "alias:register"}),
    "cls-fail": (CLASS_METHOD, {"cls-fail": "cls_fail:Plugin.register"}),
    "exit-c": (EXITING, {"exit-c": "exit_c:register"}),
    "lazy-b": (LAZY, {"lazy-b": "lazy_b:register"}),
    "plain": (PLAIN, {"plain": "plain:register"}),
    "th-a": (THREAD_A, {"th-a": "th_a:register"}),
    "th-b": (THREAD_B, {"th-b": "th_b:register"}),
}
LOADED = {"status": "loaded", "error_type": None, "error_message": None}
RUN = (
    "import json, sys, insideLLMs\n"
    "insideLLMs.run({'questions': ['a']}, sys.argv[1])\n"
    "import aa_audit\n"
    "print(json.dumps(aa_audit.SEEN))\n"
)


@pytest.fixture(scope="module")
def host_run(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One venv, a run with the hook and one without: their outputs and the field."""
    root = tmp_path_factory.mktemp("host-plugins")
    specs = []
    for name, (code, entry_points) in PLUGINS.items():
        files = {f"{name.replace('-', '_')}/__init__.py": code.encode()}
        specs.append(
            WheelSpec(name=name, version="1.0", files=files, entry_points={GROUP: entry_points})
        )
    venv = fake_host_venv(root, wheelhouse, specs)
    quiet = {"PYTHONDONTWRITEBYTECODE": "1"}
    hooked, changed = changed_outside(
        root, root / "run", lambda: venv.run("-c", RUN, str(root / "run"), env=quiet)
    )
    unhooked = venv.run("-c", RUN, str(root / "off"), env={**quiet, "INSIDELLMS_PROVENANCE": "off"})
    written = root / "run" / "manifest.json"
    manifest = json.loads(written.read_bytes()) if written.exists() else {"custom": {}}
    field = manifest["custom"].get("plugin_provenance", {"plugins": [], "conflicts": []})
    return {
        "venv": venv,
        "root": root,
        "hooked": hooked,
        "unhooked": unhooked,
        "changed": changed,
        "field": field,
        "plugins": {p["entry_point"]["name"]: p for p in field["plugins"]},
    }


def cli(venv: Venv, *args: str) -> Any:
    return venv.run("-m", "insidellms_provenance", *args, env={"PYTHONDONTWRITEBYTECODE": "1"})


def test_the_run_ends_as_without_the_hook_and_writes_nothing_else(host_run):
    hooked, unhooked = host_run["hooked"], host_run["unhooked"]
    assert hooked.returncode == unhooked.returncode == 0, hooked.stderr
    assert b"Traceback" not in hooked.stderr
    assert b"ProvenanceHookWarning" not in hooked.stderr, hooked.stderr
    assert host_run["changed"] == []


def test_a_classmethod_entry_point_is_observed(host_run):
    plugin = host_run["plugins"]["cls-fail"]
    assert plugin["load"] == {
        "status": "failed",
        "error_type": "ValueError",
        "error_message": "model 'dummy' is already registered",
    }
    assert {
        "kind": "models",
        "key": "dummy",
        "outcome": "failed",
        "plugins": ["builtin", "cls-fail"],
        "winner": "builtin",
    } in host_run["field"]["conflicts"]


def test_two_entry_points_of_one_function_are_booked_in_the_hosts_order(host_run):
    new, old = host_run["plugins"]["new-name"], host_run["plugins"]["old-name"]
    assert new["load"] == LOADED
    assert new["registered"]["models"] == ["alias-model"]
    assert old["load"]["status"] == "failed"
    assert old["registered"]["models"] == []
    assert {
        "kind": "models",
        "key": "alias-model",
        "outcome": "failed",
        "plugins": ["new-name", "old-name"],
        "winner": "new-name",
    } in host_run["field"]["conflicts"]


@pytest.mark.parametrize(
    ("name", "raised"),
    [
        ("lazy-b", "ModuleNotFoundError: No module named 'lazy_b.plugin_manifest'"),
        ("exit-c", "SystemExit: 3"),
    ],
)
def test_a_raising_module_getattr_is_that_plugins_manifest_error(host_run, name, raised):
    plugin = host_run["plugins"][name]
    assert plugin["load"] == LOADED
    assert plugin["manifest"]["status"] == "error"
    assert plugin["manifest"]["problems"] == [f"looking up plugin_manifest raised {raised}"]
    assert host_run["plugins"]["plain"]["registered"]["models"] == ["plain-model"]


@pytest.mark.parametrize("name", ["lazy-b", "exit-c"])
def test_record_says_the_same_of_a_raising_module_getattr(host_run, name):
    result = cli(host_run["venv"], "record")
    assert result.returncode == 0, result.stderr
    plugins = {p["entry_point"]["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins[name]["load"] == LOADED
    assert plugins[name]["manifest"] == host_run["plugins"][name]["manifest"]


def test_a_plugins_own_wrapper_on_a_registry_stays(host_run):
    seen = json.loads(host_run["hooked"].stdout.splitlines()[-1])
    assert seen == json.loads(host_run["unhooked"].stdout.splitlines()[-1])
    assert "plain-model" in seen
    assert host_run["plugins"]["plain"]["registered"]["models"] == ["plain-model"]


def test_another_threads_registrations_are_not_booked_on_the_running_plugin(host_run):
    th_a, th_b = host_run["plugins"]["th-a"], host_run["plugins"]["th-b"]
    assert th_a["registered"]["models"] == ["a-now"]
    assert th_b["registered"]["models"] == ["b-own"]
    assert th_b["replaced"]["models"] == []
    assert not [c for c in host_run["field"]["conflicts"] if "th-b" in c["plugins"]]


def test_check_fails_the_run_on_the_refused_registrations(host_run):
    result = cli(host_run["venv"], "check", str(host_run["root"] / "run"))
    assert result.returncode == 1, result.stdout
    for name in ("cls-fail", "old-name"):
        assert f"{name}  load".encode() in result.stdout, result.stdout
