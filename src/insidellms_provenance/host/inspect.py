"""Load the host's plugins (through the hook) and describe what they declared and did."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import attrs

from insidellms_provenance.field.schema import PluginFingerprint, Provenance
from insidellms_provenance.host.observer import HOST_REGISTRIES, OBSERVER

__all__ = ["HostView", "load_host", "plugin_problems"]


@attrs.frozen(kw_only=True)
class HostView:
    """The group's provenance, with registry contents when insideLLMs is installed."""

    provenance: Provenance
    host_version: str | None
    registries: dict[str, list[str]] | None
    owners: dict[tuple[str, str], str]
    builtins: frozenset[tuple[str, str]]


def load_host(group: str) -> HostView:
    """Import insideLLMs if installed (its plugins load, observed by the hook) and record."""
    from insidellms_provenance.fingerprint.recorder import record
    from insidellms_provenance.host.plugin import current_field

    host_version = _host_version()
    registries = None
    if host_version is not None:
        try:
            import insideLLMs  # type: ignore[import-not-found]  # noqa: F401
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - the host's (or a plugin's) failure
            # SystemExit from a plugin the host loads on import must not end us with 0.
            from insidellms_provenance.errors import ProvenanceError
            from insidellms_provenance.fingerprint.loader import describe_error

            error_type, message = describe_error(error)
            raise ProvenanceError(f"importing insideLLMs failed: {error_type}: {message}") from None
        host_registry: Any = sys.modules.get("insideLLMs.registry")
        registries = {
            kind: sorted(getattr(host_registry, name).list())
            for kind, name in HOST_REGISTRIES.items()
            if hasattr(host_registry, name)
        }
    provenance = current_field() if OBSERVER.observations else record(group, isolated=True)
    return HostView(
        provenance=provenance,
        host_version=host_version,
        registries=registries,
        owners=dict(OBSERVER.owners),
        builtins=frozenset(OBSERVER.builtins),
    )


def _host_version() -> str | None:
    """InsideLLMs' installed version, its METADATA read safely (never a FIFO or device)."""
    from importlib import metadata

    from insidellms_provenance.fingerprint.dist_files import read_dist_text
    from insidellms_provenance.fingerprint.distribution import name_and_version

    try:
        dist = metadata.distribution("insideLLMs")
    except metadata.PackageNotFoundError:
        return None
    text = read_dist_text(dist, "METADATA")
    version = name_and_version(text, [])[1] if text else ""
    return version or None


def plugin_problems(plugin: PluginFingerprint, host_version: str | None) -> list[str]:
    """What strict mode fails on; environment variables are named, never shown."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if plugin["load"]["status"] == "disabled":
        # The loader never ran, so nothing about this plugin was read or checked.
        return ["not checked: INSIDELLMS_DISABLE_PLUGINS is set, so no plugin was imported"]
    manifest = plugin["manifest"]
    requires = manifest["requires"]
    problems = []
    if manifest["status"] != "ok":
        detail = f": {manifest['problems'][0]}" if manifest["problems"] else ""
        problems.append(f"manifest {manifest['status']}{detail}")
    checks = [
        (manifest["insideLLMs"], host_version, "insideLLMs"),
        (
            requires["python"] if requires else None,
            platform.python_version(),
            "Python",
        ),
    ]
    for specifier, version, what in checks:
        if specifier is None or version is None:
            continue
        try:
            satisfied = SpecifierSet(specifier).contains(version, prereleases=True)
        except InvalidSpecifier:
            satisfied = False
        if not satisfied:
            problems.append(f"requires {what} {specifier}, this is {version}")
    if requires:
        missing = [name for name in requires["env"] if name not in os.environ]
        if missing:
            problems.append(f"environment variables not set: {', '.join(missing)}")
    from insidellms_provenance.analyze.declared import registration_gaps

    return problems + registration_gaps(plugin)
