"""``list``: every registry key and where it came from (builtin or which plugin)."""

from __future__ import annotations

import argparse

from insidellms_provenance.cli.options import add_format, add_group, write_output
from insidellms_provenance.field.schema import REGISTRY_KINDS

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    parser.add_argument(
        "kind",
        nargs="?",
        choices=REGISTRY_KINDS,
        help="only this registry (default: all three)",
    )
    add_group(parser)
    add_format(parser, ("text", "json"))


def run(arguments: argparse.Namespace) -> int:
    """Import insideLLMs (plugins load through the hook) and attribute every key."""
    from insidellms_provenance.errors import ProvenanceError
    from insidellms_provenance.host.inspect import load_host

    view = load_host(arguments.group)
    if view.registries is None:
        raise ProvenanceError("insideLLMs is not installed: 'list' reads the host's registries")
    plugins = {p["entry_point"]["name"]: p for p in view.provenance["plugins"]}
    rows = []
    for kind, names in view.registries.items():
        if arguments.kind not in (None, kind):
            continue
        for name in names:
            owner = view.owners.get((kind, name), "unknown")
            plugin = plugins.get(owner)
            dist = plugin["distribution"] if plugin else None
            source = (
                owner
                if plugin is None
                else (
                    f"plugin {owner} ({plugin['entry_point']['value']}; "
                    f"{dist['name'] if dist else '?'} {dist['version'] if dist else '?'})"
                )
            )
            rows.append((kind, name, source))
    if arguments.format == "json":
        from insidellms_provenance.canonical import canonical_json

        value = [{"kind": k, "key": n, "source": s} for k, n, s in rows]
        write_output(canonical_json(value) + b"\n")
        return 0
    width_kind = max([len("KIND"), *(len(k) for k, _, _ in rows)])
    width_key = max([len("KEY"), *(len(n) for _, n, _ in rows)])
    lines = [f"{'KIND'.ljust(width_kind)}  {'KEY'.ljust(width_key)}  SOURCE"]
    lines += [f"{k.ljust(width_kind)}  {n.ljust(width_key)}  {s}" for k, n, s in rows]
    write_output("\n".join(lines) + "\n")
    return 0
