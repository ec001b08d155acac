"""``list``: every registry key and where it came from (builtin or which plugin)."""

from __future__ import annotations

import argparse

from insidellms_provenance.cli._options import (
    ENVIRONMENT_HELP,
    add_format,
    add_group,
    set_epilog,
)
from insidellms_provenance.cli._render import json_bytes, terminal_safe, text_table, write_output
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
    set_epilog(
        parser,
        sections={"environment": ENVIRONMENT_HELP},
        exit_codes="0 listed; 2 insideLLMs is not installed or failed to import.",
    )
    add_format(parser, ("text", "json"))


def _unobserved_owner(group: str) -> str:
    """What is true of a key the hook did not see registered."""
    import os

    from insidellms_provenance.fingerprint._loader import HOST_DISABLE_VARIABLE, plugins_disabled
    from insidellms_provenance.host.plugin import HOOK_VARIABLE, hook_switched_off

    if plugins_disabled(group):
        # The host loaded no plugin, so every key it has is its own.
        return f"builtin (no plugin loaded: {HOST_DISABLE_VARIABLE} is set)"
    if hook_switched_off():
        return f"unknown (the hook is off: {HOOK_VARIABLE}={os.environ[HOOK_VARIABLE]})"
    return "unknown"


def run(arguments: argparse.Namespace) -> int:
    """Import insideLLMs (plugins load through the hook) and attribute every key."""
    from insidellms_provenance.errors import ProvenanceError
    from insidellms_provenance.host._inspect import load_host

    view = load_host(arguments.group)
    if view.registries is None:
        raise ProvenanceError("insideLLMs is not installed: 'list' reads the host's registries")
    plugins = {p["entry_point"]["name"]: p for p in view.provenance["plugins"]}
    unobserved = _unobserved_owner(arguments.group)
    rows = []
    for kind, names in view.registries.items():
        if arguments.kind not in (None, kind):
            continue
        for name in names:
            owner = view.owners.get((kind, name), unobserved)
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
        value = [{"kind": k, "key": n, "source": s} for k, n, s in rows]
        write_output(json_bytes(value))
        return 0
    text = "\n".join(text_table([("KIND", "KEY", "SOURCE"), *rows])) + "\n"
    write_output(terminal_safe(text))
    return 0
