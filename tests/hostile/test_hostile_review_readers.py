"""Readers and policies, review findings of 2026-12-02: each error names its file.

Field values no JSON writer writes (NaN, lone surrogates, huge integers, deep nesting),
input paths the system cannot look up, deeply nested TOML, locked wheels that are not
regular files and v1 fields with keys v1 never had: the stated exit code and verdict, no
traceback, one stderr line on exit 2, no other file changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import Case, World, host_manifest, reseal, run_case, with_run

GOLDEN_V1 = Path(__file__).resolve().parents[2] / "golden" / "v1" / "field.json"
LONG_NAME = "a" * 300  # longer than NAME_MAX (255): ENAMETOOLONG
FIELD_AT = "run2/manifest.json: custom.plugin_provenance: provenance field is malformed: "


def mutated(command: str, mutate: Any) -> Any:
    """``command`` on a run whose field ``mutate(field)`` changed and resealed.

    ``diff`` reads a genuine run first, so the message must say which side is bad.
    """

    def make(world: World) -> list[str]:
        first = world.run_dir("run1", host_manifest(world.field()))
        field = world.field()
        mutate(field)
        second = world.run_dir("run2", host_manifest(reseal(field)))
        return [command, str(first), str(second)] if command == "diff" else [command, str(second)]

    return make


def _first_problems(field: dict[str, Any], value: object) -> None:
    field["plugins"][0]["distribution"]["problems"] = [value]


def _nested(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


FIELD_VALUES = [
    Case(
        "field-nan-diff-names-file",
        mutated("diff", lambda f: f.update(observed_in_run=float("nan"))),
        2,
        FIELD_AT + "field.observed_in_run: nan is not a JSON number",
    ),
    Case(
        "field-nan-show-names-file",
        mutated("show", lambda f: f.update(observed_in_run=float("inf"))),
        2,
        FIELD_AT + "field.observed_in_run: inf is not a JSON number",
    ),
    Case(
        "field-lone-surrogate-names-file",
        mutated("diff", lambda f: _first_problems(f, "\ud800")),
        2,
        FIELD_AT + "field.plugins[0].distribution.problems[0]: string contains a lone surrogate",
    ),
    Case(
        "field-huge-integer-counts-digits",
        mutated("check", lambda f: _first_problems(f, -(10**400))),
        2,
        FIELD_AT + "field.plugins[0].distribution.problems[0]: negative integer of 401 digits",
        absent=("0" * 30,),
    ),
    Case(
        "field-too-deep-names-file",
        mutated("verify", lambda f: _first_problems(f, _nested(200))),
        2,
        "nested deeper than 128 levels",
        check=lambda _w, result: _names_file(result.err),
    ),
    Case(
        "field-many-nan-one-line",
        mutated("show", lambda f: f["plugins"][0]["distribution"].update(problems=[1e999] * 20)),
        2,
        FIELD_AT + "field.plugins[0].distribution.problems[0]: inf is not a JSON number",
        absent=("field(and",),
    ),
    Case(
        "field-large-integer-diff-names-file",
        mutated("diff", lambda f: _first_problems(f, 2**60)),
        2,
        FIELD_AT + "field.plugins[0].distribution.problems[0]: integer 1152921504606846976",
    ),
]


def _names_file(err: str) -> None:
    assert FIELD_AT in err, err


def policy(text: str) -> Any:
    """``check RUN --policy policy.toml`` on a genuine run."""

    return with_run(
        lambda world, run: ["check", str(run), "--policy", str(world.write("policy.toml", text))]
    )


def lock(text: str) -> Any:
    """``check RUN --lock lock/pylock.toml`` on a genuine run."""

    return with_run(
        lambda world, run: ["check", str(run), "--lock", str(world.write("lock/pylock.toml", text))]
    )


LOCK_HEAD = 'lock-version = "1.0"\ncreated-by = "x"\npackages = []\n'
DEEP_ARRAY = "a = " + "[" * 1000 + "]" * 1000 + "\n"
DEEP_TABLES = "a = " + "{b = " * 500 + "1" + "}" * 500 + "\n"

POLICY_FILES = [
    Case(
        "policy-bad-version-names-file",
        policy('insidellms-version = "not a version"\n'),
        2,
        "policy.toml: invalid policy: insidellms-version 'not a version' is not a version",
    ),
    Case(
        "policy-bad-determinism-names-file",
        policy('require-determinism = "always"\n'),
        2,
        "policy.toml: invalid policy: require-determinism must be",
    ),
    Case(
        "policy-deep-array", policy(DEEP_ARRAY), 2, "policy.toml: not a valid TOML policy: nested"
    ),
    Case(
        "policy-deep-tables", policy(DEEP_TABLES), 2, "policy.toml: not a valid TOML policy: nested"
    ),
    Case("lock-deep-array", lock(LOCK_HEAD + DEEP_ARRAY), 2, "pylock.toml: not valid TOML: nested"),
    Case(
        "lock-deep-tables", lock(LOCK_HEAD + DEEP_TABLES), 2, "pylock.toml: not valid TOML: nested"
    ),
]


def input_path(command: str, make_path: Any, *extra: str) -> Any:
    """``command PATH`` where ``make_path(world)`` builds a path the system cannot look up."""

    def make(world: World) -> list[str]:
        return [command, str(make_path(world)), *extra]

    return make


def _loop(world: World) -> Path:
    return world.link("loop", "loop")


def _through_file(world: World) -> Path:
    return world.write("file", b"{}") / "manifest.json"


INPUT_PATHS = [
    *(
        Case(
            f"{command}-name-too-long", input_path(command, lambda _w: LONG_NAME), 2, "cannot read"
        )
        for command in ("show", "verify", "check")
    ),
    Case(
        "export-name-too-long",
        input_path("export", lambda _w: LONG_NAME, "--format", "in-toto"),
        2,
        "cannot read",
    ),
    Case(
        "diff-name-too-long",
        lambda w: ["diff", str(w.run_dir("run", host_manifest(w.field()))), LONG_NAME],
        2,
        "cannot read",
    ),
    Case("audit-name-too-long", lambda _w: ["audit", LONG_NAME], 2, "cannot read"),
    Case("audit-symlink-loop", lambda w: ["audit", str(_loop(w))], 2, "loop: cannot read"),
    Case("show-symlink-loop", input_path("show", _loop), 2, "loop: cannot read"),
    Case("check-symlink-loop", input_path("check", _loop), 2, "loop: cannot read"),
    Case("show-through-a-file", input_path("show", _through_file), 2, "manifest.json: cannot read"),
]


def locked_wheel(make_wheel: Any) -> Any:
    """``check RUN --lock`` where every run distribution is locked; alpha's wheel is hostile.

    ``make_wheel(world)`` builds the wheel in ``lock/`` and returns the lock's ``path``.
    """

    def make(world: World) -> list[str]:
        field = world.field()
        run = world.run_dir("run", host_manifest(field))
        path = make_wheel(world)
        packages = []
        for plugin in field["plugins"]:
            dist = plugin["distribution"]
            at = path if dist["normalized_name"] == "alpha-plugin" else "absent.whl"
            packages.append(
                f'[[packages]]\nname = "{dist["name"]}"\nversion = "{dist["version"]}"\n'
                f'[[packages.wheels]]\nname = "{dist["normalized_name"].replace("-", "_")}-1.0-py3-none-any.whl"\n'
                f'path = {json.dumps(at)}\n[packages.wheels.hashes]\nsha256 = "{"0" * 64}"\n'
            )
        text = 'lock-version = "1.0"\ncreated-by = "x"\n' + "".join(packages)
        return ["check", str(run), "--lock", str(world.write("lock/pylock.toml", text))]

    return make


def _fifo_wheel(world: World) -> str:
    world.fifo("lock/alpha.whl")
    return "alpha.whl"


def _directory_wheel(world: World) -> str:
    world.path("lock/alpha.whl").mkdir(parents=True)
    return "alpha.whl"


LOCKED_WHEELS = [
    Case(
        "locked-wheel-fifo",
        locked_wheel(_fifo_wheel),
        1,
        "locked wheel alpha.whl:",
        check=lambda _w, result: _one_violation(result.out, "not a regular file"),
    ),
    Case(
        "locked-wheel-dev-zero",
        locked_wheel(lambda _w: "/dev/zero"),
        1,
        "locked wheel /dev/zero:",
        check=lambda _w, result: _one_violation(result.out, "not a regular file"),
    ),
    Case(
        "locked-wheel-directory",
        locked_wheel(_directory_wheel),
        1,
        "locked wheel alpha.whl:",
        check=lambda _w, result: _one_violation(result.out, "is a directory"),
    ),
    Case(
        "locked-wheel-name-too-long",
        locked_wheel(lambda _w: LONG_NAME + ".whl"),
        1,
        "cannot read",
        check=lambda _w, result: _one_violation(result.out, "cannot read"),
    ),
    Case(
        "locked-wheel-missing-not-at-hand",
        locked_wheel(lambda _w: "missing.whl"),
        0,
        "0 violations",
    ),
]


def _one_violation(out: str, reason: str) -> None:
    assert "1 violation" in out, out
    assert reason in out, out


def v1_field(mutate: Any) -> Any:
    """``check FIELD`` on the golden v1 field (written by 0.1.0), mutated and resealed."""

    def make(world: World) -> list[str]:
        field = json.loads(GOLDEN_V1.read_text(encoding="utf-8"))
        mutate(field)
        return ["check", str(world.write("field.json", json.dumps(reseal(field))))]

    return make


def _v2_relabelled(world: World) -> list[str]:
    """The review's case: a v2 field labelled v1, so its ``integrity`` would be kept."""
    field = world.field()
    field["schema"] = "insidellms-provenance/plugins/v1"
    field.pop("dependencies", None)
    field["observed_in_run"] = "garbage"
    return ["check", str(world.write("field.json", json.dumps(reseal(field))))]


