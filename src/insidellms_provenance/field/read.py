"""Read a provenance field: check its shape, schema and digest, then structure it."""

from __future__ import annotations

import itertools
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
    _check_load_order(plugins, where)
    try:
        fast = sha256_digest(orjson.dumps(plugins, option=orjson.OPT_SORT_KEYS))
    except orjson.JSONEncodeError:
        fast = None
    if fast != value.get("digest") and canonical_digest(plugins) != value.get("digest"):
        raise InvalidFieldError(f"{where}: provenance digest does not match its plugins")
    return value


def _check_load_order(plugins: list[Any], where: str) -> None:
    """Plugins are written sorted by (name, value), each entry point once; refuse others.

    A reordered or duplicated list never comes from a recording, and every reader would
    otherwise have to decide which copy counts.
    """
    keys = []
    for plugin in plugins:
        entry_point = plugin.get("entry_point") if isinstance(plugin, dict) else None
        if not isinstance(entry_point, dict):
            return  # structuring names this problem precisely
        name, value = entry_point.get("name"), entry_point.get("value")
        if not (isinstance(name, str) and isinstance(value, str)):
            return
        keys.append((name, value))
    if any(earlier >= later for earlier, later in itertools.pairwise(keys)):
        raise InvalidFieldError(
            f"{where}: provenance field is malformed: plugins are not in load order "
            "or an entry point is listed twice"
        )


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
