"""``verify``: installed plugin files against RECORD, and this environment against a run."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from insidellms_provenance.cli._options import (
    add_format,
    add_group,
    add_quiet,
    add_run,
    group_to_record,
    path_value,
    set_epilog,
)
from insidellms_provenance.cli._render import (
    change_lines,
    change_value,
    json_bytes,
    lines_text,
    markdown_cell,
    markdown_change_table,
    markdown_code,
    markdown_table,
    text_table,
    write_output,
)

if TYPE_CHECKING:
    from insidellms_provenance.analyze._diff import DiffReport
    from insidellms_provenance.analyze._verify import Finding

__all__ = ["VERIFY_SCHEMA", "add_arguments", "render", "run"]

VERIFY_SCHEMA = "insidellms-provenance/verify/v1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    add_run(
        parser,
        "a recorded run (run dir, manifest.json or record file) to compare with",
        optional=True,
    )
    add_group(parser, or_run=True)
    set_epilog(
        parser,
        exit_codes="0 every checked file matches its RECORD row (and, with RUN, this "
        "environment has the run's plugins); 1 a modified, missing or unexpected file, a "
        "refused path, or a difference from RUN; with --wheels DIR: 0 every distribution "
        "of RUN (its plugins' and their dependencies') has a wheel whose contents match "
        "exactly, 1 otherwise (silent rebuilds and missing wheels named); 2 bad input "
        "(unreadable RUN, DIR not a directory).",
    )
    parser.add_argument(
        "--wheels",
        type=path_value,
        metavar="DIR",
        help="compare the run's plugins and their dependencies with these wheel files "
        "instead of this environment",
    )
    parser.add_argument(
        "--all", action="store_true", help="verify every installed distribution, not only plugins"
    )
    add_format(parser, ("text", "json", "markdown"))
    add_quiet(parser)


def run(arguments: argparse.Namespace) -> int:
    """Verify; exit 1 when anything is wrong."""
    from insidellms_provenance.analyze._verify import (
        VerifyTarget,
        run_reproducibility,
        target_of,
        verify_checked,
    )
    from insidellms_provenance.fingerprint._discover import (
        discover,
        metadata_directories,
    )

    if arguments.wheels is not None:
        from insidellms_provenance.cli._matches import run_matches

        return run_matches(arguments)
    report = None
    dependencies: list[str] = []  # the run's dependencies: verified as its plugins are
    if arguments.run is not None:
        from insidellms_provenance.field._read import read_field, require_group
        from insidellms_provenance.runfile._read import load_field_value

        value, where = load_field_value(arguments.run)
        recorded = read_field(value, where=where)  # refuse a malformed field before comparing
        require_group(recorded, where=where, group=arguments.group)
        report, dependencies = run_reproducibility(recorded)
        group = recorded["group"]
    else:
        group = group_to_record(arguments)
    targets: list[VerifyTarget | str]
    # Metadata directories found by listing sys.path, described where they are verified
    # (without --all, their entry points read there too: in the pool when there are many).
    directories = metadata_directories()
    declaring = None if arguments.all else group
    if directories is not None:
        targets = list(directories)
    elif arguments.all:
        from importlib import metadata

        from insidellms_provenance.fingerprint._discover import versions_key

        seen: dict[str, metadata.Distribution] = {}
        for dist in metadata.distributions():
            # Keyed by the directory name: reading METADATA here could block on a FIFO.
            seen.setdefault(versions_key(dist) or str(id(dist)), dist)
        targets = [target_of(dist) for dist in seen.values()]
    else:
        unique = {id(ep.dist): ep.dist for ep in discover(group) if ep.dist is not None}
        targets = [target_of(dist) for dist in unique.values()]
        declaring = None
    from insidellms_provenance.cli._progress import Progress

    progress = Progress.for_terminal("verified", "distributions", quiet=arguments.quiet)
    checked, findings = verify_checked(
        targets,
        progress=(lambda done, total, item: progress.update(done, item, total))
        if progress.enabled
        else None,
        group=declaring,
        dependencies=dependencies,
    )
    progress.close()
    output = render(
        arguments.format,
        group,
        checked,
        findings,
        report,
        every_distribution=arguments.all,
        with_dependencies=bool(dependencies),
    )
    write_output(output)
    return 1 if findings or (report is not None and report.changes) else 0


def render(  # noqa: PLR0913 - the parts of one result
    fmt: str,
    group: str,
    checked: int,
    findings: list[Finding],
    report: DiffReport | None,
    *,
    every_distribution: bool = False,
    with_dependencies: bool = False,
) -> str | bytes:
    """The verification result in ``text``, ``markdown`` or canonical ``json``.

    ``with_dependencies``: the run's dependencies were verified too (``verify RUN``).
    """
    if fmt == "json":
        return _json(group, checked, findings, report)
    from insidellms_provenance.cli._render import terminal_safe

    summary = _summary(
        group,
        checked,
        findings,
        every_distribution=every_distribution,
        with_dependencies=with_dependencies,
    )
    if fmt == "markdown":
        return terminal_safe(_markdown(summary, findings, report))
    return terminal_safe(_text(summary, findings, report))


def _summary(
    group: str,
    checked: int,
    findings: list[Finding],
    *,
    every_distribution: bool,
    with_dependencies: bool = False,
) -> str:
    """What was checked, and how many problems were found."""
    problems = f"{len(findings)} problem{'' if len(findings) == 1 else 's'}"
    dists = f"{checked} distribution{'' if checked == 1 else 's'}"
    scope = (
        f"all {dists} installed"
        if every_distribution
        else f"the {dists} providing entry points of group {group}"
        + (" or in the run's dependencies" if with_dependencies else "")
    )
    return f"integrity: re-hashed every RECORD-listed file of {scope}: {problems}"


# Said when the run's recorded fingerprints match but installed files do not match their
# RECORD: the fingerprints hash RECORD, so both facts hold and neither cancels the other.
_MATCHES_BUT_MODIFIED = (
    "the run's recorded plugins (versions, RECORD digests, manifests) match this "
    "environment's, but the files listed above differ from their RECORD, so this "
    "environment does not hold the bytes the run used"
)


def _reproducibility_lines(report: DiffReport | None, *, modified: bool) -> list[str]:
    if report is None:
        return []
    if not report.changes:
        notes = [f"note: {note}" for note in report.notes]
        if modified:
            return ["", f"reproducibility: {_MATCHES_BUT_MODIFIED}", *notes]
        return ["", "reproducibility: this environment matches the run", *notes]
    heading = "reproducibility: this environment differs from the run (run -> environment):"
    return ["", heading, *change_lines(report.changes)]


def _text(summary: str, findings: list[Finding], report: DiffReport | None) -> str:
    lines = [summary]
    if findings:
        lines.append("")
        lines += text_table((f.distribution, f.path, f.problem) for f in findings)
    reproducibility = _reproducibility_lines(report, modified=bool(findings))
    return lines_text(lines + reproducibility)


def _markdown(summary: str, findings: list[Finding], report: DiffReport | None) -> str:
    lines = [f"### Plugin verification: {markdown_cell(summary)}", ""]  # it names the group
    if findings:
        lines += markdown_table(
            ("Distribution", "Path", "Problem"),
            [
                (markdown_cell(f.distribution), markdown_code(f.path), markdown_cell(f.problem))
                for f in findings
            ],
        )
        lines.append("")
    if report is not None:
        if not report.changes and findings:
            lines.append(f"**Reproducibility:** {_MATCHES_BUT_MODIFIED}.")
        elif not report.changes:
            lines.append("**Reproducibility:** this environment matches the run.")
        else:
            lines += [
                "**Reproducibility:** this environment differs from the run (run → environment).",
                "",
                *markdown_change_table(report.changes),
            ]
    return lines_text(lines).rstrip("\n") + "\n"


def _json(group: str, checked: int, findings: list[Finding], report: DiffReport | None) -> bytes:
    reproducibility: dict[str, Any] | None = None
    if report is not None:
        reproducibility = {
            "identical": not report.changes,
            "changes": [change_value(c) for c in report.changes],
        }
    value = {
        "schema": VERIFY_SCHEMA,
        "group": group,
        "checked": checked,
        "ok": not findings and (report is None or not report.changes),
        "findings": [
            {"distribution": f.distribution, "path": f.path, "problem": f.problem} for f in findings
        ],
        "reproducibility": reproducibility,
    }
    return json_bytes(value)
