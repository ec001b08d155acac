"""Validate JSON values against a JSON Schema with the maintained ``jsonschema`` package."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator


def validate(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Every error of ``instance`` against ``schema``, as ``$.path: message``, sorted."""
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    return sorted(
        f"{error.json_path}: {error.message}" for error in validator.iter_errors(instance)
    )
