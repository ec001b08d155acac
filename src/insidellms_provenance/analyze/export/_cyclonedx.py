"""A CycloneDX 1.6 JSON SBOM of a run's plugin distributions and their dependencies.

Each distribution is a ``library`` component with its ``purl``, version and, when a wheel
matched its contents exactly, the wheel's SHA-256. What only this tool knows goes in
``properties`` named ``insidellms-provenance:...`` (``docs/export.md`` lists them). A
field with a dependency table (issue 17) adds its dependencies as components and the
``dependencies`` graph: each plugin distribution ``dependsOn`` its recorded closure. The
document has no timestamp and no serial number unless asked for, so the same run gives
the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from insidellms_provenance.analyze._reproduce import WheelMatch
from insidellms_provenance.analyze.export._common import NAMESPACE, purl
from insidellms_provenance.field.schema import (
    DistributionInfo,
    PluginFingerprint,
    Provenance,
    UnsatisfiedRequirement,
)

__all__ = ["SPEC_VERSION", "cyclonedx_value"]

SPEC_VERSION: Final = "1.6"


def cyclonedx_value(  # noqa: PLR0913 - keyword-only options of the document
    provenance: Provenance,
    matches: Sequence[WheelMatch],
    *,
    tool_version: str,
    with_wheels: bool,
    serial_number: str | None = None,
    timestamp: str | None = None,
) -> dict[str, Any]:
    """The SBOM as a JSON value; ``with_wheels`` says whether wheels were searched."""
    plugins = _plugins_by_name_and_digest(provenance["plugins"])
    metadata: dict[str, Any] = {}
    if timestamp is not None:
        metadata["timestamp"] = timestamp
    metadata["tools"] = {
        "components": [{"type": "application", "name": NAMESPACE, "version": tool_version}]
    }
    metadata["properties"] = [
        _property("group", provenance["group"]),
        _property("field_digest", provenance["digest"]),
    ]
    with_graph = "dependencies" in provenance
    if with_graph:  # say how to read dependsOn: the closure, not the direct requirements
        metadata["properties"].append(_property("depends_on", "closure"))
    value: dict[str, Any] = {
        "$schema": f"http://cyclonedx.org/schema/bom-{SPEC_VERSION}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
    }
    if serial_number is not None:
        value["serialNumber"] = serial_number
    value["version"] = 1
    value["metadata"] = metadata
    ordered = sorted(matches, key=lambda m: (m.normalized_name, m.version))
    value["components"] = [_component(match, plugins, with_wheels=with_wheels) for match in ordered]
    if with_graph:
        value["dependencies"] = _graph(provenance, ordered)
        unknown = [
            _bom_ref(m.normalized_name, m.version, m.record_digest)
            for m in ordered
            if not m.plugins
        ]
        if unknown:  # CycloneDX: compositions say whose dependency graph is unknown
            value["compositions"] = [{"aggregate": "unknown", "dependencies": unknown}]
    return value


def _bom_ref(normalized_name: str, version: str, record_digest: str | None) -> str:
    """A component's ``bom-ref``: its purl, and ``#<record_digest>`` when there is one."""
    ref = purl(normalized_name, version)
    return f"{ref}#{record_digest}" if record_digest else ref


def _graph(provenance: Provenance, ordered: Sequence[WheelMatch]) -> list[dict[str, Any]]:
    """Each plugin distribution ``dependsOn`` its closure (empty: none, as recorded).

    The field records a plugin's whole closure, not which distribution requires which,
    so ``dependsOn`` lists the closure (the metadata property ``depends_on`` says so:
    CycloneDX means direct dependencies, which the field does not know); a distribution
    that is only a dependency has no entry, and a composition marks its graph unknown.
    """
    table = provenance.get("dependencies", {})

    def ref_of(dist: DistributionInfo) -> str:
        return _bom_ref(dist["normalized_name"], dist["version"], dist["record_digest"])

    closures: dict[str, set[str]] = {}
    for plugin in provenance["plugins"]:
        dist = plugin["distribution"]
        if dist is None or "dependencies" not in plugin:
            continue
        closure = closures.setdefault(ref_of(dist), set())
        closure.update(ref_of(table[name]["distribution"]) for name in plugin["dependencies"])
    graph = []
    for match in ordered:
        ref = _bom_ref(match.normalized_name, match.version, match.record_digest)
        if match.plugins and ref in closures:
            graph.append({"ref": ref, "dependsOn": sorted(closures[ref])})
    return graph


