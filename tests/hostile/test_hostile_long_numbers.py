"""Numbers too long to compare, and fields of many wrongly named distributions, for readers.

A PEP 440 version may have a release number of any length, but ``int`` reads at most
4300 digits from text (``sys.get_int_max_str_digits()``), and ``packaging`` lets the
bare ``ValueError`` through: when a version is parsed, and for a specifier or marker
only when it is compared. A run file (a distribution's version, a plugin's declared
``insideLLMs`` specifier), a flag, a policy file or a lock can hold one. A run's value is
one that cannot be compared, as any other unparsable version there; a flag, policy or
lock is bad input. A release number beyond 2**53 cannot be an audit line's ``release``.
A field of many distributions whose ``normalized_name`` is wrong is refused in one line
that names a few and counts the rest. Each case states its exit code and verdict, and
that no other file changed.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hostile_kit import Case, Result, World, host_manifest, reseal, run_case

LONG = "1" * 5000  # beyond int's 4300 digits from text
LONG_VERSION = "1." + "0" * 5000  # a valid PEP 440 version, equal to 1.0
UNREADABLE = "makes a comparison packaging cannot"


def run_with(world: World, relative: str, mutate: Any) -> str:
    """A run directory whose genuine field is changed by ``mutate`` (then resealed)."""
    field = world.field()
    mutate(field)
    return str(world.run_dir(relative, host_manifest(reseal(field))))


def dist_version(version: str) -> Any:
    def mutate(field: dict[str, Any]) -> None:
        field["plugins"][0]["distribution"]["version"] = version

    return mutate


def declared_insidellms(specifier: str) -> Any:
    def mutate(field: dict[str, Any]) -> None:
        field["plugins"][0]["manifest"]["insideLLMs"] = specifier

    return mutate


def genuine_run(world: World) -> str:
    return run_with(world, "run", lambda _field: None)


# --- a run's recorded value: not comparable, as any other unparsable version there.


def audit_among_runs(version: str) -> Any:
    def make(world: World) -> list[str]:
        run_with(world, "runs/a", lambda _field: None)
        run_with(world, "runs/b", dist_version(version))
        run_with(world, "runs/c", lambda _field: None)
        return ["audit", str(world.path("runs")), "--output", world.output("runs.jsonl")]

    return make


def releases_of(version: str) -> Any:
    """Every line of run b (the odd version) has a null release; the others theirs."""

    def check(world: World, _result: Result) -> None:
        lines = [json.loads(line) for line in world.path("runs.jsonl").read_bytes().splitlines()]
        assert len(lines) == 6  # two plugins in each of three runs
        odd = [line for line in lines if line["version"] == version]
        assert [line["release"] for line in odd] == [None]
        assert all(line["release"] for line in lines if line["version"] != version)

    return check


def diff_against_genuine(version: str) -> Any:
    def make(world: World) -> list[str]:
        before = run_with(world, "before", lambda _field: None)
        after = run_with(world, "after", dist_version(version))
        return ["diff", before, after, "--format", "json"]

    return make


def unparsable_change(_world: World, result: Result) -> None:
    changes = json.loads(result.stdout)["changes"]
    assert [(change["kind"], change["size"]) for change in changes] == [("version", "unparsable")]


RUN_CASES = [
    Case(
        # One hostile run stopped the audit of the whole tree with a traceback.
        "audit-long-version-among-runs",
        audit_among_runs(LONG_VERSION),
        0,
        "3 with plugin provenance",
        check=releases_of(LONG_VERSION),
    ),
    Case(
        # Canonical JSON refused the line's release [1, 99...9]: exit 2 for the tree.
        "audit-release-beyond-2**53",
        audit_among_runs("1." + "9" * 20),
        0,
        "3 with plugin provenance",
        check=releases_of("1." + "9" * 20),
    ),
    Case(
        # Was exit 2 "a provenance field is malformed", while show read the same run.
        "diff-long-version",
        diff_against_genuine(LONG_VERSION),
        1,
        '"unparsable"',
        check=unparsable_change,
    ),
    Case(
        "show-long-version",
        lambda w: ["show", run_with(w, "run", dist_version(LONG_VERSION))],
        0,
        "p",
    ),
    Case(
        # An unreadable declared specifier excludes the version: fail closed.
        "check-run-long-declared-specifier",
        lambda w: [
            "check",
            run_with(w, "run", declared_insidellms(">=" + LONG)),
            "--insidellms-version",
            "0.2.0",
        ],
        1,
        "insidellms-version",
    ),
]

# --- a flag, a policy file, a lock: bad input, one line and exit 2.


def policy_file(world: World) -> list[str]:
    policy = world.write("policy.toml", f'insidellms-version = "{LONG}a1"\n')
    return ["check", genuine_run(world), "--policy", str(policy)]


def check_lock(top: str = "", package: str = "") -> Any:
    """``check RUN --lock``: one entry of the run's first plugin distribution, as recorded."""

    def make(world: World) -> list[str]:
        run = genuine_run(world)
        dist = world.field()["plugins"][0]["distribution"]
        lock = (
            f'lock-version = "1.0"\ncreated-by = "x"\n{top}\n'
            f'[[packages]]\nname = "{dist["normalized_name"]}"\nversion = "{dist["version"]}"\n'
            f"{package}"
            '[packages.archive]\nurl = "https://x.invalid/a.whl"\n'
            f'hashes = {{sha256 = "{"0" * 64}"}}\n'
        )
        return ["check", run, "--no-load", "--lock", str(world.write("pylock.toml", lock))]

    return make


