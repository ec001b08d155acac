"""Hostile plugin code on the import child's report pipe: no answer is taken on trust.

Plugin code runs in the child that reports to the CLI, and can write on its report
descriptor (fd 3 there), fork it, or dig the child's key out of its memory
(``serve_child``'s frame). Whatever it writes, the CLI must not crash, must not record
for a plugin what another plugin said, must not report success the protocol did not
prove, and must redact every string it takes into the field. Each case states the exit
code, the verdict, and (``run_case``) that no file but the intended output changed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hostile_kit import Case, Result, World, install_fake_host, run_case

from conftest import good_plugin

# What forging plugins share: write a line on the child's report pipe, tagged with the
# child's key (dug out of serve_child's frame) or not, and the shapes of a real answer.
KIT = """
import json, os, sys

def _key():
    frame = sys._getframe()
    while frame is not None and frame.f_code.co_name != "serve_child":
        frame = frame.f_back
    return None if frame is None else frame.f_locals.get("key")

def send(message, keyed=True):
    if keyed:
        message = {"key": _key(), "pid": os.getpid(), **message}
    send_raw(json.dumps(message))

def send_raw(text):
    os.write(3, text.encode() + b"\\n")

def keyed_prefix(pid=None):
    return '{"key": %s, "pid": %d, ' % (json.dumps(_key()), pid or os.getpid())

OK = {"status": "loaded", "error_type": None, "error_message": None}
MANIFEST = {"status": "missing", "digest": None, "problems": [], "name": None,
            "version": None, "sdk_version": None, "insideLLMs": None,
            "capabilities": None, "requires": None, "determinism": None}

def result(load=OK, module_file=__file__):
    return {"load": load, "manifest": MANIFEST, "module_file": module_file}

def register():
    return None
"""

LEAKY_MESSAGE = "open /home/alice/.ssh/id_rsa https://bob:hunter2@example.com/x?token=SECRET"
SECRETS = ("hunter2", "SECRET", "/home/alice", "/srv/secret", "u:p@")


def case_name(args: tuple[str, ...]) -> str:
    """A case id's start: the command and its options."""
    return "-".join(arg.lstrip("-") for arg in args)


def forger(world: World, body: str, package: str = "a_forger") -> None:
    world.plugin(package, KIT + body)


def plugins_of(result: Result) -> dict[str, dict[str, Any]]:
    """The recorded plugins by name, after checking every reader accepts the field."""
    from insidellms_provenance.field._read import read_field

    field = json.loads(result.stdout)
    read_field(field, where="record's output")
    return {p["entry_point"]["name"]: p for p in field["plugins"]}


def statuses(**expected: str) -> Any:
    """A check: each named plugin's ``load`` is ``status`` or ``status:error_type``."""

    def check(world: World, result: Result) -> None:
        plugins = plugins_of(result)
        for name, want in expected.items():
            load = plugins[name]["load"]
            got = load["status"] if ":" not in want else f"{load['status']}:{load['error_type']}"
            assert got == want, (name, load)

    return check


def violation_names_no_frame_text(world: World, result: Result) -> None:
    """The forger is failed for the protocol, in words that quote nothing it wrote."""
    statuses(a_forger="failed:ProtocolViolation", z_good="loaded")(world, result)
    message = plugins_of(result)["a_forger"]["load"]["error_message"]
    assert message.startswith("the child's answers were not the tool's own: "), message
    assert message.endswith("; the child was stopped"), message


def with_forger(body: str, *args: str, victim: str | None = None) -> Any:
    """``a_forger`` doing ``body`` at import, ``b_victim`` (raising, if given), ``z_good``."""

    def make(world: World) -> list[str]:
        forger(world, body)
        if victim is not None:
            world.plugin("b_victim", victim)
        good_plugin(world, "z_good")
        return list(args) or ["record"]

    return make


VICTIM = 'raise RuntimeError("victim is broken")\n'

# F1: a plugin answers for another (here: a broken plugin said to have loaded).
FORGE_FOR_ANOTHER = """
send({"done": ["a_forger", "a_forger:register"], "result": result()}, keyed=%(keyed)s)
send({"done": ["b_victim", "b_victim:register"],
      "result": result(module_file=__file__.replace("a_forger", "b_victim"))}, keyed=%(keyed)s)
send({"complete": True}, keyed=%(keyed)s)
"""

FOR_ANOTHER = [
    case
    for keyed in (False, True)
    for case in (
        Case(
            f"check-forged-done-for-another-plugin{'-keyed' * keyed}",
            with_forger(FORGE_FOR_ANOTHER % {"keyed": keyed}, "check", victim=VICTIM),
            1,
            "b_victim  load  load failed (RuntimeError)",
        ),
        Case(
            f"record-forged-done-for-another-plugin{'-keyed' * keyed}",
            with_forger(FORGE_FOR_ANOTHER % {"keyed": keyed}, victim=VICTIM),
            0,
            check=statuses(
                a_forger="failed:ProtocolViolation", b_victim="failed:RuntimeError", z_good="loaded"
            ),
        ),
    )
]

