"""``runfile._read``: the one reader of run directories, manifests and record files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insidellms_provenance.errors import InvalidFieldError, InvalidRunFileError
from insidellms_provenance.runfile._read import (
    load_field_value,
    load_provenance,
    locate_field,
    manifest_path,
)

GOLDEN = Path(__file__).parent.parent / "golden"
FIELD = json.loads((GOLDEN / "record" / "field.json").read_bytes())


def write(tmp_path: Path, name: str, content: bytes | str | object) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content))
    return path


def test_manifest_path(tmp_path):
    assert manifest_path(tmp_path) == tmp_path / "manifest.json"
    assert manifest_path(tmp_path / "field.json") == tmp_path / "field.json"


@pytest.mark.parametrize(
    ("name", "content", "kind", "where"),
    [
        ("field.json", FIELD, "record", "field.json"),
        (
            "manifest.json",
            {"custom": {"plugin_provenance": FIELD}},
            "manifest",
            "manifest.json: custom.plugin_provenance",
        ),
    ],
)
def test_locate_field(tmp_path, name, content, kind, where):
    path = write(tmp_path, name, content)
    value, found_where, found_kind = locate_field(path)
    assert (value, found_kind) == (FIELD, kind)
    assert found_where == f"{tmp_path}/{where}"
    assert load_provenance(path) == (FIELD, kind)
    assert load_field_value(path) == (FIELD, found_where)


def test_a_run_directory_is_read_through_its_manifest(tmp_path):
    write(tmp_path, "manifest.json", {"custom": {"plugin_provenance": FIELD}})
    assert load_provenance(tmp_path) == (FIELD, "manifest")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "file is empty"),
        (b"  \n", "file is empty"),
        (b"{not json", "not valid JSON"),
        ([1, 2], "expected a JSON object"),
        ({"custom": {}}, "no plugin provenance (custom.plugin_provenance)"),
        ({"custom": []}, "no plugin provenance (custom.plugin_provenance)"),
        ({"run_id": "x"}, "no plugin provenance (custom.plugin_provenance)"),
    ],
)
def test_unreadable_run_files(tmp_path, content, message):
    path = tmp_path / "manifest.json"
    if content is not None:
        write(tmp_path, "manifest.json", content)
    with pytest.raises(InvalidRunFileError) as caught:
        load_provenance(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_a_directory_named_like_a_manifest(tmp_path):
    (tmp_path / "run" / "manifest.json").mkdir(parents=True)
    with pytest.raises(InvalidRunFileError, match="is a directory"):
        load_provenance(tmp_path / "run")


def test_a_bad_field_is_a_field_error_naming_its_place(tmp_path):
    path = write(
        tmp_path, "manifest.json", {"custom": {"plugin_provenance": {**FIELD, "digest": "x"}}}
    )
    with pytest.raises(
        InvalidFieldError, match=r"manifest.json: custom.plugin_provenance: provenance digest"
    ):
        load_provenance(path)


# ---- load_field_pair: one parsed field at a time, the same acceptance ----------------


def _resealed(field: dict) -> dict:
    from insidellms_provenance._canonical import canonical_digest
    from insidellms_provenance.field._build import digested_part

    return {**field, "digest": canonical_digest(digested_part(field))}


def _changed(field: dict) -> dict:
    """A second field: one plugin changed, one removed, one added (a copy of another)."""
    changed = json.loads(json.dumps(field))
    plugins = changed["plugins"]
    plugins[0]["distribution"]["version"] = "9.9.9"
    del plugins[1]
    added = json.loads(json.dumps(plugins[-1]))
    added["entry_point"]["name"] = "zz-added"
    plugins.append(added)
    return _resealed(changed)


@pytest.mark.parametrize("second", [FIELD, _changed(FIELD)], ids=["equal", "changed"])
def test_a_pair_is_read_as_each_field_alone(tmp_path, second):
    from insidellms_provenance.runfile._read import load_field_pair

    before = write(tmp_path, "before.json", FIELD)
    after = write(tmp_path, "after.json", second)
    (first, first_where), (other, other_where) = load_field_pair(before, after)
    assert (first, first_where) == load_field_value(before)
    assert (other, other_where) == load_field_value(after)
    # Plugins equal on both sides are one object (the first field's are not kept).
    shared = [p for p in first["plugins"] if any(p is q for q in other["plugins"])]
    assert len(shared) == len(FIELD["plugins"]) - (0 if second is FIELD else 2)


def _malformed_change(field: dict, value: object) -> dict:
    bad = json.loads(json.dumps(field))
    bad["plugins"][0]["load"]["error_type"] = value
    return bad


def _zero_for_false(field: dict) -> dict:
    bad = json.loads(json.dumps(field))
    for plugin in bad["plugins"]:
        if plugin["source"] is not None and plugin["source"]["editable"] is False:
            plugin["source"]["editable"] = 0
            return bad
    raise AssertionError("no plugin with a source that is not editable")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Python's parser reads NaN; orjson would write it as null, the first's value.
        (
            lambda: json.dumps(_resealed(_malformed_change(FIELD, None))).replace(
                '"error_type": null', '"error_type": NaN', 1
            ),
            "provenance",
        ),
        (
            lambda: json.dumps(_resealed(_malformed_change(FIELD, 7))),
            "provenance field is malformed",
        ),
        # 0 == False in Python: the texts tell them apart, so the 0 is validated.
        (lambda: json.dumps(_resealed(_zero_for_false(FIELD))), "provenance field is malformed"),
        (lambda: "{not json", "not valid JSON"),
        (lambda: json.dumps(_malformed_change(FIELD, "Changed")), "digest does not match"),
    ],
    ids=["nan-where-null", "wrong-type", "zero-for-false", "not-json", "bad-digest"],
)
def test_a_malformed_second_field_is_refused_as_alone(tmp_path, text, message):
    from insidellms_provenance.runfile._read import load_field_pair

    before = write(tmp_path, "before.json", FIELD)
    after = write(tmp_path, "after.json", text())
    with pytest.raises((InvalidFieldError, InvalidRunFileError)) as alone:
        load_field_value(after)
    with pytest.raises(type(alone.value)) as paired:
        load_field_pair(before, after)
    assert str(paired.value) == str(alone.value)
    assert message in str(paired.value)
