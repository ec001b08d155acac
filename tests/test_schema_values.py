"""The recording path's plain values agree exactly with the records readers use."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from insidellms_provenance.field import model
from insidellms_provenance.field import schema as values
from insidellms_provenance.field.converter import structure, unstructure

MIRRORS: list[tuple[Callable[..., values.JsonObject], type]] = [
    (values.entry_point, model.EntryPointRef),
    (values.distribution, model.DistributionInfo),
    (values.integrity, model.Integrity),
    (values.source, model.Source),
    (values.origin, model.Origin),
    (values.registry_keys, model.RegistryKeys),
    (values.requires, model.Requires),
    (values.determinism, model.Determinism),
    (values.manifest_summary, model.ManifestSummary),
    (values.load_outcome, model.LoadOutcome),
    (values.fingerprint, model.PluginFingerprint),
    (values.observation, model.PluginObservation),
    (values.conflict, model.Conflict),
]

texts = st.text(max_size=5)
text_lists = st.lists(texts, max_size=4)
maybe_texts = st.none() | texts


@pytest.mark.parametrize(("build", "cls"), MIRRORS, ids=lambda item: item.__name__)
def test_every_record_has_a_mirror_with_the_same_arguments(build, cls):
    assert list(inspect.signature(build).parameters) == [a.name for a in attrs.fields(cls)]


NESTED = {
    "capabilities": (values.registry_keys, model.RegistryKeys),
    "registered": (values.registry_keys, model.RegistryKeys),
    "replaced": (values.registry_keys, model.RegistryKeys),
    "requires": (values.requires, model.Requires),
    "determinism": (values.determinism, model.Determinism),
    "load": (values.load_outcome, model.LoadOutcome),
    "integrity": (values.integrity, model.Integrity),
}


def _arguments(build: Callable[..., Any], cls: type) -> dict[str, st.SearchStrategy[Any]]:
    """Strategies for every argument of ``build``, within what ``cls`` accepts."""
    hints = typing.get_type_hints(cls)
    arguments = {}
    for name, parameter in inspect.signature(build).parameters.items():
        annotation = str(parameter.annotation)
        if typing.get_origin(hints[name]) is typing.Literal:
            arguments[name] = st.sampled_from(typing.get_args(hints[name]))
        elif name in NESTED:
            inner = st.builds(NESTED[name][0], **_arguments(*NESTED[name]))
            arguments[name] = inner if name == "load" else st.none() | inner
        elif annotation == "bool":
            arguments[name] = st.booleans()
        elif annotation == "Iterable[str]":
            arguments[name] = text_lists
        elif annotation == "str | None":
            arguments[name] = maybe_texts
        elif annotation == "str":
            arguments[name] = texts
    return arguments


SIMPLE = [pair for pair in MIRRORS if pair[1] is not model.PluginFingerprint]


@pytest.mark.parametrize(("build", "cls"), SIMPLE, ids=lambda item: item.__name__)
@given(data=st.data())
def test_plain_values_equal_unstructured_records(build, cls, data):
    arguments = data.draw(st.fixed_dictionaries(_arguments(build, cls)))
    assert set(arguments) == set(inspect.signature(build).parameters)
    plain = build(**arguments)
    record = structure(plain, cls)
    assert unstructure(record) == plain
    assert list(unstructure(record)) == list(plain)  # same key order for embedding


def test_a_whole_fingerprint_round_trips():
    plain = values.fingerprint(
        entry_point=values.entry_point(group="g", name="n", value="m:f"),
        distribution=values.distribution(
            name="N", normalized_name="n", version="1", record_digest=None, problems=["b", "a"]
        ),
        source=values.source(kind="index"),
        origin=values.origin(status="ok", duplicate_versions=["2", "1", "2"]),
        manifest=values.manifest_summary(
            status="ok",
            capabilities=values.registry_keys(models=["b", "a"]),
            requires=values.requires(python=">=3"),
            determinism=values.determinism(level="deterministic"),
        ),
        load=values.load_outcome(status="loaded"),
        registered=values.registry_keys(probes=["p"]),
    )
    assert unstructure(structure(plain, model.PluginFingerprint)) == plain
    assert plain["origin"]["duplicate_versions"] == ["1", "2"]
    assert plain["manifest"]["capabilities"]["models"] == ["a", "b"]
