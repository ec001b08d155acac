"""The one schema: the shipped JSON Schema, docs/field.md and readers all agree with it."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import pytest

from golden import check_golden
from insidellms_provenance.field import schema
from insidellms_provenance.field._read import read_field
from insidellms_provenance.field.jsonschema import SCHEMA_FILE, field_schema, field_schema_text
from jsonschema_tools import validate

ROOT = Path(__file__).parent.parent
GOLDEN = ROOT / "golden"
GOOD = {
    "schema": "insidellms-provenance/plugins/v2",
    "group": "g",
    "digest": "sha256:" + "0" * 64,
    "observed_in_run": False,
    "plugins": [],
    "conflicts": [],
}


def test_shipped_schema_is_generated_from_the_typeddicts():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == field_schema_text()
    check_golden(Path("..") / SCHEMA_FILE.relative_to(ROOT), field_schema_text().encode())


@pytest.mark.parametrize(
    ("instance", "errors"),
    [
        (GOOD, []),
        (
            {**GOOD, "extra": 1},
            ["$: Additional properties are not allowed ('extra' was unexpected)"],
        ),
        ({**GOOD, "plugins": {}}, ["$.plugins: {} is not of type 'array'"]),
        (
            {**GOOD, "digest": "sha256:ABC"},
            ["$.digest: 'sha256:ABC' does not match '^sha256:[0-9a-f]{64}$'"],
        ),
        ({**GOOD, "schema": "v3"}, ["$.schema: 'insidellms-provenance/plugins/v2' was expected"]),
        ({k: v for k, v in GOOD.items() if k != "group"}, ["$: 'group' is a required property"]),
    ],
)
def test_schema_accepts_the_field_and_rejects_bad_ones(instance, errors):
    assert validate(instance, field_schema()) == errors


def golden_fields() -> dict[str, object]:
    def custom(path: str) -> object:
        return json.loads((GOLDEN / path).read_bytes())["custom"]["plugin_provenance"]

    return {
        "record/field.json": json.loads((GOLDEN / "record" / "field.json").read_bytes()),
        "embed/manifest.json": custom("embed/manifest.json"),
        "host/manifest.json": custom("host/manifest.json"),
    }


@pytest.mark.parametrize("where", sorted(golden_fields()))
def test_every_recorded_golden_field_validates_and_reads_back(where):
    """What the recorder writes satisfies the schema; readers hand back the same value."""
    field = golden_fields()[where]
    assert field["plugins"], where  # type: ignore[index]
    assert validate(field, field_schema()) == []
    assert read_field(field, where=where) == field


# docs/field.md: each "### `a`, `b.c`" heading names keys whose values share one class, and
# its table lists that class's keys; "## Top level" is the field itself.


def _unwrap(hint: object) -> object:
    while True:
        if typing.get_origin(hint) is dict:  # a table: documented by its values' class
            hint = typing.get_args(hint)[1]
            continue
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(hint) is typing.Annotated or not args:
            return hint if typing.get_origin(hint) is not typing.Annotated else args[0]
        hint = args[0]


def _class_at(path: str) -> object:
    for start in (schema.Provenance, schema.PluginFingerprint):
        cls: object = start
        for part in path.split("."):
            hints = typing.get_type_hints(cls) if typing.is_typeddict(cls) else {}
            if part not in hints:
                break
            cls = _unwrap(hints[part])
        else:
            return cls
    raise AssertionError(f"docs/field.md names {path!r}, which the schema does not have")


def doc_tables() -> list[tuple[str, object, list[str]]]:
    text = (ROOT / "docs" / "field.md").read_text(encoding="utf-8")
    sections = re.split(r"^(#{2,3} .*)$", text, flags=re.MULTILINE)
    found = []
    for heading, body in zip(sections[1::2], sections[2::2], strict=True):
        rows = re.findall(r"^\| (`[^|]*`) \|", body, flags=re.MULTILINE)
        if not rows:
            continue
        keys = [key for row in rows for key in re.findall(r"`([^`]+)`", row)]
        if heading == "## Top level":
            classes = {schema.Provenance}
        else:
            names = re.findall(r"`([^`]+)`", heading)
            classes = {_class_at(name) for name in names}
        assert len(classes) == 1, heading
        found.append((heading, classes.pop(), keys))
    return found


def test_docs_field_md_documents_every_key_of_every_class_and_no_other():
    tables = doc_tables()
    documented = {cls for _, cls, _ in tables}
    reachable = {
        _unwrap(typing.get_args(h)[0] if typing.get_origin(h) is list else h)
        for cls in (schema.Provenance, schema.PluginFingerprint, schema.ManifestSummary)
        for h in typing.get_type_hints(cls).values()
    }
    reachable = {cls for cls in reachable if typing.is_typeddict(cls)}
    assert reachable - {schema.PluginFingerprint} | {schema.Provenance} <= documented
    for heading, cls, keys in tables:
        assert keys == list(typing.get_type_hints(cls)), heading
    # A plugin entry is documented by one heading per key.
    text = (ROOT / "docs" / "field.md").read_text(encoding="utf-8")
    headings = {
        name
        for line in re.findall(r"^### (.*)$", text, re.MULTILINE)
        for name in re.findall(r"`([^`.]+)`", line)
    }
    assert set(typing.get_type_hints(schema.PluginFingerprint)) <= headings


def test_the_docs_test_sees_a_missing_key(monkeypatch):
    """Negative row: a key added to the schema but not to docs/field.md fails the check."""

    class Widened(schema.Origin):
        extra: str

    monkeypatch.setattr(schema, "Origin", Widened)
    monkeypatch.setattr(
        schema.PluginFingerprint,
        "__annotations__",
        {
            **schema.PluginFingerprint.__annotations__,
            "origin": Widened,
        },
    )
    with pytest.raises(AssertionError):
        test_docs_field_md_documents_every_key_of_every_class_and_no_other()


def test_v1_fields_still_read_and_are_upgraded():
    """Fields written by 0.1.0 (schema v1, digest over ``plugins`` only) keep reading."""
    from insidellms_provenance.field._read import check_field

    recorded = json.loads((GOLDEN / "v1" / "field.json").read_bytes())
    in_run = json.loads((GOLDEN / "v1" / "host-manifest.json").read_bytes())["custom"][
        "plugin_provenance"
    ]
    for field, observed in ((recorded, False), (in_run, True)):
        assert field["schema"] == "insidellms-provenance/plugins/v1"
        provenance = read_field(field, where="v1")
        assert provenance["schema"] == "insidellms-provenance/plugins/v2"
        assert provenance["observed_in_run"] is observed
        assert len(provenance["plugins"]) == len(field["plugins"])
        assert all(p["distribution"]["integrity"] is None for p in provenance["plugins"])  # type: ignore[index]
        assert validate(provenance, field_schema()) == []
        assert check_field(provenance, where="upgraded") == provenance  # its digest holds
    conflict = {"kind": "models", "key": "k", "plugins": ["a", "b"], "outcome": "failed"}
    tampered = {**recorded, "conflicts": [{**conflict, "winner": "a"}]}
    assert read_field(tampered, where="v1 with conflicts")["conflicts"]  # v1 never sealed them


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
