"""``make_field``: load order, conflict order and the digest that seals the field."""

from __future__ import annotations

import itertools

import pytest

from diff_fixtures import plugin
from insidellms_provenance._canonical import canonical_digest
from insidellms_provenance.field import schema
from insidellms_provenance.field._build import field_bytes, make_field
from insidellms_provenance.field._validate import validate

CONFLICTS = [
    schema.conflict(kind="models", key="b", plugins=["x", "y"], outcome="failed", winner="x"),
    schema.conflict(kind="models", key="b", plugins=["w", "y"], outcome="failed", winner="w"),
    schema.conflict(kind="probes", key="a", plugins=["x", "y"], outcome="overwritten", winner="y"),
    schema.conflict(kind="datasets", key="c", plugins=["x", "y"], outcome="failed"),
]
# By kind, then key, then the plugins involved: not by key first, nor in arrival order.
EXPECTED = [
    ("datasets", "c", ["x", "y"]),
    ("models", "b", ["w", "y"]),
    ("models", "b", ["x", "y"]),
    ("probes", "a", ["x", "y"]),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(CONFLICTS)))))
def test_conflicts_are_sorted_by_kind_key_and_plugins(order):
    field = make_field("g", [], [CONFLICTS[i] for i in order])
    assert [(c["kind"], c["key"], c["plugins"]) for c in field["conflicts"]] == EXPECTED


@pytest.mark.parametrize("order", [("a", "b", "c"), ("c", "b", "a"), ("b", "c", "a")])
def test_plugins_are_sorted_in_load_order_and_digested(order):
    field = make_field("g", [plugin(name) for name in order])
    assert [p["entry_point"]["name"] for p in field["plugins"]] == ["a", "b", "c"]
    assert field["digest"] == canonical_digest({k: v for k, v in field.items() if k != "digest"})
    assert validate(field, schema.Provenance) == []


def test_same_name_sorts_by_value():
    first = plugin("a")
    second = {**first, "entry_point": {**first["entry_point"], "value": "a:aaa"}}
    field = make_field("g", [first, second])
    assert [p["entry_point"]["value"] for p in field["plugins"]] == ["a:aaa", "a:register"]


def test_field_bytes_are_canonical():
    field = make_field("g", [plugin("a")])
    assert field_bytes(field).startswith(b'{"conflicts":[],"digest":"sha256:')
