"""Parse arguments, run one command, map errors to exit codes (0 ok, 1 problem, 2 bad input).

Each subcommand is a module ``cli/<name>.py`` with ``HELP``, ``add_arguments(parser)``
and ``run(arguments) -> int``; modules import their heavy dependencies inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "EXIT_BAD_INPUT", "EXIT_OK", "EXIT_PROBLEM", "build_parser", "main"]

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_BAD_INPUT = 2
PROG = "insidellms-provenance"
COMMANDS = (
    "demo",
    "record",
    "embed",
    "show",
    "diff",
    "verify",
    "check",
    "audit",
    "doctor",
    "list",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    from insidellms_provenance import __version__

    parser = argparse.ArgumentParser(
        prog=PROG, description="Record, show and compare which plugin code produced a run."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"insidellms_provenance.cli.{name}")
        command = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    from insidellms_provenance.errors import ProvenanceError

    arguments = build_parser().parse_args(argv)
    try:
        code: int = arguments.handler(arguments)
    except ProvenanceError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into ``head`` and the like: stop quietly, as diff(1) does.
        sys.stderr.close()
        return EXIT_PROBLEM
    return code
