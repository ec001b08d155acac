"""``runfile.read``: the one reader of run directories, manifests and record files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insidellms_provenance.errors import InvalidFieldError, InvalidRunFileError
from insidellms_provenance.runfile.read import (
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
