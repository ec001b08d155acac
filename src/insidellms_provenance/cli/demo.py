"""``demo``: record, embed and show on a built-in example, with no insideLLMs installed."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    parser.add_argument(
        "directory",
        type=Path,
        nargs="?",
        metavar="DIR",
        help="where to put the example (default: a new temporary directory)",
    )


def run(arguments: argparse.Namespace) -> int:
    """Build the example in DIR and walk through the three commands."""
    import tempfile

    from insidellms_provenance.demo import run_demo

    directory = arguments.directory or Path(tempfile.mkdtemp(prefix="insidellms-provenance-demo-"))
    return run_demo(directory)
