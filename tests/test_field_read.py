"""``field._read``: a field's schema, digest and shape are checked before anyone uses it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insidellms_provenance._canonical import canonical_digest
from insidellms_provenance.errors import InvalidFieldError
from insidellms_provenance.field._build import digested_part
from insidellms_provenance.field._names import normalized_name
from insidellms_provenance.field._read import (
    _in_normal_form,
    check_field,
    read_conflict,
    read_field,
    read_field_beside,
    read_plugin,
)

GOLDEN = json.loads(
    (Path(__file__).parent.parent / "golden" / "record" / "field.json").read_bytes()
)


def resealed(field: dict) -> dict:
    return {**field, "digest": canonical_digest(digested_part(field))}


def with_plugin_change(**load: object) -> dict:
    field = copy.deepcopy(GOLDEN)
    field["plugins"][0]["load"].update(load)
    return resealed(field)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "provenance field is not a JSON object"),
        ({**GOLDEN, "schema": "insidellms-provenance/plugins/v0"}, "unknown provenance schema"),
        ({k: v for k, v in GOLDEN.items() if k != "schema"}, "unknown provenance schema None"),
        ({**GOLDEN, "plugins": {}}, "'plugins' is not a list"),
        ({**GOLDEN, "digest": "sha256:" + "0" * 64}, "digest does not match its content"),
        ({**GOLDEN, "plugins": GOLDEN["plugins"][1:]}, "digest does not match its content"),
        ({**GOLDEN, "conflicts": [{"kind": "models"}]}, "digest does not match its content"),
        ({**GOLDEN, "observed_in_run": True}, "digest does not match its content"),
        (with_plugin_change(status="teleported"), "provenance field is malformed"),
        (resealed({**GOLDEN, "extra": 1}), "provenance field is malformed"),
    ],
)
def test_bad_fields_are_refused_with_one_error(value, message):
    with pytest.raises(InvalidFieldError, match=message) as caught:
        read_field(value, where="run/manifest.json")
    assert str(caught.value).startswith("run/manifest.json: ")


def test_every_shape_problem_is_listed():
    field = with_plugin_change(status="teleported", error_type=7)
    with pytest.raises(InvalidFieldError) as caught:
        read_field(field, where="w")
    assert sorted(caught.value.issues) == [
        "field.plugins[0].load.error_type: expected a string, got number",
        (
            "field.plugins[0].load.status: expected 'loaded' or 'failed' or 'skipped' or "
            "'disabled', got string"
        ),
    ]


def test_a_good_field_is_returned_as_it_is():
    assert read_field(GOLDEN, where="w") is GOLDEN
    assert check_field(GOLDEN, where="w") is GOLDEN


def test_check_field_does_not_validate_plugins():
    """``diff`` checks digests cheaply and validates only plugins that differ."""
    field = with_plugin_change(status="teleported")
    assert check_field(field, where="w") is field
    with pytest.raises(InvalidFieldError, match=r"w: provenance field is malformed"):
        read_plugin(field["plugins"][0], where="w", index=0)
    assert read_plugin(GOLDEN["plugins"][0], where="w") is GOLDEN["plugins"][0]


@pytest.mark.parametrize(
    ("conflict", "valid"),
    [
        (
            {"kind": "models", "key": "k", "plugins": ["a"], "outcome": "failed", "winner": None},
            True,
        ),
        ({"kind": "models", "key": "k", "plugins": ["a"], "outcome": "won", "winner": None}, False),
        (
            {"kind": "models", "key": "k", "plugins": "a", "outcome": "failed", "winner": None},
            False,
        ),
        ({"kind": "models", "key": "k", "plugins": ["a"], "outcome": "failed"}, False),
    ],
)
def test_read_conflict(conflict, valid):
    if valid:
        assert read_conflict(conflict, where="w") is conflict
    else:
        with pytest.raises(InvalidFieldError):
            read_conflict(conflict, where="w")


def test_the_digest_covers_the_dependency_table_and_older_fields_still_read():
    with_table = json.loads(
        (Path(__file__).parent.parent / "golden" / "record" / "dependencies.json").read_bytes()
    )
    assert read_field(with_table, where="w") == with_table
    tampered = copy.deepcopy(with_table)
    tampered["dependencies"]["lib-b"]["distribution"]["version"] = "9.9.9"
    with pytest.raises(InvalidFieldError, match="digest does not match"):
        read_field(tampered, where="w")
    # A field written before closures were recorded (v1, 0.1.0): no table, no integrity,
    # no code_digest, the plugins' digest. Read, and upgraded to v2 with nulls.
    older = copy.deepcopy(with_table)
    older["schema"] = "insidellms-provenance/plugins/v1"
    del older["dependencies"], older["observed_in_run"]
    for plugin in older["plugins"]:
        del plugin["dependencies"], plugin["unsatisfied"]
        del plugin["distribution"]["integrity"], plugin["distribution"]["code_digest"]
    older["digest"] = canonical_digest(older["plugins"])
    upgraded = read_field(older, where="w")
    assert upgraded["schema"] == "insidellms-provenance/plugins/v2"
    assert "dependencies" not in upgraded
    assert all(
        (p["distribution"]["code_digest"], p["distribution"]["integrity"]) == (None, None)
        for p in upgraded["plugins"]
    )


def _with_extras(field: dict) -> dict:
    """GOLDEN with keys that sort around ``plugins`` and text beyond ASCII."""
    extended = copy.deepcopy(field)
    extended["plugins"][0]["load"]["error_message"] = "caf\u00e9 \U0001f600 \ue000"
    extended["dependencies"] = {"\u00e9-lib": None, "a-lib": None, "\U0001f600": None}
    extended["zz-unknown"] = {"\ue000": 1, "a": [1.5, None]}
    return resealed(extended)


@pytest.mark.parametrize("field", [GOLDEN, _with_extras(GOLDEN)], ids=["golden", "extras"])
def test_each_plugin_gets_the_texts_the_digest_is_made_of(field):
    import orjson

    texts: list[tuple[int, bytes]] = []
    checked = check_field(field, where="w", each_plugin=lambda i, t: texts.append((i, t)))
    assert checked is field
    sort = orjson.OPT_SORT_KEYS
    assert texts == [(i, orjson.dumps(p, option=sort)) for i, p in enumerate(field["plugins"])]
    # The digest written plugin by plugin is orjson's sorted text of the whole.
    from insidellms_provenance._canonical import sha256_digest
    from insidellms_provenance.field._read import _sorted_digest

    whole = sha256_digest(orjson.dumps(digested_part(field), option=sort))
    assert _sorted_digest(digested_part(field), field["plugins"], lambda *_: None) == whole


def test_each_plugin_is_not_called_for_a_v1_field():
    v1 = json.loads((Path(__file__).parent.parent / "golden" / "v1" / "field.json").read_bytes())
    texts: list[object] = []
    check_field(v1, where="w", each_plugin=lambda *piece: texts.append(piece))
    assert texts == []


@pytest.mark.parametrize(
    ("editable", "valid"),
    [(False, True), (True, True), (0, False), (0.0, False), (-0.0, False), (None, False)],
)
def test_read_field_beside_vouches_only_for_the_same_json(editable, valid):
    """A plugin beside its validated twin is skipped only when it is the same JSON, types
    included: ``0 == 0.0 == False`` in Python, not in the schema."""
    first = read_field(copy.deepcopy(GOLDEN), where="a")
    second = copy.deepcopy(GOLDEN)
    second["plugins"][0]["source"]["editable"] = editable
    second = resealed(second)
    if valid:
        assert read_field_beside(second, where="b", validated=first) == second
    else:
        with pytest.raises(InvalidFieldError) as error:
            read_field_beside(second, where="b", validated=first)
        assert any("plugins[0].source.editable" in issue for issue in error.value.issues)


def test_read_field_beside_names_a_plugin_by_its_own_index():
    """Only the plugins that differ are validated; an issue still names the plugin's
    index in the field, not its place among those (``diff`` and ``audit`` read so)."""
    first = read_field(copy.deepcopy(GOLDEN), where="a")
    second = copy.deepcopy(GOLDEN)
    second["plugins"][2]["load"]["status"] = "bogus"
    second["plugins"][5]["source"]["editable"] = 0
    with pytest.raises(InvalidFieldError) as error:
        read_field_beside(resealed(second), where="b", validated=first)
    assert [issue.partition(": ")[0] for issue in error.value.issues] == [
        "field.plugins[2].load.status",
        "field.plugins[5].source.editable",
    ]


def test_load_order_of_keys_that_are_not_strings_is_left_to_validation():
    # Keys compared as they come would raise (types) or recurse (deeply nested lists):
    # only entry points named by strings are checked for order; validation names the rest.
    from insidellms_provenance.field._read import _check_load_order

    def nested(depth: int) -> list[object]:
        value: list[object] = []
        for _ in range(depth):
            value = [value]
        return value

    deep = [{"entry_point": {"name": nested(100_000), "value": "v"}} for _ in range(2)]
    mixed = [{"entry_point": {"name": name, "value": "v"}} for name in ("b", 1, None, "a")]
    for plugins in (deep, mixed, [{"entry_point": {"name": 2, "value": 1}}] * 2, ["x", "y"]):
        assert _check_load_order(plugins, "w") is None
    with pytest.raises(InvalidFieldError, match="not in load order"):
        _check_load_order([{"entry_point": {"name": n, "value": "v"}} for n in "ba"], "w")


def _mutated(where: str) -> dict:
    field = copy.deepcopy(GOLDEN)
    if where in ("plugin", "both"):
        field["plugins"][-1]["load"]["status"] = 1
    if where in ("field", "both"):
        field["conflicts"] = [{"kind": 2}]
    if where == "key":
        field["plugins"][0]["zz"] = None
    return resealed(field)


@pytest.mark.parametrize("where", ["none", "plugin", "field", "both", "key"])
def test_plugins_validated_while_written_give_the_same_answer(where):
    # read_field validates each plugin as its text is written when it is given
    # each_plugin (diff): the answer and every message are those of the plain reader.
    def answer(**each: object) -> str:
        try:
            read_field(copy.deepcopy(_mutated(where)), where="w", **each)
        except InvalidFieldError as error:
            return str(error)
        return "valid"

    plain = answer()
    assert plain == answer(each_plugin=lambda _i, _t: None)
    assert (plain == "valid") == (where == "none")


DEPENDENCIES = json.loads(
    (Path(__file__).parent.parent / "golden" / "record" / "dependencies.json").read_bytes()
)


def _named(field: dict, where: str, normalized: str) -> dict:
    """``field`` with the distribution at ``where`` (a plugin's index or a library's name)
    holding ``normalized`` as its normalized name, resealed."""
    changed = copy.deepcopy(field)
    entry = changed["plugins"][where] if isinstance(where, int) else changed["dependencies"][where]
    entry["distribution"]["normalized_name"] = normalized
    return resealed(changed)


@pytest.mark.parametrize(
    ("field", "where", "place"),
    [
        (GOLDEN, 2, "field.plugins[2]"),
        (DEPENDENCIES, "lib-b", "field.dependencies['lib-b']"),
    ],
)
def test_a_normalized_name_of_another_name_is_refused_by_every_reader(field, where, place):
    # show printed one name while check --deny, a lock and an SBOM used the other.
    forged = _named(field, where, "something-else")
    message = f"{place}.distribution.normalized_name: 'something-else' is not the normalized"
    readers = {
        "read_field": lambda: read_field(copy.deepcopy(forged), where="w"),
        "read_field, validating while written": lambda: read_field(
            copy.deepcopy(forged), where="w", each_plugin=lambda *_: None
        ),
        "read_field_beside": lambda: read_field_beside(
            copy.deepcopy(forged), where="w", validated=read_field(copy.deepcopy(field), where="v")
        ),
    }
    for reader in readers.values():
        with pytest.raises(InvalidFieldError) as error:
            reader()
        assert [issue for issue in error.value.issues if issue.startswith(message)], error.value
    # Every spelling PEP 503 folds to the normalized name reads, as recordings write them.
    dist = (field["plugins"][where] if isinstance(where, int) else field["dependencies"][where])[
        "distribution"
    ]
    respelled = copy.deepcopy(field)
    target = (
        respelled["plugins"][where] if isinstance(where, int) else respelled["dependencies"][where]
    )
    target["distribution"]["name"] = dist["normalized_name"].upper().replace("-", "_.-")
    assert read_field(resealed(respelled), where="w")["digest"] == resealed(respelled)["digest"]


@given(st.text(alphabet=st.sampled_from("aAzZ09-_.É~ "), max_size=8))
def test_the_quick_normal_form_test_agrees_with_normalized_name(name):
    # Readers skip the regular expression for names that are their own normal form; the
    # quick test must say so exactly when normalized_name does.
    assert _in_normal_form(name, name) == (normalized_name(name) == name)


def _wrongly_named(count: int, *, table: bool) -> dict:
    """A resealed field of ``count`` distributions whose normalized name is not normalized.

    Plugins (``Demo_P007`` recorded as its own normal form), or, with ``table``, one plugin
    whose dependency table holds ``count`` such libraries.
    """
    field = copy.deepcopy(DEPENDENCIES if table else GOLDEN)
    if table:
        model = next(iter(field["dependencies"].values()))
        field["dependencies"] = {}
        for index in range(count):
            entry = copy.deepcopy(model)
            entry["distribution"]["name"] = entry["distribution"]["normalized_name"] = (
                f"Lib_{index:04}"
            )
            field["dependencies"][f"lib-{index:04}"] = entry
        return resealed(field)
    model = field["plugins"][0]
    field["plugins"] = []
    for index in range(count):
        plugin = copy.deepcopy(model)
        plugin["entry_point"]["name"] = f"p{index:04}"
        plugin["distribution"]["name"] = plugin["distribution"]["normalized_name"] = (
            f"Demo_P{index:04}"
        )
        field["plugins"].append(plugin)
    return resealed(field)


@pytest.mark.parametrize(
    ("table", "first"),
    [
        (False, "field.plugins[0].distribution.normalized_name: 'Demo_P0000'"),
        (True, "field.dependencies['lib-0000'].distribution.normalized_name: 'Lib_0000'"),
    ],
)
def test_many_wrong_names_are_named_a_few_and_counted(table, first):
    # 16,000 of them made a one-line error of 1.8 MB.
    with pytest.raises(InvalidFieldError) as error:
        read_field(_wrongly_named(40, table=table), where="w")
    issues = error.value.issues
    assert len(issues) == 11
    assert issues[0].startswith(first)
    assert issues[-1] == "(and 30 more)"
    assert len(str(error.value)) < 2000


@pytest.mark.parametrize("table", [False, True], ids=["plugins", "dependency-table"])
def test_wrong_names_are_placed_in_linear_work(table):
    # Each issue searched the whole field for its own place: 16,000 took 10 s.
    from insidellms_provenance.field._read import _name_issues
    from traced_work import assert_linear

    def call(count: int) -> Callable[[], object]:
        field = _wrongly_named(count, table=table)
        return lambda: _name_issues(field, field["plugins"])

    assert_linear(call, 150)
