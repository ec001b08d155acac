"""Integrity while recording: installed files against RECORD, bytecode against its source."""

from __future__ import annotations

import compileall
import importlib.util
import json
import marshal
import os
import posixpath
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insidellms_provenance.fingerprint._integrity import (
    Finding,
    cached_code_problem,
    check_files,
    integrity_summary,
    same_code,
)
from insidellms_provenance.fingerprint._record_file import check_path
from plugin_catalog import GOOD
from venvtools import create_venv, install

SOURCE = b'"""Doc."""\nX = -0.0\n\n\ndef f(a, /, b=3, *c, d, **e):\n    """f."""\n    assert a\n    return [x for x in c]\n'
TAMPERED = SOURCE.replace(b"b=3", b"b=4")


def _cache(directory: Path, level: int = 0) -> Path:
    optimization = "" if level == 0 else level
    return Path(
        importlib.util.cache_from_source(str(directory / "mod.py"), optimization=optimization)
    )


def _write_source(directory: Path, data: bytes = SOURCE) -> Path:
    source = directory / "mod.py"
    source.write_bytes(data)
    return source


def _replace_code(cache: Path, source: bytes) -> None:
    """Keep the cache's header (so Python still loads it), swap in other code."""
    header = cache.read_bytes()[:16]
    code = compile(source, "mod.py", "exec", dont_inherit=True)
    cache.write_bytes(header + marshal.dumps(code))


MODES = [
    py_compile.PycInvalidationMode.TIMESTAMP,
    py_compile.PycInvalidationMode.CHECKED_HASH,
    py_compile.PycInvalidationMode.UNCHECKED_HASH,
]


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.name)
@pytest.mark.parametrize("level", [0, 1, 2])
def test_genuine_caches_match_and_swapped_code_is_found(tmp_path, mode, level):
    source = _write_source(tmp_path)
    assert compileall.compile_dir(tmp_path, quiet=2, optimize=level, invalidation_mode=mode)
    cache = _cache(tmp_path, level)
    assert cached_code_problem(str(source), str(cache), level) is None
    _replace_code(cache, TAMPERED)
    assert (
        cached_code_problem(str(source), str(cache), level) == "bytecode does not match its source"
    )


@pytest.mark.parametrize("flags", [[], ["-O"], ["-OO"], ["-X", "no_debug_ranges"]])
def test_import_time_caches_match(tmp_path, flags):
    source = _write_source(tmp_path)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, *flags, "-c", "import mod"], cwd=tmp_path, env=environment, check=True
    )
    level = 2 if "-OO" in flags else 1 if "-O" in flags else 0
    cache = _cache(tmp_path, level)
    assert cache.exists()
    assert cached_code_problem(str(source), str(cache), level) is None


def _compiled(source: bytes, path: str = "/site/mod.py", level: int = 0) -> bytes:
    return marshal.dumps(compile(source, path, "exec", dont_inherit=True, optimize=level))


BROKEN = b"def (:\n"
LOADS = "bytecode cannot be loaded: Python would fail to import it"


@pytest.mark.parametrize("level", [0, 2])
@pytest.mark.parametrize(
    ("source", "body", "verdict"),
    [
        # The same bytes: no code object is loaded or walked.
        (SOURCE, lambda level: _compiled(SOURCE, level=level), None),
        (SOURCE, lambda level: _compiled(SOURCE, "/elsewhere/mod.py", level), None),
        (
            SOURCE,
            lambda level: _compiled(TAMPERED, level=level),
            "bytecode does not match its source",
        ),
        (SOURCE, lambda _: b"garbage", LOADS),
        (SOURCE, lambda _: marshal.dumps(42), LOADS),
        (
            BROKEN,
            lambda level: _compiled(SOURCE, level=level),
            "bytecode does not match its source: the source does not compile",
        ),
        (BROKEN, lambda _: b"garbage", LOADS),
    ],
)
def test_equal_bytes_shortcut_gives_the_full_comparisons_verdict(source, body, verdict, level):
    """Comparing a cache's bytes with the compiled source's first never changes a verdict."""
    from insidellms_provenance.fingerprint._integrity import _code_problem, _compared_code_problem

    data = body(level)
    try:
        compiled = compile(source, "/site/mod.py", "exec", dont_inherit=True, optimize=level)
    except SyntaxError:
        compiled = None
    assert _compared_code_problem(data, compiled) == verdict
    assert _code_problem(data, source, "/site/mod.py", level) == verdict


def _timestamp_cache(tmp_path: Path) -> tuple[Path, Path]:
    source = _write_source(tmp_path)
    py_compile.compile(str(source), doraise=True, invalidation_mode=MODES[0])
    return source, _cache(tmp_path)


