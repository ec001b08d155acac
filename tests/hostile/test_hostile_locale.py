"""A non-UTF-8 file system encoding: the same field, the same verdicts, no traceback.

With UTF-8 mode off in the C locale, Python's file system encoding is ASCII: it cannot
name a file called ``däta.txt`` that RECORD lists, and reads it back from a directory
listing with surrogates. The CLI starts itself again in UTF-8 mode, so every command
sees the files as under any UTF-8 locale.
"""

from __future__ import annotations

import pytest
from hostile_kit import World, run_cli

ASCII = {"LC_ALL": "C", "PYTHONUTF8": "0"}
UTF8 = {"LC_ALL": "C.UTF-8"}


def _plugin_with_non_ascii_files(world: World) -> None:
    world.dist(
        "uni-plugin",
        files={
            "uni_plugin/__init__.py": b"def register():\n    return None\n",
            "uni_plugin/d\u00e4ta.txt": b"x\n",
            "uni_plugin/\u65e5\u672c/notes.txt": b"y\n",
        },
        entry_points="[insidellms.plugins]\nuni = uni_plugin:register\n",
    )


@pytest.mark.parametrize("command", [["record"], ["verify"], ["doctor"]])
def test_an_ascii_file_system_encoding_gives_what_utf8_gives(world: World, command) -> None:
    _plugin_with_non_ascii_files(world)
    results = {}
    for name, env in (("ascii", ASCII), ("utf8", UTF8)):
        world.env = env
        results[name] = run_cli(world, command)
    ascii_result, utf8_result = results["ascii"], results["utf8"]
    assert "Traceback" not in ascii_result.err
    assert (ascii_result.code, ascii_result.stdout) == (utf8_result.code, utf8_result.stdout)
    assert ascii_result.code == 0, ascii_result.err


def test_a_tampered_non_ascii_file_is_found_under_an_ascii_encoding(world: World) -> None:
    _plugin_with_non_ascii_files(world)
    world.write("site/uni_plugin/d\u00e4ta.txt", b"changed\n")
    world.env = ASCII
    result = run_cli(world, ["verify"])
    assert result.code == 1, result.err
    assert "uni_plugin/d\u00e4ta.txt" in result.out
    assert "content does not match RECORD hash" in result.out
