"""``show``: render a provenance field as a readable table, with its warnings underneath."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from insidellms_provenance.cli._options import add_format, add_group_filter, add_run, set_epilog
from insidellms_provenance.cli._render import conflict_line, lines_text, text_table, write_output

if TYPE_CHECKING:
    from insidellms_provenance.field.schema import PluginFingerprint, Provenance, Source

__all__ = ["add_arguments", "render_show", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    add_run(parser, "run directory, manifest.json or file written by 'record'")
    add_group_filter(
        parser, "refuse a field recorded for another entry-point group (default: accept any)"
    )
    parser.add_argument(
        "--deps",
        action="store_true",
        help="list each plugin's dependency closure (text format)",
    )
    add_format(parser, ("text", "json"))
    set_epilog(
        parser,
        exit_codes="0 shown; 2 bad input (no such file, invalid JSON, no provenance field, "
        "an unknown schema, a digest that does not match, a --group mismatch).",
    )


def run(arguments: argparse.Namespace) -> int:
    """Read the field (never importing plugin code) and print it."""
    from insidellms_provenance.field._read import require_group
    from insidellms_provenance.runfile._read import load_provenance

    provenance, _ = load_provenance(arguments.run)
    require_group(provenance, where=str(arguments.run), group=arguments.group)
    if arguments.format == "json":
        from insidellms_provenance.field._build import field_bytes

        write_output(field_bytes(provenance) + b"\n")
    else:
        from insidellms_provenance.cli._render import terminal_safe

        write_output(terminal_safe(render_show(provenance, dependencies=arguments.deps)))
    return 0


_HEADERS = ("PLUGIN", "DISTRIBUTION", "VERSION", "SOURCE", "DETERMINISM", "LOAD")


def render_show(provenance: Provenance, *, dependencies: bool = False) -> str:
    """One row per plugin in load order, then one line per problem worth a look.

    With ``dependencies``, each plugin's closure follows the table, as ``name version``.
    """
    plugins = provenance["plugins"]
    count = len(plugins)
    plural = "" if count == 1 else "s"
    lines = [f"group {provenance['group']}: {count} plugin{plural}, digest {provenance['digest']}"]
    if plugins:
        lines.append("")
        lines += text_table([_HEADERS, *(_row(plugin) for plugin in plugins)], rstrip=True)
    notes = [note for plugin in plugins for note in _notes(plugin)]
    notes += [conflict_line(conflict) for conflict in provenance["conflicts"]]
    if notes:
        lines += ["", *notes]
    if dependencies:
        lines += ["", *_closure_lines(provenance)]
    return lines_text(lines)


def _closure_lines(provenance: Provenance) -> list[str]:
    """``plugin: lib-a 1.0.0, lib-b 2.0.0`` for every plugin, in load order."""
    table = provenance.get("dependencies")
    if table is None:
        return ["dependencies: not recorded (the field predates dependency closures)"]
    lines = ["dependencies:"]
    for plugin in provenance["plugins"]:
        names = plugin.get("dependencies") or []
        described = []
        for name in names:
            entry = table.get(name)
            described.append(f"{name} {entry['distribution']['version']}" if entry else name)
        lines.append(f"  {plugin['entry_point']['name']}: {', '.join(described) or 'none'}")
    return lines


def _row(plugin: PluginFingerprint) -> tuple[str, str, str, str, str, str]:
    dist = plugin["distribution"]
    manifest = plugin["manifest"]
    level = manifest["determinism"]["class"] if manifest["determinism"] else None
    if manifest["status"] == "ok" and level:
        determinism = level
    elif level:
        determinism = f"{level} ({manifest['status']} manifest)"
    else:
        determinism = f"- ({manifest['status']} manifest)"
    load: str = plugin["load"]["status"]
    if plugin["load"]["error_type"]:
        load = f"{load}: {plugin['load']['error_type']}"
    return (
        plugin["entry_point"]["name"],
        dist["name"] if dist else "-",
        dist["version"] if dist else "-",
        _source(plugin["source"]),
        determinism,
        load,
    )


def _source(source: Source | None) -> str:
    if source is None:
        return "-"
    where = source["local_name"] or source["url"] or ""
    if source["kind"] == "vcs":
        commit = (source["commit"] or "")[:12]
        vcs = source["vcs"] or "vcs"
        return f"{vcs}@{commit}" if commit else vcs
    if source["editable"]:
        return f"editable {where}".rstrip()
    if source["kind"] in ("archive", "directory"):
        return f"{source['kind']} {where}".rstrip()
    return source["kind"]


def _notes(plugin: PluginFingerprint) -> list[str]:
    name = plugin["entry_point"]["name"]
    load, origin = plugin["load"], plugin["origin"]
    notes = []
    if load["status"] in ("failed", "skipped") and load["error_message"]:
        notes.append(f"{name}: load {load['status']}: {load['error_message']}")
    if origin["status"] == "shadowed":
        notes.append(
            f"{name}: module {plugin['entry_point']['value'].partition(':')[0]} was imported "
            "from outside its distribution (shadowed)"
        )
    if origin["duplicate_versions"]:
        versions = ", ".join(origin["duplicate_versions"])
        notes.append(f"{name}: several copies of the distribution are installed ({versions})")
    dist = plugin["distribution"]
    if dist:
        integrity = dist["integrity"]
        if integrity is not None and integrity["status"] != "verified":
            paths = f": {', '.join(integrity['paths'])}" if integrity["paths"] else ""
            notes.append(f"{name}: installed files {integrity['status']}{paths}")
        notes += [f"{name}: distribution: {problem}" for problem in dist["problems"]]
    if plugin["source"]:
        notes += [f"{name}: source: {problem}" for problem in plugin["source"]["problems"]]
    notes += [f"{name}: manifest: {problem}" for problem in plugin["manifest"]["problems"]]
    if plugin.get("unsatisfied"):
        from insidellms_provenance.analyze._dependency_diff import unsatisfied_text

        notes += [f"{name}: unsatisfied {unsatisfied_text(u)}" for u in plugin["unsatisfied"]]
    from insidellms_provenance.analyze._declared import registration_gaps

    notes += [f"{name}: {gap}" for gap in registration_gaps(plugin)]
    return notes
