"""``doctor``: the plugins, their declared capabilities, and what strict mode would fail."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from insidellms_provenance.cli._options import (
    ENVIRONMENT_HELP,
    add_format,
    add_group,
    set_epilog,
)
from insidellms_provenance.cli._render import (
    conflict_line,
    json_bytes,
    lines_text,
    text_table,
    write_output,
)

if TYPE_CHECKING:
    from insidellms_provenance.field.schema import PluginFingerprint
    from insidellms_provenance.host._inspect import HostView

_Details = list[tuple["PluginFingerprint", list[str]]]

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    add_group(parser)
    set_epilog(
        parser,
        sections={"environment": ENVIRONMENT_HELP},
        exit_codes="0 reported (problems are warnings); 1 with --strict-plugins, a plugin "
        "has a problem or could not be checked; 2 bad input (insideLLMs failed to import).",
    )
    parser.add_argument(
        "--strict-plugins",
        action="store_true",
        help="exit 1 on any problem (default: warn only; missing or incomplete plugin "
        "manifests are warnings in insideLLMs' plugin manifest proposal, strict is opt-in)",
    )
    add_format(parser, ("text", "json"))


def run(arguments: argparse.Namespace) -> int:
    """Load the plugins as the host would, report, and apply strict mode."""
    from insidellms_provenance.host._inspect import load_host, plugin_problems

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
        from insidellms_provenance.cli._render import terminal_safe

        write_output(terminal_safe(_text(arguments.group, view, details)))
    return 1 if failed else 0


def _environment_notes(group: str) -> list[str]:
    """What the environment switches that are set mean for this report (none: nothing)."""
    from insidellms_provenance.fingerprint._loader import HOST_DISABLE_VARIABLE, plugins_disabled
    from insidellms_provenance.host.plugin import HOOK_VARIABLE, hook_switched_off

    notes = []
    if hook_switched_off():
        notes.append(
            f"{HOOK_VARIABLE}={os.environ[HOOK_VARIABLE]}: the hook is off; insideLLMs runs "
            "record no plugin provenance"
        )
    if plugins_disabled(group):
        notes.append(
            f"{HOST_DISABLE_VARIABLE}={os.environ[HOST_DISABLE_VARIABLE]}: insideLLMs loads "
            "no plugin, this hook included, so runs have no provenance field; no plugin was "
            "imported and no manifest was read"
        )
    return notes


def _capabilities(plugin: PluginFingerprint) -> str:
    caps = plugin["manifest"]["capabilities"]
    if caps is None:
        return "-"
    return f"{len(caps['models'])}m {len(caps['probes'])}p {len(caps['datasets'])}d"


def _text(group: str, view: HostView, details: _Details) -> str:
    host = f"insideLLMs {view.host_version}" if view.host_version else "insideLLMs not installed"
    lines = [f"doctor: group {group}, {len(details)} plugin(s), {host}"]
    lines += [f"environment: {note}" for note in _environment_notes(group)]
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
                    "not read"
                    if plugin["load"]["status"] == "disabled"
                    else plugin["manifest"]["status"],
                    _capabilities(plugin),
                    level or "-",
                )
            )
        lines.append("")
        lines += text_table(rows, rstrip=True)
    notes = [
        f"warning: {plugin['entry_point']['name']}: {problem}"
        for plugin, problems in details
        for problem in problems
    ]
    notes += [conflict_line(conflict) for conflict in view.provenance["conflicts"]]
    if notes:
        lines += ["", *notes]
    return lines_text(lines)


def _json(group: str, view: HostView, details: _Details, *, strict: bool, failed: bool) -> bytes:
    from insidellms_provenance.fingerprint._discover import discover
    from insidellms_provenance.fingerprint._loader import HOST_DISABLE_VARIABLE

    # The host's doctor lower-cases the variable (its loader does not).
    disabled = os.environ.get(HOST_DISABLE_VARIABLE, "").strip().lower() in (
        "1",
        "true",
        "yes",
    )
    discovered = sorted(
        # Not importlib's entry_points(): it blocks on a FIFO entry_points.txt.
        ({"name": ep.name, "value": ep.value} for ep in discover(group, include_own=True)),
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
    return json_bytes(value)
