"""The child that imports plugins: forked or a new interpreter, the same answer, walled off."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from insidellms_provenance._canonical import canonical_json
from insidellms_provenance.fingerprint import _isolation
from insidellms_provenance.fingerprint._recorder import record_field

GROUP = "test.isolation.plugins"

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="the child is forked on Linux only")


def write_plugin(site: Path, package: str, body: str) -> None:
    """An installed distribution of one package whose entry point is ``package:register``."""
    info = site / f"{package}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{package} = {package}:register\n")
    (info / "RECORD").write_text(f"{package}/__init__.py,,\n{info.name}/RECORD,,\n")
    (site / package).mkdir()
    (site / package / "__init__.py").write_text(body + "\ndef register():\n    return None\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path


@pytest.mark.parametrize(
    ("platform", "value", "forks"),
    [
        ("linux", "isolation_fresh_module_a:register", True),
        ("linux", "isolation_fresh_package.sub.module:register", True),
        ("linux", "json:dumps", False),  # imported here: the child would not import it
        ("linux", "os.nothing_below_it:register", False),  # a package above is imported
        ("linux", "not a ref!!", True),  # names no module: fails to load either way
        ("darwin", "isolation_fresh_module_a:register", False),
        ("win32", "isolation_fresh_module_a:register", False),
    ],
)
def test_a_child_is_forked_only_where_it_imports_what_a_new_interpreter_would(
    monkeypatch: pytest.MonkeyPatch, platform: str, value: str, *, forks: bool
) -> None:
    if sys.platform != "linux":
        pytest.skip("fork is considered on Linux only")
    monkeypatch.setattr(sys, "platform", platform)
    assert _isolation._may_fork([("name", value, GROUP)]) is forks


@linux_only
def test_no_child_is_forked_from_a_process_with_other_threads() -> None:
    assert _isolation._may_fork([("name", "isolation_fresh_module_a:x", GROUP)])
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert not _isolation._may_fork([("name", "isolation_fresh_module_a:x", GROUP)])
    finally:
        release.set()
        thread.join()


@linux_only
def test_forked_and_new_interpreter_children_record_the_same_bytes(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_plugin(site, "isolation_same_ok", "def plugin_manifest():\n    return {'name': 'x'}\n")
    write_plugin(site, "isolation_same_raises", "raise RuntimeError('broken plugin')\n")
    write_plugin(site, "isolation_same_exits", "import os\nos._exit(3)\n")
    write_plugin(site, "isolation_same_prints", "print('noise on stdout')\n")
    assert _isolation._may_fork([("n", "isolation_same_ok:register", GROUP)])
    forked = record_field(GROUP, isolated=True)
    monkeypatch.setattr(_isolation, "_may_fork", lambda _entry_points=(): False)
    spawned = record_field(GROUP, isolated=True)
    assert canonical_json(forked) == canonical_json(spawned)
    loads = {p["entry_point"]["name"]: p["load"] for p in forked["plugins"]}
    assert loads["isolation_same_ok"]["status"] == "loaded"
    assert loads["isolation_same_prints"]["status"] == "loaded"
    assert loads["isolation_same_raises"]["error_type"] == "RuntimeError"
    assert loads["isolation_same_exits"]["error_type"] == "ProcessEnded"
    assert "exit status 3" in loads["isolation_same_exits"]["error_message"]
    # The parent imported none of them: they were imported in the children only.
    assert not [name for name in loads if name in sys.modules]


@linux_only
def test_a_forked_child_cannot_write_to_this_processs_files(site: Path, tmp_path: Path) -> None:
    target = tmp_path / "ours.txt"
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        write_plugin(site, "isolation_writes_fd", f"import os\nos.write({descriptor}, b'forged')\n")
        assert _isolation._may_fork([("n", "isolation_writes_fd:register", GROUP)])
        field = record_field(GROUP, isolated=True)
    finally:
        os.close(descriptor)
    (plugin,) = field["plugins"]
    assert plugin["load"]["status"] == "failed"
    assert plugin["load"]["error_type"] == "OSError"
    assert "Bad file descriptor" in plugin["load"]["error_message"]
    assert target.read_bytes() == b""
