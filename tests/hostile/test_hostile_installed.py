"""Hostile installed state: broken distributions and plugins are problems, never the end.

Every case installs one bad distribution next to a good plugin (``good_plugin``) and checks
that the command finishes with the bad one reported and the good one still recorded or
verified.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hostile_kit import Case, Result, World, host_manifest, install_fake_host, run_case

from conftest import good_plugin

REGISTER = "def register():\n    return None\n"


def recorded(result: Result) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def plugin_named(result: Result, name: str) -> dict[str, Any]:
    plugins = {p["entry_point"]["name"]: p for p in recorded(result)["plugins"]}
    assert "good_plugin" in plugins, "the good plugin must still be recorded"
    return plugins[name]


def expect_plugin(name: str, path: str, text: str) -> Any:
    """A check: the recorded ``path`` (dotted) of plugin ``name`` contains ``text``."""

    def check(world: World, result: Result) -> None:
        value: Any = plugin_named(result, name)
        for part in path.split("."):
            value = value[part]
        assert text in json.dumps(value, ensure_ascii=False), (path, value)

    return check


def with_good(build: Any) -> Any:
    """Install the good plugin, then the bad thing; return ``record``'s arguments."""

    def make(world: World) -> list[str]:
        good_plugin(world, "good_plugin")
        build(world)
        return ["record"]

    return make


def bad_plugin(body: str, **options: Any) -> Any:
    return with_good(lambda w: w.plugin("bad_plugin", body, **options))


def bad_files(**options: Any) -> Any:
    """The bad plugin is fine as code; one of its metadata files is replaced."""

    def build(world: World) -> None:
        fifos = {key: value for key, value in options.items() if value == "FIFO"}
        links = {key: value for key, value in options.items() if value == "ZERO"}
        plain = {k: v for k, v in options.items() if k not in fifos and k not in links}
        info = world.plugin("bad_plugin", REGISTER, **plain)
        names = {"record": "RECORD", "metadata": "METADATA", "direct_url": "direct_url.json"}
        names["entry_points"] = "entry_points.txt"
        for key in fifos:
            path = info / names[key]
            if path.exists():
                path.unlink()
            os.mkfifo(path)
        for key in links:
            path = info / names[key]
            if path.exists():
                path.unlink()
            path.symlink_to("/dev/zero")

    return with_good(build)


def _huge_record(world: World) -> None:
    info = world.plugin("bad_plugin", REGISTER)
    with (info / "RECORD").open("r+b") as file:
        file.truncate(80 << 20)  # sparse: costs no disk


