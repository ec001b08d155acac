"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

from insidellms_provenance.field.schema import DEFAULT_GROUP

__all__ = [
    "ENVIRONMENT_HELP",
    "add_format",
    "add_group",
    "add_group_filter",
    "add_output",
    "add_quiet",
    "add_run",
    "set_epilog",
    "write_output",
]

# What the two environment switches do; shown by ``doctor --help`` and ``list --help``.
ENVIRONMENT_HELP = (
    "INSIDELLMS_PROVENANCE=off (or 0, false, no): the hook in insideLLMs runs records",
    "  nothing; runs then have no custom.plugin_provenance field.",
    "INSIDELLMS_DISABLE_PLUGINS=1 (or true, yes; case-sensitive, as insideLLMs reads it):",
    "  insideLLMs loads no plugin at all, this package's hook included, so runs have no",
    "  field, and 'record' marks every plugin 'disabled' without importing it.",
    "A run without the field means 'unknown', never 'no plugins'.",
    "INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT=SECONDS (default 300): commands that import",
    "  plugins do so in a child process; a plugin still importing after this long is",
    "  stopped and recorded as failed.",
)

_HELP_WIDTH = 79


def add_group(parser: argparse.ArgumentParser) -> None:
    """``--group``: the entry-point group (default ``insidellms.plugins``)."""
    parser.add_argument(
        "--group", default=DEFAULT_GROUP, help=f"entry-point group (default: {DEFAULT_GROUP})"
    )


def add_group_filter(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--group`` for readers: refuse fields of another group (default: accept any)."""
    parser.add_argument("--group", default=None, help=help_text)


def add_run(parser: argparse.ArgumentParser, help_text: str, *, optional: bool = False) -> None:
    """The positional ``RUN``: a run directory, its ``manifest.json`` or a record file."""
    parser.add_argument(
        "run", type=Path, nargs="?" if optional else None, metavar="RUN", help=help_text
    )


def add_output(parser: argparse.ArgumentParser, help_text: str, *, short: bool = True) -> None:
    """``--output FILE`` (and ``-o`` when ``short``)."""
    flags = ("--output", "-o") if short else ("--output",)
    parser.add_argument(*flags, type=Path, metavar="FILE", help=help_text)


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress line (shown only when stderr is a terminal)."""
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress line on stderr (shown only when stderr is a terminal)",
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


def set_epilog(
    parser: argparse.ArgumentParser,
    *,
    exit_codes: str,
    sections: Mapping[str, str | tuple[str, ...]] = {},
) -> None:
    """End ``--help`` with the command's exit codes and its rules, in full.

    Installed users have no ``docs/``, so what a selector or rule means is said here.
    A section given as a string is wrapped; one given as lines keeps them.
    """
    blocks = [
        *(
            (title, text if isinstance(text, str) else "\n".join(text))
            for title, text in sections.items()
        ),
        ("exit codes", exit_codes),
    ]
    parser.epilog = "\n\n".join(f"{title}:\n{_indent(text)}" for title, text in blocks)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def _indent(text: str) -> str:
    if "\n" in text:
        return textwrap.indent(text, "  ")
    return textwrap.fill(
        text, width=_HELP_WIDTH, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
    )
