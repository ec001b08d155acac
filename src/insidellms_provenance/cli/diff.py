"""``diff``: what changed in plugin provenance between two runs, for people and for CI."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from insidellms_provenance.cli.options import add_format
from insidellms_provenance.cli.render import (
    change_lines,
    change_value,
    json_bytes,
    markdown_change_table,
)

if TYPE_CHECKING:
    from insidellms_provenance.analyze.diff import DiffReport

__all__ = [
    "DIFF_SCHEMA",
    "add_arguments",
    "render_json",
    "render_markdown",
    "render_text",
    "run",
]

DIFF_SCHEMA = "insidellms-provenance/diff/v1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    parser.add_argument("before", type=Path, metavar="RUN1", help="the earlier run")
    parser.add_argument("after", type=Path, metavar="RUN2", help="the later run")
    parser.add_argument(
        "--group",
        default=None,
        help="refuse fields recorded for another entry-point group (default: accept any)",
    )
    add_format(parser, ("text", "json", "markdown"))
    parser.add_argument(
        "--fail-on",
        default="any",
        metavar="POLICY",
        help="comma-separated change selectors that make the exit code 1 "
        "(default: any; '-name' excludes; see docs/diff.md)",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour text output (auto: only on a terminal and without NO_COLOR)",
    )


def run(arguments: argparse.Namespace) -> int:
    """Compare, print in the chosen format, exit 1 if the policy selects any change."""
    from insidellms_provenance.analyze.diff import diff_fields, parse_policy, policy_fails
    from insidellms_provenance.errors import InvalidFieldError, ProvenanceError
    from insidellms_provenance.runfile.read import load_field_value

    try:
        policy = parse_policy(arguments.fail_on)
    except ValueError as error:
        raise ProvenanceError(str(error)) from None
    # Parsed JSON is acyclic, and the cyclic collector would rescan hundreds of
    # thousands of its objects again and again while the indexes are built (measured:
    # most of diff's own time on 10,000 plugins). Reference counting still frees memory.
    gc.disable()
    before, before_where = load_field_value(arguments.before)
    after, after_where = load_field_value(arguments.after)
    for value, where in ((before, before_where), (after, after_where)):
        if arguments.group is not None and value.get("group") != arguments.group:
            message = f"{where}: recorded for group {value.get('group')!r}, not {arguments.group!r}"
            raise InvalidFieldError(message)
    try:
        report = diff_fields(before, after)
    except (KeyError, TypeError, ValueError) as error:
        # A plugin whose JSON differs between the sides failed to structure.
        raise InvalidFieldError(f"a provenance field is malformed: {error}") from None
    failed = policy_fails(report, policy)
    if arguments.format == "json":
        sys.stdout.buffer.write(render_json(report, arguments.fail_on, failed=failed))
    elif arguments.format == "markdown":
        sys.stdout.write(render_markdown(report))
    else:
        sys.stdout.write(render_text(report, colour=_use_colour(arguments.color)))
    sys.stdout.flush()
    return 1 if failed else 0


def _use_colour(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _counts(report: DiffReport) -> str:
    plugins = len({change.plugin for change in report.changes})
    changes = len(report.changes)
    return (
        f"{changes} change{'' if changes == 1 else 's'} in "
        f"{plugins} plugin{'' if plugins == 1 else 's'}"
    )


def render_text(report: DiffReport, *, colour: bool = False) -> str:
    """One aligned line per change, grouped by plugin, most severe first."""
    if report.identical:
        return f"identical: plugin provenance digests match ({report.after_digest})\n"
    lines = [
        f"group {report.group}: {_counts(report)}",
        f"  before {report.before_digest}",
        f"  after  {report.after_digest}",
        "",
    ]
    lines += change_lines(report.changes, colour=colour)
    return "\n".join(lines) + "\n"


def render_markdown(report: DiffReport) -> str:
    """A table for a pull-request comment or a CI job summary."""
    if report.identical:
        return f"**Plugin provenance: identical** (`{report.after_digest}`)\n"
    lines = [
        f"### Plugin provenance: {_counts(report)}",
        "",
        f"Group `{report.group}`: `{report.before_digest}` → `{report.after_digest}`",
        "",
        *markdown_change_table(report.changes),
    ]
    return "\n".join(lines) + "\n"


def render_json(report: DiffReport, fail_on: str, *, failed: bool) -> bytes:
    """Canonical JSON (docs/diff-report.schema.json), one line."""
    counts = dict.fromkeys(("critical", "high", "medium", "low"), 0)
    for change in report.changes:
        counts[change.severity] += 1
    value = {
        "schema": DIFF_SCHEMA,
        "group": report.group,
        "identical": report.identical,
        "before": {"digest": report.before_digest},
        "after": {"digest": report.after_digest},
        "summary": counts,
        "policy": {"fail_on": fail_on, "failed": failed},
        "changes": [change_value(change) for change in report.changes],
    }
    return json_bytes(value)