INSTALLED = [
    # files that hang or never end
    Case(
        "record-fifo-RECORD",
        bad_files(record="FIFO"),
        0,
        "not a regular file",
        check=expect_plugin("bad_plugin", "distribution.problems", "RECORD"),
    ),
    Case(
        "record-fifo-METADATA",
        bad_files(metadata="FIFO"),
        0,
        "not a regular file",
        check=expect_plugin("bad_plugin", "distribution.problems", "METADATA"),
    ),
    Case(
        "record-fifo-direct_url",
        bad_files(direct_url="FIFO"),
        0,
        "not a regular file",
        check=expect_plugin("bad_plugin", "source.problems", "direct_url.json"),
    ),
    Case("record-fifo-entry_points", bad_files(entry_points="FIFO"), 0, "good_plugin"),
    Case(
        "record-dev-zero-RECORD",
        bad_files(record="ZERO"),
        0,
        "not a regular file",
        check=expect_plugin("bad_plugin", "distribution.problems", "RECORD"),
    ),
    Case("record-dev-zero-METADATA", bad_files(metadata="ZERO"), 0, "not a regular file"),
    Case(
        "record-huge-RECORD",
        with_good(_huge_record),
        0,
        "limit",
        check=expect_plugin("bad_plugin", "distribution.problems", "RECORD"),
    ),
    # plugin code that exits, kills or hangs the process
    Case(
        "record-sys-exit-0-at-import",
        bad_plugin("import sys\nsys.exit(0)\n"),
        0,
        "SystemExit",
        check=expect_plugin("bad_plugin", "load.status", "failed"),
    ),
    Case("record-sys-exit-1-at-import", bad_plugin("import sys\nsys.exit(1)\n"), 0, "SystemExit"),
    Case(
        "record-generator-exit",
        bad_plugin("raise GeneratorExit('x')\n"),
        0,
        "GeneratorExit",
        check=expect_plugin("bad_plugin", "load.status", "failed"),
    ),
    Case(
        "record-base-exception-subclass",
        bad_plugin("class Boom(BaseException):\n    pass\nraise Boom('x')\n"),
        0,
        "Boom",
        check=expect_plugin("bad_plugin", "load.status", "failed"),
    ),
    Case(
        "record-manifest-sys-exit",
        bad_plugin(REGISTER + "def plugin_manifest():\n    import sys\n    sys.exit(0)\n"),
        0,
        "SystemExit",
        check=expect_plugin("bad_plugin", "manifest.status", "error"),
    ),
    Case(
        "record-os-exit",
        bad_plugin("import os\nos._exit(0)\n"),
        0,
        "ended the process",
        check=expect_plugin("bad_plugin", "load.status", "failed"),
    ),
    Case(
        "record-manifest-os-exit",
        bad_plugin(REGISTER + "def plugin_manifest():\n    import os\n    os._exit(3)\n"),
        0,
        "ended the process",
        check=expect_plugin("bad_plugin", "manifest.status", "error"),
    ),
    Case(
        "record-fatal-signal",
        bad_plugin("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"),
        0,
        "SIGSEGV",
        check=expect_plugin("bad_plugin", "load.status", "failed"),
    ),
    Case(
        "record-never-returns",
        bad_plugin("import time\nwhile True:\n    time.sleep(1)\n"),
        0,
        "did not finish",
        check=expect_plugin("bad_plugin", "load.status", "failed"),
    ),
    Case("record-keyboard-interrupt", bad_plugin("raise KeyboardInterrupt\n"), 130, "interrupted"),
    # plugin output on file descriptor 1
    Case(
        "record-os-write-fd1",
        bad_plugin("import os\nos.write(1, b'}garbage{')\n" + REGISTER),
        0,
        "good_plugin",
        check=lambda _w, r: recorded(r) and None,
    ),
    Case(
        "record-sys-dunder-stdout",
        bad_plugin("import sys\nsys.__stdout__.write('}x{')\nsys.__stdout__.flush()\n" + REGISTER),
        0,
        "good_plugin",
        check=lambda _w, r: recorded(r) and None,
    ),
    Case(
        "record-print-at-import",
        bad_plugin("print('hello')\n" + REGISTER),
        0,
        "good_plugin",
        check=lambda _w, r: recorded(r) and None,
    ),
    # broken declarations
    Case(
        "record-bad-entry-point-value",
        with_good(
            lambda w: w.plugin(
                "bad_plugin",
                REGISTER,
                entry_points="[insidellms.plugins]\nbad_plugin = not a valid ref!!\n",
            )
        ),
        0,
        "bad_plugin",
        check=expect_plugin("bad_plugin", "load.status", "failed"),
    ),
    Case(
        "record-entry-point-line-without-equals",
        with_good(
            lambda w: w.plugin(
                "bad_plugin",
                REGISTER,
                entry_points="[insidellms.plugins]\njust a line\nok_ep = bad_plugin:register\n",
            )
        ),
        0,
        "ok_ep",
        check=expect_plugin("ok_ep", "load.status", "loaded"),
    ),
    Case(
        "record-entry-points-not-utf8",
        with_good(
            lambda w: w.plugin(
                "bad_plugin",
                REGISTER,
                entry_points=b"[insidellms.plugins]\nbad_plugin = bad_plugin:register # \xff\n",
            )
        ),
        0,
        "good_plugin",
    ),
    Case(
        "record-direct-url-list",
        bad_files(direct_url=b"[1, 2]"),
        0,
        "direct_url.json",
        check=expect_plugin("bad_plugin", "source.kind", "unknown"),
    ),
    Case("record-direct-url-string", bad_files(direct_url=b'"x"'), 0, "direct_url.json"),
    Case("record-direct-url-not-json", bad_files(direct_url=b"{"), 0, "direct_url.json"),
    Case(
        "record-metadata-not-utf8",
        bad_files(
            metadata=b"Metadata-Version: 2.1\nName: bad-plugin\nVersion: 1.0\nSummary: \xff\n"
        ),
        0,
        "METADATA is not UTF-8",
    ),
    Case(
        "record-RECORD-not-utf8",
        bad_files(record=b"bad_plugin/__init__.py,,\n\xff,,\n"),
        0,
        "RECORD is not UTF-8",
        absent=("RECORD is missing",),
    ),
    Case(
        "record-RECORD-nul-path",
        bad_files(record=b"bad_plugin/\x00x.py,,\n"),
        0,
        "NUL",
        check=expect_plugin("bad_plugin", "distribution.problems", "NUL"),
    ),
    Case(
        "record-RECORD-absolute-row",
        bad_files(extra_rows="/etc/passwd,,\n"),
        0,
        "absolute path",
        absent=("/etc/passwd",),
    ),
    Case(
        "record-hostile-dict-manifest",
        bad_plugin(
            REGISTER + "class D(dict):\n    def keys(self):\n        raise RuntimeError('k')\n"
            "    def items(self):\n        raise RuntimeError('i')\n"
            "    def __iter__(self):\n        raise RuntimeError('it')\n"
            "    def get(self, *a):\n        raise RuntimeError('g')\n"
            "def plugin_manifest():\n    return D(name='x')\n"
        ),
        0,
        "good_plugin",
        check=expect_plugin("bad_plugin", "manifest.status", "invalid"),
    ),
    Case(
        "record-exception-str-raises",
        bad_plugin(
            "class E(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\nraise E()\n"
        ),
        0,
        "good_plugin",
        check=expect_plugin("bad_plugin", "load.status", "failed"),
    ),
    Case(
        "record-manifest-exception-str-raises",
        bad_plugin(
            REGISTER
            + "class E(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\n"
            "def plugin_manifest():\n    raise E()\n"
        ),
        0,
        "good_plugin",
        check=expect_plugin("bad_plugin", "manifest.status", "error"),
    ),
    Case(
        "record-dotenv-like-console-script",
        lambda w: (
            good_plugin(w, "good_plugin", group="console_scripts_x"),
            w.plugin(
                "dotenv_like",
                "import sys\nsys.stderr.write('install the cli extra')\nsys.exit(1)\n",
                group="console_scripts_x",
            ),
            ["record", "--group", "console_scripts_x"],
        )[-1],
        0,
        "SystemExit",
    ),
]


