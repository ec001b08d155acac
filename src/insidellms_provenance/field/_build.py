"""Assemble the provenance field and seal it with the digest of its canonical bytes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from insidellms_provenance._canonical import canonical_digest, canonical_json
from insidellms_provenance.field._names import SCHEMA_V1, SCHEMA_V2

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from insidellms_provenance.field.schema import (
        Conflict,
        Dependency,
        PluginFingerprint,
        Provenance,
    )

__all__ = ["digested_part", "field_bytes", "field_digest", "make_field"]


def make_field(
    group: str,
    plugins: Iterable[PluginFingerprint],
    conflicts: Iterable[Conflict] = (),
    dependencies: dict[str, Dependency] | None = None,
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
    if dependencies is not None:
        field["dependencies"] = dict(sorted(dependencies.items()))
    field["digest"] = field_digest(field)
    return field


def field_digest(field: Mapping[str, Any]) -> str:
    """The top-level ``digest`` of ``field`` (:func:`digested_part`)."""
    return canonical_digest(digested_part(field))


def digested_part(field: Mapping[str, Any]) -> object:
    """What ``digest`` covers: every key but ``digest`` itself.

    Except in v1 fields without a dependency table, as 0.1.0 wrote them: their digest
    covers the ``plugins`` list only (readers keep accepting them, and upgrade them).
    """
    if field.get("schema") == SCHEMA_V1 and "dependencies" not in field:
        return field["plugins"]
    return {key: value for key, value in field.items() if key != "digest"}


def field_bytes(field: Provenance) -> bytes:
    """The field's canonical JSON bytes (what ``record`` writes, without the newline)."""
    return canonical_json(field)