def test_caches_python_would_not_load_are_ignored(tmp_path):
    source, cache = _timestamp_cache(tmp_path)
    _replace_code(cache, TAMPERED)
    data = cache.read_bytes()
    cache.write_bytes(b"\x00\x00\x0d\x0a" + data[4:])  # another interpreter's magic number
    assert cached_code_problem(str(source), str(cache), 0) is None
    cache.write_bytes(data[:8] + b"\xff\xff\xff\xff" + data[12:])  # stale: mtime differs
    assert cached_code_problem(str(source), str(cache), 0) is None
    cache.write_bytes(data[:4] + b"\x04\x00\x00\x00" + data[8:])  # unknown flags
    assert cached_code_problem(str(source), str(cache), 0) is None


def test_checked_hash_cache_of_other_source_is_not_loaded(tmp_path):
    source = _write_source(tmp_path, TAMPERED)
    py_compile.compile(str(source), doraise=True, invalidation_mode=MODES[1])
    source.write_bytes(SOURCE)  # the cache's source hash no longer matches: Python recompiles
    assert cached_code_problem(str(source), str(_cache(tmp_path)), 0) is None


def test_unchecked_hash_cache_of_other_source_is_loaded_and_found(tmp_path):
    source = _write_source(tmp_path, TAMPERED)
    py_compile.compile(str(source), doraise=True, invalidation_mode=MODES[2])
    source.write_bytes(SOURCE)  # Python loads the cache without looking at the source
    assert cached_code_problem(str(source), str(_cache(tmp_path)), 0) == (
        "bytecode does not match its source"
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\xff garbage", "bytecode cannot be loaded: Python would fail to import it"),
        (marshal.dumps(42), "bytecode cannot be loaded: Python would fail to import it"),
    ],
)
def test_loadable_header_with_bad_body(tmp_path, body, problem):
    source, cache = _timestamp_cache(tmp_path)
    cache.write_bytes(cache.read_bytes()[:16] + body)
    assert cached_code_problem(str(source), str(cache), 0) == problem


def test_cache_of_a_source_that_does_not_compile(tmp_path):
    source, cache = _timestamp_cache(tmp_path)
    header = cache.read_bytes()[:16]
    broken = SOURCE[:-1] + b"("  # same size, so the header still matches
    stat = source.stat()
    source.write_bytes(broken)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    cache.write_bytes(header + marshal.dumps(compile(SOURCE, "mod.py", "exec")))
    assert cached_code_problem(str(source), str(cache), 0) == (
        "bytecode does not match its source: the source does not compile"
    )


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("x = 1\n", "x = 1\n", True),
        ("x = 0.0\n", "x = -0.0\n", False),
        ("x = 1\n", "x = True\n", False),
        ("x = (1, 2)\n", "x = (1, 3)\n", False),
        ("def f():\n    return 1\n", "def f():\n    return 2\n", False),
        ("def f():\n    return 1\n", "def g():\n    return 1\n", False),
        ("x = 1\n", "\nx = 1\n", False),  # line numbers
        ("x = {1, 2} & y\n", "x = {1, 3} & y\n", False),  # frozenset constant
    ],
)
def test_same_code_table(first, second, same):
    assert same_code(compile(first, "a.py", "exec"), compile(second, "a.py", "exec")) is same


def test_same_code_ignores_where_it_was_compiled():
    assert same_code(compile(SOURCE, "/build/a.py", "exec"), compile(SOURCE, "mod.py", "exec"))


@pytest.mark.parametrize(
    ("findings", "record_problem", "expected"),
    [
        ([], False, ("verified", [])),
        ([], True, ("unverifiable", ["d-1.dist-info/RECORD"])),
        ([Finding("p/a.py", "no hash in RECORD")], False, ("unverifiable", ["p/a.py"])),
        (
            [Finding("p/a.py", "unreadable (Permission denied)")],
            False,
            ("unverifiable", ["p/a.py"]),
        ),
        (
            [Finding("/etc/shadow", "refused: absolute path")],
            False,
            ("unverifiable", ["d-1.dist-info/RECORD"]),
        ),
        (
            [Finding("p/a.py", "content does not match RECORD hash")],
            True,
            ("modified", ["d-1.dist-info/RECORD", "p/a.py"]),
        ),
        ([Finding("p/a.py", "missing")], False, ("modified", ["p/a.py"])),
        (
            [Finding("p/evil.py", "unexpected file: not listed in RECORD")],
            False,
            ("modified", ["p/evil.py"]),
        ),
        ([Finding("p/a.py", "refused: symlink (not followed)")], False, ("modified", ["p/a.py"])),
        (
            [Finding("../../../bin/x", "content does not match RECORD hash")],
            False,
            ("modified", ["{prefix}/bin/x"]),
        ),
    ],
)
def test_integrity_summary_table(findings, record_problem, expected):
    summary = integrity_summary(
        findings, record_problem=record_problem, dist_info="d-1.dist-info", bytecode=True
    )
    assert (summary["status"], summary["paths"]) == expected
    assert summary["bytecode"] == "checked"


