"""``diff``: what changed in plugin provenance between two runs, for people and for CI."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from types import SimpleNamespace

from insidellms_provenance.cli._render import (
    change_lines,
    change_value,
    json_bytes,
    lines_text,
    markdown_cell,
    markdown_change_table,
    markdown_code,
    terminal_safe,
    write_output,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from insidellms_provenance.analyze._diff import DiffReport
    from insidellms_provenance.analyze._fail_on import FailOnPolicy

__all__ = [
    "DIFF_SCHEMA",
    "add_arguments",
    "path_text",
    "plain_arguments",
    "render_json",
    "render_markdown",
    "render_text",
    "run",
    "verdict_line",
]

DIFF_SCHEMA = "insidellms-provenance/diff/v1"


FORMATS = ("text", "json", "markdown")
COLOURS = ("auto", "always", "never")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options (:func:`plain_arguments` reads the common lines alike)."""
    from insidellms_provenance.analyze._fail_on import FAIL_ON_EXAMPLES, FAIL_ON_RULES
    from insidellms_provenance.cli._options import (
        StoreOnce,
        add_format,
        add_group_filter,
        set_epilog,
    )

    # Paths as pathlib writes them, without importing it (diff of small runs is start-up).
    parser.add_argument("before", type=_run_value, metavar="RUN1", help="the earlier run")
    parser.add_argument("after", type=_run_value, metavar="RUN2", help="the later run")
    add_group_filter(
        parser, "refuse fields recorded for another entry-point group (default: accept any)"
    )
    add_format(parser, FORMATS)
    parser.add_argument(
        "--fail-on",
        action=StoreOnce.with_hint("; combine selectors with commas"),
        metavar="POLICY",
        help="which changes make the exit code 1 (default: any; rules and examples below)",
    )
    parser.add_argument(
        "--color",
        choices=COLOURS,
        default=COLOURS[0],
        help="colour text output (auto: only on a terminal and without NO_COLOR)",
    )
    set_epilog(
        parser,
        exit_codes="0 no change selected by --fail-on; 1 a selected change; "
        "2 bad input (unreadable or invalid run, unknown selector, --group mismatch)",
        sections={"--fail-on POLICY": lambda: _fail_on_help(FAIL_ON_RULES, FAIL_ON_EXAMPLES)},
    )


_CHOICES: dict[str, tuple[str, ...] | None] = {
    "--group": None,
    "--format": FORMATS,
    "--fail-on": None,
    "--color": COLOURS,
}


def plain_arguments(words: Sequence[str]) -> SimpleNamespace | None:
    """The arguments of a plain ``diff`` command line as argparse parses them, or ``None``.

    Plain: two runs that are not empty and do not start with ``-``, and this command's
    options spelt in full, each at most once, with a value argparse would take
    (``--format json`` or ``--format=json``). Anything else (help, an abbreviation,
    ``--``, a value starting with ``-`` after a space, a choice argparse would refuse, an
    empty run it refuses) is ``None``, left to argparse, whose import and parser cost
    more than a small ``diff``. The values are
    argparse's (``tests/test_cli_diff.py`` compares the two on generated command lines).
    """
    runs: list[str] = []
    given: dict[str, str] = {}
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("-"):
            runs.append(word)
            continue
        name, equals, value = word.partition("=")
        if name not in _CHOICES or name in given:
            return None
        if not equals:
            if index == len(words) or words[index].startswith("-"):
                return None
            value = words[index]
            index += 1
        choices = _CHOICES[name]
        if choices is not None and value not in choices:
            return None
        given[name] = value
    if len(runs) != 2 or not all(runs):  # RUN1 and RUN2, each naming a file
        return None
    return SimpleNamespace(
        before=path_text(runs[0]),
        after=path_text(runs[1]),
        group=given.get("--group"),
        format=given.get("--format", FORMATS[0]),
        fail_on=given.get("--fail-on"),
        color=given.get("--color", COLOURS[0]),
    )


def path_text(text: str) -> str:
    """``str(pathlib.Path(text))``, without importing pathlib (about 4 ms of start-up).

    The same text, so messages name a path as other commands do: empty and ``.``
    components and repeated slashes go, a leading ``//`` (and only two) stays.
    """
    root = ""
    if text.startswith("/"):
        root = "//" if text.startswith("//") and not text.startswith("///") else "/"
    parts = [part for part in text.split("/") if part and part != "."]
    return root + "/".join(parts) if root or parts else "."


def _run_value(text: str) -> str:
    """A run argument's value: :func:`path_text` of it, if it names a file at all."""
    from insidellms_provenance.cli._options import named_path

    return path_text(named_path(text))


def _fail_on_help(
    rules: Sequence[tuple[str, str, str]], examples: Sequence[tuple[str, str]]
) -> str:
    """The selectors and examples as a pre-wrapped block for ``--help``."""
    lines = [
        "Comma-separated selectors; '-name' excludes. A change makes the exit code 1",
        "when an included selector matches it and no excluded one does. With only",
        "exclusions, 'any' is implied. '--fail-on -low' and '--fail-on=-low' both work.",
    ]
    for names, included, excluded in rules:
        lines += _wrap(names, "  ", "  ")
        lines += _wrap(f"included: {included}", "    ", "      ")
        lines += _wrap(f"excluded: {excluded}", "    ", "      ")
    width = max(len(policy) for policy, _ in examples)
    lines.append("Examples:")
    lines += [f"  {policy.ljust(width)}  fails on {meaning}" for policy, meaning in examples]
    return "\n".join(lines)


