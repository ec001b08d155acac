"""What ``embed`` writes into: a run manifest only, never its own ``--from`` input.

``embed`` and every reader decide what a file is by one rule
(``runfile._read.file_kind``): a record file (``record --output``'s bare field, its
top-level ``schema`` one of this package's field schemas) is refused as a target, as is
the file the field is read from, however it is named (the same path, a hard link, a
symlink either way). A host manifest with ``schema`` and ``plugins`` keys of its own is
a manifest: embedded into, then read by every reader. What stands under
``custom.plugin_provenance`` already is replaced only if it is a field of a schema this
version reads (v1, v2), valid or not: a newer version's field, or a value that is no field,
is refused, never lost. Run as root, embed keeps the manifest's owner and group. Each
case: exit code, verdict, and no file changed but the intended output.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

import pytest
from hostile_kit import Case, Result, World, host_manifest, run_case, run_cli

RECORD_REFUSED = "is a provenance record file, not a run manifest; refusing to embed into it"
OWN_INPUT = "is the file the field is read from; refusing to embed into it"


def field_file(world: World, relative: str = "field.json", **changes: Any) -> str:
    """A record file (the genuine field, as ``record --output`` writes it)."""
    return str(world.write(relative, json.dumps({**world.field(), **changes}, indent=2)))


def embed_into_record(relative: str) -> Any:
    """``embed TARGET --from field.json``, a record file at ``relative`` (its run dir's)."""

    def make(world: World) -> list[str]:
        source = field_file(world)
        target = field_file(world, relative)
        if relative.endswith("/manifest.json"):
            target = os.path.dirname(target)
        return ["embed", target, "--from", source]

    return make


def _record_onto_itself(world: World) -> list[str]:
    path = field_file(world, "prov.json")
    return ["embed", path, "--from", path]


def _record_onto_hard_link(world: World) -> list[str]:
    path = field_file(world, "prov.json")
    os.link(path, world.path("alias.json"))
    return ["embed", path, "--from", str(world.path("alias.json"))]


def _record_onto_symlink(world: World) -> list[str]:
    path = field_file(world, "prov.json")
    return ["embed", path, "--from", str(world.link("alias.json", "prov.json"))]


def _manifest(world: World) -> str:
    """A genuine run whose manifest holds the field: its own ``--from`` is a valid source."""
    return str(world.run_dir("run", host_manifest(world.field())))


def _manifest_onto_its_run_dir(world: World) -> list[str]:
    run = _manifest(world)
    return ["embed", run, "--from", run]


def _manifest_onto_itself(world: World) -> list[str]:
    run = _manifest(world)
    return ["embed", run, "--from", os.path.join(run, "manifest.json")]


def _manifest_onto_hard_link(world: World) -> list[str]:
    run = _manifest(world)
    os.link(os.path.join(run, "manifest.json"), world.path("alias.json"))
    return ["embed", run, "--from", str(world.path("alias.json"))]


def _manifest_onto_symlink(world: World) -> list[str]:
    run = _manifest(world)
    return ["embed", run, "--from", str(world.link("alias.json", "run/manifest.json"))]


def _symlinked_manifest_onto_its_target(world: World) -> list[str]:
    """``run/manifest.json`` links to the record file given as ``--from``."""
    source = field_file(world, "store/prov.json")
    world.link("run/manifest.json", "../store/prov.json")
    return ["embed", str(world.path("run")), "--from", source]


# Host manifests with top-level keys a record file has: manifests all the same.
HOST_KEYS = {
    "string-schema": {"schema": "host-manifest/1", "plugins": ["echo", "sampler"]},
    "non-string-schema": {"schema": 3, "plugins": {"echo": True}},
}


def _host_with(keys: dict[str, Any]) -> Any:
    """``embed run --from field.json``, the run's manifest holding ``keys`` at the top."""

    def make(world: World) -> list[str]:
        source = field_file(world)
        world.run_dir("run", host_manifest(**keys))
        world.output("run/manifest.json")
        return ["embed", str(world.path("run")), "--from", source]

    return make


def _read_by_every_reader(world: World, _result: Result) -> None:
    """What embed wrote, show, diff and audit read: the field is where it was put."""
    run = str(world.path("run"))
    field = world.field()
    manifest = json.loads(world.path("run/manifest.json").read_bytes())
    assert manifest["custom"]["plugin_provenance"] == field
    shown = run_cli(world, ["show", "--format", "json", run])
    assert (shown.code, json.loads(shown.stdout)) == (0, field), shown.err
    diffed = run_cli(world, ["diff", run, str(world.path("field.json"))])
    assert diffed.code == 0, diffed.err
    audited = run_cli(world, ["audit", run])
    assert (audited.code, "1 with plugin provenance" in audited.err) == (0, True), audited.err


def _reader_of_host_keys(command: str, keys: dict[str, Any]) -> Any:
    """``command`` reading a run whose manifest has ``keys`` beside the field."""

    def make(world: World) -> list[str]:
        run = str(world.run_dir("run", host_manifest(world.field(), **keys)))
        if command == "diff":
            return ["diff", field_file(world), run]
        return [command, run]

    return make


def _both_kinds(world: World) -> dict[str, Any]:
    """A record file with a field under ``custom`` too: no reader can tell which counts."""
    return {**world.field(), "custom": {"plugin_provenance": world.field()}}


def _show_both_kinds(world: World) -> list[str]:
    world.write("both.json", json.dumps(_both_kinds(world)))
    return ["show", str(world.path("both.json"))]


def _embed_into_both_kinds(world: World) -> list[str]:
    world.write("both.json", json.dumps(_both_kinds(world)))
    return ["embed", str(world.path("both.json")), "--from", field_file(world)]


def _embed_into_report(world: World) -> list[str]:
    report = {"schema": "insidellms-provenance/check/v1", "violations": []}
    world.write("check.json", json.dumps(report))
    return ["embed", str(world.path("check.json")), "--from", field_file(world)]


def _run_holding(previous: object, *, output: bool) -> Any:
    """``embed run --from field.json``, the run's manifest holding ``previous`` as the field."""

    def make(world: World) -> list[str]:
        source = field_file(world)
        manifest = host_manifest()
        manifest["custom"]["plugin_provenance"] = previous
        world.run_dir("run", manifest)
        if output:
            world.output("run/manifest.json")
        return ["embed", str(world.path("run")), "--from", source]

    return make


def _replaced(world: World, _result: Result) -> None:
    manifest = json.loads(world.path("run/manifest.json").read_bytes())
    assert manifest == host_manifest(world.field())


V3 = "insidellms-provenance/plugins/v3"
NOT_REPLACED = "; refusing to replace it"

# What stands under the field's key: (id, the value, what the refusal says it is).
UNREADABLE = [
    (
        "newer-schema",
        {"schema": V3, "observed_in_run": True, "plugins": [], "digest": "sha256:00"},
        f"holds a field of schema '{V3}', which this version cannot read",
    ),
    ("object-without-schema", {"plugins": []}, "holds a JSON object, not a provenance field"),
    ("array", [], "holds a JSON array, not a provenance field"),
    ("string", "sha256:00", "holds a string, not a provenance field"),
    ("null", None, "holds null, not a provenance field"),
]
READABLE = [
    ("v1-broken", {"schema": "insidellms-provenance/plugins/v1", "plugins": 3}),
    ("v2-broken", {"schema": "insidellms-provenance/plugins/v2", "digest": "sha256:00"}),
]


CASES = [
    # A record file as the target: refused, whatever the source.
    Case("embed-into-record-file", embed_into_record("rec.json"), 2, RECORD_REFUSED),
    Case("embed-into-record-run-dir", embed_into_record("run/manifest.json"), 2, RECORD_REFUSED),
    Case(
        "embed-into-record-file-of-unknown-version",
        lambda w: [
            "embed",
            field_file(w, "rec.json", schema="insidellms-provenance/plugins/v9"),
            "--from",
            field_file(w),
        ],
        2,
        RECORD_REFUSED,
    ),
    Case(
        "embed-into-record-file-recording-now",
        lambda w: ["embed", field_file(w, "rec.json")],
        2,
        RECORD_REFUSED,
    ),
    Case("embed-into-both-kinds", _embed_into_both_kinds, 2, "is both a record file"),
    Case("embed-into-a-check-report", _embed_into_report, 2, "not a run manifest or record file"),
    # The --from input as the target, however it is named.
    Case("embed-record-onto-itself", _record_onto_itself, 2, OWN_INPUT),
    Case("embed-record-onto-its-hard-link", _record_onto_hard_link, 2, OWN_INPUT),
    Case("embed-record-onto-its-symlink", _record_onto_symlink, 2, OWN_INPUT),
    Case("embed-run-onto-its-run-dir", _manifest_onto_its_run_dir, 2, OWN_INPUT),
    Case("embed-run-onto-its-manifest", _manifest_onto_itself, 2, OWN_INPUT),
    Case("embed-run-onto-its-hard-link", _manifest_onto_hard_link, 2, OWN_INPUT),
    Case("embed-run-onto-its-symlink", _manifest_onto_symlink, 2, OWN_INPUT),
    Case("embed-symlinked-manifest-onto-target", _symlinked_manifest_onto_its_target, 2, OWN_INPUT),
    # A host manifest with record-like top-level keys: embedded into, then read back.
    *[
        Case(
            f"embed-into-host-manifest-{name}",
            _host_with(keys),
            0,
            "embedded provenance of 2 plugin(s)",
            check=_read_by_every_reader,
        )
        for name, keys in HOST_KEYS.items()
    ],
    *[
        Case(f"{command}-host-manifest-{name}", _reader_of_host_keys(command, keys), 0, text)
        for name, keys in HOST_KEYS.items()
        for command, text in [("show", "2 plugins"), ("diff", ""), ("audit", "1 with plugin")]
    ],
    Case(
        "show-host-manifest-without-field",
        lambda w: ["show", str(w.run_dir("run", host_manifest(**HOST_KEYS["string-schema"])))],
        2,
        "no plugin provenance (custom.plugin_provenance)",
    ),
    Case("show-both-kinds", _show_both_kinds, 2, "which field counts is unclear"),
    # What stands under the field's key: replaced only if this version reads its schema.
    *[
        Case(f"embed-over-{name}", _run_holding(value, output=False), 2, what + NOT_REPLACED)
        for name, value, what in UNREADABLE
    ],
    *[
        Case(f"embed-over-{name}", _run_holding(value, output=True), 0, "embedded", check=_replaced)
        for name, value in READABLE
    ],
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_embed_target(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)


def _owned_by_a_user(world: World) -> list[str]:
    """A user's run (uid 12345, group 23456), embedded into by root."""
    source = field_file(world)
    manifest = world.run_dir("run", host_manifest()) / "manifest.json"
    os.chown(manifest, 12345, 23456)
    manifest.chmod(0o640)
    world.output("run/manifest.json")
    return ["embed", str(world.path("run")), "--from", source]


def _still_the_users(world: World, _result: Result) -> None:
    info = world.path("run/manifest.json").stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, 23456, 0o640)
    assert json.loads(world.path("run/manifest.json").read_bytes()) == host_manifest(world.field())


OWNER_CASES = [
    Case("embed-as-root-keeps-owner", _owned_by_a_user, 0, "embedded", check=_still_the_users),
]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root may give a file away"
)
@pytest.mark.parametrize("case", OWNER_CASES, ids=[case.id for case in OWNER_CASES])
def test_hostile_embed_owner(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)