# ---- real installs ------------------------------------------------------------------


def _record(venv, env: dict[str, str] | None = None) -> dict:
    return json.loads(venv.record(env=env))


def _plugins(field: dict) -> dict[str, dict]:
    return {p["entry_point"]["name"]: p for p in field["plugins"]}


def _diff(venv, tmp_path: Path, before: dict, after: dict, *options: str):
    (tmp_path / "a.json").write_text(json.dumps(before))
    (tmp_path / "b.json").write_text(json.dumps(after))
    return venv.run(
        "-m",
        "insidellms_provenance",
        "diff",
        str(tmp_path / "a.json"),
        str(tmp_path / "b.json"),
        *options,
    )


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_editing_an_installed_file_changes_the_field(make_env, installer, tmp_path):
    """The issue's reproducer: diff of two runs around an in-place edit is not identical."""
    venv = make_env(installer, GOOD, fresh=True)
    before = _record(venv)
    assert _plugins(before)["alpha"]["distribution"]["integrity"] == {
        "status": "verified",
        "paths": [],
        "bytecode": "checked",
    }
    echo = venv.site_packages / "alpha_plugin/models/echo.py"
    echo.write_bytes(echo.read_bytes().replace(b"return prompt", b"return 'pwned'"))
    after = _record(venv)
    alpha = _plugins(after)["alpha"]["distribution"]
    assert alpha["integrity"]["status"] == "modified"
    assert alpha["integrity"]["paths"] == ["alpha_plugin/models/echo.py"]
    assert alpha["record_digest"] == _plugins(before)["alpha"]["distribution"]["record_digest"]
    result = _diff(venv, tmp_path, before, after, "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert not report["identical"]
    assert [(c["plugin"], c["kind"], c["severity"]) for c in report["changes"]] == [
        ("alpha", "integrity", "critical")
    ]
    show = venv.run("-m", "insidellms_provenance", "show", str(tmp_path / "b.json"))
    assert b"alpha: installed files modified: alpha_plugin/models/echo.py" in show.stdout
    check = venv.run("-m", "insidellms_provenance", "check", str(tmp_path / "b.json"))
    assert check.returncode == 1
    assert b"alpha  integrity  integrity modified: alpha_plugin/models/echo.py" in check.stdout


def test_unexpected_module_in_a_package_is_modified(make_env):
    venv = make_env("uv", GOOD, fresh=True)
    (venv.site_packages / "beta_plugin" / "injected.py").write_text("import os\n")
    beta = _plugins(_record(venv))["beta"]["distribution"]["integrity"]
    assert (beta["status"], beta["paths"]) == ("modified", ["beta_plugin/injected.py"])


@pytest.mark.parametrize(
    ("installer", "options"),
    [("pip", ("--compile",)), ("uv", ("--compile-bytecode",)), ("uv", ())],
)
def test_installer_and_import_caches_are_no_false_positive(
    tmp_path, wheelhouse, installer, options
):
    venv = create_venv(tmp_path / "venv", installer)
    install(
        venv,
        "insidellms-provenance",
        "Alpha-Plugin",
        "gamma-plugin",
        find_links=wheelhouse,
        extra=options,
    )
    caches = list(venv.site_packages.glob("alpha_plugin/**/__pycache__/*.pyc"))
    assert bool(caches) == bool(options)
    venv.load_plugins()  # as a host run does: Python writes or reuses caches
    assert list(venv.site_packages.glob("gamma_plugin/__pycache__/*.pyc"))
    first = _record(venv)
    second = _record(venv)
    assert first == second
    for plugin in first["plugins"]:
        assert plugin["distribution"]["integrity"] == {
            "status": "verified",
            "paths": [],
            "bytecode": "checked",
        }, plugin["entry_point"]["name"]


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_tampered_bytecode_with_a_valid_header_is_modified(tmp_path, wheelhouse, installer):
    venv = create_venv(tmp_path / "venv", installer)
    install(venv, "insidellms-provenance", "gamma-plugin", find_links=wheelhouse)
    venv.load_plugins()  # as a host run does: Python writes the caches
    before = _record(venv)
    hooks = venv.site_packages / "gamma_plugin" / "hooks.py"
    tag = venv.run("-c", "import sys; print(sys.implementation.cache_tag)").stdout.decode().strip()
    cache = hooks.parent / "__pycache__" / f"hooks.{tag}.pyc"
    header = cache.read_bytes()[:16]
    evil = b"def register():\n    return 'pwned'\n"
    code = venv.run(
        "-c",
        f"import marshal, sys; sys.stdout.buffer.write(marshal.dumps(compile({evil!r}, 'x', 'exec')))",
    )
    cache.write_bytes(header + code.stdout)
    ran = venv.run("-c", "import gamma_plugin.hooks as h; print(h.register())")
    assert ran.stdout.strip() == b"pwned"  # Python really runs the cache, not the source
    after = _record(venv)
    integrity = _plugins(after)["gamma"]["distribution"]["integrity"]
    assert integrity["status"] == "modified"
    assert integrity["paths"] == [f"gamma_plugin/__pycache__/hooks.{tag}.pyc"]
    assert (
        _plugins(after)["gamma"]["distribution"]["record_digest"]
        == (_plugins(before)["gamma"]["distribution"]["record_digest"])
    )
    verify = venv.run("-m", "insidellms_provenance", "verify", "--format", "json")
    assert verify.returncode == 1
    assert json.loads(verify.stdout)["findings"] == [
        {
            "distribution": "gamma-plugin",
            "path": f"gamma_plugin/__pycache__/hooks.{tag}.pyc",
            "problem": "bytecode does not match its source",
        }
    ]


def _rows(site: Path, files: dict[str, bytes]) -> list:
    import base64
    import hashlib

    from insidellms_provenance.fingerprint._record_file import parse_record

    lines = []
    for relative, data in files.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{relative},sha256={digest},{len(data)}")
    entries, rejected = parse_record("\n".join(lines) + "\n")
    assert not rejected
    return entries


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else -1


def test_directories_reused_across_rows_resolve_each_file_in_its_own_place(tmp_path):
    """Rows that leave a directory and come back, climb with ``..`` or go deeper each reach
    their own file through the kept directory fds; an edit is found where it is, a
    symlinked directory met after good rows is still refused, and no fd is left open."""
    site = tmp_path / "env" / "lib" / "site"
    files = {
        "pkg/a/x.py": b"x",
        "pkg/b/y.py": b"y",
        "pkg/a/z.py": b"z",
        "pkg/a/deep/w.py": b"w",
        "pkg/__init__.py": b"",
        "../../bin/tool": b"#!tool",
        "pkg/b/v.py": b"v",
    }
    entries = _rows(site, files)
    before = _open_fds()
    assert check_files(str(site), "", entries, 2, bytecode=False) == []
    (site / "pkg" / "a" / "z.py").write_bytes(b"edited")
    (site / "pkg" / "b" / "v.py").unlink()
    found = {f.path: f.problem for f in check_files(str(site), "", entries, 2, bytecode=False)}
    assert set(found) == {"pkg/a/z.py", "pkg/b/v.py"}
    assert found["pkg/b/v.py"] == "missing"
    # A directory swapped for a symlink (to an identical copy) between good rows.
    (site / "pkg" / "b" / "v.py").write_bytes(b"v")
    (site / "pkg" / "a" / "z.py").write_bytes(b"z")
    copy = tmp_path / "copy"
    (site / "pkg" / "a" / "deep").rename(copy)
    (site / "pkg" / "a" / "deep").symlink_to(copy, target_is_directory=True)
    found = {f.path: f.problem for f in check_files(str(site), "", entries, 2, bytecode=False)}
    assert found == {
        "pkg/a/deep/w.py": "refused: symlink in path (not followed)",
        "pkg/a/deep": "unexpected file: not listed in RECORD",  # the link itself
    }
    assert _open_fds() == before


# ---- caches under sys.pycache_prefix --------------------------------------------------


def _tag() -> str:
    assert sys.implementation.cache_tag is not None
    return sys.implementation.cache_tag


def _prefix_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, list]:
    """A site with ``pkg/mod.py``, this interpreter's prefix set, the cache compiled there."""
    site = tmp_path / "site"
    entries = _rows(site, {"pkg/__init__.py": b"", "pkg/mod.py": SOURCE})
    prefix = tmp_path / "prefix"
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    py_compile.compile(str(site / "pkg" / "mod.py"), doraise=True)
    cache = Path(importlib.util.cache_from_source(str(site / "pkg" / "mod.py")))
    assert cache.is_relative_to(prefix)
    assert not (site / "pkg" / "__pycache__").exists()
    return site, cache, entries


