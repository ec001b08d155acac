"""Fingerprint every entry point of a group in this environment: the ``record`` job."""

from __future__ import annotations

import os
from collections.abc import Mapping

from insidellms_provenance.discover import discover, entry_point_ref, installed_versions
from insidellms_provenance.distinfo import describe_distribution
from insidellms_provenance.field import make_provenance
from insidellms_provenance.loader import call_plugin_manifest, load_entry_point, plugins_disabled
from insidellms_provenance.model import (
    DEFAULT_GROUP,
    DistributionInfo,
    LoadOutcome,
    ManifestSummary,
    Origin,
    PluginFingerprint,
    Provenance,
    Source,
)
from insidellms_provenance.origin import check_origin
from insidellms_provenance.source import describe_source, editable_root

__all__ = ["record"]


def record(group: str = DEFAULT_GROUP, *, environ: Mapping[str, str] = os.environ) -> Provenance:
    """Import each entry point of ``group`` (never calling it) and fingerprint it."""
    disabled = plugins_disabled(group, environ)
    versions = installed_versions()
    described: dict[str, tuple[DistributionInfo, Source]] = {}
    plugins = []
    for ep in discover(group):
        dist = ep.dist
        if disabled:
            load = LoadOutcome(status="disabled")
            manifest = ManifestSummary(status="missing", problems=("plugins are disabled",))
        else:
            load = load_entry_point(ep)
            manifest = call_plugin_manifest(ep, load)
        if dist is None:
            plugins.append(
                PluginFingerprint(
                    entry_point=entry_point_ref(ep),
                    distribution=None,
                    source=None,
                    origin=Origin(status="unknown"),
                    manifest=manifest,
                    load=load,
                )
            )
            continue
        key = str(dist.locate_file("")) + "\0" + (dist.name or "")
        if key not in described:
            source = describe_source(dist)
            described[key] = (describe_distribution(dist, editable=source.editable), source)
        info, source = described[key]
        origin = check_origin(
            ep,
            dist,
            editable_root=editable_root(dist) if source.editable else None,
            versions=versions.get(info.normalized_name, []),
        )
        plugins.append(
            PluginFingerprint(
                entry_point=entry_point_ref(ep),
                distribution=info,
                source=source,
                origin=origin,
                manifest=manifest,
                load=load,
            )
        )
    return make_provenance(group, plugins)
