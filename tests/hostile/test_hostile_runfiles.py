"""Hostile run files: show, diff, verify RUN, check RUN, audit and embed read them alike."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hostile_kit import Case, Result, World, host_manifest, reseal, run_case

READERS = ("show", "diff", "verify", "check")


def reader_args(command: str, run: str, world: World) -> list[str]:
    """The argument list that makes ``command`` read ``run`` as a recorded run."""
    if command == "diff":
        good = world.run_dir("good-run", host_manifest(world.field()))
        return ["diff", str(good), run]
    return [command, run]


def with_field(mutate: Any) -> Any:
    """Build a run whose field is a genuine one changed by ``mutate`` (then resealed)."""

    def build(world: World) -> dict[str, Any]:
        field = world.field()
        mutate(field)
        return host_manifest(reseal(field))

    return build


def _set(path: str, value: object) -> Any:
    def mutate(field: dict[str, Any]) -> None:
        target: Any = field
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value

    return mutate


# Fields the one reader refuses, whichever command reads them: (id, manifest builder, text).
INVALID_FIELDS = [
    ("invalid-enum", with_field(_set("plugins.0.load.status", "teleported")), "load"),
    ("wrong-type", with_field(_set("plugins.0.origin.status", 7)), "origin"),
    ("extra-key", with_field(_set("plugins.0.surprise", value=True)), "surprise"),
    ("missing-group", with_field(_set("group", KeyError)), "group"),
    ("plugins-not-list", lambda w: host_manifest(reseal({**w.field(), "plugins": {}})), "plugins"),
    ("bad-digest", lambda w: host_manifest({**w.field(), "digest": "sha256:00"}), "digest"),
    ("unknown-schema", lambda w: host_manifest({**w.field(), "schema": "x/v9"}), "schema"),
    (
        "reordered-plugins",
        with_field(lambda f: f["plugins"].reverse()),
        "load order",
    ),
    (
        "duplicated-plugins",
        with_field(lambda f: f["plugins"].append(f["plugins"][0])),
        "load order",
    ),
    ("field-not-object", lambda _w: host_manifest([1, 2]), "not a JSON object"),  # type: ignore[arg-type]
    # Shown under one name, checked (--deny, a lock, an SBOM's purl) under another.
    (
        "normalized-name-of-another",
        with_field(_set("plugins.0.distribution.normalized_name", "something-else")),
        "'something-else' is not the normalized form of",
    ),
    # Both spelt as shown: `check --deny demo-echo-plugin` would pass what it denies.
    (
        "normalized-name-not-normalized",
        with_field(
            lambda f: [
                _set(f"plugins.0.distribution.{key}", "Demo_Echo.Plugin")(f)
                for key in ("name", "normalized_name")
            ]
        ),
        "'Demo_Echo.Plugin' is not the normalized form of 'Demo_Echo.Plugin'",
    ),
]

BROKEN_FILES = [
    ("fifo-manifest", lambda w: w.fifo("run/manifest.json"), "not a regular file"),
    ("dev-zero-manifest", lambda w: w.link("run/manifest.json", "/dev/zero"), "not a regular file"),
    ("empty-manifest", lambda w: w.write("run/manifest.json", b""), "empty"),
    ("not-json", lambda w: w.write("run/manifest.json", b"{nope"), "not valid JSON"),
    ("not-utf8", lambda w: w.write("run/manifest.json", b'{"a": "\xff"}'), "JSON"),
    ("no-field", lambda w: w.run_dir("run", host_manifest()), "no plugin provenance"),
    ("missing-run", lambda w: w.path("run/x").parent, "no such file"),
    ("dangling-link", lambda w: w.link("run/manifest.json", "nowhere.json"), "no such file"),
    ("manifest-is-dir", lambda w: w.path("run/manifest.json").mkdir(parents=True), "directory"),
    ("json-array", lambda w: w.write("run/manifest.json", b"[]"), "JSON object"),
    (
        "deep-100000",
        lambda w: w.write("run/manifest.json", b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        "nested",
    ),
]

# Manifests Python's json can write: every reader must read the field in them.
JSON_EXTRAS = [
    ("nan", float("nan")),
    ("infinity", float("inf")),
    ("lone-surrogate", "\ud800 alone"),
    ("huge-int", 10**400),
    ("deep-nesting", json.loads("[" * 900 + "]" * 900)),
]


def _reader_cases() -> list[Case]:
    cases = []
    for command in READERS:
        for name, build, text in INVALID_FIELDS:

            def make(world: World, build: Any = build, command: str = command) -> list[str]:
                run = world.run_dir("run", build(world))
                return reader_args(command, str(run), world)

            cases.append(Case(f"{command}-{name}", make, 2, text))
        for name, build, text in BROKEN_FILES:

            def make_broken(world: World, build: Any = build, command: str = command) -> list[str]:
                build(world)
                return reader_args(command, str(world.path("run")), world)

            cases.append(Case(f"{command}-{name}", make_broken, 2, text))
    return cases


def _extras_cases() -> list[Case]:
    cases = []
    for command in (*READERS, "audit"):
        for name, value in JSON_EXTRAS:

            def make(world: World, value: object = value, command: str = command) -> list[str]:
                manifest = host_manifest(world.field(), metrics={"odd": value})
                world.write("run/manifest.json", json.dumps(manifest, sort_keys=True, indent=2))
                if command == "audit":
                    return ["audit", str(world.path("run"))]
                return reader_args(command, str(world.path("run")), world)

            expected = {"show": 0, "diff": 0, "check": 0, "verify": 1, "audit": 0}[command]
            text = {"audit": "1 with plugin provenance", "verify": "differs"}.get(command, "")
            cases.append(Case(f"{command}-reads-{name}", make, expected, text))
    return cases


def _genuine_diff(world: World, mutate: Any) -> list[str]:
    before = world.run_dir("before", host_manifest(world.field()))
    field = world.field()
    mutate(field)
    after = world.run_dir("after", host_manifest(reseal(field)))
    return ["diff", str(before), str(after)]


def _two_groups(world: World) -> list[str]:
    before = world.run_dir("before", host_manifest(world.field()))
    after = world.run_dir("after", host_manifest(world.field("other")))
    return ["diff", str(before), str(after)]


def _python_parsed_diff(world: World, mutate: Any) -> list[str]:
    """:func:`_genuine_diff` with an ``after`` only Python's parser reads (a NaN beside)."""
    before = world.run_dir("before", host_manifest(world.field()))
    field = world.field()
    mutate(field)
    manifest = host_manifest(reseal(field), metrics={"odd": float("nan")})
    world.write("after/manifest.json", json.dumps(manifest, sort_keys=True, indent=2))
    return ["diff", str(before), str(world.path("after"))]