def _command_with_exit_plugin(*args: str) -> Any:
    def make(world: World) -> list[str]:
        good_plugin(world, "good_plugin")
        world.plugin("bad_plugin", "import sys\nsys.exit(0)\n")
        return [arg.replace("{root}", str(world.root)) for arg in args]

    return make


def _embed_exit(world: World) -> list[str]:
    world.run_dir("run", host_manifest())
    world.output("run/manifest.json")
    return _command_with_exit_plugin("embed", "{root}/run")(world)


def _record_output_exit(world: World) -> list[str]:
    return _command_with_exit_plugin("record", "--output", world.output("field.json"))(world)


def _field_written(relative: str) -> Any:
    def check(world: World, result: Result) -> None:
        text = world.path(relative).read_text()
        assert '"failed"' in text
        assert "SystemExit" in text

    return check


def _verify_symlinked_dir(world: World) -> list[str]:
    secret = world.write("secret/passwd", b"root:x:0:0\n")
    info = world.plugin(
        "good_plugin", REGISTER, extra_rows=f"x/passwd,{_hash(secret.read_bytes())},11\n"
    )
    assert info.exists()
    world.link("site/x", world.path("secret"))
    return ["verify"]


def _hash(data: bytes) -> str:
    from hostile_kit import record_hash

    return record_hash(data)


