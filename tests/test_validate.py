"""The validator derived from the schema's TypedDicts: a table of good and bad values."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from insidellms_provenance.field import schema
from insidellms_provenance.field._validate import validate

GOLDEN_FIELD = json.loads(
    (Path(__file__).parent.parent / "golden" / "record" / "field.json").read_bytes()
)


def changed(path: str, value: object = None, *, delete: bool = False) -> dict:
    """The golden field with the value at ``path`` (dots; digits index lists) replaced."""
    field = copy.deepcopy(GOLDEN_FIELD)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target = field
    for part in parents:
        target = target[part]
    if delete:
        del target[last]
    else:
        target[last] = value
    return field


@pytest.mark.parametrize(
    ("field", "issues"),
    [
        (GOLDEN_FIELD, []),
        (
            changed("plugins.0.load.status", "teleported"),
            [
                "$.plugins[0].load.status: expected 'loaded' or 'failed' or 'skipped' or 'disabled', got string"
            ],
        ),
        (
            changed("plugins.0.origin.status", 7),
            ["$.plugins[0].origin.status: expected 'ok' or 'shadowed' or 'unknown', got number"],
        ),
        (
            changed("plugins.0.source.editable", 1),
            ["$.plugins[0].source.editable: expected true or false, got number"],
        ),
        (
            changed("plugins.0.distribution.name", None),
            ["$.plugins[0].distribution.name: expected a string, got null"],
        ),
        (
            changed("plugins.0.distribution.problems", "x"),
            ["$.plugins[0].distribution.problems: expected an array, got string"],
        ),
        (
            changed("plugins.0.distribution.problems", [1]),
            ["$.plugins[0].distribution.problems[0]: expected a string, got number"],
        ),
        (changed("plugins.0.distribution", None), []),
        (changed("plugins.0.manifest.determinism", {"class": None, "notes": None}), []),
        (
            changed("plugins.0.manifest.determinism", {"level": None, "notes": None}),
            [
                "$.plugins[0].manifest.determinism: missing key 'class'",
                "$.plugins[0].manifest.determinism: unexpected key 'level'",
            ],
        ),
        (changed("plugins.0.load.extra", 1), ["$.plugins[0].load: unexpected key 'extra'"]),
        (
            changed("plugins.0.load.error_type", delete=True),
            ["$.plugins[0].load: missing key 'error_type'"],
        ),
        (changed("plugins.0", []), ["$.plugins[0]: expected an object, got array"]),
        (
            changed("schema", "insidellms-provenance/plugins/v9"),
            ["$.schema: expected 'insidellms-provenance/plugins/v2', got string"],
        ),
        (
            changed("digest", "sha256:XYZ"),
            ["$.digest: 'sha256:XYZ' does not match ^sha256:[0-9a-f]{64}$"],
        ),
        (
            changed(
                "conflicts",
                [
                    {
                        "kind": "models",
                        "key": "k",
                        "plugins": ["a", "b"],
                        "outcome": "won",
                        "winner": None,
                    }
                ],
            ),
            ["$.conflicts[0].outcome: expected 'failed' or 'overwritten', got string"],
        ),
    ],
)
def test_validate_field(field, issues):
    assert validate(field, schema.Provenance) == issues


def test_every_problem_is_reported_at_once():
    field = changed("plugins.0.load.status", "x")
    field["plugins"][1]["origin"] = None
    field["group"] = 3
    assert len(validate(field, schema.Provenance)) == 3


def test_the_path_prefix_is_the_caller_s():
    assert validate({"group": 1}, schema.EntryPointRef, "field.plugins[4].entry_point") == [
        "field.plugins[4].entry_point: missing key 'name'",
        "field.plugins[4].entry_point: missing key 'value'",
        "field.plugins[4].entry_point.group: expected a string, got number",
    ]
