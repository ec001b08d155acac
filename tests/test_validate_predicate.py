"""The generated predicate of ``field/_validate.py`` accepts exactly what the checks accept."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from insidellms_provenance.field import schema
from insidellms_provenance.field._validate import _check_for, _compile_predicate, validate

GOLDEN_FIELD = json.loads(
    (Path(__file__).parent.parent / "golden" / "record" / "field.json").read_bytes()
)
ODD_VALUES = [None, True, False, 0, 1, -1, 1.5, "", "x", "sha256:" + "0" * 64, "1.0", [], {}]


def _places(value: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every path into ``value``: each key of each object and each index of each list."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _places(item, (*path, index))
    return found


PLACES = _places(GOLDEN_FIELD)[1:]


PREDICATE = _compile_predicate(schema.Provenance)
PLUGIN_PREDICATE = _compile_predicate(schema.PluginFingerprint)


def _reported(value: object) -> list[str]:
    issues: list[str] = []
    _check_for(schema.Provenance)(value, "$", issues)
    return issues


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PLACES),
            st.sampled_from(["replace", "delete", "add"]),
            st.sampled_from(ODD_VALUES),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_predicate_agrees_with_the_checks(changes: list[tuple[tuple[object, ...], str, object]]):
    field = copy.deepcopy(GOLDEN_FIELD)
    for path, how, odd in changes:
        target: object = field
        for part in path[:-1]:
            if not isinstance(target, (dict, list)):
                break
            try:
                target = target[part]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                break
        else:
            last = path[-1]
            if isinstance(target, dict) and isinstance(last, str):
                if how == "delete":
                    target.pop(last, None)
                elif how == "add":
                    target[last + "_extra"] = copy.deepcopy(odd)
                else:
                    target[last] = copy.deepcopy(odd)
            elif isinstance(target, list) and isinstance(last, int) and last < len(target):
                if how == "delete":
                    del target[last]
                else:
                    target[last] = copy.deepcopy(odd)
    assert PREDICATE(field) == (not _reported(field))
    assert validate(field, schema.Provenance, size=10_000) == _reported(field)
    # Each plugin alone (read_field checks them so while their texts are written).
    plugins = field.get("plugins") if isinstance(field, dict) else None
    for plugin in plugins if isinstance(plugins, list) else []:
        issues: list[str] = []
        _check_for(schema.PluginFingerprint)(plugin, "$", issues)
        assert PLUGIN_PREDICATE(plugin) == (not issues)


def test_the_golden_field_is_valid_both_ways():
    assert PREDICATE(GOLDEN_FIELD)
    assert validate(GOLDEN_FIELD, schema.Provenance) == _reported(GOLDEN_FIELD) == []


def test_the_generated_predicates_are_current():
    """field/_predicates.py is what the schema generates now (REGEN_PREDICATES=1 rewrites it)."""
    import os

    from insidellms_provenance.field import _predicates
    from insidellms_provenance.field._validate import predicates_module_text

    path = Path(_predicates.__file__)
    text = predicates_module_text()
    if os.environ.get("REGEN_PREDICATES"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, (
        "field/_predicates.py is stale (field/schema.py or field/_validate.py changed): "
        "REGEN_PREDICATES=1 pytest tests/test_validate_predicate.py -k current"
    )


def test_readers_use_the_generated_predicates():
    from insidellms_provenance.field import _predicates
    from insidellms_provenance.field._validate import GENERATED_CLASSES, _generated_predicates

    generated = _generated_predicates()
    for name in GENERATED_CLASSES:
        assert generated[getattr(schema, name)] is _predicates.PREDICATES[name]
    assert _predicates.PREDICATES["Provenance"](GOLDEN_FIELD)


def test_a_stale_generated_file_is_not_used(monkeypatch):
    from insidellms_provenance.field import _predicates
    from insidellms_provenance.field._validate import _generated_by_name, _generated_predicates

    monkeypatch.setattr(_predicates, "SOURCES_DIGEST", "sha256:" + "0" * 64)
    _generated_by_name.cache_clear()
    _generated_predicates.cache_clear()
    try:
        assert _generated_by_name() == {}
        assert _generated_predicates() == {}
        assert validate(GOLDEN_FIELD, schema.Provenance, size=10_000) == []
        assert validate(GOLDEN_FIELD, "Provenance", size=10_000) == []
        assert validate({"plugins": 1}, "Provenance") == _reported({"plugins": 1})
    finally:
        monkeypatch.undo()
        _generated_by_name.cache_clear()
        _generated_predicates.cache_clear()


def test_classes_named_are_validated_as_the_classes():
    # Readers name the class (no import of the schema where the predicate says yes).
    bad = copy.deepcopy(GOLDEN_FIELD)
    bad["plugins"][0]["entry_point"]["name"] = 1
    for value in (GOLDEN_FIELD, bad, [], {"plugins": 1}):
        assert validate(value, "Provenance") == validate(value, schema.Provenance)
    assert validate(bad, "Provenance") == _reported(bad) != []
