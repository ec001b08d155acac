"""Read a provenance field: check its shape, schema and digest, then structure it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from insidellms_provenance.canonical import canonical_digest, sha256_digest
from insidellms_provenance.errors import InvalidFieldError
from insidellms_provenance.field.schema import SCHEMA_V1

if TYPE_CHECKING:
    from insidellms_provenance.field.model import Provenance

__all__ = ["KNOWN_SCHEMAS", "check_field", "read_field"]

KNOWN_SCHEMAS = frozenset({SCHEMA_V1})


def check_field(value: object, *, where: str) -> dict[str, Any]:
    """Check a field's shape, schema and digest without structuring its plugins.

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
    """Check and structure a field read from a file; ``where`` names it in errors."""
    checked = check_field(value, where=where)
    from cattrs import transform_error

    from insidellms_provenance.field.converter import structure
    from insidellms_provenance.field.model import Provenance

    try:
        return structure(checked, Provenance)
    except Exception as error:  # noqa: BLE001 - cattrs raises many types; all mean bad input
        issues = tuple(transform_error(error, path="field"))
        raise InvalidFieldError(f"{where}: provenance field is malformed", issues) from None
