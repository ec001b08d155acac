"""Hostile plugins against the order of recording: files are read before plugin code runs.

``record``, ``check`` and ``embed`` hash every plugin distribution's files (and compare
its bytecode caches with their sources) before the importing child imports the first
plugin, so a plugin that restores its own tampered file, or deletes its own tampered
cache, when imported is recorded as Python read it: ``modified``. So does the in-host
hook, in the ``register()`` the host calls before it imports any other plugin (against
the fake host, ``tests/fakehost``): once per run, and a reading that fails leaves the
run as it would be without the hook. And a plugin the child gave no answer for is
``failed``; it is never imported in the command's own process, where ending the process
would end the command.

Each case installs real wheels with real uv (copy mode) into a fresh venv, and states
the exit code, the verdict, and that no file changed but the one the plugin itself
rewrote or removed.
"""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import struct
import sys
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import snapshot

from venvtools import Venv, create_venv, install
from wheelbuilder import WheelSpec, build_wheel

GROUP = "insidellms.plugins"
ORIGINAL = b"def register():\n    return None\n"
# Tampered code that writes the wheel's bytes back over its own file when imported.
SELF_RESTORING = (
    b"with open(__file__, 'wb') as _file:\n"
    b"    _file.write(" + repr(ORIGINAL).encode() + b")\n"
    b"def register():\n    return 'tampered'\n"
)
# Other code than the source's, in the cache Python loads, which removes itself when run.
SELF_DELETING = "import os\nos.unlink(__cached__)\ndef register():\n    return 'other code'\n"
RUN = "import sys, insideLLMs\ninsideLLMs.run({'questions': ['a']}, sys.argv[1])\n"


def plugin_wheel(
    directory: Path, name: str, files: dict[str, bytes], target: str, *, entry: str = ""
) -> None:
    """A wheel of ``name`` whose entry point ``entry`` (default: ``name``) is ``target``."""
    entry_points = {GROUP: {entry or name: target}}
    build_wheel(
        WheelSpec(name=name, version="1.0", files=files, entry_points=entry_points), directory
    )


def tplug_env(root: Path, wheelhouse: Path, *extra: str) -> Venv:
    """A fresh uv venv with the project, ``tplug`` (one module) and ``extra`` wheels."""
    links = root / "links"
    plugin_wheel(links, "tplug", {"tplug/__init__.py": ORIGINAL}, "tplug:register")
    venv = create_venv(root / "venv", "uv")
    install(
        venv,
        "insidellms-provenance",
        "tplug",
        *extra,
        find_links=links,
        extra=("--find-links", str(wheelhouse)),
    )
    return venv


def cli(venv: Venv, *args: str) -> Any:
    return venv.run("-m", "insidellms_provenance", *args, env={"PYTHONDONTWRITEBYTECODE": "1"})


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(
        path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
    )


def plugin(field: bytes, name: str) -> dict[str, Any]:
    plugins = {p["entry_point"]["name"]: p for p in json.loads(field)["plugins"]}
    found: dict[str, Any] = plugins[name]
    return found


def plant_cache(source: Path) -> Path:
    """A cache with a valid timestamp header for ``source`` holding :data:`SELF_DELETING`."""
    info = source.stat()
    code = compile(SELF_DELETING, str(source), "exec")
    header = importlib.util.MAGIC_NUMBER + struct.pack(
        "<III", 0, int(info.st_mtime) & 0xFFFFFFFF, info.st_size & 0xFFFFFFFF
    )
    cache = Path(importlib.util.cache_from_source(str(source)))
    cache.parent.mkdir(exist_ok=True)
    cache.write_bytes(header + marshal.dumps(code))
    return cache


@pytest.mark.parametrize("command", ["check", "record"])
def test_a_self_restoring_source_file_is_recorded_modified(wheelhouse, tmp_path, command):
    venv = tplug_env(tmp_path, wheelhouse)
    source = venv.site_packages / "tplug" / "__init__.py"
    source.write_bytes(SELF_RESTORING)
    before = snapshot(tmp_path, set())
    result = cli(venv, command)
    after = snapshot(tmp_path, set())
    assert b"Traceback" not in result.stderr, result.stderr
    assert source.read_bytes() == ORIGINAL  # the tampered code ran: it restored the file
    assert changed(before, after) == [str(source)]  # that file only, by the plugin
    if command == "check":
        assert result.returncode == 1, result.stdout
        assert b"tplug  integrity  integrity modified: tplug/__init__.py" in result.stdout
    else:
        assert result.returncode == 0, result.stderr
        integrity = plugin(result.stdout, "tplug")["distribution"]["integrity"]
        assert integrity == {
            "bytecode": "checked",
            "paths": ["tplug/__init__.py"],
            "status": "modified",
        }


