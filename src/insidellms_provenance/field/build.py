"""Assemble the provenance field and seal it with the digest of its canonical bytes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from insidellms_provenance.canonical import canonical_digest, canonical_json
from insidellms_provenance.field.schema import SCHEMA_V2, JsonObject

if TYPE_CHECKING:
    from insidellms_provenance.field.model import Conflict, PluginFingerprint, Provenance

__all__ = [
    "SCHEMA_V2",
    "field_bytes",
    "field_digest",
    "field_value",
    "make_field",
    "make_provenance",
]


def make_field(
    group: str,
    plugins: Iterable[JsonObject],
    conflicts: Iterable[JsonObject] = (),
    *,
    observed_in_run: bool = False,
) -> JsonObject:
    """Sort plugins in load order and seal the field with the digest of its canonical bytes.

    Plugins and conflicts are plain values from :mod:`insidellms_provenance.field.schema`; the
    result is the field exactly as it is embedded and as ``record`` prints it.
    """
    ordered = sorted(plugins, key=lambda p: (p["entry_point"]["name"], p["entry_point"]["value"]))
    field: JsonObject = {
        "schema": SCHEMA_V2,
        "group": group,
        "digest": "",
        "observed_in_run": observed_in_run,
        "plugins": ordered,
        "conflicts": sorted(
            conflicts, key=lambda c: (c["kind"], c["key"], c["plugins"], c["outcome"])
        ),
    }
    field["digest"] = field_digest(field)
    return field


def field_digest(field: JsonObject) -> str:
    """The top-level ``digest``: of the canonical JSON of every key but ``digest`` itself."""
    return canonical_digest({key: value for key, value in field.items() if key != "digest"})


def make_provenance(
    group: str,
    plugins: Iterable[PluginFingerprint],
    conflicts: Iterable[Conflict] = (),
    *,
    observed_in_run: bool = False,
) -> Provenance:
    """:func:`make_field` for records: what tests and examples build by hand."""
    from insidellms_provenance.field.converter import structure, unstructure
    from insidellms_provenance.field.model import Provenance

    field = make_field(
        group,
        unstructure(list(plugins)),
        unstructure(list(conflicts)),
        observed_in_run=observed_in_run,
    )
    return structure(field, Provenance)


def field_value(provenance: Provenance) -> dict[str, Any]:
    """The field as plain JSON values, ready to embed in ``manifest.json``."""
    from insidellms_provenance.field.converter import unstructure

    value: dict[str, Any] = unstructure(provenance)
    return value


def field_bytes(provenance: Provenance) -> bytes:
    """The field's canonical JSON bytes (what ``record`` writes)."""
    return canonical_json(field_value(provenance))