def _verify_files(**options: Any) -> Any:
    def make(world: World) -> list[str]:
        bad_files(**options)(world)
        return ["verify"]

    return make


def _verify_run_fifo_direct_url(world: World) -> list[str]:
    from hostile_kit import run_cli

    bad_files(direct_url="FIFO")(world)
    recorded = run_cli(world, ["record", "--output", str(world.path("field.json"))])
    assert recorded.code == 0, recorded.err
    return ["verify", str(world.path("field.json"))]


def _with_fake_host(world: World) -> list[str]:
    """The fake insideLLMs installed: importing it loads the plugins (in a child process)."""
    install_fake_host(world)
    good_plugin(world, "good_plugin")
    world.plugin("bad_plugin", "import sys\nsys.exit(0)\n")
    return ["doctor"]


def _host_loading(body: str, *args: str, plugin_timeout: str | None = None) -> Any:
    """The fake host installed next to a good plugin and ``bad_plugin`` doing ``body``."""

    def make(world: World) -> list[str]:
        install_fake_host(world)
        good_plugin(world, "good_plugin")
        world.plugin("bad_plugin", body)
        if plugin_timeout is not None:
            world.env["INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT"] = plugin_timeout
        return list(args)

    return make


def _names_the_loading_plugins(world: World, result: Result) -> None:
    assert "while it loaded the plugins of group insidellms.plugins" in result.err
    assert "bad_plugin" in result.err


HOST_OS_EXIT = "import os\nos._exit(0)\n"
HOST_SIGKILL = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
HOST_HANG = "import time\ntime.sleep(600)\n"

# The host imports its plugins in the process that imports it: doctor and list run that
# import in a child, so a plugin ending or hanging it is an error (exit 2), never exit 0.
HOST_LOADING = [
    Case(
        f"{command}-host-{what}",
        _host_loading(body, *args, plugin_timeout=plugin_timeout),
        2,
        expect,
        check=_names_the_loading_plugins,
    )
    for command, args in (
        ("doctor", ("doctor",)),
        ("doctor-strict", ("doctor", "--strict-plugins")),
        ("doctor-json", ("doctor", "--format", "json")),
        ("list", ("list",)),
        ("list-json", ("list", "--format", "json")),
    )
    for what, body, expect, plugin_timeout in (
        ("os-exit-0", HOST_OS_EXIT, "a plugin ended the process (exit status 0)", None),
        ("sigkill", HOST_SIGKILL, "a plugin ended the process (killed by SIGKILL)", None),
        ("hang", HOST_HANG, "did not finish within 3 s; stopped", "3"),
    )
] + [
    Case(
        "list-json-host-fd1-writes",
        _host_loading(
            "import os\nos.write(1, b'}{')\ndef register():\n    return None\n",
            "list",
            "--format",
            "json",
        ),
        0,
        "builtin",
        check=lambda _w, r: json.loads(r.stdout) and None,
    ),
    Case(
        "doctor-json-host-fd1-writes",
        _host_loading(
            "import sys\nsys.__stdout__.write('}{')\nsys.__stdout__.flush()\n"
            "def register():\n    return None\n",
            "doctor",
            "--format",
            "json",
        ),
        0,
        "bad_plugin",
        check=lambda _w, r: json.loads(r.stdout) and None,
    ),
]


def _doctor_json_bad_entry_points(world: World) -> list[str]:
    good_plugin(world, "good_plugin")
    world.plugin(
        "bad_plugin",
        REGISTER,
        entry_points="[insidellms.plugins]\njust a line\nok_ep = bad_plugin:register\n",
    )
    fifo_dist = world.plugin("fifo_plugin", REGISTER)
    (fifo_dist / "entry_points.txt").unlink()
    os.mkfifo(fifo_dist / "entry_points.txt")
    return ["doctor", "--format", "json"]


