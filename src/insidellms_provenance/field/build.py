"""Assemble the provenance field and seal it with the digest of its canonical bytes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from insidellms_provenance.canonical import canonical_digest, canonical_json
from insidellms_provenance.field.schema import (
    SCHEMA_V1,
    Conflict,
    Dependency,
    PluginFingerprint,
    Provenance,
)

__all__ = ["digested_part", "field_bytes", "make_field"]


def make_field(
    group: str,
    plugins: Iterable[PluginFingerprint],
    conflicts: Iterable[Conflict] = (),
    dependencies: dict[str, Dependency] | None = None,
) -> Provenance:
    """Sort plugins in load order and seal the field with the digest of its canonical bytes.

    The result is the field exactly as it is embedded and as ``record`` prints it.
    """
    ordered = sorted(plugins, key=lambda p: (p["entry_point"]["name"], p["entry_point"]["value"]))
    field: Provenance = {
        "schema": SCHEMA_V1,
        "group": group,
        "digest": "",
        "plugins": ordered,
        "conflicts": sorted(conflicts, key=lambda c: (c["kind"], c["key"], c["plugins"])),
    }
    if dependencies is not None:
        field["dependencies"] = dict(sorted(dependencies.items()))
    field["digest"] = canonical_digest(digested_part(field))
    return field


def digested_part(field: Mapping[str, Any]) -> object:
    """What ``digest`` covers: every key but itself once a field has a dependency table.

    Fields written before the table existed digest their ``plugins`` list only; readers
    keep accepting them.
    """
    if "dependencies" not in field:
        return field["plugins"]
    return {key: value for key, value in field.items() if key != "digest"}


def field_bytes(field: Provenance) -> bytes:
    """The field's canonical JSON bytes (what ``record`` writes, without the newline)."""
    return canonical_json(field)
