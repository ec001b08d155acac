"""Hostile ``entry_points.txt``: every entry point the host's importlib selects is judged.

Each case installs a good plugin and a hostile distribution whose module was changed
after its RECORD was written, declared in a way importlib reads differently from a
naive parser (``[[group]]``, a ``;`` name, ``[ group ]``), with a value in this
package's namespace, as this package's own hook from another distribution, or in an
``entry_points.txt`` over the 16 MiB metadata cap. The host loads the hostile plugin
(except for ``[ group ]``, which importlib does not read as the group): ``record`` lists
it as modified, ``verify`` names its changed file (exit 1), ``check`` fails (exit 1).
No other file changes.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hostile_kit import GROUP, Case, Result, World, run_case, run_cli

from conftest import good_plugin

REGISTER = b"def register():\n    return None\n"
PADDING = ("#" + "x" * 1000 + "\n") * ((17 << 20) // 1002)  # over the 16 MiB cap


@attrs.frozen
class Declared:
    """A hostile distribution: its ``entry_points.txt``, its module, the name the host sees."""

    id: str
    entry_points: str
    module: str
    name: str | None  # the entry point's name for importlib; None: not of the group


SCENARIOS = [
    Declared("double-brackets", f"[[{GROUP}]]\nhid = hid:register\n", "hid.py", "hid"),
    Declared("semicolon-name", f"[{GROUP}]\n;hid = hid:register\n", "hid.py", ";hid"),
    Declared("spaced-brackets", f"[ {GROUP} ]\nws = hid:register\n", "hid.py", None),
    Declared(
        "value-in-our-namespace",
        f"[{GROUP}]\nsneak = insidellms_provenance.zz_sneak:register\n",
        "insidellms_provenance/zz_sneak.py",
        "sneak",
    ),
    Declared(
        "our-hook-from-another-distribution",
        f"[{GROUP}]\n!provenance = insidellms_provenance.host.plugin:register\n",
        "mimic.py",
        "!provenance",
    ),
    Declared("over-the-cap", f"[{GROUP}]\nbig = hid:register\n{PADDING}", "hid.py", "big"),
]


def install(world: World, declared: Declared) -> None:
    """The good plugin, and the hostile distribution with its module changed afterwards."""
    good_plugin(world, "good_plugin")
    world.dist("hostile", files={declared.module: REGISTER}, entry_points=declared.entry_points)
    world.write(f"site/{declared.module}", REGISTER + b"EVIL = True\n")


def command(declared: Declared, *args: str) -> Any:
    def build(world: World) -> list[str]:
        install(world, declared)
        return list(args)

    return build


def recorded_as(declared: Declared) -> Any:
    def check(world: World, result: Result) -> None:
        plugins = {p["entry_point"]["name"]: p for p in json.loads(result.stdout)["plugins"]}
        assert plugins["good_plugin"]["distribution"]["integrity"]["status"] == "verified"
        if declared.name is None:
            assert set(plugins) == {"good_plugin"}
            return
        assert set(plugins) == {"good_plugin", declared.name}
        plugin = plugins[declared.name]
        assert plugin["distribution"]["name"] == "hostile"
        assert plugin["distribution"]["integrity"]["status"] == "modified"

    return check


def cases(declared: Declared) -> list[Case]:
    if declared.name is None:  # not the group for the host: not a plugin for us either
        return [
            Case(
                f"{declared.id}-record",
                command(declared, "record"),
                0,
                "",
                (),
                recorded_as(declared),
            ),
            Case(
                f"{declared.id}-verify", command(declared, "verify"), 0, "0 problems", ("hostile",)
            ),
            Case(f"{declared.id}-check", command(declared, "check"), 0, "0 violations"),
        ]
    return [
        Case(
            f"{declared.id}-record", command(declared, "record"), 0, "", (), recorded_as(declared)
        ),
        Case(f"{declared.id}-verify", command(declared, "verify"), 1, declared.module),
        Case(f"{declared.id}-check", command(declared, "check"), 1, "integrity modified"),
    ]


CASES = [case for declared in SCENARIOS for case in cases(declared)]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_entry_points(case: Case, world: World) -> None:
    run_case(case, world)


# One entry point declared by distributions of different names (a project installed as
# ``foo`` and as ``foo-headless``): the host loads it once for each. The field lists it
# once, from the distribution first by name whatever the directory's listing order, and
# names the others; no reader refuses the field, and check fails closed.
TWICE = "the same entry point is declared by foo-headless, foo-zz too"


def _declared_by_three(world: World) -> None:
    world.plugin("foo", name="foo")
    for other in ("foo-zz", "foo-headless"):
        marker = other.replace("-", "_")
        world.dist(
            other,
            files={f"{marker}/__init__.py": b""},
            entry_points=f"[{GROUP}]\nfoo = foo:register\n",
        )


def _declared_by_three_then(*args: str) -> Any:
    def build(world: World) -> list[str]:
        _declared_by_three(world)
        return list(args)

    return build


def _recorded_once(world: World, result: Result) -> None:
    del world
    (plugin,) = json.loads(result.stdout)["plugins"]
    assert plugin["distribution"]["name"] == "foo"
    assert plugin["distribution"]["integrity"]["status"] == "unverifiable"
    assert any(TWICE in problem for problem in plugin["distribution"]["problems"])


def _shown(world: World) -> list[str]:
    _declared_by_three(world)
    recorded = run_cli(world, ["record"])
    assert recorded.code == 0, recorded.err
    world.write("record.json", recorded.stdout)
    return ["show", str(world.path("record.json"))]


DECLARED_TWICE = [
    Case("declared-by-three-record", _declared_by_three_then("record"), 0, check=_recorded_once),
    Case("declared-by-three-show", _shown, 0, TWICE),
    Case("declared-by-three-check", _declared_by_three_then("check"), 1, "integrity unverifiable"),
]


@pytest.mark.parametrize("case", DECLARED_TWICE, ids=[case.id for case in DECLARED_TWICE])
def test_an_entry_point_declared_by_several_distributions_is_recorded_once(
    case: Case, world: World
) -> None:
    run_case(case, world)


# An entry point's value of 60,000 dotted parts (120 KB, plugin-chosen text): its module
# prefixes were all made at once, each a copy of the name so far (quadratic: 80 KB took
# 25 s and 2 GB). Under a 1 GiB address-space limit, record now ends at once, the
# plugin failed to load and the other recorded as ever.
DEEP = "pkg" + ".x" * 60_000 + ":register"


def _deep_value(world: World) -> list[str]:
    good_plugin(world, "good_plugin")
    world.dist(
        "deep", files={"pkg/__init__.py": REGISTER}, entry_points=f"[{GROUP}]\ndeep = {DEEP}\n"
    )
    return ["record"]


def _limited_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_a_value_of_thousands_of_dotted_parts_costs_its_length(world: World) -> None:
    result = run_cli(world, _deep_value(world), preexec=_limited_memory, timeout=60)
    assert result.code == 0, result.err[-2000:]
    plugins = {p["entry_point"]["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["good_plugin"]["load"]["status"] == "loaded"
    assert plugins["deep"]["load"]["status"] == "failed"