# Answers out of turn: for an entry point never asked, twice, or 'complete' too early.
OUT_OF_TURN = [
    Case(
        "record-done-for-an-entry-point-not-asked",
        with_forger(
            'send({"loaded": OK})\n'
            'send({"done": ["nobody", "nobody:register"], "result": result()})\n'
        ),
        0,
        check=violation_names_no_frame_text,
    ),
    Case(
        "record-two-loaded-for-one-entry-point",
        with_forger('send({"loaded": OK})\nsend({"loaded": OK})\n'),
        0,
        check=violation_names_no_frame_text,
    ),
    Case(
        "record-done-with-another-outcome-than-loaded",
        with_forger(
            'send({"loaded": OK})\n'
            'send({"done": ["a_forger", "a_forger:register"], "result": result('
            'load={"status": "failed", "error_type": "X", "error_message": None})})\n'
        ),
        0,
        check=violation_names_no_frame_text,
    ),
    *(
        Case(
            f"{case_name(command)}-complete-before-every-answer{'-keyed' * keyed}",
            with_forger(f'send({{"complete": True}}, keyed={keyed})\nos._exit(0)\n', *command),
            1 if command[0] == "check" else 0,
            "a_forger  load" if command[0] == "check" else "",
            check=None if command[0] == "check" else violation_names_no_frame_text,
        )
        for keyed in (False, True)
        for command in (("record",), ("check", "--strict-plugins"))
    ),
]

# F2: frames of every wrong shape, keyed so that they get past the key check.
MALFORMED_LINES = {
    "done-not-a-list": 'send({"done": 5})',
    "done-too-short": 'send({"done": ["a_forger"]})',
    "loaded-a-string": 'send({"loaded": "x"})',
    "loaded-missing-keys": 'send({"loaded": {"status": "loaded"}})',
    "loaded-unknown-status": 'send({"loaded": {**OK, "status": "fine"}})',
    "loaded-unknown-key": 'send({"loaded": {**OK, "/home/alice https://u:p@h/?k=v": 1}})',
    "result-load-a-string": (
        'send({"loaded": OK})\n'
        'send({"done": ["a_forger", "a_forger:register"],'
        ' "result": {"load": "x", "manifest": {}, "module_file": None}})\n'
        'send({"complete": True})'
    ),
    "result-module-file-a-number": (
        'send({"loaded": OK})\n'
        'send({"done": ["a_forger", "a_forger:register"], "result": result(module_file=5)})'
    ),
    "error-type-nan": (
        'send_raw(keyed_prefix() + \'"loaded": {"status": "failed", "error_type": NaN,'
        ' "error_message": null}}\')'
    ),
    "number-of-5000-digits": "send_raw(keyed_prefix() + '\"loaded\": ' + '9' * 5000 + '}')",
    "nested-100000-deep": "send_raw('[' * 100000)",
    "not-json": "send_raw('}{')",
    "not-an-object": "send_raw('[1, 2]')",
    "another-pid": 'send_raw(keyed_prefix(os.getpid() + 1) + \'"loaded": \' + json.dumps(OK) + "}")',
    "a-line-over-64-mib": "send_raw('\"' + 'x' * (64 * 1024 * 1024 + 8))",
}

MALFORMED = [
    Case(
        f"record-malformed-frame-{name}",
        with_forger(line + "\n"),
        0,
        absent=("Traceback", *SECRETS),
        check=violation_names_no_frame_text,
    )
    for name, line in MALFORMED_LINES.items()
]


# F7: a plugin that forks at import (both processes go on), or whose answer comes twice;
# then a plugin that ends the process: it must end the child, never the CLI.
def _then_exit(first: str, *args: str) -> Any:
    def make(world: World) -> list[str]:
        forger(world, first, "a_first")
        world.plugin("b_exit", "import os\nos._exit(42)\n")
        good_plugin(world, "c_good")
        return list(args) or ["record"]

    return make


FORK = "os.fork()\n"
DUPLICATE_AT_MANIFEST = """
def plugin_manifest():
    send({"done": ["a_first", "a_first:register"], "result": result()}, keyed=%(keyed)s)
    return None
"""