def _verified(field: dict[str, Any]) -> None:
    integrity = {"status": "verified", "paths": [], "bytecode": "not_checked"}
    field["plugins"][0]["distribution"]["integrity"] = integrity


V1_FIELDS = [
    Case("v1-golden-reads-as-before", v1_field(lambda _f: None), 1, "13 violations"),
    Case(
        "v1-with-observed-in-run",
        v1_field(lambda f: f.update(observed_in_run=True)),
        2,
        "field: unexpected key 'observed_in_run' (schema v1 has no such key)",
    ),
    Case(
        "v1-with-integrity-verified",
        v1_field(_verified),
        2,
        "field.plugins[0].distribution: unexpected key 'integrity'",
    ),
    Case(
        "v1-with-unknown-plugin-key",
        v1_field(lambda f: f["plugins"][1].update(colour="red")),
        2,
        "field.plugins[1]: unexpected key 'colour'",
    ),
    Case("v1-relabelled-v2-field", _v2_relabelled, 2, "unexpected key 'observed_in_run'"),
    Case(
        "v1-conflicts-nan-names-file",
        v1_field(lambda f: f.update(conflicts=[float("nan")])),
        2,
        "field.json: provenance field is malformed: field.conflicts[0]: nan is not a JSON number",
    ),
]

CASES = FIELD_VALUES + POLICY_FILES + INPUT_PATHS + LOCKED_WHEELS + V1_FIELDS


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_review_readers(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)