@pytest.mark.parametrize("command", ["check", "record"])
def test_a_self_deleting_tampered_cache_is_recorded_modified(wheelhouse, tmp_path, command):
    venv = tplug_env(tmp_path, wheelhouse)
    cache = plant_cache(venv.site_packages / "tplug" / "__init__.py")
    relative = cache.relative_to(venv.site_packages).as_posix()
    before = snapshot(tmp_path, set())
    result = cli(venv, command)
    after = snapshot(tmp_path, set())
    assert b"Traceback" not in result.stderr, result.stderr
    assert not cache.exists()  # the cached code ran: it removed itself
    assert changed(before, after) == [str(cache)]
    if command == "check":
        assert result.returncode == 1, result.stdout
        assert f"tplug  integrity  integrity modified: {relative}".encode() in result.stdout
    else:
        assert result.returncode == 0, result.stderr
        integrity = plugin(result.stdout, "tplug")["distribution"]["integrity"]
        assert (integrity["status"], integrity["paths"]) == ("modified", [relative])


def test_a_plugin_ending_the_process_after_a_forking_sibling_never_ends_the_cli(
    wheelhouse, tmp_path
):
    # a_first forks at import and both copies go on importing: the child's answer has
    # a_first twice. b_exit ends the process. Whatever the parent makes of that answer,
    # b_exit must not be imported in the command's own process.
    links = tmp_path / "links"
    plugin_wheel(
        links,
        "a-first",
        {"a_first/__init__.py": b"import os\nos.fork()\n" + ORIGINAL},
        "a_first:register",
    )
    plugin_wheel(
        links, "b-exit", {"b_exit/__init__.py": b"import os\nos._exit(42)\n"}, "b_exit:register"
    )
    venv = tplug_env(tmp_path, wheelhouse, "a-first", "b-exit")
    before = snapshot(tmp_path, set())
    checked = cli(venv, "check")
    recorded = cli(venv, "record")
    assert changed(before, snapshot(tmp_path, set())) == []
    for result in (checked, recorded):
        assert b"Traceback" not in result.stderr, result.stderr
    assert checked.returncode == 1, checked
    assert b"b-exit  load  load failed" in checked.stdout
    assert recorded.returncode == 0, recorded.stderr
    assert plugin(recorded.stdout, "b-exit")["load"]["status"] == "failed"


def test_an_entry_point_without_an_answer_is_failed_and_never_imported_here(site, monkeypatch):
    """Unit level: the child's answer lacks one entry point (by design here)."""
    from insidellms_provenance.fingerprint import _isolation
    from insidellms_provenance.fingerprint._recorder import record_field

    for package in ("noanswer_a", "noanswer_b"):
        (site / package).mkdir()
        (site / package / "__init__.py").write_bytes(ORIGINAL)
        info = site / f"{package}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[{GROUP}]\n{package} = {package}:register\n")
    answered = _isolation.Imports.results

    def without_b(self: Any, entry_points: Any, environ: Any = os.environ) -> Any:
        results = answered(self, entry_points, environ)
        results.pop(("noanswer_b", "noanswer_b:register"))
        return results

    monkeypatch.setattr(_isolation.Imports, "results", without_b)
    field = record_field(GROUP, isolated=True, environ={})
    outcomes = {p["entry_point"]["name"]: p for p in field["plugins"]}
    assert outcomes["noanswer_a"]["load"]["status"] == "loaded"
    assert outcomes["noanswer_b"]["load"] == {
        "status": "failed",
        "error_type": "NoAnswer",
        "error_message": "no answer from the importing child",
    }
    assert outcomes["noanswer_b"]["manifest"]["status"] == "error"
    assert outcomes["noanswer_b"]["origin"]["status"] == "unknown"
    assert "noanswer_b" not in sys.modules  # never imported in this process