def _duplicate_then_exit(world: World) -> list[str]:
    """Two distributions declare one (name, value); the plugin after them ends the process."""
    good_plugin(world, "good_plugin")
    same = "[insidellms.plugins]\naaa = good_plugin:register\n"
    world.dist("dup-one", entry_points=same)
    world.dist("dup-two", entry_points=same)
    world.plugin("zzz_plugin", "import os\nos._exit(0)\n")
    return ["record"]


def _blames_the_right_plugin(world: World, result: Result) -> None:
    plugins = recorded(result)["plugins"]
    statuses = {(p["entry_point"]["name"], p["load"]["status"]) for p in plugins}
    assert ("aaa", "loaded") in statuses
    assert ("good_plugin", "loaded") in statuses
    assert ("zzz_plugin", "failed") in statuses


COMMANDS = [
    Case(
        "record-duplicate-entry-points-then-exit",
        _duplicate_then_exit,
        0,
        "ended the process",
        check=_blames_the_right_plugin,
    ),
    Case("doctor-json-fifo-and-bad-entry-points", _doctor_json_bad_entry_points, 0, "ok_ep"),
    Case("doctor-host-import-sys-exit", _with_fake_host, 2, "SystemExit"),
    Case("verify-run-fifo-direct_url", _verify_run_fifo_direct_url, 1, "match this environment"),
    Case(
        "check-strict-sys-exit",
        _command_with_exit_plugin("check", "--strict-plugins"),
        1,
        "bad_plugin",
    ),
    Case(
        "check-json-fd1-writes",
        lambda w: (
            good_plugin(w, "good_plugin"),
            w.plugin("bad_plugin", "import os\nos.write(1, b'}{')\n" + REGISTER),
            ["check", "--format", "json"],
        )[-1],
        0,
        '"ok":true',
        check=lambda _w, r: json.loads(r.stdout) and None,
    ),
    Case(
        "doctor-sys-exit", _command_with_exit_plugin("doctor", "--strict-plugins"), 1, "bad_plugin"
    ),
    Case("doctor-sys-exit-warn-only", _command_with_exit_plugin("doctor"), 0, "bad_plugin"),
    Case("embed-sys-exit", _embed_exit, 0, "embedded", check=_field_written("run/manifest.json")),
    Case("record-output-sys-exit", _record_output_exit, 0, "", check=_field_written("field.json")),
    Case("verify-symlinked-directory", _verify_symlinked_dir, 1, "symlink"),
    Case("verify-fifo-RECORD", _verify_files(record="FIFO"), 1, "not a regular file"),
    Case("verify-fifo-METADATA", _verify_files(metadata="FIFO"), 1, "METADATA"),
    Case("verify-dev-zero-RECORD", _verify_files(record="ZERO"), 1, "not a regular file"),
    Case(
        "verify-RECORD-not-utf8",
        _verify_files(record=b"bad_plugin/__init__.py,,\n\xff,,\n"),
        1,
        "not UTF-8",
    ),
    Case(
        "verify-RECORD-nul-path",
        _verify_files(record=b"bad_plugin/\x00x.py," + _hash(b"x").encode() + b",1\n"),
        1,
        "NUL",
    ),
    Case(
        "verify-bad-entry-point-value",
        lambda w: (
            good_plugin(w, "good_plugin"),
            w.plugin(
                "bad_plugin",
                REGISTER,
                entry_points="[insidellms.plugins]\nbad = not a valid ref!!\n",
            ),
            ["verify"],
        )[-1],
        0,
        "of the 2 distributions",
    ),
]

CASES = INSTALLED + COMMANDS + HOST_LOADING


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_installed_state(case: Case, world: World) -> None:
    run_case(case, world)