# A value ``==`` takes for the valid one beside it (``0 == False == 0.0``): the second
# field's plugin is not the first's, so it is validated, and refused.
BESIDE_CASES = [
    Case(
        f"diff-beside-{name}",
        lambda w, build=build, value=value: build(w, _set("plugins.0.source.editable", value)),
        2,
        "editable",
    )
    for name, build, value in [
        ("zero-for-false", _genuine_diff, 0),
        ("float-zero-for-false", _genuine_diff, 0.0),
        ("negative-zero-for-false", _genuine_diff, -0.0),
        ("python-parsed-zero-for-false", _python_parsed_diff, 0),
    ]
]

DIFF_CASES = [
    *BESIDE_CASES,
    Case("diff-different-groups", _two_groups, 1, "group"),
    Case(
        "diff-dist-name-only",
        lambda w: _genuine_diff(
            w,
            lambda field: (
                _set("plugins.0.distribution.name", "Renamed-Dist")(field),
                _set("plugins.0.distribution.normalized_name", "renamed-dist")(field),
            ),
        ),
        1,
        "Renamed-Dist",
    ),
    # A normalized name no recording writes beside its name: refused, not a rename.
    Case(
        "diff-normalized-name-only",
        lambda w: _genuine_diff(w, _set("plugins.0.distribution.normalized_name", "renamed")),
        2,
        "'renamed' is not the normalized form of",
    ),
    Case(
        "diff-entry-point-group-only",
        lambda w: _genuine_diff(w, _set("plugins.0.entry_point.group", "x.y")),
        1,
        "x.y",
    ),
    Case(
        "diff-manifest-digest-only",
        lambda w: _genuine_diff(w, _set("plugins.0.manifest.digest", "sha256:" + "0" * 64)),
        1,
        "manifest",
    ),
    Case(
        "diff-markdown-pipe-and-escape",
        lambda w: [
            *_genuine_diff(w, _set("plugins.0.distribution.problems", ["a|b \x1b[2J c"])),
            "--format",
            "markdown",
        ],
        1,
        "a\\|b",
        absent=("\x1b[2J",),
    ),
    Case(
        "diff-text-escape",
        lambda w: _genuine_diff(w, _set("plugins.0.distribution.problems", ["\x1b[2Jall OK"])),
        1,
        "\\x1b",
        absent=("\x1b[2J",),
    ),
    Case(
        "diff-fail-on-twice-refused",
        lambda w: [
            *_genuine_diff(w, _set("plugins.0.distribution.version", "2.0")),
            "--fail-on",
            "major",
            "--fail-on",
            "conflict",
        ],
        2,
        "--fail-on may be given once",
    ),
]


def _show_escape(world: World) -> list[str]:
    field = world.field()
    field["plugins"][0]["load"] = {
        "status": "failed",
        "error_type": "RuntimeError",
        "error_message": "\x1b[2J\x1b[Hall plugins verified OK\r",
    }
    run = world.run_dir("run", host_manifest(reseal(field)))
    return ["show", str(run)]


