"""The --fail-on gate: every selector included and excluded, on one change of each class."""

import pytest

from insidellms_provenance.analyze._change import CHANGE_KINDS, Change
from insidellms_provenance.analyze._diff import DiffReport
from insidellms_provenance.analyze._fail_on import (
    FAIL_ON_EXAMPLES,
    SELECTORS,
    parse_fail_on,
    selected_changes,
)


def _version(name: str, severity: str, size: str, direction: str = "upgrade") -> Change:
    return Change(
        plugin=name, kind="version", severity=severity, message=name, size=size, direction=direction
    )


# One change per class the selectors tell apart; the plugin name says which it is.
CHANGES = (
    Change(plugin="content", kind="content", severity="critical", message="c"),
    Change(plugin="removed", kind="removed", severity="high", message="r"),
    Change(plugin="added", kind="added", severity="medium", message="a"),
    Change(plugin="determinism-upgrade", kind="determinism-upgrade", severity="low", message="d"),
    _version("v-major", "high", "major"),
    _version("v-unparsable", "high", "unparsable", "changed"),
    _version("v-minor", "medium", "minor"),
    _version("v-patch-down", "high", "patch", "downgrade"),
    _version("v-patch", "low", "patch"),
    _version("v-pre-release", "low", "pre-release"),
    _version("v-post", "low", "post"),
    _version("v-dev", "low", "dev"),
    _version("v-local", "low", "local"),
)
REPORT = DiffReport(group="g", before_digest="sha256:a", after_digest="sha256:b", changes=CHANGES)
ALL = {change.plugin for change in CHANGES}
VERSIONS = {name for name in ALL if name.startswith("v-")}
CRITICAL = {"content"}
HIGH = {"removed", "v-major", "v-unparsable", "v-patch-down"}
MEDIUM = {"added", "v-minor"}
LOW = ALL - CRITICAL - HIGH - MEDIUM
SMALL = ["v-local", "v-dev", "v-post", "v-pre-release", "v-patch", "v-patch-down"]


def _selected(policy: str) -> set[str]:
    return {change.plugin for change in selected_changes(REPORT, parse_fail_on(policy))}


# selector -> (what "selector" fails on, what "any,-selector" fails on)
TABLE = {
    "critical": (CRITICAL, None),  # -critical is refused: see below
    "high": (CRITICAL | HIGH, CRITICAL),
    "medium": (CRITICAL | HIGH | MEDIUM, CRITICAL | HIGH),
    "low": (ALL, CRITICAL | HIGH | MEDIUM),
    # Unparsable versions count as major, included and excluded.
    "major": ({"v-major", "v-unparsable"}, ALL - VERSIONS),
    "minor": ({"v-major", "v-unparsable", "v-minor"}, ALL - VERSIONS | {"v-major", "v-unparsable"}),
    "patch": (VERSIONS - set(SMALL[:4]), ALL - set(SMALL)),
    "pre-release": (VERSIONS - set(SMALL[:3]), ALL - set(SMALL[:4])),
    "post": (VERSIONS - set(SMALL[:2]), ALL - set(SMALL[:3])),
    "dev": (VERSIONS - {"v-local"}, ALL - set(SMALL[:2])),
    "local": (VERSIONS, ALL - {"v-local"}),
    "downgrade": ({"v-patch-down"}, ALL - {"v-patch-down"}),
    "any": (ALL, None),  # -any is refused
    "version": (VERSIONS, ALL - VERSIONS),
    **{kind: ({kind}, ALL - {kind}) for kind in ("content", "removed", "added")},
    "determinism-upgrade": ({"determinism-upgrade"}, ALL - {"determinism-upgrade"}),
}
# Kinds this report has no change of: included they select nothing, excluded nothing goes.
TABLE.update({kind: (set(), ALL) for kind in CHANGE_KINDS if kind not in TABLE})


def test_the_table_covers_every_selector():
    assert set(TABLE) == set(SELECTORS)


@pytest.mark.parametrize("selector", sorted(TABLE))
def test_selector_included(selector):
    assert _selected(selector) == TABLE[selector][0]


@pytest.mark.parametrize("selector", sorted(s for s in TABLE if TABLE[s][1] is not None))
def test_selector_excluded(selector):
    excluded = TABLE[selector][1]
    assert _selected(f"any,-{selector}") == excluded
    # With only exclusions, "any" is implied.
    assert _selected(f"-{selector}") == excluded


@pytest.mark.parametrize("policy", ["-any", "-critical", "any,-critical", "content,-any"])
def test_a_policy_that_excludes_everything_is_refused(policy):
    with pytest.raises(ValueError, match="excludes every change, so the gate could never fail"):
        parse_fail_on(policy)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("any,-low", CRITICAL | HIGH | MEDIUM),  # a critical change is never dropped by -low
        ("-medium", CRITICAL | HIGH),
        ("high,-version", {"content", "removed"}),
        ("any,-patch,-content", ALL - set(SMALL) - {"content"}),
        ("major,downgrade", {"v-major", "v-unparsable", "v-patch-down"}),
        ("  minor , ,-version ", set()),
        ("", ALL),
    ],
)
def test_combinations(policy, expected):
    assert _selected(policy) == expected


def test_the_documented_examples_say_what_they_do():
    meanings = dict(FAIL_ON_EXAMPLES)
    assert _selected("any") == ALL
    assert meanings["any,-low"] == "every change except low ones"
    assert _selected("any,-low") == _selected("-low") == ALL - LOW
    assert _selected("-medium") == _selected("high") == CRITICAL | HIGH
    assert _selected("any,-patch") == ALL - set(SMALL)
    assert _selected("content,major,removed") == {"content", "v-major", "v-unparsable", "removed"}
    assert _selected("medium,-version") == {"content", "removed", "added"}


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("nope", "unknown --fail-on selector 'nope'"),
        ("any,-nope,majr", "unknown --fail-on selector 'nope', 'majr'"),
    ],
)
def test_unknown_selectors_are_all_named(policy, message):
    with pytest.raises(ValueError, match=message):
        parse_fail_on(policy)


def test_policy_text_is_kept_as_given():
    assert parse_fail_on(" any,-low ").text == "any,-low"
    assert parse_fail_on("").text == "any"
