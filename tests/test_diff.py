import pytest
from hypothesis import given
from hypothesis import strategies as st

from diff_fixtures import before_and_after, digest, plugin, with_dist
from insidellms_provenance.analyze._change import CHANGE_KINDS, classify_version_change
from insidellms_provenance.analyze._diff import diff_fields
from insidellms_provenance.analyze._fail_on import parse_fail_on, selected_changes
from insidellms_provenance.field import schema
from insidellms_provenance.field._build import make_field


@pytest.fixture(scope="module")
def report():
    before, after = before_and_after()
    return diff_fields(before, after)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("1.4.2", "2.0.0", ("upgrade", "major")),
        ("1!1.0", "1.0", ("downgrade", "major")),
        ("1.4.2", "1.5.0", ("upgrade", "minor")),
        ("1.4", "1.4.1", ("upgrade", "patch")),
        ("1.4.2", "1.4.2.1", ("upgrade", "patch")),
        ("1.4.2", "1.4.1", ("downgrade", "patch")),
        ("2.0.0rc1", "2.0.0", ("upgrade", "pre-release")),
        ("1.0", "1.0.post1", ("upgrade", "post")),
        ("1.0.dev2", "1.0.dev1", ("downgrade", "dev")),
        ("1.0+a", "1.0+b", ("upgrade", "local")),
        ("1.0", "1.0.0", ("changed", "local")),
        ("1.0", "banana", ("changed", "unparsable")),
        ("not a version", "1.0", ("changed", "unparsable")),
    ],
)
def test_classify_version_change(before, after, expected):
    assert classify_version_change(before, after) == expected


def _packaging_classification(before: str, after: str) -> tuple[str, str]:
    """What ``classify_version_change`` answers, decided by ``packaging`` alone."""
    from packaging.version import Version

    old, new = Version(before), Version(after)
    direction = "upgrade" if new > old else "downgrade" if new < old else "changed"
    width = max(len(old.release), len(new.release), 3)
    old_release = old.release + (0,) * (width - len(old.release))
    new_release = new.release + (0,) * (width - len(new.release))
    if old.epoch != new.epoch or old_release[0] != new_release[0]:
        return direction, "major"
    if old_release[1] != new_release[1]:
        return direction, "minor"
    return direction, "patch" if old_release != new_release else "local"


_PLAIN_VERSIONS = st.lists(
    st.sampled_from(["0", "00", "1", "01", "2", "9", "10", "999999999999999999999"]),
    min_size=1,
    max_size=5,
).map(".".join)


@given(before=_PLAIN_VERSIONS, after=_PLAIN_VERSIONS)
def test_plain_releases_are_classified_as_packaging_does(before, after):
    # Plain releases take a path without packaging: it must answer what packaging does.
    assert classify_version_change(before, after) == _packaging_classification(before, after)


@pytest.mark.parametrize("version", ["1.٢", "1.²", "1..2", "1.", ".1", " 1.0", "v1.0", "1.0 "])
def test_near_plain_versions_are_left_to_packaging(version):
    from packaging.version import InvalidVersion, Version

    try:
        Version(version)
    except InvalidVersion:
        assert classify_version_change(version, "1.0") == ("changed", "unparsable")
    else:
        assert classify_version_change(version, "1.0") == _packaging_classification(version, "1.0")


# Kinds for fields that differ outside one group's plugin keys; covered just below.
_OUTSIDE_FIXTURE = {"group", "other"}


def test_every_change_kind_is_covered_by_the_fixture(report):
    assert {change.kind for change in report.changes} == set(CHANGE_KINDS) - _OUTSIDE_FIXTURE


def test_group_and_other_changes_are_reported_never_dropped():
    from insidellms_provenance._canonical import canonical_digest

    before = make_field("insidellms.plugins", [plugin("x")])
    moved = {**before, "group": "other.group"}
    report = diff_fields(before, moved)
    assert [(c.kind, c.before, c.after) for c in report.changes] == [
        ("group", "insidellms.plugins", "other.group")
    ]
    registered = [
        {**before["plugins"][0], "registered": {"models": [], "probes": [], "datasets": []}}
    ]
    after = {**before, "plugins": registered, "digest": canonical_digest(registered)}
    report = diff_fields(before, after)
    assert [c.kind for c in report.changes] == ["other"]
    assert not report.identical


