"""Derive the field's JSON Schema from the attrs model, and a minimal validator for tests."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union

import attrs

from insidellms_provenance.field import model
from insidellms_provenance.field.converter import _RENAMES

SCHEMA_ID = "urn:insidellms-provenance:schema:plugin-provenance:v2"


def _type_schema(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
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
        return {"enum": list(typing.get_args(hint))}
    if origin in (Union, types.UnionType):
        return {"anyOf": [_type_schema(arg, defs) for arg in typing.get_args(hint)]}
    if origin is tuple:
        item, _ = typing.get_args(hint)
        return {"type": "array", "items": _type_schema(item, defs)}
    if attrs.has(hint):
        _class_schema(hint, defs)
        return {"$ref": f"#/$defs/{hint.__name__}"}
    raise TypeError(f"no schema for {hint!r}")


def _class_schema(cls: type, defs: dict[str, Any]) -> None:
    if cls.__name__ in defs:
        return
    defs[cls.__name__] = {}
    hints = typing.get_type_hints(cls, vars(model))
    renames = _RENAMES.get(cls, {})
    properties = {
        renames.get(field.name, field.name): _type_schema(hints[field.name], defs)
        for field in attrs.fields(cls)
    }
    defs[cls.__name__] = {
        "type": "object",
        "description": (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


def field_schema() -> dict[str, Any]:
    """The JSON Schema of the ``custom.plugin_provenance`` field, schema v2."""
    defs: dict[str, Any] = {}
    _class_schema(model.Provenance, defs)
    root = defs.pop("Provenance")
    root["properties"]["schema"] = {"const": model.SCHEMA_V2}
    root["properties"]["digest"] = {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "insidellms-provenance plugin provenance field, v2",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def validate(
    instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: str = "$"
) -> list[str]:
    """Errors of ``instance`` against the subset of JSON Schema that ``field_schema`` uses."""
    root = root or schema
    if "$ref" in schema:
        return validate(instance, root["$defs"][schema["$ref"].rpartition("/")[2]], root, path)
    if "anyOf" in schema:
        options = [validate(instance, option, root, path) for option in schema["anyOf"]]
        return [] if any(not errors for errors in options) else [f"{path}: matches no option"]
    if "const" in schema:
        return [] if instance == schema["const"] else [f"{path}: expected {schema['const']!r}"]
    if "enum" in schema:
        return [] if instance in schema["enum"] else [f"{path}: {instance!r} not in enum"]
    kind = schema.get("type")
    checks = {
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "null": lambda v: v is None,
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if kind and not checks[kind](instance):
        return [f"{path}: expected {kind}"]
    errors: list[str] = []
    if kind == "array":
        for index, item in enumerate(instance):
            errors += validate(item, schema["items"], root, f"{path}[{index}]")
    if kind == "object":
        for key in schema.get("required", []):
            if key not in instance:
                errors.append(f"{path}: missing {key!r}")
        for key, item in instance.items():
            if key in schema["properties"]:
                errors += validate(item, schema["properties"][key], root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected key {key!r}")
    return errors