ENDS_THE_CHILD = [
    Case(
        "record-plugin-forks-at-import",
        _then_exit(FORK),
        0,
        "ended the process (exit status 42)",
        check=statuses(a_first="loaded", b_exit="failed:ProcessEnded", c_good="loaded"),
    ),
    Case(
        "check-plugin-forks-at-import",
        _then_exit(FORK, "check"),
        1,
        "b_exit  load  load failed (ProcessEnded)",
    ),
    Case(
        "record-duplicate-done",
        _then_exit(DUPLICATE_AT_MANIFEST % {"keyed": False}),
        0,
        "ended the process (exit status 42)",
        check=statuses(
            a_first="failed:ProtocolViolation", b_exit="failed:ProcessEnded", c_good="loaded"
        ),
    ),
    Case(
        # The key dug out: the copy is taken for a_first's answer, the real one breaks
        # b_exit's turn: b_exit is failed, never imported by the CLI itself.
        "record-duplicate-done-keyed",
        _then_exit(DUPLICATE_AT_MANIFEST % {"keyed": True}),
        0,
        check=statuses(a_first="loaded", b_exit="failed:ProtocolViolation", c_good="loaded"),
    ),
    Case(
        "check-strict-duplicate-done-keyed",
        _then_exit(DUPLICATE_AT_MANIFEST % {"keyed": True}, "check", "--strict-plugins"),
        1,
        "load failed (ProtocolViolation)",
        absent=("c_good",),
    ),
]


# F3: secrets in a forged answer. Unkeyed, it is refused; keyed (the plugin answering
# for itself, the last one: as the child would), it is taken, redacted.
def _secret_forger(keyed: bool) -> Any:
    body = f"""
failed = {{"status": "failed", "error_type": "/srv/secret/Error", "error_message": {LEAKY_MESSAGE!r}}}
manifest = {{**MANIFEST, "status": "error", "problems": ["/srv/secret/path https://u:p@h/?k=v"]}}
send({{"loaded": failed}}, keyed={keyed})
send({{"done": ["zz_forger", "zz_forger:register"],
      "result": {{"load": failed, "manifest": manifest, "module_file": None}}}}, keyed={keyed})
send({{"complete": True}}, keyed={keyed})
os._exit(0)
"""

    def make(world: World) -> list[str]:
        good_plugin(world, "good_plugin")
        forger(world, body, "zz_forger")
        return ["record"]

    return make


def _redacted_in_the_field(_world: World, result: Result) -> None:
    plugins = plugins_of(result)
    assert plugins["good_plugin"]["load"]["status"] == "loaded"
    forged = plugins["zz_forger"]
    assert forged["load"] == {
        "status": "failed",
        "error_type": "{path}",
        "error_message": "open {path} https://example.com/x",
    }
    assert forged["manifest"]["problems"] == ["{path} https://h/"]


SECRETS_CASES = [
    Case(
        "record-forged-frame-with-secrets",
        _secret_forger(keyed=False),
        0,
        absent=SECRETS,
        check=statuses(good_plugin="loaded", zz_forger="failed:ProtocolViolation"),
    ),
    Case(
        "record-forged-keyed-frame-with-secrets",
        _secret_forger(keyed=True),
        0,
        absent=SECRETS,
        check=_redacted_in_the_field,
    ),
]


# F8: doctor and list with insideLLMs installed: a plugin the host loads answers for the
# loading child. One error line, exit 2, never a traceback nor a forged view shown.
def _host_view_forger(body: str, *args: str) -> Any:
    def make(world: World) -> list[str]:
        install_fake_host(world)
        good_plugin(world, "good_plugin")
        forger(world, body + 'send({"complete": True}, keyed=KEYED)\nos._exit(0)\n', "a_forge")
        return list(args)

    return make


HOST_VIEW_ANSWERS = {
    "empty-view": 'send({"view": {}}, keyed=KEYED)\n',
    "view-not-an-object": 'send({"view": 5}, keyed=KEYED)\n',
    "view-bad-owners": (
        'send({"view": {"provenance": PROVENANCE, "registries": {}, "owners": [["x"]],'
        ' "builtins": []}}, keyed=KEYED)\n'
    ),
    "two-views": 'send({"view": {}}, keyed=KEYED)\nsend({"view": {}}, keyed=KEYED)\n',
    "error-not-a-string": 'send({"error": 5}, keyed=KEYED)\n',
}
# A valid field of no plugins, as the forger would need one.
PROVENANCE_OF_NONE = """
from insidellms_provenance.field._build import make_field
PROVENANCE = make_field("insidellms.plugins", [])
"""

HOST_VIEW = [
    Case(
        f"{case_name(args)}-host-view-{name}{'-keyed' * keyed}",
        _host_view_forger(f"KEYED = {keyed}\n" + PROVENANCE_OF_NONE + body, *args),
        2,
        "importing insideLLMs failed: its answer was not the tool's own: "
        + ("a malformed answer" if keyed and name == "view-bad-owners" else ""),
        absent=("good_plugin  ok",),
    )
    for args in (("doctor",), ("list",), ("doctor", "--format", "json"))
    for name, body in HOST_VIEW_ANSWERS.items()
    for keyed in (False, True)
]

CASES = FOR_ANOTHER + OUT_OF_TURN + MALFORMED + ENDS_THE_CHILD + SECRETS_CASES + HOST_VIEW


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_child_frames(case: Case, world: World) -> None:
    run_case(case, world)