def _prefix_findings(site: Path, entries: list) -> dict[str, str]:
    found = check_files(str(site), "", entries, 2, bytecode=True)
    return {finding.path: finding.problem for finding in found}


def test_prefix_cache_is_checked_and_tampering_found(tmp_path, monkeypatch):
    site, cache, entries = _prefix_site(tmp_path, monkeypatch)
    assert _prefix_findings(site, entries) == {}
    _replace_code(cache, TAMPERED)
    shown = f"{{pycache_prefix}}/pkg/mod.{_tag()}.pyc"
    assert _prefix_findings(site, entries) == {shown: "bytecode does not match its source"}
    summary = integrity_summary(
        check_files(str(site), "", entries, 2, bytecode=True),
        record_problem=False,
        dist_info="",
        bytecode=True,
    )
    assert (summary["status"], summary["paths"]) == ("modified", [shown])


def test_pycache_beside_sources_is_not_what_runs_under_a_prefix(tmp_path, monkeypatch):
    """With a prefix, Python never reads ``__pycache__``: a tampered one there is no
    bytecode finding (and, its source listed, no unexpected file either)."""
    site, _, entries = _prefix_site(tmp_path, monkeypatch)
    beside = site / "pkg" / "__pycache__" / f"mod.{_tag()}.pyc"
    beside.parent.mkdir()
    py_compile.compile(str(site / "pkg" / "mod.py"), cfile=str(beside), doraise=True)
    _replace_code(beside, TAMPERED)
    assert _prefix_findings(site, entries) == {}
    monkeypatch.setattr(sys, "pycache_prefix", None)
    assert _prefix_findings(site, entries) == {
        f"pkg/__pycache__/mod.{_tag()}.pyc": "bytecode does not match its source"
    }


