"""``export``: a run's plugins and their dependencies as a PEP 751 lock, CycloneDX or in-toto."""

from __future__ import annotations

import argparse
import itertools
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from insidellms_provenance.cli._options import add_output, add_run, path_value, set_epilog
from insidellms_provenance.cli._render import write_output

if TYPE_CHECKING:
    from collections.abc import Iterator

    from insidellms_provenance.analyze._reproduce import WheelMatch
    from insidellms_provenance.field.schema import Provenance

__all__ = ["FORMATS", "add_arguments", "run"]

FORMATS = ("pylock", "cyclonedx", "in-toto")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    add_run(parser, "a recorded run (run dir, manifest.json or record)")
    parser.add_argument("--format", choices=FORMATS, required=True, help="what to write")
    parser.add_argument(
        "--wheels",
        type=path_value,
        metavar="DIR",
        help="wheels to match the run's distributions (plugins' and their dependencies') "
        "against (file names and sha256)",
    )
    add_output(
        parser,
        "write here (atomically) instead of stdout; pylock paths are relative to it; "
        "a symlink, FIFO, device, directory or input there is refused, not replaced",
        short=False,
    )
    parser.add_argument(
        "--serial-number",
        action="store_true",
        help="cyclonedx: add a random urn:uuid serial number (output no longer deterministic)",
    )
    parser.add_argument(
        "--timestamp",
        action="store_true",
        help="cyclonedx: add the current time (output no longer deterministic)",
    )
    set_epilog(
        parser,
        sections={
            "formats": (
                "pylock     PEP 751 pylock.toml: exact wheels by file name, path and sha256;",
                "           VCS sources by commit; editables as directories; the rest listed",
                "           under [tool.insidellms-provenance] unpinned",
                "cyclonedx  CycloneDX 1.6 JSON, one component per distribution (purl,",
                "           version, wheel SHA-256 when matched, insidellms-provenance:*",
                "           properties); each plugin's distribution dependsOn its closure",
                "in-toto    in-toto v1 Statement, SLSA v1 provenance; the distributions are",
                "           predicate.buildDefinition.resolvedDependencies",
                "The distributions are the plugins' and, when the run recorded them, every",
                "dependency of their closures (the field's dependency table), each locked,",
                "matched and warned about by the same rules.",
            )
        },
        exit_codes="0 written, nothing to warn about; 1 written, with warnings on stderr "
        "(content not pinned, a silent rebuild, a wheel whose RECORD lies, an unreadable "
        "wheel); 2 bad input (unreadable RUN, DIR not a directory, a bad output path, "
        "a dependency table that contradicts its plugins).",
    )


def run(arguments: argparse.Namespace) -> int:
    """Export; exit 1 when something could not be pinned or matched (see the warnings)."""
    from insidellms_provenance.analyze._reproduce import (
        WITHOUT_DISTRIBUTION,
        match_wheels,
        without_distribution,
    )
    from insidellms_provenance.cli._render import safe_line
    from insidellms_provenance.errors import ProvenanceError
    from insidellms_provenance.fingerprint._wheel import fingerprint_paths
    from insidellms_provenance.runfile._read import load_provenance_and_bytes, manifest_path

    fmt = arguments.format
    if fmt != "cyclonedx" and (arguments.serial_number or arguments.timestamp):
        raise ProvenanceError("--serial-number and --timestamp apply to --format cyclonedx only")
    if arguments.wheels is not None:
        _check_wheels(arguments.wheels)
    output = None if arguments.output is None else Path(arguments.output)
    if arguments.output is not None:
        _check_output(arguments.output, fmt, manifest_path(arguments.run), arguments.wheels)
    provenance, _, manifest_bytes = load_provenance_and_bytes(arguments.run)
    fingerprints, unreadable = (
        fingerprint_paths([arguments.wheels]) if arguments.wheels is not None else ([], [])
    )
    matches = match_wheels(provenance, fingerprints, where=str(arguments.run))
    warnings = [f"unreadable wheel {u.filename}: {u.problem}" for u in unreadable]
    warnings += [
        f"plugin {name} {WITHOUT_DISTRIBUTION}; it is not in the {fmt} output"
        for name in without_distribution(provenance)
    ]
    if fmt == "pylock":
        from insidellms_provenance.analyze.export._pylock import build_lock, lock_text

        lock_dir = output.parent if output is not None else Path.cwd()
        lock = build_lock(provenance, matches, wheels_dir=arguments.wheels, lock_dir=lock_dir)
        data = lock_text(lock.value)
        warnings += lock.warnings
    else:
        from insidellms_provenance.analyze._reproduce import MATCH_TEXT
        from insidellms_provenance.cli._render import json_bytes

        if arguments.wheels is not None:
            warnings += [
                f"{m.label}: {MATCH_TEXT[m.status]}"
                for m in matches
                if m.status in ("rebuilt", "record_disagrees")
            ]
        data = json_bytes(_document(fmt, arguments, provenance, matches, manifest_bytes))
    # A wheel's file name, a recorded name or version is in the warning: one line each.
    for warning in warnings:
        print(safe_line(f"insidellms-provenance: warning: {warning}"), file=sys.stderr)
    if output is None:
        write_output(data)
    else:
        from insidellms_provenance.runfile._embed import atomic_write

        atomic_write(output, data)
    return 1 if warnings else 0


