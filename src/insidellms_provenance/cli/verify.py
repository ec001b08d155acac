"""``verify``: installed plugin files against RECORD, and this environment against a run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from insidellms_provenance.cli.options import add_format, add_group, write_output

if TYPE_CHECKING:
    from insidellms_provenance.analyze.diff import DiffReport
    from insidellms_provenance.analyze.verify import Finding

__all__ = ["VERIFY_SCHEMA", "add_arguments", "render", "run"]

VERIFY_SCHEMA = "insidellms-provenance/verify/v1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    parser.add_argument(
        "run",
        type=Path,
        nargs="?",
        metavar="RUN",
        help="a recorded run (run dir, manifest.json or record file) to compare with",
    )
    add_group(parser)
    parser.add_argument(
        "--all", action="store_true", help="verify every installed distribution, not only plugins"
    )
    add_format(parser, ("text", "json", "markdown"))


def run(arguments: argparse.Namespace) -> int:
    """Verify; exit 1 when anything is wrong."""
    from importlib import metadata

    from insidellms_provenance.analyze.verify import (
        VerifyTarget,
        reproducibility_changes,
        target_of,
        verify_targets,
    )
    from insidellms_provenance.fingerprint.discover import (
        declaring_directories,
        discover,
        metadata_directories,
    )

    report = None
    if arguments.run is not None:
        from insidellms_provenance.field.read import read_field
        from insidellms_provenance.runfile.read import load_field_value

        recorded, where = load_field_value(arguments.run)
        read_field(recorded, where=where)  # refuse a malformed field before comparing
        report = reproducibility_changes(recorded, str(recorded.get("group")))
        group = str(recorded.get("group"))
    else:
        group = arguments.group
    targets: list[VerifyTarget | str]
    # Metadata directories found by listing sys.path, described where they are verified.
    directories = metadata_directories() if arguments.all else declaring_directories(group)
    if directories is not None:
        targets = list(directories)
    elif arguments.all:
        from insidellms_provenance.fingerprint.discover import normalized_name

        seen: dict[str, metadata.Distribution] = {}
        for dist in metadata.distributions():
            seen.setdefault(normalized_name(dist.name or ""), dist)
        targets = [target_of(dist) for dist in seen.values()]
    else:
        unique = {id(ep.dist): ep.dist for ep in discover(group) if ep.dist is not None}
        targets = [target_of(dist) for dist in unique.values()]
    show_progress = sys.stderr.isatty() and arguments.format != "json"
    findings = verify_targets(targets, progress=_progress if show_progress else None)
    if show_progress:
        sys.stderr.write("\r\x1b[K")
    output = render(arguments.format, group, len(targets), findings, report)
    write_output(output)
    return 1 if findings or (report is not None and not report.identical) else 0


def _progress(done: int, total: int) -> None:
    """A one-line progress bar on the terminal's stderr."""
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\rverifying [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


def render(
    fmt: str, group: str, checked: int, findings: list[Finding], report: DiffReport | None
) -> str | bytes:
    """The verification result in ``text``, ``markdown`` or canonical ``json``."""
    if fmt == "json":
        return _json(group, checked, findings, report)
    if fmt == "markdown":
        return _markdown(group, checked, findings, report)
    return _text(group, checked, findings, report)


def _summary(group: str, checked: int, findings: list[Finding]) -> str:
    problems = f"{len(findings)} problem{'' if len(findings) == 1 else 's'}"
    return f"integrity: {checked} distribution(s) of group {group} checked, {problems}"


def _reproducibility_lines(report: DiffReport | None) -> list[str]:
    if report is None:
        return []
    if report.identical:
        return ["", "reproducibility: this environment matches the run"]
    from insidellms_provenance.cli.diff import change_lines

    heading = "reproducibility: this environment differs from the run (run -> environment):"
    return ["", heading, *change_lines(report.changes)]


def _text(group: str, checked: int, findings: list[Finding], report: DiffReport | None) -> str:
    lines = [_summary(group, checked, findings)]
    if findings:
        dist_width = max(len(f.distribution) for f in findings)
        path_width = max(len(f.path) for f in findings)
        lines.append("")
        lines += [
            f"{f.distribution.ljust(dist_width)}  {f.path.ljust(path_width)}  {f.problem}"
            for f in findings
        ]
    return "\n".join(lines + _reproducibility_lines(report)) + "\n"


def _markdown(group: str, checked: int, findings: list[Finding], report: DiffReport | None) -> str:
    from insidellms_provenance.cli.diff import markdown_cell, markdown_change_table

    lines = [f"### Plugin verification: {_summary(group, checked, findings)}", ""]
    if findings:
        lines += ["| Distribution | Path | Problem |", "|---|---|---|"]
        lines += [
            f"| {markdown_cell(f.distribution)} | `{markdown_cell(f.path)}` | "
            f"{markdown_cell(f.problem)} |"
            for f in findings
        ]
        lines.append("")
    if report is not None:
        if report.identical:
            lines.append("**Reproducibility:** this environment matches the run.")
        else:
            lines += [
                "**Reproducibility:** this environment differs from the run (run → environment).",
                "",
                *markdown_change_table(report.changes),
            ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _json(group: str, checked: int, findings: list[Finding], report: DiffReport | None) -> bytes:
    from insidellms_provenance.canonical import canonical_json

    reproducibility: dict[str, Any] | None = None
    if report is not None:
        reproducibility = {
            "identical": report.identical,
            "changes": [
                {
                    "plugin": c.plugin,
                    "kind": c.kind,
                    "severity": c.severity,
                    "message": c.message,
                    "before": c.before,
                    "after": c.after,
                }
                for c in report.changes
            ],
        }
    value = {
        "schema": VERIFY_SCHEMA,
        "group": group,
        "checked": checked,
        "ok": not findings and (report is None or report.identical),
        "findings": [
            {"distribution": f.distribution, "path": f.path, "problem": f.problem} for f in findings
        ],
        "reproducibility": reproducibility,
    }
    return canonical_json(value) + b"\n"