def test_prefix_tree_symlinks_and_special_files_are_refused(tmp_path, monkeypatch):
    site, cache, entries = _prefix_site(tmp_path, monkeypatch)
    shown = f"{{pycache_prefix}}/pkg/mod.{_tag()}.pyc"
    # The cache itself a symlink (to a genuine copy): not followed.
    copy = tmp_path / "copy.pyc"
    cache.rename(copy)
    cache.symlink_to(copy)
    assert _prefix_findings(site, entries) == {shown: "refused: symlink (not followed)"}
    # A FIFO in its place: refused, never opened (no hang).
    cache.unlink()
    os.mkfifo(cache)
    assert _prefix_findings(site, entries) == {shown: "refused: special file (not opened)"}
    # A directory of the prefix tree swapped for a symlink to a copy: not followed.
    cache.unlink()
    copy.rename(cache)
    moved = tmp_path / "moved"
    cache.parent.rename(moved)
    cache.parent.symlink_to(moved, target_is_directory=True)
    assert _prefix_findings(site, entries) == {
        "{pycache_prefix}/pkg": "refused: symlink in path (not followed)"
    }


def test_prefix_cache_reads_are_bounded(tmp_path, monkeypatch):
    from insidellms_provenance.fingerprint import _integrity

    site, cache, entries = _prefix_site(tmp_path, monkeypatch)
    monkeypatch.setattr(_integrity, "_CACHE_LIMIT", cache.stat().st_size - 1)
    found = check_files(str(site), "", entries, 2, bytecode=True)
    assert [
        (f.path, f.problem.startswith("unreadable (larger than"), f.modified) for f in found
    ] == [(f"{{pycache_prefix}}/pkg/mod.{_tag()}.pyc", True, False)]


