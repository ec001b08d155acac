"""Find and read the provenance field in a run directory, manifest or record file.

The one reader of run files: ``show``, ``diff``, ``verify RUN``, ``check RUN``, ``audit``
and ``embed --from`` all read through :func:`locate_field` and validate through
:func:`insidellms_provenance.field.read.read_field`, so they accept and refuse the same
files. Files are read with :func:`insidellms_provenance._safe_io.read_regular`: a FIFO or
device is refused, and nothing larger than :data:`RUN_FILE_LIMIT` is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, cast

import orjson

from insidellms_provenance._safe_io import RUN_FILE_LIMIT, FileRefusedError, read_regular
from insidellms_provenance.errors import InvalidRunFileError
from insidellms_provenance.field.read import read_field, read_field_beside
from insidellms_provenance.field.schema import FIELD_KEY, MANIFEST_NAME, Provenance

__all__ = [
    "FIELD_KEY",
    "MANIFEST_NAME",
    "RUN_FILE_LIMIT",
    "load_field_value",
    "load_provenance",
    "locate_field",
    "manifest_path",
    "parse_json",
    "read_json",
]


FileKind = Literal["manifest", "record"]


def manifest_path(run: Path) -> Path:
    """``RUN/manifest.json`` for a directory, the path itself otherwise."""
    return run / MANIFEST_NAME if run.is_dir() else run


def read_json(path: Path) -> object:
    """Parse a JSON file; every failure is one ``InvalidRunFileError`` naming the file."""
    try:
        data = read_regular(path, limit=RUN_FILE_LIMIT)
    except FileRefusedError as error:
        raise InvalidRunFileError(f"{path}: {error.reason}") from None
    return parse_json(data, where=str(path))


def parse_json(data: bytes, *, where: str) -> object:
    """Parse JSON as the host writes it: also ``NaN``, huge integers and lone surrogates.

    ``orjson`` reads almost every manifest; what Python's ``json.dumps`` can write but
    ``orjson`` refuses (``NaN``, ``Infinity``, integers beyond 64 bits, escaped lone
    surrogates, nesting deeper than 1024) is read by the standard library's parser, whose
    depth is bounded by the interpreter's recursion limit.
    """
    if not data or data.isspace():
        raise InvalidRunFileError(f"{where}: file is empty")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        fast_error = error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRunFileError(f"{where}: not valid JSON: not UTF-8 text") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidRunFileError(f"{where}: JSON nested too deeply to read") from None
    except ValueError:
        raise InvalidRunFileError(f"{where}: not valid JSON: {fast_error}") from None


def locate_field(run: Path) -> tuple[object, str, FileKind]:
    """The raw field in a run dir, ``manifest.json`` or record file, and where it was."""
    path = manifest_path(run)
    value = read_json(path)
    if not isinstance(value, dict):
        raise InvalidRunFileError(f"{path}: expected a JSON object")
    if "schema" in value and "plugins" in value:
        return value, str(path), "record"
    custom = value.get("custom")
    if not isinstance(custom, dict) or FIELD_KEY not in custom:
        raise InvalidRunFileError(
            f"{path}: no plugin provenance (custom.{FIELD_KEY}); run 'insidellms-provenance embed'"
        )
    return custom[FIELD_KEY], f"{path}: custom.{FIELD_KEY}", "manifest"


def load_provenance(run: Path) -> tuple[Provenance, FileKind]:
    """Read and fully check the field of a run dir, ``manifest.json`` or record file."""
    value, where, kind = locate_field(run)
    return read_field(value, where=where), kind


def load_field_value(
    run: Path, *, beside: dict[str, object] | None = None
) -> tuple[dict[str, object], str]:
    """The field as raw JSON, after the same full validation as :func:`load_provenance`.

    ``beside``, a field this function returned before, is an optimization for reading a
    pair (``diff``): plugins equal to its plugins are not validated twice.
    """
    value, where, _ = locate_field(run)
    if beside is None:
        field = read_field(value, where=where)
    else:
        field = read_field_beside(value, where=where, validated=cast("Provenance", beside))
    checked: dict[str, object] = dict(field)
    return checked, where
