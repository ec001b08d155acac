"""Truth against declaration: what a plugin registered versus what its manifest declared."""

from __future__ import annotations

from insidellms_provenance.field.schema import REGISTRY_KINDS, PluginFingerprint

__all__ = ["registration_gaps"]


def registration_gaps(plugin: PluginFingerprint) -> list[str]:
    """Undeclared registrations and declared-but-missing capabilities, one line each.

    Empty when registrations were not observed (outside a host run) or the manifest
    declares no capabilities: there is nothing to compare.
    """
    registered, declared = plugin["registered"], plugin["manifest"]["capabilities"]
    if registered is None or declared is None:
        return []
    replaced = plugin["replaced"]
    gaps = []
    for kind in REGISTRY_KINDS:
        did = set(registered[kind]) | set(replaced[kind] if replaced else ())
        said = set(declared[kind])
        if did - said:
            gaps.append(f"registered but not declared: {kind} {', '.join(sorted(did - said))}")
        if said - did:
            gaps.append(f"declared but not registered: {kind} {', '.join(sorted(said - did))}")
    return gaps
