import json
from pathlib import Path

import insidellms_provenance
from golden import check_golden
from insidellms_provenance.field.build import field_value
from insidellms_provenance.field.read import read_field
from jsonschema_tools import field_schema, validate

SCHEMAS = Path(insidellms_provenance.__file__).parent / "field" / "schemas"
SHIPPED = SCHEMAS / "plugin-provenance-v1.schema.json"


def test_shipped_schema_is_generated_from_the_model():
    generated = json.dumps(field_schema(), indent=2, ensure_ascii=False) + "\n"
    check_golden(Path("..") / SHIPPED.relative_to(SHIPPED.parents[4]), generated.encode())


def test_schema_rejects_unknown_keys_and_bad_types():
    schema = field_schema()
    assert validate({"schema": "insidellms-provenance/plugins/v1"}, schema)
    good = {
        "schema": "insidellms-provenance/plugins/v1",
        "group": "g",
        "digest": "sha256:" + "0" * 64,
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
