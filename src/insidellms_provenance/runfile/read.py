"""Find and read the provenance field in a run directory, manifest or record file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import orjson

from insidellms_provenance.errors import InvalidRunFileError
from insidellms_provenance.field.read import check_field, read_field
from insidellms_provenance.field.schema import FIELD_KEY, MANIFEST_NAME, Provenance

__all__ = [
    "FIELD_KEY",
    "MANIFEST_NAME",
    "load_field_value",
    "load_provenance",
    "locate_field",
    "manifest_path",
    "read_json",
]


FileKind = Literal["manifest", "record"]


def manifest_path(run: Path) -> Path:
    """``RUN/manifest.json`` for a directory, the path itself otherwise."""
    return run / MANIFEST_NAME if run.is_dir() else run


def read_json(path: Path) -> object:
    """Parse a JSON file; every failure is one ``InvalidRunFileError`` naming the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidRunFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidRunFileError(f"{path}: is a directory, expected a JSON file") from None
    except OSError as error:
        raise InvalidRunFileError(f"{path}: cannot read: {error.strerror}") from None
    if not data or data.isspace():
        raise InvalidRunFileError(f"{path}: file is empty")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise InvalidRunFileError(f"{path}: not valid JSON: {error}") from None


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


def load_field_value(run: Path) -> tuple[dict[str, object], str]:
    """The field as checked raw JSON (schema, digest), for readers of very large fields."""
    value, where, _ = locate_field(run)
    return check_field(value, where=where), where
