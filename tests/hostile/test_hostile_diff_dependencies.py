"""Two fields that differ in a dependency are never "nothing changed" to ``diff``.

A genuine recording gets a dependency ``libx`` in its table, in both plugins' closures,
and one unmet requirement; the other side differs from it in one recorded value of that
dependency or requirement, resealed. Each difference is a line (kind and severity as
docs/diff.md says), the gate fails (exit 1), and no file changes. The control: a change
of whether bytecode was checked alone is, as for a plugin, not a change (exit 0).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hostile_kit import Case, Result, World, host_manifest, reseal, run_case
from test_hostile_dependency_table import dependency

UNMET = {
    "name": "liby",
    "requirement": "liby>=2",
    "required_by": "libx",
    "installed": "1.5",
    "reason": "version",
}


def _with_libx(field: dict[str, Any]) -> dict[str, Any]:
    """The base side: every plugin depends on ``libx``, whose ``liby>=2`` is unmet."""
    field["dependencies"] = {"libx": dependency("libx")}
    for plugin in field["plugins"]:
        plugin["dependencies"] = ["libx"]
        plugin["unsatisfied"] = [dict(UNMET)]
    return field


def _libx(field: dict[str, Any]) -> dict[str, Any]:
    distribution: dict[str, Any] = field["dependencies"]["libx"]["distribution"]
    return distribution


def _unmet(field: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = field["plugins"][0]["unsatisfied"][0]
    return entry


def _integrity(status: str, bytecode: str = "checked") -> dict[str, Any]:
    paths = [] if status == "verified" else ["libx/x.py"]
    return {"status": status, "paths": paths, "bytecode": bytecode}


def _pair(
    mutate: Callable[[dict[str, Any]], None],
    *options: str,
    base: Callable[[dict[str, Any]], None] = lambda _field: None,
) -> Callable[[World], list[str]]:
    """``diff BASE CHANGED``: both sides with ``libx``, ``mutate`` applied to the second."""

    def make(world: World) -> list[str]:
        before = _with_libx(world.field())
        base(before)
        after = copy.deepcopy(before)
        mutate(after)
        runs = [
            str(world.run_dir(name, host_manifest(reseal(field))))
            for name, field in (("before", before), ("after", after))
        ]
        return ["diff", *runs, *options]

    return make


def _lines(*expected: tuple[str, str, str]) -> Callable[[World, Result], None]:
    """Every change line is one of ``expected`` (plugin, severity + kind, message end)."""

    def check(_world: World, result: Result) -> None:
        body = [line for line in result.out.splitlines()[4:] if line and "--fail-on" not in line]
        assert len(body) == len(expected), result.out
        for line, (plugin, what, message) in zip(body, expected, strict=True):
            assert line.split()[0] == plugin, line
            assert " ".join(line.split()[1:3]) == what, line
            assert line.endswith(message), line

    return check


def _both(what: str, message: str) -> Callable[[World, Result], None]:
    """The same line under both plugins (``libx`` is in both closures)."""
    return _lines(*((plugin, what, message) for plugin in ("alpha_plugin", "beta_plugin")))


FAILED = "FAILED"

CASES = [
    Case(
        "unsatisfied-reason-changed",
        _pair(lambda f: _unmet(f).update(reason="missing", installed=None)),
        1,
        FAILED,
        check=_lines(
            (
                "alpha_plugin",
                "medium dependency",
                (
                    "still unsatisfied requirement 'liby>=2' of libx: "
                    "1.5 is installed -> not installed"
                ),
            )
        ),
    ),
    Case(
        "unsatisfied-installed-changed",
        _pair(lambda f: _unmet(f).update(installed="0.1")),
        1,
        "1.5 is installed -> 0.1 is installed",
    ),
    Case(
        "unsatisfied-name-changed",
        _pair(lambda f: _unmet(f).update(name="libz")),
        1,
        "still unsatisfied requirement 'liby>=2' of libx: name changed",
    ),
    Case(
        "dependency-integrity-modified-is-critical",
        _pair(lambda f: _libx(f).update(integrity=_integrity("modified")), "--fail-on", "critical"),
        1,
        FAILED,
        check=_both(
            "critical dependency",
            "unchanged; its dependency libx: integrity not recorded -> modified: libx/x.py",
        ),
    ),
    Case(
        "dependency-integrity-other-files-at-fault",
        _pair(
            lambda f: _libx(f).update(integrity={**_integrity("modified"), "paths": ["libx/y.py"]}),
            "--fail-on",
            "critical",
            base=lambda f: _libx(f).update(integrity=_integrity("modified")),
        ),
        1,
        "integrity modified -> modified: libx/y.py",
    ),
    Case(
        "dependency-integrity-verified-again-is-medium",
        _pair(
            lambda f: _libx(f).update(integrity=_integrity("verified")),
            "--fail-on",
            "-medium",
            base=lambda f: _libx(f).update(integrity=_integrity("modified")),
        ),
        0,
        "--fail-on -medium: passed (0 of 2 changes selected; exit 0)",
        check=_both("medium dependency", "its dependency libx: integrity modified -> verified"),
    ),
    Case(
        "dependency-name-respelled",
        _pair(lambda f: _libx(f).update(name="LibX")),
        1,
        FAILED,
        check=_both(
            "low dependency",
            "its dependency LibX 1.0: name libx -> LibX (the same distribution, spelt differently)",
        ),
    ),
    Case(
        "dependency-code-digest-under-equal-record-digest",
        _pair(lambda f: _libx(f).update(code_digest="sha256:" + "2" * 64)),
        1,
        FAILED,
        check=_both(
            "low other",
            "its dependency libx 1.0: recorded values changed outside the compared keys: "
            "distribution.code_digest",
        ),
    ),
    Case(
        "unsatisfied-entry-twice-is-other",
        _pair(lambda f: f["plugins"][0]["unsatisfied"].append(dict(UNMET))),
        1,
        FAILED,
        check=_lines(("-", "low other", "recorded content differs outside the compared keys")),
    ),
    # The control: whether bytecode was checked is not a change, of a plugin or not.
    Case(
        "dependency-bytecode-alone-is-no-change",
        _pair(
            lambda f: _libx(f).update(integrity=_integrity("verified", "not_checked")),
            base=lambda f: _libx(f).update(integrity=_integrity("verified")),
        ),
        0,
        "--fail-on any: passed (nothing changed; exit 0)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_dependency_difference_is_reported(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)


def test_json_lists_the_change_and_is_not_identical(world: World, genuine: Any) -> None:
    """The JSON report carries the line too, and ``policy.failed``."""
    import json

    case = Case(
        "json",
        _pair(lambda f: _unmet(f).update(installed="0.1"), "--format", "json"),
        1,
    )
    world.fields = {"genuine": genuine}
    report = json.loads(run_case(case, world).stdout)
    assert report["identical"] is False
    assert report["policy"]["failed"] is True
    assert [(c["kind"], c["severity"]) for c in report["changes"]] == [("dependency", "medium")]
