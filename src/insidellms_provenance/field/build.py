"""Assemble the provenance field and seal it with the digest of its canonical bytes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from insidellms_provenance.canonical import canonical_digest, canonical_json
from insidellms_provenance.field.schema import (
    SCHEMA_V2,
    Conflict,
    PluginFingerprint,
    Provenance,
)

__all__ = ["field_bytes", "field_digest", "make_field"]


def make_field(
    group: str,
    plugins: Iterable[PluginFingerprint],
    conflicts: Iterable[Conflict] = (),
    *,
    observed_in_run: bool = False,
) -> Provenance:
    """Sort plugins in load order and seal the field with the digest of its canonical bytes.

    The result is the field exactly as it is embedded and as ``record`` prints it.
    """
    ordered = sorted(plugins, key=lambda p: (p["entry_point"]["name"], p["entry_point"]["value"]))
    field: Provenance = {
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


def field_digest(field: Mapping[str, Any]) -> str:
    """The top-level ``digest``: of the canonical JSON of every key but ``digest`` itself."""
    return canonical_digest({key: value for key, value in field.items() if key != "digest"})


def field_bytes(field: Provenance) -> bytes:
    """The field's canonical JSON bytes (what ``record`` writes, without the newline)."""
    return canonical_json(field)
