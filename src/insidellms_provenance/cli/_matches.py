"""Render a run's distributions matched to wheel files (``verify RUN --wheels DIR``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from insidellms_provenance.analyze._reproduce import WheelMatch
    from insidellms_provenance.fingerprint._wheel import UnreadableWheel

__all__ = [
    "VERIFY_WHEELS_SCHEMA",
    "match_detail",
    "matches_value",
    "render_matches",
    "run_matches",
]

VERIFY_WHEELS_SCHEMA = "insidellms-provenance/verify-wheels/v1"


def run_matches(arguments: argparse.Namespace) -> int:
    """``verify RUN --wheels DIR``: exit 0 only when every distribution matches exactly."""
    from insidellms_provenance.analyze._reproduce import match_wheels
    from insidellms_provenance.cli._render import write_output
    from insidellms_provenance.errors import ProvenanceError
    from insidellms_provenance.fingerprint._wheel import fingerprint_paths
    from insidellms_provenance.runfile._read import load_provenance

    if arguments.run is None:
        raise ProvenanceError("--wheels needs a RUN to compare with")
    if not arguments.wheels.is_dir():
        raise ProvenanceError(f"{arguments.wheels}: not a directory")
    provenance, _ = load_provenance(arguments.run)
    fingerprints, unreadable = fingerprint_paths([arguments.wheels])
    matches = match_wheels(provenance, fingerprints, where=str(arguments.run))
    write_output(render_matches(arguments.format, matches, len(fingerprints), unreadable))
    return 0 if all(match.exact for match in matches) else 1


def match_detail(match: WheelMatch) -> str:
    """What was found for one distribution, in words, with the wheel files named."""
    from insidellms_provenance.analyze._reproduce import MATCH_TEXT, UNPACKED_CHANGED

    text = MATCH_TEXT[match.status]
    if match.wheel is not None and match.wheel.unpacked:
        text = (
            UNPACKED_CHANGED
            if not match.exact
            else f"{text} (an unpacked wheel in a cache: no archive, no sha256 to lock)"
        )
    if match.wheel is not None:
        text = f"{match.wheel.filename}: {text}"
    if match.candidates:
        text = f"{', '.join(c.filename for c in match.candidates)}: {text}"
    return text


def _whose(match: WheelMatch) -> str:
    """The plugins column: the plugins it provides, then whose dependency it is."""
    needed = f"(dependency of: {', '.join(match.required_by)})" if match.required_by else ""
    return " ".join(part for part in (", ".join(match.plugins), needed) if part)


def _summary(matches: list[WheelMatch], wheels: int) -> str:
    exact = sum(m.exact for m in matches)
    rebuilt = sum(m.status == "rebuilt" for m in matches)
    return (
        f"wheels: {len(matches)} distribution(s) of the run against {wheels} wheel(s): "
        f"{exact} exact, {rebuilt} silently rebuilt, {len(matches) - exact - rebuilt} other"
    )


def matches_value(
    matches: list[WheelMatch], wheels: int, unreadable: list[UnreadableWheel]
) -> dict[str, Any]:
    """The result as a JSON value."""
    return {
        "schema": VERIFY_WHEELS_SCHEMA,
        "ok": all(m.exact for m in matches),
        "wheels": wheels,
        "distributions": [
            {
                "name": m.name,
                "normalized_name": m.normalized_name,
                "version": m.version,
                "plugins": list(m.plugins),
                "required_by": list(m.required_by),
                "record_digest": m.record_digest,
                "status": m.status,
                "wheel": None
                if m.wheel is None
                else {"filename": m.wheel.filename, "digest": m.wheel.digest},
                "candidates": [
                    {
                        "filename": c.filename,
                        "digest": c.digest,
                        "record_digest": c.distribution["record_digest"],
                    }
                    for c in m.candidates
                ],
            }
            for m in matches
        ],
        "unreadable": [{"filename": u.filename, "problem": u.problem} for u in unreadable],
    }


def render_matches(
    fmt: str, matches: list[WheelMatch], wheels: int, unreadable: list[UnreadableWheel]
) -> str | bytes:
    """The matches as ``text``, ``markdown`` or canonical ``json``."""
    from insidellms_provenance.cli._render import (
        json_bytes,
        lines_text,
        markdown_cell,
        markdown_table,
        terminal_safe,
        text_table,
    )

    if fmt == "json":
        return json_bytes(matches_value(matches, wheels, unreadable))
    rows = [(f"{m.name} {m.version}", m.status, _whose(m), match_detail(m)) for m in matches]
    notes = [f"unreadable wheel {u.filename}: {u.problem}" for u in unreadable]
    if fmt == "markdown":
        lines = [f"### Plugin {markdown_cell(_summary(matches, wheels))}", ""]
        if rows:
            headers = ("Distribution", "Status", "Plugins", "Found")
            lines += markdown_table(headers, [[markdown_cell(c) for c in row] for row in rows])
        lines += ["", *(f"- {markdown_cell(note)}" for note in notes)] if notes else []
        return terminal_safe(lines_text(lines).rstrip("\n") + "\n")
    lines = [_summary(matches, wheels)]
    if rows:
        lines += ["", *text_table(rows)]
    if notes:
        lines += ["", *notes]
    # Wheel file names and recorded names: made safe for a terminal, one line each.
    return terminal_safe(lines_text(lines))
