"""Assemble the provenance field and seal it with the digest of its canonical bytes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from insidellms_provenance.canonical import canonical_digest, canonical_json
from insidellms_provenance.field.schema import SCHEMA_V1, JsonObject

if TYPE_CHECKING:
    from insidellms_provenance.field.model import Conflict, PluginFingerprint, Provenance

__all__ = [
    "SCHEMA_V1",
    "field_bytes",
    "field_value",
    "make_field",
    "make_provenance",
]


def make_field(
    group: str, plugins: Iterable[JsonObject], conflicts: Iterable[JsonObject] = ()
) -> JsonObject:
    """Sort plugins in load order and seal them with the digest of their canonical bytes.

    Plugins and conflicts are plain values from :mod:`insidellms_provenance.field.schema`; the
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
    from insidellms_provenance.field.converter import structure, unstructure
    from insidellms_provenance.field.model import Provenance

    field = make_field(group, unstructure(list(plugins)), unstructure(list(conflicts)))
    return structure(field, Provenance)


def field_value(provenance: Provenance) -> dict[str, Any]:
    """The field as plain JSON values, ready to embed in ``manifest.json``."""
    from insidellms_provenance.field.converter import unstructure

    value: dict[str, Any] = unstructure(provenance)
    return value


def field_bytes(provenance: Provenance) -> bytes:
    """The field's canonical JSON bytes (what ``record`` writes)."""
    return canonical_json(field_value(provenance))
