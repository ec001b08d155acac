"""``doctor``: the plugins, their declared capabilities, and what strict mode would fail."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from insidellms_provenance.cli.options import add_format, add_group, write_output

if TYPE_CHECKING:
    from insidellms_provenance.field.schema import PluginFingerprint

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    add_group(parser)
    parser.add_argument(
        "--strict-plugins",
        action="store_true",
        help="exit 1 on any problem (default: warn only, as the RFC's phase 1)",
    )
    add_format(parser, ("text", "json"))


def run(arguments: argparse.Namespace) -> int:
    """Load the plugins as the host would, report, and apply strict mode."""
    from insidellms_provenance.host.inspect import load_host, plugin_problems

    view = load_host(arguments.group)
    details = [
        (plugin, plugin_problems(plugin, view.host_version))
        for plugin in view.provenance["plugins"]
    ]
    failed = arguments.strict_plugins and any(problems for _, problems in details)
    if arguments.format == "json":
        write_output(
            _json(arguments.group, view, details, strict=arguments.strict_plugins, failed=failed)
        )
    else:
        write_output(_text(arguments.group, view, details))
    return 1 if failed else 0


def _capabilities(plugin: PluginFingerprint) -> str:
    caps = plugin["manifest"]["capabilities"]
    if caps is None:
        return "-"
    return f"{len(caps['models'])}m {len(caps['probes'])}p {len(caps['datasets'])}d"


def _text(group: str, view: Any, details: list[Any]) -> str:  # noqa: ANN401
    host = f"insideLLMs {view.host_version}" if view.host_version else "insideLLMs not installed"
    lines = [f"doctor: group {group}, {len(details)} plugin(s), {host}"]
    if details:
        rows = [("PLUGIN", "DISTRIBUTION", "VERSION", "MANIFEST", "CAPABILITIES", "DETERMINISM")]
        for plugin, _ in details:
            dist = plugin["distribution"]
            determinism = plugin["manifest"]["determinism"]
            level = determinism["class"] if determinism else None
            rows.append(
                (
                    plugin["entry_point"]["name"],
                    dist["name"] if dist else "-",
                    dist["version"] if dist else "-",
                    plugin["manifest"]["status"],
                    _capabilities(plugin),
                    level or "-",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(6)]
        lines.append("")
        lines += [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
        ]
    notes = [
        f"warning: {plugin['entry_point']['name']}: {problem}"
        for plugin, problems in details
        for problem in problems
    ]
    notes += [
        f"conflict: {c['kind']} {c['key']!r} registered by {', '.join(c['plugins'])} "
        f"({c['outcome']}" + (f", {c['winner']} won)" if c["winner"] else ")")
        for c in view.provenance["conflicts"]
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _json(group: str, view: Any, details: list[Any], *, strict: bool, failed: bool) -> bytes:  # noqa: ANN401
    from importlib import metadata

    from insidellms_provenance.canonical import canonical_json

    disabled = os.environ.get("INSIDELLMS_DISABLE_PLUGINS", "").strip().lower() in (
        "1",
        "true",
        "yes",
    )
    discovered = sorted(
        ({"name": ep.name, "value": ep.value} for ep in metadata.entry_points(group=group)),
        key=lambda item: (item["name"], item["value"]),
    )
    registered = {
        kind: [name for name in names if (kind, name) not in view.builtins]
        for kind, names in (view.registries or {}).items()
    }
    value = {
        "plugins": {
            # The keys insideLLMs' own `doctor --capabilities` reports ...
            "entry_point_group": group,
            "auto_loading_enabled": not disabled,
            "disabled_by_env": disabled,
            "discovered_entry_points": discovered,
            "registered_extensions": registered,
            # ... and ours.
            "host_version": view.host_version,
            "details": [
                {
                    "entry_point": plugin["entry_point"]["name"],
                    "distribution": plugin["distribution"]["name"]
                    if plugin["distribution"]
                    else None,
                    "version": plugin["distribution"]["version"]
                    if plugin["distribution"]
                    else None,
                    "manifest": plugin["manifest"],
                    "problems": problems,
                }
                for plugin, problems in details
            ],
            "conflicts": view.provenance["conflicts"],
        },
        "strict": strict,
        "ok": not failed,
    }
    return canonical_json(value) + b"\n"