def _property(name: str, value: str) -> dict[str, str]:
    return {"name": f"{NAMESPACE}:{name}", "value": value}


_PluginIndex = dict[tuple[str, str | None], list[tuple[str, PluginFingerprint]]]
"""Plugins by entry-point name and distribution ``record_digest``: (value, plugin) pairs."""


def _plugins_by_name_and_digest(plugins: Sequence[PluginFingerprint]) -> _PluginIndex:
    """The plugins of a distribution, found without a pass over all of them per component.

    One entry point (name and value) recorded twice counts once, as its last record; each
    list is in order of value, so a component's plugins come out sorted by name and value.
    """
    unique = {(p["entry_point"]["name"], p["entry_point"]["value"]): p for p in plugins}
    index: _PluginIndex = {}
    for (name, value), plugin in sorted(unique.items()):
        dist = plugin["distribution"]
        if dist is not None:
            index.setdefault((name, dist["record_digest"]), []).append((value, plugin))
    return index


def _component(
    match: WheelMatch,
    plugins: _PluginIndex,
    *,
    with_wheels: bool,
) -> dict[str, Any]:
    ref = purl(match.normalized_name, match.version)
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": _bom_ref(match.normalized_name, match.version, match.record_digest),
        "name": match.name,
        "version": match.version,
    }
    if match.exact and match.wheel is not None and match.wheel.digest is not None:
        component["hashes"] = [
            {"alg": "SHA-256", "content": match.wheel.digest.removeprefix("sha256:")}
        ]
    component["purl"] = ref
    source = match.source
    if source is not None and source["kind"] == "vcs" and source["url"]:
        component["externalReferences"] = [{"type": "vcs", "url": source["url"]}]
    properties = []
    if match.record_digest is not None:
        properties.append(_property("record_digest", match.record_digest))
    if source is not None:
        properties.append(_property("source", source["kind"]))
        if source["commit"]:
            properties.append(_property("commit", source["commit"]))
    if with_wheels:
        properties.append(_property("match", match.status))
        if match.wheel is not None:
            properties.append(_property("wheel", match.wheel.filename))
    properties += _plugin_properties(match, plugins)
    component["properties"] = properties
    return component


def _plugin_properties(match: WheelMatch, plugins: _PluginIndex) -> list[dict[str, str]]:
    """Entry point, manifest digest, load outcome and unmet requirements of its plugins.

    Its plugins are those named in ``match.plugins`` whose distribution has its
    ``record_digest``, in order of entry-point name and value.
    """
    properties = []
    for name in sorted(set(match.plugins)):
        for value, plugin in plugins.get((name, match.record_digest), ()):
            properties += _one_plugin_properties(name, value, plugin)
    return properties


def _one_plugin_properties(
    name: str, value: str, plugin: PluginFingerprint
) -> list[dict[str, str]]:
    """The properties of one plugin, each named ``plugin:<entry point name>:...``."""
    prefix = f"plugin:{name}:"
    properties = [_property(prefix + "entry_point", f"{plugin['entry_point']['group']}:{value}")]
    manifest_digest = plugin["manifest"]["digest"]
    if manifest_digest is not None:
        properties.append(_property(prefix + "manifest_digest", manifest_digest))
    properties.append(_property(prefix + "load", plugin["load"]["status"]))
    properties += [
        _property(prefix + "unsatisfied", _unsatisfied_text(unsatisfied))
        for unsatisfied in plugin.get("unsatisfied", [])
    ]
    return properties


def _unsatisfied_text(unsatisfied: UnsatisfiedRequirement) -> str:
    """``<requirement> (required by <dist>: <reason>[, installed <version>])``."""
    installed = unsatisfied["installed"]
    detail = unsatisfied["reason"] + (f", installed {installed}" if installed else "")
    return f"{unsatisfied['requirement']} (required by {unsatisfied['required_by']}: {detail})"
