"""``record``: fingerprint the group's plugins in this environment and print the field."""

from __future__ import annotations

import argparse
import sys

from insidellms_provenance.cli._options import add_group, add_output, set_epilog

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    add_group(parser)
    set_epilog(
        parser,
        exit_codes="0 recorded; 2 bad input (an --output path that cannot be written). "
        "A plugin that fails to import or whose plugin_manifest() raises is recorded as a "
        "problem on that plugin, not an error.",
    )
    add_output(parser, "write the field to FILE instead of standard output")


def run(arguments: argparse.Namespace) -> int:
    """Record and write canonical JSON plus a newline."""
    from insidellms_provenance._canonical import canonical_json
    from insidellms_provenance.fingerprint._recorder import record_field

    if arguments.output is not None:
        from insidellms_provenance.runfile._embed import check_output

        check_output(arguments.output)  # before the plugins are imported, not after
    data = canonical_json(record_field(arguments.group, isolated=True)) + b"\n"
    if arguments.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        from pathlib import Path

        from insidellms_provenance.runfile._embed import atomic_write

        atomic_write(Path(arguments.output), data)
    return 0
