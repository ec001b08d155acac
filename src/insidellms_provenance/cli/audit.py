"""``audit``: plugin provenance across many runs, as JSON lines and a summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from insidellms_provenance.cli.options import set_epilog

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
        "--group",
        default=None,
        help="audit only fields recorded for this entry-point group; runs whose field "
        "is for another group are counted as without provenance (default: accept any)",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="audit only shard I of N (1 <= I <= N): the runs whose path relative to its "
        "DIR hashes to I, the same on every machine; the N shards' lines together are the "
        "whole audit's lines",
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress line on stderr (shown only when stderr is a terminal)",
    )
    set_epilog(
        parser,
        exit_codes="0 audited (runs without a readable field are counted and listed in "
        "the summary, not errors); 2 bad input (a DIR that is not a directory, an "
        "--output path that cannot be written).",
    )


def run(arguments: argparse.Namespace) -> int:
    """Stream the lines, then print the summary (stderr when lines go to stdout)."""
    from insidellms_provenance.analyze.audit import (
        AuditSummary,
        audit_runs,
        find_runs,
        parse_shard,
    )
    from insidellms_provenance.errors import ProvenanceError

    shard = None
    if arguments.shard is not None:
        try:
            shard = parse_shard(arguments.shard)
        except ValueError as error:
            raise ProvenanceError(str(error)) from None

    for root in arguments.roots:
        if not root.is_dir():
            raise ProvenanceError(f"{root}: not a directory")
    from insidellms_provenance.cli.progress import Progress

    summary = AuditSummary()
    progress = Progress.for_terminal("audited", "runs", quiet=arguments.quiet)
    if arguments.output is not None:
        try:
            sink = arguments.output.open("wb")
        except OSError as error:
            raise ProvenanceError(f"{arguments.output}: cannot write: {error.strerror}") from None
    else:
        sink = sys.stdout.buffer
    try:
        for line in audit_runs(find_runs(arguments.roots, shard), summary, group=arguments.group):
            sink.write(line)
            progress.update(summary.runs, summary.current)
    finally:
        if sink is not sys.stdout.buffer:
            sink.close()
        else:
            sink.flush()
    progress.close()
    report = sys.stdout if arguments.output is not None else sys.stderr
    report.write(summary.render())
    report.flush()
    return 0
