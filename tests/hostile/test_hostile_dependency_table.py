"""Hostile dependency tables reaching ``export``, ``verify --wheels`` and ``check --lock``.

A field's digest can be recomputed by whoever edits it, so a table that contradicts its
plugins (a closure naming what the table lacks, an entry no closure names, a key that is
not its distribution's name, a second description of a plugin's distribution) reaches
the commands that turn it into locks and SBOMs. Each is bad input: one line on stderr,
exit 2, and no file written or changed.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hostile_kit import Case, World, host_manifest, reseal, run_case

DIGEST = "sha256:" + "1" * 64


def dependency(name: str, normalized: str | None = None) -> dict[str, Any]:
    """A well-formed dependency table entry."""
    return {
        "distribution": {
            "name": name,
            "normalized_name": normalized or name,
            "version": "1.0",
            "record_digest": DIGEST,
            "code_digest": DIGEST,
            "problems": [],
            "integrity": None,
        },
        "source": None,
    }


def needs(field: dict[str, Any], name: str, entry: Any) -> None:
    """The first plugin depends on ``name``, described by ``entry`` (``None``: not at all)."""
    field["plugins"][0]["dependencies"] = [name]
    if entry is not None:
        field["dependencies"][name] = entry


def other_description_of_beta(field: dict[str, Any]) -> None:
    described = copy.deepcopy(field["plugins"][1]["distribution"])
    described["record_digest"] = DIGEST
    needs(field, described["normalized_name"], {"distribution": described, "source": None})


MUTATIONS = [
    ("closure-names-a-missing-entry", lambda f: needs(f, "ghost", None), "'ghost'"),
    (
        "entry-in-no-closure",
        lambda f: f["dependencies"].update(orphan=dependency("orphan")),
        "'orphan' is in no plugin's dependency closure",
    ),
    (
        "key-not-normalized",
        lambda f: needs(f, "Lib_X", dependency("Lib_X", "lib-x")),
        "'Lib_X' is not the PEP 503 name",
    ),
    (
        "key-of-another-distribution",
        lambda f: needs(f, "lib-x", dependency("lib-z")),
        "'lib-x' is not the PEP 503 name of its distribution 'lib-z'",
    ),
    (
        "second-description-of-a-plugin",
        other_description_of_beta,
        "not the installed plugin distribution of that name",
    ),
    ("entry-not-an-object", lambda f: needs(f, "lib-x", 5), "malformed"),
    ("table-not-an-object", lambda f: f.update(dependencies=["lib-x"]), "malformed"),
]

LOCK = 'lock-version = "1.0"\ncreated-by = "x"\npackages = []\n'

COMMANDS = {
    "export-pylock": lambda w, run: [
        "export",
        run,
        "--format",
        "pylock",
        "--output",
        str(w.path("pylock.toml")),
    ],
    "export-cyclonedx": lambda w, run: [
        "export",
        run,
        "--format",
        "cyclonedx",
        "--output",
        str(w.path("bom.json")),
    ],
    "export-in-toto": lambda _w, run: ["export", run, "--format", "in-toto"],
    "verify-wheels": lambda w, run: ["verify", run, "--wheels", str(w.path("wheels"))],
    "check-lock": lambda w, run: ["check", run, "--lock", str(w.write("lock/pylock.toml", LOCK))],
}


def build(mutate: Any, command: Any) -> Any:
    def make(world: World) -> list[str]:
        field = world.field()
        mutate(field)
        run = world.run_dir("run", host_manifest(reseal(field)))
        world.path("wheels").mkdir()
        return list(command(world, str(run)))

    return make


CASES = [
    Case(f"{mutation}-{command}", build(mutate, make_args), 2, expect)
    for mutation, mutate, expect in MUTATIONS
    for command, make_args in COMMANDS.items()
]

# The control: a well-formed table exports, and names whose dependency each entry is.
CASES.append(
    Case(
        "well-formed-table-exports",
        build(
            lambda f: needs(f, "lib-x", dependency("lib-x")),
            lambda world, run: [
                "export",
                run,
                "--format",
                "pylock",
                "--output",
                world.output("pylock.toml"),
            ],
        ),
        1,
        "lib-x 1.0 (dependency of: alpha_plugin): installed from unknown, no matching wheel",
    )
)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_dependency_table(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)
