"""The child that imports plugins: forked or a new interpreter, the same answer, walled off."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from insidellms_provenance.fingerprint import _isolation

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
    monkeypatch.setattr(_isolation, "one_thread", lambda: True)  # whatever ran before
    monkeypatch.setattr(sys, "platform", platform)
    assert _isolation._may_fork([("name", value, GROUP)]) is forks


@linux_only
def test_no_child_is_forked_from_a_process_with_other_threads() -> None:
    code = (
        "import threading\n"
        "from insidellms_provenance._signals import one_thread\n"
        "from insidellms_provenance.fingerprint._isolation import _may_fork\n"
        "entry_points = [('name', 'isolation_fresh_module_a:x', 'group')]\n"
        "print(one_thread(), _may_fork(entry_points))\n"
        "release = threading.Event()\n"
        "thread = threading.Thread(target=release.wait)\n"
        "thread.start()\n"
        "print(one_thread(), _may_fork(entry_points))\n"
        "release.set()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "True", "False", "False"]


# Run in a fresh interpreter, as the CLI is: this test process may have other threads
# by the time it runs (then nothing is forked here, rightly).
BOTH_WAYS = """
import os, sys
sys.path.insert(0, {site!r})
from insidellms_provenance._canonical import canonical_json
from insidellms_provenance.fingerprint import _isolation
from insidellms_provenance.fingerprint._recorder import record_field

descriptor = os.open({target!r}, os.O_WRONLY | os.O_CREAT, 0o600)
os.dup2(descriptor, {held})  # a descriptor this process holds while the child runs
assert _isolation._may_fork([("n", "isolation_fresh_module_a:x", {group!r})])
forked = record_field({group!r}, isolated=True)
_isolation._may_fork = lambda _entry_points=(): False
spawned = record_field({group!r}, isolated=True)
sys.stdout.buffer.write(canonical_json(forked) + b"\\n" + canonical_json(spawned) + b"\\n")
"""
HELD = 57


def both_ways(site: Path, target: Path) -> tuple[dict[str, Any], bytes, bytes]:
    """The field recorded with a forked child and with a new interpreter, as JSON bytes."""
    code = BOTH_WAYS.format(site=str(site), target=str(target), held=HELD, group=GROUP)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, timeout=120
    )
    forked, spawned = result.stdout.splitlines()
    return json.loads(forked), forked, spawned


@linux_only
def test_forked_and_new_interpreter_children_record_the_same_bytes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site, "isolation_same_ok", "def plugin_manifest():\n    return {'name': 'x'}\n")
    write_plugin(site, "isolation_same_raises", "raise RuntimeError('broken plugin')\n")
    write_plugin(site, "isolation_same_exits", "import os\nos._exit(3)\n")
    write_plugin(site, "isolation_same_prints", "print('noise on stdout')\n")
    field, forked, spawned = both_ways(site, tmp_path / "held.txt")
    assert forked == spawned
    loads = {p["entry_point"]["name"]: p["load"] for p in field["plugins"]}
    assert loads["isolation_same_ok"]["status"] == "loaded"
    assert loads["isolation_same_prints"]["status"] == "loaded"
    assert loads["isolation_same_raises"]["error_type"] == "RuntimeError"
    assert loads["isolation_same_exits"]["error_type"] == "ProcessEnded"
    assert "exit status 3" in loads["isolation_same_exits"]["error_message"]


@linux_only
def test_what_a_new_interpreter_prints_as_it_starts_is_no_answer(tmp_path: Path) -> None:
    """``sitecustomize`` (or a ``.pth`` line) printing on stdout fails no plugin.

    It goes to stderr, where plugin output goes; the answers come on their own pipe.
    The banner is printed only once the parent has started, so only its children print
    it: the forked child never starts an interpreter, the spawned one does.
    """
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site, "isolation_banner_ok", "def plugin_manifest():\n    return {'name': 'x'}\n")
    customize = tmp_path / "customize"
    customize.mkdir()
    (customize / "sitecustomize.py").write_text(
        "import os, sys\n"
        "if os.environ.get('ISOLATION_BANNER'):\n"
        "    print('welcome to the cluster')\n"
        "    sys.stdout.write('no newline after this')\n"
    )
    target = tmp_path / "held.txt"
    code = "import os\nos.environ['ISOLATION_BANNER'] = '1'\n" + BOTH_WAYS.format(
        site=str(site), target=str(target), held=HELD, group=GROUP
    )
    paths = [str(customize), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, timeout=120, env=env
    )
    forked, spawned = result.stdout.splitlines()
    assert forked == spawned
    (plugin,) = json.loads(spawned)["plugins"]
    assert plugin["load"]["status"] == "loaded", plugin["load"]
    assert b"welcome to the cluster\nno newline after this" in result.stderr


@linux_only
def test_a_child_cannot_write_to_the_parents_files(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site, "isolation_writes_fd", f"import os\nos.write({HELD}, b'forged')\n")
    target = tmp_path / "held.txt"
    field, forked, spawned = both_ways(site, target)
    assert forked == spawned  # a new interpreter never had the descriptor either
    (plugin,) = field["plugins"]
    assert plugin["load"]["status"] == "failed"
    assert plugin["load"]["error_type"] == "OSError"
    assert "Bad file descriptor" in plugin["load"]["error_message"]
    assert target.read_bytes() == b""


@linux_only
def test_neither_child_writes_bytecode_caches_into_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Else the integrity check, reading the same directories meanwhile, sees them come."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site, "isolation_no_caches", "import isolation_no_caches.helper\n")
    (site / "isolation_no_caches" / "helper.py").write_text("VALUE = 1\n")
    field, forked, spawned = both_ways(site, tmp_path / "held.txt")
    assert forked == spawned
    (plugin,) = field["plugins"]
    assert plugin["load"]["status"] == "loaded"
    assert not (site / "isolation_no_caches" / "__pycache__").exists()


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="no signal masks here")
def test_a_ctrl_c_while_a_child_starts_lands_once_the_child_is_kept() -> None:
    """Else a child started but not yet stored would outlive the interrupted command."""
    kept = []

    def start_and_keep() -> None:
        with _isolation.interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            kept.append("the child")  # what happens right after fork returns

    # Ctrl-C raises here even if this test run was started with SIGINT ignored (a
    # background job of a non-interactive shell).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            start_and_keep()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert kept == ["the child"]


def _link(name: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{name}")
    except OSError:  # the listing's own descriptor, closed already
        return ""


def _selectors_open() -> int:
    return sum("eventpoll" in _link(name) for name in os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("line", [b"not json", b'{"key": "wrong", "pid": 1, "done": []}'])
def test_a_refused_conversation_leaves_no_selector_open(line: bytes) -> None:
    # A selector left for the collector was inherited by the next forked child, which
    # closed its descriptor, reused the number for its saved stdout, and lost that when
    # the selector was freed: every plugin after a refused answer failed with EBADF
    # (seen on Python 3.12). The conversation closes its selector however it ends.
    before = _selectors_open()
    child = subprocess.Popen(
        [sys.executable, "-c", f"import sys; sys.stdout.buffer.write({line!r} + b'\\n')"],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
    )
    with pytest.raises(_isolation.ProtocolViolation):
        for _ in _isolation.converse(child, 30, _isolation.new_key()):
            pass
    assert _selectors_open() == before