def test_clean_import_time_prefix_cache_of_the_running_interpreter(tmp_path, monkeypatch):
    """A cache written by an import in this interpreter, under the prefix: no finding."""
    site = tmp_path / "site"
    entries = _rows(site, {"pkg/__init__.py": b"", "pkg/mod.py": SOURCE})
    prefix = tmp_path / "prefix"
    subprocess.run(
        [sys.executable, "-X", f"pycache_prefix={prefix}", "-c", "import pkg.mod"],
        cwd=site,
        check=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    assert Path(importlib.util.cache_from_source(str(site / "pkg" / "mod.py"))).is_file()
    assert _prefix_findings(site, entries) == {}


def _prefix_env(prefix: Path) -> dict[str, str]:
    return {"PYTHONPYCACHEPREFIX": str(prefix)}


_COMPILE_OPTIONS = {"pip": ("--compile",), "uv": ("--compile-bytecode",), "compileall": ()}


@pytest.mark.parametrize("compiler", ["pip", "uv", "compileall"])
def test_real_prefix_caches_no_false_positive_and_tampering_found(tmp_path, wheelhouse, compiler):
    """A real install compiled under a prefix, recorded and verified under it: the
    installer's and the import's caches are no false positive; a cache swapped there,
    which Python really runs, is ``modified`` in ``record`` and ``verify``."""
    prefix = tmp_path / "prefix"
    env = _prefix_env(prefix)
    venv = create_venv(tmp_path / "venv", "uv" if compiler == "uv" else "pip")
    extra = _COMPILE_OPTIONS[compiler] or ("--no-compile",)
    install(
        venv, "insidellms-provenance", "gamma-plugin", find_links=wheelhouse, extra=extra, env=env
    )
    if compiler == "compileall":
        subprocess.run(
            [str(venv.python), "-m", "compileall", "-q", str(venv.site_packages / "gamma_plugin")],
            check=True,
            env={"PATH": os.environ.get("PATH", ""), **env},
        )
    assert not list(venv.site_packages.glob("gamma_plugin/__pycache__/*.pyc"))
    tag = venv.run("-c", "import sys; print(sys.implementation.cache_tag)").stdout.decode().strip()
    hooks = venv.site_packages / "gamma_plugin" / "hooks.py"
    cache = Path(
        venv.run(
            "-c", f"import importlib.util as u; print(u.cache_from_source({str(hooks)!r}))", env=env
        )
        .stdout.decode()
        .strip()
    )
    assert cache.is_file()
    assert cache.is_relative_to(prefix)
    record = (venv.site_packages / "gamma_plugin-0.3.0.dist-info" / "RECORD").read_text()
    # pip lists its caches where the prefix put them, outside the environment, unhashed.
    assert (f"/gamma_plugin/hooks.{tag}.pyc,," in record) is (compiler == "pip")
    clean = _record(venv, env)
    gamma = _plugins(clean)["gamma"]["distribution"]
    assert gamma["integrity"] == {"status": "verified", "paths": [], "bytecode": "checked"}
    assert gamma["problems"] == []
    assert venv.run("-m", "insidellms_provenance", "verify", env=env).returncode == 0
    assert _record(venv, env) == clean
    header = cache.read_bytes()[:16]
    evil = b"def register():\n    return 'pwned'\n"
    code = venv.run(
        "-c",
        f"import marshal, sys; sys.stdout.buffer.write(marshal.dumps(compile({evil!r}, 'x', 'exec')))",
    )
    cache.write_bytes(header + code.stdout)
    ran = venv.run("-c", "import gamma_plugin.hooks as h; print(h.register())", env=env)
    assert ran.stdout.strip() == b"pwned"  # Python runs the prefix cache
    shown = f"{{pycache_prefix}}/gamma_plugin/hooks.{tag}.pyc"
    integrity = _plugins(_record(venv, env))["gamma"]["distribution"]["integrity"]
    assert (integrity["status"], integrity["paths"]) == ("modified", [shown])
    verify = venv.run("-m", "insidellms_provenance", "verify", "--format", "json", env=env)
    assert verify.returncode == 1
    assert json.loads(verify.stdout)["findings"] == [
        {
            "distribution": "gamma-plugin",
            "path": shown,
            "problem": "bytecode does not match its source",
        }
    ]
    # Without the prefix this interpreter would not run that cache: nothing to report.
    assert venv.run("-m", "insidellms_provenance", "verify").returncode == 0


_PATH_PARTS = st.sampled_from(
    ["pkg", "m.py", ".", "..", "", ".hidden", "a:b", "C:", "back\\slash", "nul\x00", "x\ny", " "]
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.lists(_PATH_PARTS, min_size=1, max_size=4).map("/".join), min_size=1, max_size=5),
    st.integers(min_value=0, max_value=3),
)
def test_plain_paths_need_no_per_row_work(paths, relocated_depth):
    """A path ``_row_paths`` calls plain is its own on-disk path, normalized and accepted."""
    from insidellms_provenance.fingerprint._integrity import _row_paths
    from insidellms_provenance.fingerprint._record_file import RecordEntry, on_disk_path

    entries = [RecordEntry(path, None, None) for path in paths]
    plain, on_disk, normalized = _row_paths(entries, relocated_depth)
    for path, is_plain, disk, normal in zip(paths, plain, on_disk, normalized, strict=True):
        assert disk == on_disk_path(path, relocated_depth)[0]
        assert normal == posixpath.normpath(disk)
        if is_plain:
            assert disk == normal == path
            assert all(check_path(path, depth) is None for depth in range(4))


def _roots_by_definition(listed: set[str], dist_info: str) -> list[str]:
    """The package roots as defined: packages with no package above them, then dist_info."""
    packages = {
        path.rpartition("/")[0]
        for path in listed
        if path.rpartition("/")[2] == "__init__.py" and not path.startswith("../")
    }
    roots = sorted(p for p in packages if not any(p.startswith(q + "/") for q in packages))
    return [*roots, dist_info] if dist_info else roots


