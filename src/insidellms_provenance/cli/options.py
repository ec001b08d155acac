"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
import sys

from insidellms_provenance.field.schema import DEFAULT_GROUP

__all__ = ["add_format", "add_group", "write_output"]


def add_group(parser: argparse.ArgumentParser) -> None:
    """``--group``: the entry-point group (default ``insidellms.plugins``)."""
    parser.add_argument(
        "--group", default=DEFAULT_GROUP, help=f"entry-point group (default: {DEFAULT_GROUP})"
    )


def add_format(parser: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    """``--format``: how results are printed (the first choice is the default)."""
    parser.add_argument(
        "--format",
        choices=choices,
        default=choices[0],
        help=f"output format (default: {choices[0]})",
    )


def write_output(output: str | bytes) -> None:
    """Write a rendered result to stdout: bytes as they are (canonical JSON), or text."""
    if isinstance(output, bytes):
        sys.stdout.buffer.write(output)
    else:
        sys.stdout.write(output)
    sys.stdout.flush()
