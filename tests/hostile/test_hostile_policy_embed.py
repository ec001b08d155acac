"""Hostile policy files, embed targets and flags: one line, exit 2, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import Case, Result, World, host_manifest, run_case, with_run


def policy(text: str | None, *extra: str) -> Any:
    """``check RUN --policy FILE`` on a genuine run, with the policy file's text."""

    def make(world: World, run: Path) -> list[str]:
        path = world.write("policy.toml", text) if text is not None else None
        return ["check", str(run), *(["--policy", str(path)] if path else []), *extra]

    return with_run(make)


def policy_special(make_file: Any) -> Any:
    return with_run(lambda world, run: ["check", str(run), "--policy", str(make_file(world))])


POLICIES = [
    Case("policy-strict-string", policy('strict-plugins = "false"\n'), 2, "strict-plugins"),
    Case("policy-allow-string", policy('allow = "name"\n'), 2, "allow"),
    Case("policy-tool-int", policy("tool = 1\n"), 2, "tool"),
    Case("policy-deny-int", policy("deny = 5\n"), 2, "deny"),
    Case(
        "policy-table-int",
        policy("[tool]\ninsidellms-provenance = 5\n"),
        2,
        "insidellms-provenance",
    ),
    Case("policy-deny-tables", policy("deny = [{a=1}]\n"), 2, "deny"),
    Case("policy-determinism-int", policy("require-determinism = 3\n"), 2, "require-determinism"),
    Case("policy-version-float", policy("insidellms-version = 1.0\n"), 2, "insidellms-version"),
    Case("policy-unknown-key", policy("colour = true\n"), 2, "colour"),
    # A key of the documented example: it raised KeyError (a traceback, exit 1).
    Case("policy-strict-dependencies", policy("strict-dependencies = true\n"), 0, "0 violations"),
    Case(
        "policy-strict-dependencies-string",
        policy('strict-dependencies = "yes"\n'),
        2,
        "'strict-dependencies' must be true or false",
    ),
    # Read from the table alone, the top level's deny was dropped without a word.
    Case(
        "policy-keys-in-two-places",
        policy('deny = ["demo-echo-plugin"]\n[tool.insidellms-provenance]\nload = true\n'),
        2,
        "policy keys both at the top level (deny)",
    ),
    # An empty allow list allowed every plugin: a list of what may run names nothing.
    Case(
        "policy-empty-allow-list",
        policy("allow = []\n"),
        1,
        "is not allowed (the allow list is empty)",
    ),
    Case("policy-not-toml", policy("= =\n"), 2, "TOML"),
    Case(
        "policy-not-utf8",
        lambda w: policy(None, "--policy", str(w.write("p.toml", b"\xff")))(w),
        2,
        "UTF-8",
    ),
    Case("policy-fifo", policy_special(lambda w: w.fifo("p.toml")), 2, "not a regular file"),
    Case("policy-dev-zero", policy_special(lambda _w: "/dev/zero"), 2, "not a regular file"),
    Case("policy-missing", policy_special(lambda w: w.path("none.toml")), 2, "no such file"),
    Case("policy-ok-strict-bool", policy("strict-plugins = false\n"), 0, "0 violations"),
    Case(
        "policy-ok-tool-table",
        policy('[tool.insidellms-provenance]\ndeny = ["alpha-plugin"]\n'),
        1,
        "denied",
    ),
]


def embed_into(manifest: Any, *extra: str, output: bool = False) -> Any:
    """``embed RUN --from FIELD`` where the run's manifest is built by ``manifest(world)``."""

    def make(world: World) -> list[str]:
        source = world.write("field.json", json.dumps(world.field()))
        manifest(world)
        if output:
            world.output("run/manifest.json")
        return ["embed", str(world.path("run")), "--from", str(source), *extra]

    return make


def _read_only(world: World) -> None:
    path = world.run_dir("run", host_manifest())
    (path / "manifest.json").chmod(0o444)


def _symlinked(world: World) -> None:
    world.write("real/manifest.json", json.dumps(host_manifest(), sort_keys=True, indent=2))
    world.link("run/manifest.json", world.path("real/manifest.json"))
    world.output("real/manifest.json")


def _link_kept_and_target_written(world: World, result: Result) -> None:
    assert world.path("run/manifest.json").is_symlink()
    assert "plugin_provenance" in world.path("real/manifest.json").read_text()