def host_env(root: Path, wheelhouse: Path, *extra: str) -> Venv:
    """:func:`tplug_env` with the fake host (``tests/fakehost``) built into a wheel."""
    fakehost = Path(__file__).resolve().parent.parent / "fakehost"
    files = {p.relative_to(fakehost).as_posix(): p.read_bytes() for p in fakehost.rglob("*.py")}
    build_wheel(WheelSpec(name="insideLLMs", version="0.2.0", files=files), root / "links")
    return tplug_env(root, wheelhouse, "insideLLMs", *extra)


def run_field(run_dir: Path) -> bytes:
    manifest = (run_dir / "manifest.json").read_bytes()
    return json.dumps(json.loads(manifest)["custom"]["plugin_provenance"]).encode()


def test_in_a_host_run_a_self_restoring_plugin_is_recorded_modified(wheelhouse, tmp_path):
    # Python writes bytecode caches in these runs, after the hook read the files: they
    # are neither changes (the first run) nor unexpected files (the second).
    venv = host_env(tmp_path, wheelhouse)
    source = venv.site_packages / "tplug" / "__init__.py"
    source.write_bytes(SELF_RESTORING)
    before = snapshot(tmp_path, set())
    result = venv.run("-c", RUN, str(tmp_path / "run"))
    after = snapshot(tmp_path, set())
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr, result.stderr
    assert source.read_bytes() == ORIGINAL  # the tampered code ran in the host
    written = [path for path in changed(before, after) if path != str(source)]
    assert [path for path in written if not path.startswith(str(tmp_path / "run"))] == [
        path for path in written if "/__pycache__" in path
    ]  # besides the run's own files, Python's caches only
    assert any(path.startswith(str(source.parent / "__pycache__")) for path in written)
    assert plugin(run_field(tmp_path / "run"), "tplug")["distribution"]["integrity"] == {
        "bytecode": "not_checked",
        "paths": ["tplug/__init__.py"],
        "status": "modified",
    }
    again = venv.run("-c", RUN, str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    integrity = plugin(run_field(tmp_path / "again"), "tplug")["distribution"]["integrity"]
    assert (integrity["status"], integrity["paths"]) == ("verified", [])


def test_in_a_host_run_a_plugin_sorting_before_the_hook_is_unverifiable(wheelhouse, tmp_path):
    """``!early`` sorts before ``!provenance``: the host imports it before the hook reads."""
    files = {"early/__init__.py": ORIGINAL}
    plugin_wheel(tmp_path / "links", "early", files, "early:register", entry="!early")
    venv = host_env(tmp_path, wheelhouse, "early")
    for package in ("early", "tplug"):
        (venv.site_packages / package / "__init__.py").write_bytes(SELF_RESTORING)
    before = snapshot(tmp_path, set())
    quiet = {"PYTHONDONTWRITEBYTECODE": "1"}
    result = venv.run("-c", RUN, str(tmp_path / "run"), env=quiet)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr, result.stderr
    written = changed(before, snapshot(tmp_path, set()))
    assert [path for path in written if not path.startswith(str(tmp_path / "run"))] == [
        str(venv.site_packages / "early" / "__init__.py"),
        str(venv.site_packages / "tplug" / "__init__.py"),
    ]  # both tampered modules ran and restored themselves
    field = run_field(tmp_path / "run")
    early = plugin(field, "!early")["distribution"]
    assert early["integrity"] == {"bytecode": "not_checked", "paths": [], "status": "unverifiable"}
    assert early["problems"] == [
        (
            "the host imported it before its files were read (its entry point sorts before "
            "the hook's '!provenance'): they may not be what ran"
        )
    ]
    assert plugin(field, "tplug")["distribution"]["integrity"]["status"] == "modified"
    checked = cli(venv, "check", str(tmp_path / "run"))
    assert checked.returncode == 1, checked.stdout
    assert b"!early  integrity  integrity unverifiable" in checked.stdout, checked.stdout


COUNTED = (
    "import insidellms_provenance.fingerprint._recorder as recorder\n"
    "reads = []\n"
    "read = recorder.read_installed\n"
    "recorder.read_installed = lambda *a, **k: reads.append(1) or read(*a, **k)\n"
)
FAILING = (
    "import insidellms_provenance.fingerprint._recorder as recorder\n"
    "def boom(*a, **k): raise RuntimeError('injected')\n"
    "recorder.read_installed = boom\n"
)
AFTER_IMPORT = {
    # register() called again by hand: the files are read once, in the host's call.
    "twice": (
        COUNTED,
        (
            "from insidellms_provenance.host.plugin import register\n"
            "register()\n"
            "assert reads == [1], reads\n"
        ),
    ),
    # The reading fails: the host is left unwrapped, the run goes on without the field.
    "failing": (
        FAILING,
        (
            "import insideLLMs.registry as registry\n"
            "wrapped = registry._call_plugin_register\n"
            "assert not hasattr(wrapped, '__insidellms_provenance_wrapped__')\n"
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(AFTER_IMPORT))
def test_the_hook_reads_once_and_a_failed_reading_leaves_the_run_alone(wheelhouse, tmp_path, case):
    venv = host_env(tmp_path, wheelhouse)
    before_import, after_import = AFTER_IMPORT[case]
    code = before_import + "import sys, insideLLMs\n" + after_import + RUN
    before = snapshot(tmp_path, set())
    result = venv.run("-c", code, str(tmp_path / "run"), env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr, result.stderr
    run_dir = str(tmp_path / "run")
    assert [
        p for p in changed(before, snapshot(tmp_path, set())) if not p.startswith(run_dir)
    ] == []
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_bytes())
    if case == "failing":
        assert result.stderr.count(b"insidellms-provenance:") == 1, result.stderr
        assert b"hook not installed (RuntimeError: injected)" in result.stderr
        assert "plugin_provenance" not in manifest["custom"]
    else:
        assert b"insidellms-provenance:" not in result.stderr, result.stderr
        integrity = plugin(run_field(tmp_path / "run"), "tplug")["distribution"]["integrity"]
        assert integrity["status"] == "verified"


def test_the_early_reading_makes_the_field_and_is_kept_without_a_manifest(
    site, tmp_path, monkeypatch
):
    """Unit level: ``read_installed`` (the hook's ``register()``), then the field."""
    from dependency_catalog import unpack
    from insidellms_provenance.field._build import field_bytes
    from insidellms_provenance.fingerprint import _recorder as recorder
    from insidellms_provenance.fingerprint._cache_directory import SETTLED_NS
    from insidellms_provenance.fingerprint._discover import discover

    spec = WheelSpec(
        name="early",
        version="1.0",
        files={"early/__init__.py": ORIGINAL},
        entry_points={GROUP: {"early": "early:register"}},
    )
    unpack(site, spec)
    monkeypatch.delitem(sys.modules, "early", raising=False)
    # The uncached field below imports ``early``: a cache written into the site then
    # would be a change the plugin cache's evidence sees (the test is of the reading).
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    real = recorder.time.time_ns
    monkeypatch.setattr(recorder.time, "time_ns", lambda: real() + 2 * SETTLED_NS)
    environ = {"INSIDELLMS_PROVENANCE_CACHE": str(tmp_path / "cache")}
    entry_points = discover(GROUP)
    on_disk = recorder.read_installed(entry_points, environ=environ)
    [entry] = (tmp_path / "cache").glob("*.json")  # kept before any manifest is written
    stored = entry.stat().st_mtime_ns
    field = recorder.record_field(
        GROUP,
        environ=environ,
        entry_points=entry_points,
        observations={},
        in_run=True,
        on_disk=on_disk,
    )
    assert entry.stat().st_mtime_ns == stored  # nothing new to keep: not written again
    uncached = recorder.record_field(
        GROUP, environ={"INSIDELLMS_PROVENANCE_CACHE": "off"}, observations={}, in_run=True
    )
    assert field_bytes(field) == field_bytes(uncached)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("described again")

    monkeypatch.setattr(recorder._Descriptions, "_describe", refuse)
    again = recorder.read_installed(discover(GROUP), environ=environ)
    [plugin_dist] = [ep.dist for ep in entry_points if ep.dist is not None]
    assert again.described.get(plugin_dist) == on_disk.described.get(plugin_dist)