def test_changes_are_grouped_by_plugin_most_severe_first(report):
    plugins_in_order = list(dict.fromkeys(change.plugin for change in report.changes))
    assert plugins_in_order[:4] == ["content", "editable", "sdk-chat", "tampered"]
    severities = ("critical", "high", "medium", "low")
    firsts = [
        next(c for c in report.changes if c.plugin == name).severity for name in plugins_in_order
    ]
    assert firsts == sorted(firsts, key=severities.index)
    for name in plugins_in_order:
        group = [severities.index(c.severity) for c in report.changes if c.plugin == name]
        assert group == sorted(group)
        # a plugin's changes are contiguous
        indexes = [i for i, c in enumerate(report.changes) if c.plugin == name]
        assert indexes == list(range(indexes[0], indexes[-1] + 1))


def test_unchanged_plugins_report_nothing(report):
    assert "unchanged" not in {c.plugin for c in report.changes if c.kind != "conflict"}


def test_content_change_is_critical_and_plain(report):
    (change,) = [c for c in report.changes if c.kind == "content" and c.plugin == "content"]
    assert change.severity == "critical"
    assert "same version, different installed files" in change.message
    assert change.before == "sha256:" + "a" * 64
    assert change.after == "sha256:" + "f" * 64


def test_rebuilt_with_the_same_code_is_not_critical(report):
    (change,) = [c for c in report.changes if c.kind == "rebuilt"]
    assert change.plugin == "rebuilt"
    assert change.severity == "medium"
    assert "same version and code, different packaging metadata" in change.message


@pytest.mark.parametrize(
    ("old_code", "new_code", "kind"),
    [
        ("d", "d", "rebuilt"),
        ("d", "7", "content"),
        # A side without code_digest (a v1 field, or no RECORD) proves nothing.
        (None, None, "content"),
        ("d", None, "content"),
        (None, "d", "content"),
    ],
)
def test_same_version_record_change_table(old_code, new_code, kind):
    def side(record: str, code: str | None) -> dict:
        part = with_dist(plugin("p"), record_digest=digest(record))
        if code is None:
            part["distribution"]["code_digest"] = None  # as a v1 field is upgraded
        else:
            part["distribution"]["code_digest"] = digest(code)
        return make_field("g", [part])

    (change,) = diff_fields(side("a", old_code), side("f", new_code)).changes
    assert change.kind == kind


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("1.0.0", "1.0"),
        ("1.0", "1.0.0.0"),
        ("1.0a1", "1.0.0-alpha1"),
        ("v2", "2.0"),
        ("1+Ab", "1+ab"),
    ],
)
@pytest.mark.parametrize(
    ("old_code", "new_code", "kind"), [("d", "7", "content"), ("d", "d", "rebuilt")]
)
def test_a_respelled_version_with_other_files_is_a_same_version_change(
    old, new, old_code, new_code, kind
):
    # pip and uv take both spellings for one version: other installed files under it are
    # a rebuilt or tampered distribution, however the version is written.
    def side(version: str, record: str, code: str) -> dict:
        part = with_dist(plugin("p"), version=version, record_digest=digest(record))
        part["distribution"]["code_digest"] = digest(code)
        return make_field("g", [part])

    report = diff_fields(side(old, "a", old_code), side(new, "f", new_code))
    same_version, versions = report.changes  # most severe first
    assert (versions.kind, versions.severity, versions.size) == ("version", "low", "local")
    assert versions.message.endswith(f"{old} -> {new} (the same version, spelt differently)")
    assert same_version.kind == kind
    assert same_version.severity == ("critical" if kind == "content" else "medium")
    assert selected_changes(report, parse_fail_on(kind))
    assert selected_changes(report, parse_fail_on("any,-patch")) == (same_version,)


def test_a_respelled_version_with_the_same_files_is_only_a_version_line():
    before = make_field("g", [plugin("p", "1.0.0")])
    after = make_field("g", [with_dist(plugin("p", "1.0.0"), version="1.0")])
    (change,) = diff_fields(before, after).changes
    assert change.message == "p-dist 1.0.0 -> 1.0 (the same version, spelt differently)"


@pytest.mark.parametrize(
    ("code", "severity", "what"),
    [("7", "critical", ", different installed files"), ("d", "medium", " and code, different")],
)
def test_a_dependency_respelled_with_other_files_is_a_same_version_change(code, severity, what):
    def side(version: str, record: str, code: str) -> dict:
        lib = schema.distribution(
            name="lib", normalized_name="lib", version=version, record_digest=digest(record)
        )
        lib["code_digest"] = digest(code)
        table = {"lib": schema.dependency(distribution=lib, source=None)}
        user = schema.fingerprint(**{**plugin("p"), "dependencies": ["lib"]})
        return make_field("g", [user], dependencies=table)

    same_version, versions = diff_fields(side("2.0.0", "a", "d"), side("2.0", "f", code)).changes
    assert (same_version.kind, same_version.severity) == ("dependency", severity)
    assert same_version.message.startswith(f"unchanged; its dependency lib 2.0: same version{what}")
    assert (versions.kind, versions.severity) == ("dependency", "low")
    assert versions.message.endswith("lib 2.0.0 -> 2.0 (the same version, spelt differently)")


