import json
from pathlib import Path

import insidellms_provenance
from golden import check_golden
from jsonschema_tools import field_schema, validate

SHIPPED = (
    Path(insidellms_provenance.__file__).parent / "schemas" / "plugin-provenance-v1.schema.json"
)


def test_shipped_schema_is_generated_from_the_model():
    generated = json.dumps(field_schema(), indent=2, ensure_ascii=False) + "\n"
    check_golden(Path("..") / SHIPPED.relative_to(SHIPPED.parents[3]), generated.encode())


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
