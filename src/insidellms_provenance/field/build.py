"""Assemble the provenance field and seal it with the digest of its canonical bytes."""

from __future__ import annotations

from collections.abc import Iterable

from insidellms_provenance.canonical import canonical_digest, canonical_json
from insidellms_provenance.field.schema import (
    SCHEMA_V1,
    Conflict,
    PluginFingerprint,
    Provenance,
)

__all__ = ["field_bytes", "make_field"]


def make_field(
    group: str, plugins: Iterable[PluginFingerprint], conflicts: Iterable[Conflict] = ()
) -> Provenance:
    """Sort plugins in load order and seal them with the digest of their canonical bytes.

    The result is the field exactly as it is embedded and as ``record`` prints it.
    """
    ordered = sorted(plugins, key=lambda p: (p["entry_point"]["name"], p["entry_point"]["value"]))
    return {
        "schema": SCHEMA_V1,
        "group": group,
        "digest": canonical_digest(ordered),
        "plugins": ordered,
        "conflicts": sorted(conflicts, key=lambda c: (c["kind"], c["key"], c["plugins"])),
    }


def field_bytes(field: Provenance) -> bytes:
    """The field's canonical JSON bytes (what ``record`` writes, without the newline)."""
    return canonical_json(field)
