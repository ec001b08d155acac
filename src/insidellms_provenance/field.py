"""Assemble the provenance field, seal it with its digest, and read it back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from insidellms_provenance.canonical import canonical_digest, canonical_json, sha256_digest
from insidellms_provenance.errors import InvalidFieldError
from insidellms_provenance.values import SCHEMA_V1, JsonObject

if TYPE_CHECKING:
    from insidellms_provenance.model import Conflict, PluginFingerprint, Provenance

__all__ = [
    "KNOWN_SCHEMAS",
    "SCHEMA_V1",
    "check_field",
    "field_bytes",
    "field_value",
    "make_field",
    "make_provenance",
    "read_field",
]

KNOWN_SCHEMAS = frozenset({SCHEMA_V1})


def make_field(
    group: str, plugins: Iterable[JsonObject], conflicts: Iterable[JsonObject] = ()
) -> JsonObject:
    """Sort plugins in load order and seal them with the digest of their canonical bytes.

    Plugins and conflicts are plain values from :mod:`insidellms_provenance.values`; the
    result is the field exactly as it is embedded and as ``record`` prints it.
    """
    ordered = sorted(plugins, key=lambda p: (p["entry_point"]["name"], p["entry_point"]["value"]))
    return {
        "schema": SCHEMA_V1,
        "group": group,
        "digest": canonical_digest(ordered),
        "plugins": ordered,
        "conflicts": sorted(conflicts, key=lambda c: (c["kind"], c["key"], c["plugins"])),
    }


def make_provenance(
    group: str,
    plugins: Iterable[PluginFingerprint],
    conflicts: Iterable[Conflict] = (),
) -> Provenance:
    """:func:`make_field` for records: what tests and examples build by hand."""
    from insidellms_provenance.converter import structure, unstructure
    from insidellms_provenance.model import Provenance

    field = make_field(group, unstructure(list(plugins)), unstructure(list(conflicts)))
    return structure(field, Provenance)


def field_value(provenance: Provenance) -> dict[str, Any]:
    """The field as plain JSON values, ready to embed in ``manifest.json``."""
    from insidellms_provenance.converter import unstructure

    value: dict[str, Any] = unstructure(provenance)
    return value


def field_bytes(provenance: Provenance) -> bytes:
    """The field's canonical JSON bytes (what ``record`` writes)."""
    return canonical_json(field_value(provenance))


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

    from insidellms_provenance.converter import structure
    from insidellms_provenance.model import Provenance

    try:
        return structure(checked, Provenance)
    except Exception as error:  # noqa: BLE001 - cattrs raises many types; all mean bad input
        issues = tuple(transform_error(error, path="field"))
        raise InvalidFieldError(f"{where}: provenance field is malformed", issues) from None