@pytest.mark.parametrize(
    "listed",
    [
        set(),
        {"a/__init__.py", "a/b/__init__.py", "a/b/c/__init__.py", "a/x.py"},
        {"a/__init__.py", "a-x/__init__.py", "a/b/__init__.py", "a.y/__init__.py"},
        {"a/b/__init__.py", "a/c/__init__.py", "a/x.py"},  # a namespace "a": two roots
        {"__init__.py", "a/__init__.py"},  # a top-level __init__.py: the site directory
        {"../../bin/__init__.py", "a/__init__.py"},
        {"/abs/__init__.py", "__init__.py"},
        {"a/x__init__.py", "b/__init__.pyc", "c/__init__.py"},
    ],
)
@pytest.mark.parametrize("dist_info", ["a-1.0.dist-info", ""])
def test_package_roots_are_the_topmost_packages(listed, dist_info):
    from insidellms_provenance.fingerprint._integrity import _package_roots

    assert _package_roots(listed, dist_info) == _roots_by_definition(listed, dist_info)


@settings(max_examples=300)
@given(
    st.sets(
        st.lists(
            st.sampled_from(["a", "a-x", "a.y", "b", "..", "", "__init__.py"]), max_size=4
        ).map(lambda parts: "/".join([*parts, "__init__.py"])),
        max_size=8,
    )
)
def test_package_roots_of_any_paths_are_the_topmost_packages(listed):
    from insidellms_provenance.fingerprint._integrity import _package_roots

    assert _package_roots(listed, "d.dist-info") == _roots_by_definition(listed, "d.dist-info")


# ---- names that are not UTF-8 -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("pkg/mod.py", "pkg/mod.py"),
        ("pkg/café.txt", "pkg/café.txt"),  # valid UTF-8 is kept
        ("pkg/caf\udce9.txt", "pkg/caf\\xe9.txt"),  # the byte 0xE9, read from the disk
        ("pkg/caf\\xe9.txt", "pkg/caf\\\\xe9.txt"),  # a backslash, literally
        ("pkg/a\\b", "pkg/a\\\\b"),
        ("pkg/\udcc3\udca9", "pkg/é"),  # UTF-8 bytes read under an ASCII encoding
        ("pkg/\ud800", "pkg/\\xed\\xa0\\x80"),  # no lone surrogate survives
    ],
)
def test_path_text_table(path, shown):
    from insidellms_provenance.field._names import path_text

    assert path_text(path) == shown


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12))
def test_path_text_is_one_to_one_and_json_safe(name):
    import codecs

    from insidellms_provenance._canonical import canonical_json
    from insidellms_provenance.field._names import path_text

    shown = path_text(name.decode("utf-8", "surrogateescape"))
    assert codecs.escape_decode(shown.encode("utf-8"))[0] == name
    canonical_json([shown])  # raises on a lone surrogate


def test_a_name_not_utf8_is_an_unexpected_file_written_escaped(tmp_path):
    site = tmp_path / "site"
    entries = _rows(site, {"pkg/__init__.py": b"", "pkg-1.0.dist-info/RECORD": b""})
    os.close(os.open(site / "pkg" / "caf\udce9.txt", os.O_CREAT | os.O_WRONLY))
    (site / "pkg" / "caf\\xe9.txt").write_bytes(b"")  # the escape's text, as a name
    found = check_files(str(site), "pkg-1.0.dist-info", entries, 0, bytecode=False)
    assert sorted(found) == [
        Finding("pkg/caf\\\\xe9.txt", "unexpected file: not listed in RECORD"),
        Finding("pkg/caf\\xe9.txt", "unexpected file: not listed in RECORD"),
    ]
    summary = integrity_summary(
        found, record_problem=False, dist_info="pkg-1.0.dist-info", bytecode=False
    )
    assert summary["paths"] == ["pkg/caf\\\\xe9.txt", "pkg/caf\\xe9.txt"]


# ---- files other distributions of the site directory list --------------------------------

NAMESPACE_INIT = b"__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"


def _record_of(site: Path, dist_info: str, files: dict[str, bytes]) -> list:
    """Install ``files`` and write ``dist_info/RECORD`` listing them; the entries."""
    entries = _rows(site, files)
    rows = "".join(
        f"{entry.path},{entry.hash_.name}={entry.hash_.value},{entry.size}\n" for entry in entries
    )
    (site / dist_info).mkdir(parents=True, exist_ok=True)
    (site / dist_info / "RECORD").write_text(rows + f"{dist_info}/RECORD,,\n")
    return [*entries, *_unhashed(f"{dist_info}/RECORD")]


def _unhashed(path: str) -> list:
    from insidellms_provenance.fingerprint._record_file import parse_record

    return parse_record(f"{path},,\n")[0]


def _portions(site: Path) -> list:
    """Two pkgutil portions of ``zz``; alpha's entries."""
    _record_of(
        site,
        "zz_beta-1.0.dist-info",
        {
            "zz/__init__.py": NAMESPACE_INIT,
            "zz/beta/__init__.py": b"B = 1\n",
            "zz/beta/d.txt": b"b",
        },
    )
    return _record_of(
        site,
        "zz_alpha-1.0.dist-info",
        {"zz/__init__.py": NAMESPACE_INIT, "zz/alpha/__init__.py": b"", "zz/alpha/mod.py": b""},
    )


