"""Read a provenance field: check its shape, schema and digest against the one schema.

Readers get the parsed values themselves, validated against the ``TypedDict``s of
:mod:`insidellms_provenance.field.schema` and typed as them: nothing is copied.
"""

from __future__ import annotations

from typing import Any, cast

import orjson

from insidellms_provenance.canonical import canonical_digest, sha256_digest
from insidellms_provenance.errors import InvalidFieldError
from insidellms_provenance.field.schema import SCHEMA_V1, Conflict, PluginFingerprint, Provenance

__all__ = ["KNOWN_SCHEMAS", "check_field", "read_conflict", "read_field", "read_plugin"]

KNOWN_SCHEMAS = frozenset({SCHEMA_V1})


def check_field(value: object, *, where: str) -> dict[str, Any]:
    """Check a field's schema string and digest without validating its plugins.

    Cheap enough for very large fields: the digest is recomputed with ``orjson``'s
    sorted output, which is canonical for every field this package writes (no floats,
    no keys at or above U+E000); only when that disagrees is the full RFC 8785 writer
    used to decide.
    """
    if not isinstance(value, dict):
        raise InvalidFieldError(f"{where}: provenance field is not a JSON object")
    schema = value.get("schema")
    if schema not in KNOWN_SCHEMAS:
        known = ", ".join(sorted(KNOWN_SCHEMAS))
        raise InvalidFieldError(f"{where}: unknown provenance schema {schema!r} (known: {known})")
    plugins = value.get("plugins")
    if not isinstance(plugins, list):
        raise InvalidFieldError(f"{where}: provenance field is malformed: 'plugins' is not a list")
    try:
        fast = sha256_digest(orjson.dumps(plugins, option=orjson.OPT_SORT_KEYS))
    except orjson.JSONEncodeError:
        fast = None
    if fast != value.get("digest") and canonical_digest(plugins) != value.get("digest"):
        raise InvalidFieldError(f"{where}: provenance digest does not match its plugins")
    return value


def read_field(value: object, *, where: str) -> Provenance:
    """Check a field read from a file and validate all of it; ``where`` names it in errors."""
    checked = check_field(value, where=where)
    _raise_on_issues(checked, Provenance, where, "field")
    return cast("Provenance", checked)


def read_plugin(value: object, *, where: str, index: object = "?") -> PluginFingerprint:
    """Validate one plugin entry of a field checked with :func:`check_field`."""
    _raise_on_issues(value, PluginFingerprint, where, f"field.plugins[{index}]")
    return cast("PluginFingerprint", value)


def read_conflict(value: object, *, where: str, index: object = "?") -> Conflict:
    """Validate one conflict of a field checked with :func:`check_field`."""
    _raise_on_issues(value, Conflict, where, f"field.conflicts[{index}]")
    return cast("Conflict", value)


def _raise_on_issues(value: object, cls: type, where: str, path: str) -> None:
    from insidellms_provenance.field.validate import validate

    issues = validate(value, cls, path)
    if issues:
        raise InvalidFieldError(f"{where}: provenance field is malformed", tuple(issues))
