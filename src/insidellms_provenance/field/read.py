"""Read a provenance field: check its shape, schema and digest, then structure it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from insidellms_provenance.canonical import canonical_digest, sha256_digest
from insidellms_provenance.errors import InvalidFieldError
from insidellms_provenance.field.schema import SCHEMA_V1, SCHEMA_V2

if TYPE_CHECKING:
    from insidellms_provenance.field.model import Provenance

__all__ = ["KNOWN_SCHEMAS", "check_field", "read_field"]

KNOWN_SCHEMAS = frozenset({SCHEMA_V1, SCHEMA_V2})


def check_field(value: object, *, where: str) -> dict[str, Any]:
    """Check a field's shape, schema and digest, and upgrade it to the current schema.

    Does not structure its plugins, so it stays cheap for very large fields: the digest
    is recomputed with ``orjson``'s sorted output, which is canonical for every field
    this package writes (no floats, no keys at or above U+E000); only when that
    disagrees is the full RFC 8785 writer used to decide. A v1 field (its digest covers
    ``plugins`` only) is checked as written, then returned upgraded to v2.
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
    sealed = plugins if schema == SCHEMA_V1 else {k: v for k, v in value.items() if k != "digest"}
    try:
        fast = sha256_digest(orjson.dumps(sealed, option=orjson.OPT_SORT_KEYS))
    except orjson.JSONEncodeError:
        fast = None
    if fast != value.get("digest") and canonical_digest(sealed) != value.get("digest"):
        what = "its plugins" if schema == SCHEMA_V1 else "its content"
        raise InvalidFieldError(f"{where}: provenance digest does not match {what}")
    return _upgrade_v1(value) if schema == SCHEMA_V1 else value


def _upgrade_v1(value: dict[str, Any]) -> dict[str, Any]:
    """A v1 field as v2: nothing recorded integrity, and registrations say where it came from.

    v1 recorded ``registered`` only for plugins observed in a host run, so a field with
    any non-null ``registered`` was observed in one. The digest is that of the result.
    """
    from insidellms_provenance.field.build import field_digest

    plugins = []
    for plugin in value["plugins"]:
        if isinstance(plugin, dict) and isinstance(plugin.get("distribution"), dict):
            dist = {**plugin["distribution"], "integrity": None}
            plugins.append({**plugin, "distribution": dist})
        else:
            plugins.append(plugin)
    observed = any(isinstance(p, dict) and p.get("registered") is not None for p in plugins)
    upgraded = {
        "schema": SCHEMA_V2,
        "group": value.get("group"),
        "digest": "",
        "observed_in_run": observed,
        "plugins": plugins,
        "conflicts": value.get("conflicts", []),
    }
    extra = {key: item for key, item in value.items() if key not in upgraded}
    upgraded.update(extra)  # left for the reader to refuse, as in the file
    upgraded["digest"] = field_digest(upgraded)
    return upgraded


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