def test_a_real_version_change_with_other_files_is_only_a_version_line():
    before = make_field("g", [with_dist(plugin("p", "1.0"), record_digest=digest("a"))])
    after = make_field(
        "g", [with_dist(plugin("p", "1.0"), version="1.0.1", record_digest=digest("f"))]
    )
    (change,) = diff_fields(before, after).changes
    assert (change.kind, change.message) == ("version", "p-dist 1.0 -> 1.0.1 (patch upgrade)")


def test_identical_fields():
    field = make_field("g", [plugin("a"), plugin("b")])
    same = diff_fields(field, field)
    assert same.identical
    assert same.changes == ()


@pytest.mark.parametrize(
    ("policy", "fails"),
    [
        ("any", True),
        ("content", True),
        ("major", True),
        ("minor", True),
        ("added", True),
        ("removed", True),
        ("determinism-downgrade", True),
        ("conflict", True),
        ("any,-patch,-content", True),
        ("critical", True),
    ],
)
def test_policy_on_the_full_fixture(report, policy, fails):
    assert bool(selected_changes(report, parse_fail_on(policy))) is fails


def _report_for(old_version: str, new_version: str):
    from diff_fixtures import with_dist

    before = make_field("g", [plugin("x", old_version)])
    after = make_field("g", [with_dist(plugin("x", old_version), version=new_version)])
    return diff_fields(before, after)


@pytest.mark.parametrize(
    ("old", "new", "policy", "fails"),
    [
        ("1.0.0", "1.0.1", "major", False),
        ("1.0.0", "1.0.1", "minor", False),
        ("1.0.0", "1.0.1", "patch", True),
        ("1.0.0", "1.0.1", "any,-patch", False),
        ("1.0.0", "1.1.0", "any,-patch", True),
        ("1.0.0", "1.1.0", "major", False),
        ("1.0.0", "1.1.0", "minor", True),
        ("1.0.0", "2.0.0", "minor", True),
        ("1.0.0", "1.0.0.post1", "any,-patch", False),
        ("1.0.0", "banana", "major", True),
        ("1.0.0", "banana", "any,-patch", True),
        ("1.0.1", "1.0.0", "downgrade", True),
        ("1.0.0", "1.0.1", "downgrade", False),
        ("1.0.0", "1.0.1", "content", False),
        ("1.0.0", "1.0.1", "version", True),
    ],
)
def test_policy_sizes(old, new, policy, fails):
    assert bool(selected_changes(_report_for(old, new), parse_fail_on(policy))) is fails


@pytest.mark.parametrize("bad", ["nope", "any,-nope", "majr"])
def test_unknown_policy_selectors_are_refused(bad):
    with pytest.raises(ValueError, match="unknown --fail-on selector"):
        parse_fail_on(bad)


def _changes(before, after):
    return diff_fields(make_field("g", [before]), make_field("g", [after])).changes


def test_an_upgrade_groups_what_it_implies():
    from diff_fixtures import evolve, with_dist, with_manifest

    old = plugin("up", source=schema.source(kind="archive", url="https://h/up-1.0.0.whl"))
    new = with_manifest(
        with_dist(old, version="1.1.0", record_digest="sha256:" + "9" * 64), version="1.1.0"
    )
    new = evolve(new, source=evolve(new["source"], url="https://h/up-1.1.0.whl"))
    (change,) = _changes(old, new)
    assert (change.kind, change.severity, change.message) == (
        "version",
        "medium",
        "up-dist 1.0.0 -> 1.1.0 (minor upgrade)",
    )
    assert change.implied == (
        "kind and location: archive https://h/up-1.0.0.whl -> archive https://h/up-1.1.0.whl",
        "manifest version: 1.0.0 -> 1.1.0",
    )
    # The same source and manifest changes without an upgrade are lines of their own.
    alone = _changes(old, evolve(with_manifest(old, version="1.1.0"), source=new["source"]))
    assert {(c.kind, c.message) for c in alone} == {
        (
            "source",
            "kind and location: archive https://h/up-1.0.0.whl -> archive https://h/up-1.1.0.whl",
        ),
        ("manifest", "manifest keys changed: version"),
    }