def _document(
    fmt: str,
    arguments: argparse.Namespace,
    provenance: Provenance,
    matches: list[WheelMatch],
    manifest_bytes: bytes,
) -> dict[str, object]:
    """The CycloneDX or in-toto document as a JSON value.

    The in-toto subject's digest is of ``manifest_bytes``, the bytes the field was read
    from: reading the file again could hash another file than the one described.
    """
    from insidellms_provenance import __version__

    with_wheels = arguments.wheels is not None
    if fmt == "cyclonedx":
        from insidellms_provenance.analyze.export._cyclonedx import cyclonedx_value

        serial = timestamp = None
        if arguments.serial_number:
            import uuid

            serial = f"urn:uuid:{uuid.uuid4()}"
        if arguments.timestamp:
            import datetime as dt

            now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            timestamp = now.isoformat().replace("+00:00", "Z")
        return cyclonedx_value(
            provenance,
            matches,
            tool_version=__version__,
            with_wheels=with_wheels,
            serial_number=serial,
            timestamp=timestamp,
        )
    import hashlib

    from insidellms_provenance.analyze.export._intoto import statement_value
    from insidellms_provenance.runfile._read import manifest_path

    return statement_value(
        provenance,
        matches,
        subject_name=Path(manifest_path(arguments.run)).name,
        subject_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        with_wheels=with_wheels,
    )


def _check_wheels(wheels: Path) -> None:
    """Refuse a ``--wheels`` that is not a directory, naming the reason."""
    from insidellms_provenance.errors import ProvenanceError

    try:
        info = os.stat(wheels)
    except FileNotFoundError:
        raise ProvenanceError(f"{wheels}: not a directory") from None
    except OSError as error:
        raise ProvenanceError(f"{wheels}: cannot read: {error.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise ProvenanceError(f"{wheels}: not a directory")


def _check_output(output: str, fmt: str, manifest: str | Path, wheels: Path | None) -> None:
    """Refuse an output no write may replace, an input, or a lock file name PEP 751 forbids.

    The inputs are the run file and every file below ``--wheels`` (its wheels, unpacked
    wheels' files), compared by device and inode.
    """
    from insidellms_provenance.runfile._embed import check_output

    inputs = itertools.chain([manifest], _files_below(wheels) if wheels is not None else ())
    check_output(output, inputs=inputs)
    if fmt == "pylock":
        from insidellms_provenance.analyze.export._pylock import check_lock_path

        check_lock_path(Path(output))


def _files_below(directory: Path) -> Iterator[str]:
    """Every file below ``directory``: what the wheel search may read, and more.

    Symlinked directories are not entered, as the wheel search does not enter them.
    """
    for parent, _, names in os.walk(directory):
        for name in names:
            yield os.path.join(parent, name)