def _wrap(text: str, first: str, rest: str) -> list[str]:
    import textwrap

    return textwrap.wrap(
        text, 78, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


def run(arguments: argparse.Namespace | SimpleNamespace) -> int:
    """Compare, print in the chosen format, exit 1 if the policy selects any change."""
    # Parsed JSON is acyclic, and the cyclic collector would rescan hundreds of
    # thousands of its objects again and again while the indexes are built (measured:
    # most of diff's own time on 10,000 plugins), and the modules imported below leave
    # little to collect either. Reference counting still frees memory. Enabled again
    # after, for a caller that goes on (the tests call main() many times a process).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _compare(arguments)
    finally:
        if enabled:
            gc.enable()


def _compare(arguments: argparse.Namespace | SimpleNamespace) -> int:
    """:func:`run`'s work, done while the cyclic collector is off."""
    from insidellms_provenance.analyze._diff import diff_fields
    from insidellms_provenance.analyze._fail_on import parse_fail_on
    from insidellms_provenance.errors import InvalidFieldError, ProvenanceError
    from insidellms_provenance.field._read import require_group
    from insidellms_provenance.runfile._read import load_field_pair

    # Given twice, --fail-on was refused by argparse (StoreOnce): "last one wins" would
    # silently drop a CI config's first policy.
    fail_on: str = "any" if arguments.fail_on is None else arguments.fail_on
    try:
        policy = parse_fail_on(fail_on)
    except ValueError as error:
        raise ProvenanceError(str(error)) from None
    # One parsed field at a time: peak memory is about one field's (load_field_pair).
    (before, before_where), (after, after_where) = load_field_pair(
        arguments.before, arguments.after
    )
    for value, where in ((before, before_where), (after, after_where)):
        require_group(value, where=where, group=arguments.group)
    try:
        report = diff_fields(before, after)
    except (KeyError, TypeError, ValueError) as error:
        # A plugin whose JSON differs between the sides failed to structure.
        raise InvalidFieldError(f"a provenance field is malformed: {error}") from None
    from insidellms_provenance.analyze._fail_on import selected_changes

    selected = len(selected_changes(report, policy))
    if arguments.format == "json":
        write_output(render_json(report, fail_on, failed=bool(selected)))
    elif arguments.format == "markdown":
        write_output(terminal_safe(render_markdown(report, policy, selected=selected)))
    else:
        colour = _use_colour(arguments.color)
        text = render_text(report, policy, selected=selected, colour=colour)
        # Colours come from change_lines only; every recorded string is escaped there.
        write_output(text if colour else terminal_safe(text))
    return 1 if selected else 0


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


def verdict_line(report: DiffReport, policy: FailOnPolicy, *, selected: int) -> str:
    """The last line: the policy, whether it failed, and how many changes it selected."""
    total = len(report.changes)
    verdict = "FAILED" if selected else "passed"
    counted = (
        "nothing changed"
        if not total
        else f"{selected} of {total} change{'' if total == 1 else 's'} selected"
    )
    return f"--fail-on {policy.text}: {verdict} ({counted}; exit {1 if selected else 0})"


def render_text(
    report: DiffReport, policy: FailOnPolicy, *, selected: int, colour: bool = False
) -> str:
    """One aligned line per change, grouped by plugin, most severe first; then the verdict."""
    verdict = verdict_line(report, policy, selected=selected)
    if report.identical:
        return f"identical: plugin provenance digests match ({report.after_digest})\n{verdict}\n"
    lines = [
        f"group {terminal_safe(report.group)}: {_counts(report)}",
        f"  before {report.before_digest}",
        f"  after  {report.after_digest}",
    ]
    body = change_lines(report.changes, colour=colour)
    body += [f"note: {note}" for note in report.notes]
    lines += ["", *body] if body else []
    lines += ["", verdict]
    return lines_text(lines)


def render_markdown(report: DiffReport, policy: FailOnPolicy, *, selected: int) -> str:
    """A table for a pull-request comment or a CI job summary; then the verdict.

    Every recorded string goes through ``markdown_code`` or ``markdown_cell``: none can
    end its code span or cell, or write markdown of its own (a bold verdict, a link).
    """
    verdict_text = verdict_line(report, policy, selected=selected)
    verdict = f"**Verdict:** {markdown_code(verdict_text, in_table=False)}"
    digests = [
        markdown_code(d, in_table=False) for d in (report.before_digest, report.after_digest)
    ]
    if report.identical:
        return f"**Plugin provenance: identical** ({digests[1]})\n\n{verdict}\n"
    lines = [
        f"### Plugin provenance: {_counts(report)}",
        "",
        f"Group {markdown_code(report.group, in_table=False)}: {digests[0]} → {digests[1]}",
        "",
        *(markdown_change_table(report.changes) if report.changes else []),
        *(f"> Note: {markdown_cell(note)}" for note in report.notes),
        "",
        verdict,
    ]
    return lines_text(lines).rstrip("\n") + "\n"


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
        "notes": list(report.notes),
    }
    return json_bytes(value)
