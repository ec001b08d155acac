"""Options shared by several subcommands."""

from __future__ import annotations

import argparse

from insidellms_provenance.model import DEFAULT_GROUP

__all__ = ["add_format", "add_group"]


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