def _check_markdown_pipe(world: World) -> list[str]:
    field = world.field()
    field["plugins"][0]["manifest"]["status"] = "invalid"
    field["plugins"][0]["manifest"]["problems"] = ["a | b | c"]
    run = world.run_dir("run", host_manifest(reseal(field)))
    return ["check", str(run), "--strict-plugins", "--format", "markdown"]


def _audit_with(world: World, make_bad: Any) -> list[str]:
    world.run_dir("runs/a", host_manifest(world.field()))
    make_bad(world)
    world.run_dir("runs/c", host_manifest(world.field()))
    return ["audit", str(world.path("runs"))]


def _audit_output_onto_input(world: World) -> list[str]:
    world.run_dir("runs/a", host_manifest(world.field()))
    return ["audit", str(world.path("runs")), "--output", str(world.path("runs/a/manifest.json"))]


def _audit_output_link_to_input(world: World) -> list[str]:
    world.run_dir("runs/a", host_manifest(world.field()))
    world.link("out.jsonl", world.path("runs/a/manifest.json"))
    return ["audit", str(world.path("runs")), "--output", str(world.path("out.jsonl"))]


def _audit_output_ok(world: World) -> list[str]:
    world.run_dir("runs/a", host_manifest(world.field()))
    return ["audit", str(world.path("runs")), "--output", world.output("runs.jsonl")]


def _audit_output_missing_dir(world: World) -> list[str]:
    world.run_dir("runs/a", host_manifest(world.field()))
    return ["audit", str(world.path("runs")), "--output", str(world.path("nowhere/runs.jsonl"))]


def _one_jsonl_line(world: World, result: Result) -> None:
    lines = world.path("runs.jsonl").read_bytes().splitlines()
    assert len(lines) == 2
    assert all(json.loads(line)["run"] for line in lines)


def _unlistable_directory(world: World) -> None:
    """A directory below the root whose path is longer than PATH_MAX: it cannot be listed.

    (Tests run as root, where permission bits cannot make a directory unreadable.)
    """
    fd = os.open(world.path("runs"), os.O_RDONLY)
    for level in range(30):
        name = f"d{level:02}" * 60
        os.mkdir(name, dir_fd=fd)
        next_fd = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = next_fd
    os.close(fd)


OTHER_CASES = [
    Case(
        "audit-unlistable-directory",
        lambda w: _audit_with(w, _unlistable_directory),
        0,
        "directory cannot be read",
    ),
    Case("show-escapes-control-chars", _show_escape, 0, "\\x1b[2J", absent=("\x1b",)),
    Case("check-markdown-pipe", _check_markdown_pipe, 1, "a \\| b \\| c"),
    Case(
        "audit-fifo-among-runs",
        lambda w: _audit_with(w, lambda w: w.fifo("runs/b/manifest.json")),
        0,
        "not a regular file",
    ),
    Case(
        "audit-dev-zero-among-runs",
        lambda w: _audit_with(w, lambda w: w.link("runs/b/manifest.json", "/dev/zero")),
        0,
        "runs without provenance: 1",
    ),
    Case(
        "audit-malformed-among-runs",
        lambda w: _audit_with(
            w, lambda w: w.run_dir("runs/b", with_field(_set("plugins.0.load.status", "x"))(w))
        ),
        0,
        "2 with plugin provenance, 1 without",
    ),
    Case("audit-output-is-an-input", _audit_output_onto_input, 2, "audited"),
    Case("audit-output-links-to-an-input", _audit_output_link_to_input, 2, "audited"),
    Case("audit-output-missing-dir", _audit_output_missing_dir, 2, "nowhere"),
    Case("audit-output-written", _audit_output_ok, 0, "1 run(s)", check=_one_jsonl_line),
    Case("audit-root-not-a-dir", lambda w: ["audit", str(w.write("f", b"x"))], 2, "directory"),
]

CASES = _reader_cases() + _extras_cases() + DIFF_CASES + OTHER_CASES


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_run_file(case: Case, world: World, genuine: Any, genuine_other_group: Any) -> None:
    world.fields = {"genuine": genuine, "other": genuine_other_group}
    run_case(case, world)


def test_audit_full_disk_leaves_no_partial_output(world: World, genuine: Any) -> None:
    """A write error (here: the file size limit) is one line, exit 2, and no runs.jsonl."""
    import resource
    import signal

    from hostile_kit import assert_outcome, run_cli

    world.fields = {"genuine": genuine}
    for index in range(30):
        world.run_dir(f"runs/{index:02}", host_manifest(world.field()))

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    output = world.path("runs.jsonl")
    result = run_cli(
        world, ["audit", str(world.path("runs")), "-o", str(output)], preexec=small_files
    )
    assert_outcome(result, 2, "runs.jsonl")
    assert not output.exists()
    assert sorted(os.listdir(world.root)) == ["runs", "site"]
