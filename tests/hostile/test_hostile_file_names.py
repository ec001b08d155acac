r"""A file whose name is not UTF-8 in a plugin's package is a finding, written ``\xNN``.

Python reads such a name with lone surrogates, which no JSON text holds: one such file
(an archive unpacked from a latin-1 system, or put there on purpose) made ``record``,
``embed``, live ``check``, ``verify --format json`` and ``doctor`` stop with exit 2, and
the hook inside a host run write no field. The name is now an unexpected file of that
distribution, written as ``audit`` writes run paths: ``\xNN`` for a byte that is not
UTF-8, ``\\`` for a backslash, so a file literally named ``caf\xe9.txt`` stays another
name. The other plugin is recorded as before, verdicts fail closed (exit 1 where the
command judges integrity), and no other file changes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hostile_kit import Case, Result, World, cli_env, host_manifest, install_fake_host, run_case

from conftest import good_plugin

# The byte 0xE9 (latin-1 "é"), as Python reads it from the disk.
LATIN1_NAME = "bad_plugin/caf\udce9.txt"
SHOWN = "bad_plugin/caf\\xe9.txt"
# A name that is valid UTF-8 and holds what the escape writes for the byte.
LITERAL_NAME = "bad_plugin/caf\\xe9.txt"
LITERAL_SHOWN = "bad_plugin/caf\\\\xe9.txt"


def _install(world: World, *, literal: bool = False) -> None:
    good_plugin(world, "good_plugin")
    good_plugin(world, "bad_plugin")
    world.write(f"site/{LATIN1_NAME}", b"junk")
    if literal:
        world.write(f"site/{LITERAL_NAME}", b"junk")


def _command(*args: str, literal: bool = False) -> Any:
    def make(world: World) -> list[str]:
        _install(world, literal=literal)
        return [arg.replace("{root}", str(world.root)) for arg in args]

    return make


def _embed(world: World) -> list[str]:
    _install(world)
    world.run_dir("run", host_manifest())
    world.output("run/manifest.json")
    return ["embed", str(world.path("run"))]


def _integrity_of(field: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        plugin["entry_point"]["name"]: plugin["distribution"]["integrity"]
        for plugin in field["plugins"]
    }


def _recorded(paths: list[str]) -> Any:
    def check(_world: World, result: Result) -> None:
        integrity = _integrity_of(json.loads(result.stdout))
        assert integrity["good_plugin"]["status"] == "verified"
        assert (integrity["bad_plugin"]["status"], integrity["bad_plugin"]["paths"]) == (
            "modified",
            paths,
        )

    return check


def _embedded(world: World, _result: Result) -> None:
    manifest = json.loads(world.path("run/manifest.json").read_text())
    integrity = _integrity_of(manifest["custom"]["plugin_provenance"])
    assert integrity["bad_plugin"]["paths"] == [SHOWN]


def _verify_json(world: World, result: Result) -> None:
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["problem"]) for f in findings] == [
        (SHOWN, "unexpected file: not listed in RECORD")
    ]


CASES = [
    Case("record", _command("record"), 0, "good_plugin", check=_recorded([SHOWN])),
    # The escape is one to one: the byte and a literal backslash are two paths.
    Case(
        "record-literal-twin",
        _command("record", literal=True),
        0,
        "good_plugin",
        check=_recorded([LITERAL_SHOWN, SHOWN]),
    ),
    Case("embed", _embed, 0, "embedded", check=_embedded),
    Case("check-live", _command("check", "--no-load"), 1, SHOWN),
    Case("verify", _command("verify"), 1, f"{SHOWN}  unexpected file"),
    Case("verify-json", _command("verify", "--format", "json"), 1, check=_verify_json),
    Case("doctor", _command("doctor", "--format", "json"), 0, '"good_plugin"'),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_file_name_not_utf8_is_a_finding_not_an_error(case: Case, world: World) -> None:
    run_case(case, world)


def test_the_hook_in_a_host_run_records_the_escaped_name(world: World) -> None:
    """The in-host hook writes the field (it used to warn and write none)."""
    install_fake_host(world)
    _install(world)
    script = (
        "from insideLLMs.runtime.runner import run\n"
        "from insideLLMs.registry import load_entrypoint_plugins\n"
        "load_entrypoint_plugins()\n"
        "run({'questions': ['q']}, 'run')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=world.root,
        env=cli_env(world),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert b"not annotated" not in done.stderr, done.stderr
    manifest = json.loads(world.path("run/manifest.json").read_text())
    integrity = _integrity_of(manifest["custom"]["plugin_provenance"])
    assert (integrity["bad_plugin"]["status"], integrity["bad_plugin"]["paths"]) == (
        "modified",
        [SHOWN],
    )
    assert integrity["good_plugin"]["status"] == "verified"