INPUT_CASES = [
    Case(
        "check-flag-long-version",
        lambda w: ["check", genuine_run(w), "--insidellms-version", LONG + "a1"],
        2,
        "is not a version",
    ),
    Case("check-policy-long-version", policy_file, 2, "is not a version"),
    Case(
        "lock-requires-python",
        check_lock(top=f'requires-python = ">={LONG}"'),
        2,
        f"pylock.toml: not a valid PEP 751 lock: requires-python {UNREADABLE}",
    ),
    Case(
        "lock-environments",
        check_lock(top=f"environments = [\"python_version >= '{LONG}'\"]"),
        2,
        f"pylock.toml: not a valid PEP 751 lock: environments {UNREADABLE}",
    ),
    Case(
        "lock-package-marker",
        check_lock(package=f"marker = \"python_version >= '{LONG}'\"\n"),
        2,
        f"not a valid PEP 751 lock: the marker of package 'alpha-plugin' {UNREADABLE}",
    ),
    Case(
        # packaging's UndefinedComparison, a ValueError too: it was a traceback as well.
        "lock-environments-compatible-release-of-one-number",
        check_lock(top="environments = [\"python_version ~= '3'\"]"),
        2,
        f"pylock.toml: not a valid PEP 751 lock: environments {UNREADABLE}",
    ),
    Case(
        "lock-package-requires-python",
        check_lock(package=f'requires-python = ">={LONG}"\n'),
        2,
        f"not a valid PEP 751 lock: requires-python of package 'alpha-plugin' {UNREADABLE}",
    ),
]

# --- many wrongly named distributions: a few named, the rest counted.


def wrongly_named(world: World, relative: str = "run") -> str:
    """40 plugins whose distribution ``Demo_P007`` is recorded as its own normal form."""

    def mutate(field: dict[str, Any]) -> None:
        model = field["plugins"][0]
        field["plugins"] = []
        for index in range(40):
            plugin = copy.deepcopy(model)
            plugin["entry_point"]["name"] = f"p{index:03}"
            name = f"Demo_P{index:03}"
            plugin["distribution"]["name"] = plugin["distribution"]["normalized_name"] = name
            field["plugins"].append(plugin)

    return run_with(world, relative, mutate)


def short_error(_world: World, result: Result) -> None:
    # The 16,000-plugin version of this error was one line of 1.8 MB.
    assert len(result.stderr) < 2000, len(result.stderr)
    assert "Demo_P009" in result.err
    assert "Demo_P010" not in result.err


NAME_CASES = [
    Case(
        f"{command}-many-wrong-names",
        lambda w, command=command: (
            ["diff", genuine_run(w), wrongly_named(w, "after")]
            if command == "diff"
            else [command, wrongly_named(w)]
        ),
        2,
        "(and 30 more)",
        check=short_error,
    )
    for command in ("show", "diff", "verify", "check")
]

CASES = RUN_CASES + INPUT_CASES + NAME_CASES


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_long_numbers(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)