def _without_custom(world: World) -> None:
    value = host_manifest()
    del value["custom"]
    value["zeta"] = 1
    world.run_dir("run", value)


def _custom_sorted_in_place(world: World, result: Result) -> None:
    text = world.path("run/manifest.json").read_text()
    value = json.loads(text)
    assert text == json.dumps(value, sort_keys=True, indent=2)
    assert "warning" not in result.err
    assert "every other byte is kept" not in result.err


def _fifo_source(world: World) -> list[str]:
    world.run_dir("run", host_manifest())
    return ["embed", str(world.path("run")), "--from", str(world.fifo("field.json"))]


EMBEDS = [
    Case(
        "embed-fifo-manifest",
        embed_into(lambda w: w.fifo("run/manifest.json")),
        2,
        "not a regular file",
    ),
    Case("embed-fifo-from", _fifo_source, 2, "not a regular file"),
    Case(
        "embed-dev-zero-manifest",
        embed_into(lambda w: w.link("run/manifest.json", "/dev/zero")),
        2,
        "not a regular file",
    ),
    Case("embed-read-only-manifest", embed_into(_read_only), 2, "read-only"),
    Case(
        "embed-through-symlink",
        embed_into(_symlinked),
        0,
        "embedded",
        check=_link_kept_and_target_written,
    ),
    Case(
        "embed-missing-custom",
        embed_into(_without_custom, output=True),
        0,
        "embedded",
        check=_custom_sorted_in_place,
    ),
    Case(
        "embed-deep-manifest",
        embed_into(
            lambda w: w.write(
                "run/manifest.json", b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
            )
        ),
        2,
        "nested",
    ),
    Case(
        "embed-custom-not-object",
        embed_into(lambda w: w.run_dir("run", {**host_manifest(), "custom": [1]})),
        2,
        "custom",
    ),
    Case("embed-not-json", embed_into(lambda w: w.write("run/manifest.json", b"{")), 2, "JSON"),
    Case("embed-no-run", embed_into(lambda _w: None), 2, "no such file"),
    Case(
        "embed-nan-manifest",
        embed_into(
            lambda w: w.run_dir("run", {**host_manifest(), "score": float("nan")}), output=True
        ),
        0,
        "embedded",
    ),
    Case(
        "record-output-missing-dir",
        lambda w: ["record", "--output", str(w.path("no/dir/f.json"))],
        2,
        "no/dir",
    ),
    Case("record-output-is-dir", lambda w: ["record", "--output", str(w.site)], 2, "directory"),
]


FORGED_VERDICT = "insidellms-provenance: all plugins verified"

# Usage errors are bad input like any other: one line, no usage block, exit 2.
FLAGS = [
    Case("flag-no-command", lambda _w: [], 2, "required: COMMAND"),
    Case("flag-unknown-command", lambda _w: ["frobnicate"], 2, "invalid choice: 'frobnicate'"),
    Case("flag-runs-missing", lambda _w: ["diff"], 2, "diff: the following arguments"),
    Case(
        "flag-unknown",
        with_run(lambda _w, run: ["show", str(run), "--bogus"]),
        2,
        "unrecognized arguments: --bogus",
    ),
    Case(
        "flag-bad-choice",
        with_run(lambda _w, run: ["verify", str(run), "--format", "xml"]),
        2,
        "invalid choice: 'xml'",
    ),
    Case("flag-value-missing", lambda _w: ["record", "--output"], 2, "expected one argument"),
    Case(
        "flag-forging-a-line",
        with_run(lambda _w, run: ["show", str(run), f"--x\n\x1b[31m{FORGED_VERDICT}"]),
        2,
        "--x\\n\\x1b[31m",
        absent=("\x1b",),
    ),
    # Told --group, check RUN and verify RUN checked the run's own group and passed it.
    *(
        Case(
            f"flag-group-of-another-run-{command}",
            with_run(lambda _w, run, command=command: [command, str(run), "--group", "pytest11"]),
            2,
            "not 'pytest11'",
        )
        for command in ("check", "verify", "show")
    ),
    Case(
        "flag-group-of-another-embed-from",
        lambda w: [
            "embed",
            str(w.run_dir("target", {"custom": {}})),
            "--from",
            str(w.write("prov.json", json.dumps(w.field()))),
            "--group",
            "pytest11",
        ],
        2,
        "not 'pytest11'",
    ),
]

CASES = POLICIES + EMBEDS + FLAGS


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_policy_and_embed(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)
