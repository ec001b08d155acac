"""``fingerprint``: the ``record_digest`` of wheel files, without installing them."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, Any

from insidellms_provenance.cli._options import add_format, path_value, set_epilog
from insidellms_provenance.cli._render import write_output

if TYPE_CHECKING:
    from insidellms_provenance.fingerprint._wheel import UnreadableWheel, WheelFingerprint

__all__ = ["FINGERPRINT_SCHEMA", "add_arguments", "fingerprint_value", "render", "run"]

FINGERPRINT_SCHEMA = "insidellms-provenance/fingerprint/v1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    parser.add_argument(
        "wheels",
        type=path_value,
        nargs="+",
        metavar="WHEEL",
        help="wheel files, or directories whose *.whl files are fingerprinted",
    )
    parser.add_argument(
        "--python",
        metavar="X.Y",
        help="interpreter version that places .data/headers members (default: this one)",
    )
    add_format(parser, ("text", "json"))
    set_epilog(
        parser,
        sections={
            "equal to record after installing": "when the wheel's RECORD agrees with its "
            "contents, the install goes into a virtual, system or user environment, and "
            "(.data/headers only) the same Python X.Y; pip and uv alike."
        },
        exit_codes="0 every wheel read, and every RECORD agrees with its wheel's contents; "
        "1 an unreadable wheel or a RECORD that disagrees (all listed); 2 bad input (a path "
        "that does not exist, a bad --python).",
    )


def run(arguments: argparse.Namespace) -> int:
    """Fingerprint; exit 1 when a wheel is unreadable or its RECORD disagrees with it."""
    from insidellms_provenance.errors import ProvenanceError
    from insidellms_provenance.fingerprint._wheel import WheelTarget, fingerprint_paths

    target = WheelTarget.current()
    if arguments.python is not None:
        if not re.fullmatch(r"[0-9]+\.[0-9]+", arguments.python):
            raise ProvenanceError(f"--python: expected X.Y, got {arguments.python!r}")
        target = target._replace(python=arguments.python)
    fingerprints, unreadable = fingerprint_paths(arguments.wheels, target)
    write_output(render(arguments.format, fingerprints, unreadable))
    ok = not unreadable and all(fingerprint.record_agrees for fingerprint in fingerprints)
    return 0 if ok else 1


def fingerprint_value(fingerprint: WheelFingerprint) -> dict[str, Any]:
    """One wheel as JSON: the field's distribution shape plus the file and its RECORD."""
    return {
        "filename": fingerprint.filename,
        "digest": fingerprint.digest,
        "distribution": fingerprint.distribution,
        "record_agrees": fingerprint.record_agrees,
        "record_problems": list(fingerprint.record_problems),
        "listed_digest": fingerprint.listed_digest,
        "python": fingerprint.python,
    }


def render(
    fmt: str, fingerprints: list[WheelFingerprint], unreadable: list[UnreadableWheel]
) -> str | bytes:
    """The fingerprints as text or canonical ``json``."""
    if fmt == "json":
        from insidellms_provenance.cli._render import json_bytes

        value = {
            "schema": FINGERPRINT_SCHEMA,
            "ok": not unreadable and all(f.record_agrees for f in fingerprints),
            "wheels": [fingerprint_value(f) for f in fingerprints],
            "unreadable": [{"filename": u.filename, "problem": u.problem} for u in unreadable],
        }
        return json_bytes(value)
    disagree = sum(not f.record_agrees for f in fingerprints)
    summary = (
        f"fingerprint: {len(fingerprints)} wheel(s), {disagree} with a RECORD that disagrees "
        f"with its contents, {len(unreadable)} unreadable"
    )
    lines = [summary]
    for f in fingerprints:
        dist = f.distribution
        lines += [
            "",
            f.filename,
            f"  distribution   {dist['name']} {dist['version']}",
            f"  record_digest  {dist['record_digest']}",
            f"  file digest    {f.digest or 'none (an unpacked wheel: no archive)'}",
        ]
        if f.python is not None:
            lines.append(f"  layout         .data/headers placed for Python {f.python}")
        lines += [f"  problem        {problem}" for problem in dist["problems"]]
        if f.record_agrees:
            lines.append("  RECORD         agrees with the contents")
        else:
            lines.append(f"  RECORD         disagrees; as listed it gives {f.listed_digest}")
            lines += [f"                 {problem}" for problem in f.record_problems]
    for u in unreadable:
        lines += ["", u.filename, f"  unreadable     {u.problem}"]
    from insidellms_provenance.cli._render import lines_text, terminal_safe

    # A wheel's file name and METADATA are the wheel maker's text: no control
    # characters reach the terminal, and no newline starts a line of its own.
    return terminal_safe(lines_text(lines))
