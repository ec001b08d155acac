"""Generate the field's JSON Schema from :mod:`insidellms_provenance.field.schema`.

The shipped ``field/schemas/plugin-provenance-v1.schema.json`` is this module's output;
a test fails when the two differ. Regenerate it with::

    python -m insidellms_provenance.field.jsonschema > src/.../plugin-provenance-v1.schema.json
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Union

from insidellms_provenance.field import schema

__all__ = ["SCHEMA_FILE", "SCHEMA_ID", "field_schema", "field_schema_text"]

SCHEMA_ID: Final = "urn:insidellms-provenance:schema:plugin-provenance:v1"
SCHEMA_FILE: Final = Path(__file__).parent / "schemas" / "plugin-provenance-v1.schema.json"


def field_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the ``custom.plugin_provenance`` field, v1."""
    defs: dict[str, Any] = {}
    _class_schema(schema.Provenance, defs)
    root = defs.pop(schema.Provenance.__name__)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "insidellms-provenance plugin provenance field, v1",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def field_schema_text() -> str:
    """:func:`field_schema` as the shipped file spells it."""
    return json.dumps(field_schema(), indent=2, ensure_ascii=False) + "\n"


def _type_schema(hint: object, defs: dict[str, Any]) -> dict[str, Any]:  # noqa: C901, PLR0911
    origin = typing.get_origin(hint)
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer", "minimum": 0}
    if hint is type(None):
        return {"type": "null"}
    if origin is Literal:
        values = list(typing.get_args(hint))
        return {"const": values[0]} if len(values) == 1 else {"enum": values}
    if origin is Annotated:
        base, *extras = typing.get_args(hint)
        patterns = [extra.regex for extra in extras if isinstance(extra, schema.Pattern)]
        return {**_type_schema(base, defs), **({"pattern": patterns[0]} if patterns else {})}
    if origin in (Union, types.UnionType):
        return {"anyOf": [_type_schema(arg, defs) for arg in typing.get_args(hint)]}
    if origin is list:
        (item,) = typing.get_args(hint)
        return {"type": "array", "items": _type_schema(item, defs)}
    if origin is dict:
        _, item = typing.get_args(hint)
        return {"type": "object", "additionalProperties": _type_schema(item, defs)}
    if typing.is_typeddict(hint):
        _class_schema(hint, defs)  # type: ignore[arg-type]
        return {"$ref": f"#/$defs/{hint.__name__}"}  # type: ignore[attr-defined]
    raise TypeError(f"no JSON Schema for {hint!r}")


def _class_schema(cls: type, defs: dict[str, Any]) -> None:
    if cls.__name__ in defs:
        return
    defs[cls.__name__] = {}
    hints = typing.get_type_hints(cls, include_extras=True)
    properties = {key: _type_schema(hint, defs) for key, hint in hints.items()}
    defs[cls.__name__] = {
        "type": "object",
        "description": (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
        "properties": properties,
        "required": sorted(cls.__required_keys__),  # type: ignore[attr-defined]
        "additionalProperties": False,
    }


if __name__ == "__main__":
    sys.stdout.write(field_schema_text())