@pytest.mark.parametrize(
    ("before_source", "after_source", "expected"),
    [
        # Editable and same version: the code changed under one version, as a rebuilt wheel.
        (
            {"editable": True, "editable_digest": "sha256:" + "1" * 64},
            {"editable": True, "editable_digest": "sha256:" + "2" * 64},
            ("content", "critical"),
        ),
        # Becoming editable is a change of where the code comes from.
        (
            {"editable": False, "editable_digest": None},
            {"editable": True, "editable_digest": "sha256:" + "2" * 64},
            ("source", "medium"),
        ),
    ],
)
def test_same_version_code_change_is_critical_for_wheels_and_editables(
    before_source, after_source, expected
):
    from diff_fixtures import evolve

    base = schema.source(kind="directory", local_name="src")
    old = plugin("ed", source=evolve(base, **before_source))
    new = plugin("ed", source=evolve(base, **after_source))
    assert (_changes(old, new)[0].kind, _changes(old, new)[0].severity) == expected
    rebuilt = with_dist(plugin("w"), record_digest=digest("9"), code_digest=digest("8"))
    wheel = _changes(plugin("w"), rebuilt)
    assert [(c.kind, c.severity) for c in wheel] == [("content", "critical")]


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        (
            ("failed", "ImportError", "No module named 'a'"),
            ("failed", "ImportError", "No module named 'b'"),
            "load failed (ImportError): No module named 'a' -> failed (ImportError): No module named 'b'",
        ),
        (
            ("failed", "RuntimeError", "boom"),
            ("loaded", None, None),
            "load failed (RuntimeError): boom -> loaded",
        ),
        (("loaded", None, None), ("skipped", None, None), "load loaded -> skipped"),
    ],
)
def test_load_change_shows_both_outcomes(before, after, message):
    def loading(status, error_type, error_message):
        return plugin(
            "l",
            load=schema.load_outcome(
                status=status, error_type=error_type, error_message=error_message
            ),
        )

    (change,) = _changes(loading(*before), loading(*after))
    assert change.message == message
    assert change.before != change.after
    assert change.before in message
    assert change.after in message


def _with_load(status, error_type=None, message=None):
    from diff_fixtures import evolve
    from insidellms_provenance.field import schema

    load = schema.load_outcome(status=status, error_type=error_type, error_message=message)
    return evolve(plugin("x"), load=load)


@pytest.mark.parametrize(
    ("was", "now", "severity"),
    [
        # A plugin that loaded and no longer does is a regression: high.
        (("loaded",), ("failed", "ImportError", "no torch"), "high"),
        (("loaded",), ("skipped", None, "entry point is not callable"), "high"),
        (("loaded",), ("disabled",), "high"),
        # Anything else that moves is worth a look, no more.
        (("failed", "ImportError", "no torch"), ("loaded",), "medium"),
        (("failed", "ImportError", "a"), ("failed", "RuntimeError", "b"), "medium"),
        (("skipped",), ("failed", "ImportError", "x"), "medium"),
        (("disabled",), ("loaded",), "medium"),
    ],
)
def test_load_change_severity(was, now, severity):
    report = diff_fields(make_field("g", [_with_load(*was)]), make_field("g", [_with_load(*now)]))
    assert [(c.kind, c.severity) for c in report.changes] == [("load", severity)]


def test_equal_loads_report_nothing():
    field = make_field("g", [_with_load("failed", "ImportError", "x")])
    assert diff_fields(field, field).changes == ()


def _field(plugins, conflicts=(), *, observed=False):
    return make_field("g", plugins, conflicts, observed_in_run=observed)


def test_integrity_change_is_critical(report):
    (change,) = [c for c in report.changes if c.kind == "integrity"]
    assert (change.plugin, change.severity) == ("tampered", "critical")
    assert change.message == "integrity verified -> modified: tampered/__init__.py"


def _conflict(plugins, outcome, winner):
    from insidellms_provenance.field import schema

    return schema.conflict(
        kind="models", key="shared", plugins=plugins, outcome=outcome, winner=winner
    )


FIRST = _conflict(("a", "b"), "overwritten", "b")
SECOND = _conflict(("b", "c"), "failed", "b")


