import json
from pathlib import Path

import pytest

import insidellms_provenance
from golden import check_golden
from insidellms_provenance.field.build import field_value
from insidellms_provenance.field.read import read_field
from jsonschema_tools import field_schema, validate

SCHEMAS = Path(insidellms_provenance.__file__).parent / "field" / "schemas"
SHIPPED = SCHEMAS / "plugin-provenance-v2.schema.json"


def test_shipped_schema_is_generated_from_the_model():
    generated = json.dumps(field_schema(), indent=2, ensure_ascii=False) + "\n"
    check_golden(Path("..") / SHIPPED.relative_to(SHIPPED.parents[4]), generated.encode())


def test_schema_rejects_unknown_keys_and_bad_types():
    schema = field_schema()
    assert validate({"schema": "insidellms-provenance/plugins/v2"}, schema)
    good = {
        "schema": "insidellms-provenance/plugins/v2",
        "group": "g",
        "digest": "sha256:" + "0" * 64,
        "observed_in_run": False,
        "plugins": [],
        "conflicts": [],
    }
    assert validate(good, schema) == []
    assert validate({**good, "extra": 1}, schema) == ["$: unexpected key 'extra'"]
    assert validate({**good, "plugins": {}}, schema) == ["$.plugins: expected array"]


GOLDEN = Path(__file__).parent.parent / "golden"


def test_every_recorded_golden_field_validates_and_reads_back():
    """The plain values the recorder writes satisfy the schema made from the records."""
    fields = {
        "record/field.json": json.loads((GOLDEN / "record" / "field.json").read_bytes()),
        "embed/manifest.json": json.loads((GOLDEN / "embed" / "manifest.json").read_bytes())[
            "custom"
        ]["plugin_provenance"],
        "host/manifest.json": json.loads((GOLDEN / "host" / "manifest.json").read_bytes())[
            "custom"
        ]["plugin_provenance"],
    }
    schema = field_schema()
    for where, field in fields.items():
        assert field["plugins"], where
        assert validate(field, schema) == [], where
        assert field_value(read_field(field, where=where)) == field, where


def test_v1_fields_still_read_and_are_upgraded():
    """Fields written by 0.1.0 (schema v1, digest over ``plugins`` only) keep reading."""
    from insidellms_provenance.field.read import check_field

    recorded = json.loads((GOLDEN / "v1" / "field.json").read_bytes())
    in_run = json.loads((GOLDEN / "v1" / "host-manifest.json").read_bytes())["custom"][
        "plugin_provenance"
    ]
    for field, observed in ((recorded, False), (in_run, True)):
        assert field["schema"] == "insidellms-provenance/plugins/v1"
        provenance = read_field(field, where="v1")
        assert provenance.schema == "insidellms-provenance/plugins/v2"
        assert provenance.observed_in_run is observed
        assert len(provenance.plugins) == len(field["plugins"])
        assert all(p.distribution.integrity is None for p in provenance.plugins)
        upgraded = check_field(field, where="v1")
        assert validate(upgraded, field_schema()) == []
        assert check_field(upgraded, where="upgraded") == upgraded  # its digest holds
    conflict = {"kind": "models", "key": "k", "plugins": ["a", "b"], "outcome": "failed"}
    tampered = {**recorded, "conflicts": [{**conflict, "winner": "a"}]}
    assert read_field(tampered, where="v1 with conflicts").conflicts  # v1 never sealed them


def test_v2_digest_seals_conflicts_and_every_key():
    from insidellms_provenance.errors import InvalidFieldError

    field = json.loads((GOLDEN / "record" / "field.json").read_bytes())
    conflict = {"kind": "models", "key": "k", "plugins": ["a", "b"], "outcome": "failed"}
    for changed in (
        {**field, "conflicts": [{**conflict, "winner": "a"}]},
        {**field, "observed_in_run": True},
        {**field, "group": "other"},
    ):
        with pytest.raises(InvalidFieldError, match="digest does not match its content"):
            read_field(changed, where="hand-edited")


def test_clean_record_digests_are_the_same_in_v1_and_v2():
    """The catalog recorded by 0.1.0 and now: same RECORDs, same record_digest."""
    old = json.loads((GOLDEN / "v1" / "field.json").read_bytes())
    new = json.loads((GOLDEN / "record" / "field.json").read_bytes())
    digests = [
        {p["entry_point"]["name"]: p["distribution"]["record_digest"] for p in f["plugins"]}
        for f in (old, new)
    ]
    assert digests[0] == digests[1]
