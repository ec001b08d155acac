"""The recording path's builders make exactly the TypedDicts of the one schema."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insidellms_provenance.field import schema
from insidellms_provenance.field._validate import validate

BUILDERS: list[tuple[Callable[..., Any], type]] = [
    (schema.entry_point, schema.EntryPointRef),
    (schema.distribution, schema.DistributionInfo),
    (schema.integrity, schema.Integrity),
    (schema.source, schema.Source),
    (schema.origin, schema.Origin),
    (schema.registry_keys, schema.RegistryKeys),
    (schema.requires, schema.Requires),
    (schema.determinism, schema.Determinism),
    (schema.manifest_summary, schema.ManifestSummary),
    (schema.load_outcome, schema.LoadOutcome),
    (schema.unsatisfied_requirement, schema.UnsatisfiedRequirement),
    (schema.dependency, schema.Dependency),
    (schema.fingerprint, schema.PluginFingerprint),
    (schema.observation, schema.PluginObservation),
    (schema.conflict, schema.Conflict),
]
# Keys that are not Python identifiers, or not idiomatic ones, and their argument names.
ARGUMENT_NAMES = {"class": "level", "insideLLMs": "insidellms"}

texts = st.text(max_size=5)


def strategy(hint: object) -> st.SearchStrategy[Any]:
    """Values of a builder argument whose key is annotated ``hint``."""
    origin = typing.get_origin(hint)
    if hint is str:
        return texts
    if hint is bool:
        return st.booleans()
    if hint is type(None):
        return st.none()
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(hint))
    if origin is list:
        return st.lists(strategy(typing.get_args(hint)[0]), max_size=4)
    if origin in (typing.Union, __import__("types").UnionType):
        return st.one_of([strategy(arg) for arg in typing.get_args(hint)])
    build = next(b for b, cls in BUILDERS if cls is hint)
    return st.builds(build, **arguments(build, hint))


def arguments(build: Callable[..., Any], cls: type) -> dict[str, st.SearchStrategy[Any]]:
    hints = typing.get_type_hints(cls)
    return {ARGUMENT_NAMES.get(key, key): strategy(hint) for key, hint in hints.items()}


@pytest.mark.parametrize(("build", "cls"), BUILDERS, ids=lambda item: item.__name__)
def test_every_class_has_a_builder_with_one_argument_per_key_in_order(build, cls):
    keys = [ARGUMENT_NAMES.get(key, key) for key in typing.get_type_hints(cls)]
    assert list(inspect.signature(build).parameters) == keys


@pytest.mark.parametrize(("build", "cls"), BUILDERS, ids=lambda item: item.__name__)
@given(data=st.data())
def test_builders_make_valid_values_with_keys_in_schema_order(build, cls, data):
    value = build(**data.draw(st.fixed_dictionaries(arguments(build, cls))))
    assert validate(value, cls) == []
    assert list(value) == list(typing.get_type_hints(cls))  # the order embedding writes
    for key, item in value.items():
        # A conflict's plugins keep load order; unsatisfied requirements are objects.
        if isinstance(item, list) and key not in ("plugins", "unsatisfied"):
            assert item == sorted(set(item)), key


def test_lists_of_names_come_out_sorted_and_unique():
    plain = schema.fingerprint(
        entry_point=schema.entry_point(group="g", name="n", value="m:f"),
        distribution=schema.distribution(
            name="N", normalized_name="n", version="1", record_digest=None, problems=["b", "a"]
        ),
        source=schema.source(kind="index"),
        origin=schema.origin(status="ok", duplicate_versions=["2", "1", "2"]),
        manifest=schema.manifest_summary(
            status="ok",
            capabilities=schema.registry_keys(models=["b", "a"]),
            requires=schema.requires(python=">=3"),
            determinism=schema.determinism(level="deterministic"),
        ),
        load=schema.load_outcome(status="loaded"),
        registered=schema.registry_keys(probes=["p"]),
    )
    assert validate(plain, schema.PluginFingerprint) == []
    assert plain["origin"]["duplicate_versions"] == ["1", "2"]
    assert plain["manifest"]["capabilities"] == {"models": ["a", "b"], "probes": [], "datasets": []}
    assert schema.conflict(kind="models", key="k", plugins=["z", "a"], outcome="failed")[
        "plugins"
    ] == ["z", "a"]


def test_readers_names_are_the_schemas():
    # field._names repeats a few of the schema's names for readers that do not build
    # its classes (diff); they must be the schema's.
    from insidellms_provenance.field import _names

    for name in _names.__all__:
        if callable(getattr(_names, name)):
            continue  # normalized_name: the rule the field's names are written by
        assert getattr(_names, name) == getattr(schema, name), name
