"""``audit``: plugin provenance across many runs, as JSON lines and a summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    parser.add_argument(
        "roots",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="directories to search for runs (recursively)",
    )
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="FILE",
        help="write the JSON lines to FILE (the summary then goes to stdout)",
    )
    parser.add_argument(
        "--deps",
        action="store_true",
        help="follow each plugin's line with one line per dependency in its closure",
    )


def run(arguments: argparse.Namespace) -> int:
    """Stream the lines, then print the summary (stderr when lines go to stdout)."""
    from insidellms_provenance.analyze.audit import AuditSummary, audit_runs, find_runs
    from insidellms_provenance.errors import ProvenanceError

    for root in arguments.roots:
        if not root.is_dir():
            raise ProvenanceError(f"{root}: not a directory")
    summary = AuditSummary()
    progress = sys.stderr.isatty()
    if arguments.output is not None:
        try:
            sink = arguments.output.open("wb")
        except OSError as error:
            raise ProvenanceError(f"{arguments.output}: cannot write: {error.strerror}") from None
    else:
        sink = sys.stdout.buffer
    try:
        for line in audit_runs(find_runs(arguments.roots), summary, dependencies=arguments.deps):
            sink.write(line)
            if progress and summary.runs % 100 == 0:
                sys.stderr.write(f"\raudited {summary.runs} runs")
                sys.stderr.flush()
    finally:
        if sink is not sys.stdout.buffer:
            sink.close()
        else:
            sink.flush()
    if progress:
        sys.stderr.write("\r\x1b[K")
    report = sys.stdout if arguments.output is not None else sys.stderr
    report.write(summary.render())
    report.flush()
    return 0