@pytest.mark.parametrize(
    ("after", "messages"),
    [
        (
            [FIRST, _conflict(("b", "c"), "overwritten", "c")],
            ["conflict on models 'shared' between b, c: failed, b won -> overwritten, c won"],
        ),
        ([FIRST], ["conflict on models 'shared' between b, c resolved"]),
        (
            [FIRST, SECOND, _conflict(("a", "c"), "failed", "a")],
            ["conflict on models 'shared' between a, c (failed, a won)"],
        ),
        ([SECOND, FIRST], []),
    ],
)
def test_every_conflict_of_a_key_is_compared(after, messages):
    """One conflict per pair of plugins: the second of two on one key counts too."""
    plugins = [plugin("a"), plugin("b"), plugin("c")]
    before = _field(plugins, [FIRST, SECOND], observed=True)
    report = diff_fields(before, _field(plugins, after, observed=True))
    assert [c.message for c in report.changes] == messages
    assert report.identical is (messages == [])


def test_two_removed_entry_points_of_one_name_are_both_reported():
    from diff_fixtures import evolve

    one = plugin("x")
    two = evolve(one, entry_point=evolve(one["entry_point"], value="x_other:register"))
    report = diff_fields(_field([one, two, plugin("y")]), _field([plugin("y")]))
    assert [(c.kind, c.message) for c in report.changes] == [
        ("removed", "removed (x-dist 1.0.0, x:register)"),
        ("removed", "removed (x-dist 1.0.0, x_other:register)"),
    ]


def test_retargeting_pairs_entry_points_of_one_name_in_value_order():
    from diff_fixtures import evolve

    def at(value):
        base = plugin("x")
        return evolve(base, entry_point=evolve(base["entry_point"], value=value))

    report = diff_fields(_field([at("a:f"), at("b:f")]), _field([at("c:f")]))
    assert [(c.kind, c.message) for c in report.changes] == [
        ("removed", "removed (x-dist 1.0.0, b:f)"),
        ("retargeted", "entry point now points at c:f (was a:f)"),
    ]


def test_observations_are_compared_only_when_made_alike():
    """The issue's reproducer, in small: embed after a run vs recorded inside one."""
    from insidellms_provenance.field import schema

    outside = plugin("p", load=schema.load_outcome(status="loaded"), registered=None)
    inside = plugin(
        "p",
        load=schema.load_outcome(
            status="failed", error_type="RegistrationError", error_message="x"
        ),
        registered=schema.registry_keys(models=("m",)),
    )
    before = _field([inside], [FIRST], observed=True)
    after = _field([outside])
    report = diff_fields(before, after)
    assert report.changes == ()
    assert report.notes == (
        (
            "load outcomes, registrations and conflicts not compared: observed in a host run "
            "before, recorded outside a run after"
        ),
    )
    assert not report.identical
    assert not selected_changes(report, parse_fail_on("any"))


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ([], [], []),
        (["a"], ["a"], []),  # unchanged problems are no change
        (["b", "a"], ["a", "b"], []),  # nor is their order
        ([], ["x"], [("medium", "lib: new problem: x", None, "x")]),
        (["x"], [], [("low", "lib: problem gone: x", "x", None)]),
        (
            ["gone", "kept"],
            ["kept", "z-new", "a-new"],
            [
                ("medium", "lib: new problem: a-new", None, "a-new"),
                ("medium", "lib: new problem: z-new", None, "z-new"),
                ("low", "lib: problem gone: gone", "gone", None),
            ],
        ),
    ],
)
def test_problem_changes(before, after, expected):
    from insidellms_provenance.analyze._change import problem_changes

    changes = problem_changes("p", "dependency", before, after, "lib: ")
    assert {(c.plugin, c.kind) for c in changes} <= {("p", "dependency")}
    assert [(c.severity, c.message, c.before, c.after) for c in changes] == expected


@pytest.mark.parametrize(
    ("same_code", "kind", "expected"),
    [
        (True, None, ("rebuilt", "medium", "same version and code, different packaging metadata")),
        (False, None, ("content", "critical", "same version, different installed files")),
        (True, "dependency", ("dependency", "medium", "same version and code")),
        (False, "dependency", ("dependency", "critical", "rebuilt or tampered distribution")),
    ],
)
def test_same_version_change(same_code, kind, expected):
    from insidellms_provenance.analyze._change import same_version_change

    change = same_version_change(
        "p", "lib 1.0", "sha256:a", "sha256:b", same_code=same_code, kind=kind
    )
    assert (change.kind, change.severity) == expected[:2]
    assert change.message.startswith("lib 1.0: ")
    assert expected[2] in change.message
    assert (change.before, change.after) == ("sha256:a", "sha256:b")
