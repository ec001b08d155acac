"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
import re
import sys

from insidellms_provenance.field.schema import DEFAULT_GROUP

__all__ = ["add_format", "add_group", "terminal_safe", "write_output"]


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


# C0 and C1 control characters but newline, and the bidirectional overrides: recorded
# strings holding them could clear the screen or disguise text in a terminal.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` with control characters (but newlines) written as Python escapes."""
    return _UNSAFE.sub(lambda match: ascii(match.group(0))[1:-1], text)


def write_output(output: str | bytes) -> None:
    """Write a rendered result to stdout: bytes as they are (canonical JSON), or text."""
    if isinstance(output, bytes):
        sys.stdout.buffer.write(output)
    else:
        sys.stdout.write(output)
    sys.stdout.flush()