def _forge(site: Path, path: str, data: bytes = b"evil", name: str = "zz_forged") -> None:
    """Add ``path`` and a forged distribution whose RECORD claims it, with its hash."""
    _record_of(site, f"{name}-1.0.dist-info", {path: data})


def _compile_beta(site: Path) -> Path:
    py_compile.compile(str(site / "zz/beta/__init__.py"), doraise=True)
    return Path(importlib.util.cache_from_source(str(site / "zz/beta/__init__.py")))


EXTENSION = importlib.machinery.EXTENSION_SUFFIXES[0]
UNEXPECTED = "unexpected file: not listed in RECORD"


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("none", {}),
        ("compiled", {}),  # pip compiles the sibling's cache: still the sibling's
        ("beta-edited", {"zz/beta/d.txt": UNEXPECTED}),  # the claim no longer holds
        (
            "beta-cache-swapped",
            {
                "zz/beta/__pycache__/__init__.TAG.pyc": "unexpected bytecode: no listed source explains it"
            },
        ),
        ("beta-unlisted", {"zz/beta/extra.txt": UNEXPECTED}),
        # A forged RECORD never excuses what Python runs in place of, or before, ours.
        ("forged-extension", {f"zz/alpha/mod{EXTENSION}": UNEXPECTED}),
        ("forged-package", {"zz/alpha/mod/__init__.py": UNEXPECTED}),
        ("forged-metadata", {"zz_alpha-1.0.dist-info/entry_points.txt": UNEXPECTED}),
        # Beside our modules: ours, whoever claims it.
        ("forged-data", {"zz/alpha/notes.txt": UNEXPECTED}),
        # A directory of its own that nothing of ours runs: the claimant's, if it is named
        # after it (the bound docs/verify.md states); else never looked up.
        ("forged-new-directory", {}),
        ("forged-new-directory-unrelated-name", {"zz/alpha/extra/notes.txt": UNEXPECTED}),
    ],
)
def test_files_another_record_lists_are_its_own(tmp_path, damage, expected):
    site = tmp_path / "site"
    entries = _portions(site)
    if damage == "compiled":
        _compile_beta(site)
    elif damage == "beta-edited":
        (site / "zz/beta/d.txt").write_bytes(b"changed")
    elif damage == "beta-cache-swapped":
        _replace_code(_compile_beta(site), b"B = 2\n")
    elif damage == "beta-unlisted":
        (site / "zz/beta/extra.txt").write_bytes(b"")
    elif damage == "forged-extension":
        _forge(site, f"zz/alpha/mod{EXTENSION}")
    elif damage == "forged-package":
        _forge(site, "zz/alpha/mod/__init__.py")
    elif damage == "forged-metadata":
        _forge(site, "zz_alpha-1.0.dist-info/entry_points.txt", b"[insidellms.plugins]\n")
    elif damage == "forged-data":
        _forge(site, "zz/alpha/notes.txt")
    elif damage == "forged-new-directory":
        _forge(site, "zz/alpha/extra/notes.txt")
    elif damage == "forged-new-directory-unrelated-name":
        _forge(site, "zz/alpha/extra/notes.txt", name="unrelated")
    found = check_files(str(site), "zz_alpha-1.0.dist-info", entries, 0, bytecode=True)
    tagged = {path.replace(f".{_tag()}.pyc", ".TAG.pyc"): problem for path, problem in found}
    assert tagged == expected


# ---- a distribution inside a zip archive on sys.path ------------------------------------


def test_a_distribution_inside_an_archive_is_unverifiable_not_modified(tmp_path):
    import zipfile

    site = tmp_path / "site"
    entries = _record_of(site, "z-1.0.dist-info", {"zpkg/__init__.py": b""})
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as opened:
        for path in sorted(site.rglob("*")):
            opened.write(path, path.relative_to(site).as_posix())
    problem = "unreadable (inside an archive file: the files it lists are not checked)"
    for where in (archive, archive / "lib"):
        found = check_files(str(where), "z-1.0.dist-info", entries, 0, bytecode=True)
        assert found == [Finding("z-1.0.dist-info/RECORD", problem)]
    summary = integrity_summary(
        found, record_problem=False, dist_info="z-1.0.dist-info", bytecode=True
    )
    assert (summary["status"], summary["paths"]) == ("unverifiable", ["z-1.0.dist-info/RECORD"])
    # A site directory that is gone is not an archive: its files are missing.
    missing = check_files(str(tmp_path / "gone"), "z-1.0.dist-info", entries, 0, bytecode=False)
    assert {finding.problem for finding in missing} == {"missing"}
