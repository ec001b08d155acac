"""No secret leaves the machine: planted paths, user, host and token never reach any output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import Case, Result, World, assert_outcome, host_manifest, run_case, run_cli

from conftest import good_plugin

# Recognizable planted values, not credentials.
SECRET_DIR = "zorg-secret-dir-4711"  # noqa: S105
SECRET_USER = "zorg-user-5511"  # noqa: S105
SECRET_HOST = "zorg-host-9931"  # noqa: S105
SECRET_TOKEN = "zorgtoken0451"  # noqa: S105
SECRETS = (SECRET_DIR, SECRET_USER, SECRET_HOST, SECRET_TOKEN)

REGISTER = "def register():\n    return None\n"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _plant(world: World) -> None:
    """Plugins whose messages, URLs and RECORD rows carry every planted secret."""
    checkout = world.path(f"{SECRET_DIR}/checkout")
    world.write(f"{SECRET_DIR}/checkout/secret_pkg/__init__.py", "VALUE = 1\n")
    world.env["PYTHONPATH"] = f"{world.site}:{checkout}"
    world.env["USER"] = SECRET_USER
    world.env["LOGNAME"] = SECRET_USER
    world.env["HOSTNAME"] = SECRET_HOST
    good_plugin(world, "good_plugin")
    # Python's own ImportError names the editable checkout's absolute path.
    world.plugin(
        "editable_plugin",
        "from secret_pkg import missing_name\n",
        direct_url=json.dumps({"url": checkout.as_uri(), "dir_info": {"editable": True}}).encode(),
    )
    # A plugin's message with a config path, the user and the host.
    config = f"/home/{SECRET_USER}/.config/{SECRET_DIR}/tool.toml"
    world.plugin(
        "chatty_plugin",
        f"raise RuntimeError('cannot read {config} as {SECRET_USER}@{SECRET_HOST}')\n",
    )
    world.plugin(
        "manifest_plugin",
        REGISTER
        + "def plugin_manifest():\n"
        + f"    raise OSError(2, 'No such file', '{checkout}/settings.ini')\n",
    )
    # A URL with credentials, a token in the query and a fragment.
    world.plugin(
        "url_plugin",
        REGISTER,
        direct_url=json.dumps(
            {
                "url": f"https://{SECRET_USER}:pw@example.com/pkg.whl?token={SECRET_TOKEN}#{SECRET_TOKEN}",
                "archive_info": {},
            }
        ).encode(),
    )
    # An absolute RECORD row, quoted in distribution.problems.
    world.plugin("record_plugin", REGISTER, extra_rows=f"{checkout}/evil.py,,\n")


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into {where}:\n{text[:4000]}"


def test_no_planted_secret_reaches_record_embed_show_or_diff(world: World) -> None:
    _plant(world)
    (world.root / "home").mkdir()
    outputs: dict[str, str] = {}

    result = run_cli(world, ["record", "--output", str(world.path("field.json"))])
    assert_outcome(result, 0)
    outputs["record"] = world.path("field.json").read_text() + result.err
    field = json.loads(world.path("field.json").read_text())
    statuses = {p["entry_point"]["name"]: p["load"]["status"] for p in field["plugins"]}
    assert statuses["chatty_plugin"] == "failed"
    assert statuses["editable_plugin"] == "failed"

    run = world.run_dir("run", host_manifest())
    result = run_cli(world, ["embed", str(run)])
    assert_outcome(result, 0, "embedded")
    outputs["embed"] = (run / "manifest.json").read_text() + result.out + result.err

    for fmt in ("text", "json"):
        result = run_cli(world, ["show", str(run), "--format", fmt])
        assert_outcome(result, 0)
        outputs[f"show {fmt}"] = result.out + result.err

    empty = world.run_dir("empty", host_manifest())
    world.env["PYTHONPATH"] = str(world.path("nothing"))
    assert_outcome(run_cli(world, ["embed", str(empty)]), 0)
    for fmt in ("text", "json", "markdown"):
        result = run_cli(world, ["diff", str(empty), str(run), "--format", fmt])
        assert_outcome(result, 1)
        outputs[f"diff {fmt}"] = result.out + result.err

    for where, text in outputs.items():
        _assert_clean(text, where)
    # What is left in place of the secrets says what it was.
    assert "{path}" in outputs["record"]
    assert "{user}" in outputs["record"]
    assert "{host}" in outputs["record"]
    assert "https://example.com/pkg.whl" in outputs["record"]


def test_redact_table() -> None:
    from insidellms_provenance.fingerprint._redact import clean_url, redact

    cases = {
        "No such file: '/home/alice/x.toml'": "No such file: '{path}'",
        "cannot import name 'x' from 'p' (/srv/src/p/__init__.py)": (
            "cannot import name 'x' from 'p' ({path})"
        ),
        "C:\\Users\\alice\\x.py failed": "{path} failed",
        "see https://u:p@host.example/a?token=1#f now": "see https://host.example/a now",
        "file:///home/alice/x": "file:{path}",
        "relative/path.py and a/b": "relative/path.py and a/b",
        "{prefix}/lib/x.py": "{prefix}/lib/x.py",
        "": "",
    }
    for text, expected in cases.items():
        assert redact(text) == expected
        assert redact(redact(text)) == expected
    assert clean_url("git+ssh://git@github.com/o/r.git?x=1") == "git+ssh://github.com/o/r.git"
    assert clean_url("https://[::1]:8080/p#frag") == "https://[::1]:8080/p"


def test_redact_keeps_the_prefix_marker(tmp_path: Path) -> None:
    import sys

    from insidellms_provenance.fingerprint._redact import redact

    assert redact(f"open {sys.prefix}/lib/x.py") == "open {prefix}/lib/x.py"
    assert redact(f"open {sys.prefix}-other/x") == "open {path}"
    assert redact(f"open {tmp_path}/x") == "open {path}"


def _raising(message: str) -> Any:
    """A good plugin, and one whose import raises ``message`` (paths in the world's root)."""

    def build(world: World) -> list[str]:
        good_plugin(world, "good_plugin")
        text = message.format(root=world.root)
        world.plugin("chatty_plugin", f"raise RuntimeError({text!r})\n")
        return ["record"]

    return build


def _recorded_as(name: str, part: str, fragment: str) -> Any:
    """A check: plugin ``name``'s recorded ``part`` holds ``fragment``, redacted as it is."""

    def check(world: World, result: Result) -> None:
        plugins = {p["entry_point"]["name"]: p for p in json.loads(result.stdout)["plugins"]}
        text = json.dumps(plugins[name][part])
        assert fragment in text, (fragment, text)

    return check


def _vcs_from_local_checkout(world: World) -> list[str]:
    good_plugin(world, "good_plugin")
    url = f"git+file://{world.root}/{SECRET_DIR}/repo"
    direct = {"url": url, "vcs_info": {"vcs": "git", "commit_id": COMMIT}}
    world.plugin("vcs_plugin", REGISTER, direct_url=json.dumps(direct).encode())
    return ["record"]


SECRET_CASES = [
    Case(
        "record-message-path-after-colon-equals-or-option",
        _raising(
            f"searched PYTHONPATH=.:{{root}}/{SECRET_DIR}/lib, file:{{root}}/{SECRET_DIR}/t.json,"
            f" --prefix={{root}}/{SECRET_DIR}, -I{{root}}/{SECRET_DIR}/include"
        ),
        0,
        "good_plugin",
        absent=SECRETS,
        check=_recorded_as(
            "chatty_plugin",
            "load",
            "PYTHONPATH=.:{path}, file:{path}, --prefix={path}, -I{path}",
        ),
    ),
    Case(
        "record-message-home-relative-path",
        _raising(f"cannot read ~/{SECRET_DIR}/tool.toml"),
        0,
        "good_plugin",
        absent=SECRETS,
        check=_recorded_as("chatty_plugin", "load", "cannot read {path}"),
    ),
    Case(
        "record-message-url-parameters-and-quoted-credentials",
        _raising(
            f"GET https://example.com/pkg;token={SECRET_TOKEN} and"
            f' https://{SECRET_USER}:pw"{SECRET_TOKEN}@example.com/x failed'
        ),
        0,
        "good_plugin",
        absent=SECRETS,
        check=_recorded_as(
            "chatty_plugin",
            "load",
            "GET https://example.com/pkg and https://example.com/x failed",
        ),
    ),
    Case(
        "record-direct-url-vcs-local-checkout",
        _vcs_from_local_checkout,
        0,
        "good_plugin",
        absent=SECRETS,
        check=_recorded_as("vcs_plugin", "source", "git+file:{path}"),
    ),
]


@pytest.mark.parametrize("case", SECRET_CASES, ids=[case.id for case in SECRET_CASES])
def test_no_secret_in_a_message_or_url_reaches_the_field(case: Case, world: World) -> None:
    run_case(case, world)
