"""A plugin recorded without a distribution reaches every verdict as unproved.

No recording through ``importlib.metadata`` writes ``"distribution": null``, but the
schema allows it and a resealed field can hold it. Nothing then says which files the
plugin is: a lock, an SBOM or a check that passed without it would vouch for a plugin it
never saw. So ``check`` (its integrity rule), ``check --lock`` and ``export`` each name
it, and exit 1; no other file changes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hostile_kit import Case, World, host_manifest, reseal, run_case


def without_distribution(field: dict[str, Any]) -> None:
    """The first plugin, alpha_plugin, with nothing that identifies its files."""
    plugin = field["plugins"][0]
    plugin.update(distribution=None, source=None, dependencies=[], unsatisfied=[])


def build(command: Any) -> Any:
    def make(world: World) -> list[str]:
        field = world.field()
        without_distribution(field)
        run = world.run_dir("run", host_manifest(reseal(field)))
        return list(command(world, str(run)))

    return make


LOCK = 'lock-version = "1.0"\ncreated-by = "x"\npackages = []\n'

CASES = [
    Case(
        "check-integrity",
        build(lambda _w, run: ["check", run]),
        1,
        "has no distribution",
    ),
    Case(
        "check-lock",
        build(lambda w, run: ["check", run, "--lock", str(w.write("lock/pylock.toml", LOCK))]),
        1,
        "alpha_plugin has no distribution in the run: its files were never identified",
    ),
    *(
        Case(
            f"export-{fmt}",
            build(
                lambda w, run, fmt=fmt: [
                    "export",
                    run,
                    "--format",
                    fmt,
                    "--output",
                    w.output("pylock.toml" if fmt == "pylock" else f"out-{fmt}.json"),
                ]
            ),
            1,
            f"plugin alpha_plugin has no distribution in the run: its files were never "
            f"identified; it is not in the {fmt} output",
        )
        for fmt in ("pylock", "cyclonedx", "in-toto")
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_without_distribution(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)
