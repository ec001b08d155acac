"""``audit``: plugin provenance across many runs, as JSON lines and a summary."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

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
        help="write the JSON lines to FILE, atomically (the summary then goes to stdout)",
    )


def run(arguments: argparse.Namespace) -> int:
    """Stream the lines, then print the summary (stderr when lines go to stdout)."""
    from insidellms_provenance.analyze.audit import AuditSummary, audit_runs, find_runs
    from insidellms_provenance.cli.render import terminal_safe
    from insidellms_provenance.errors import ProvenanceError
    from insidellms_provenance.runfile.read import manifest_path

    _check_roots(arguments.roots)
    summary = AuditSummary()
    progress = sys.stderr.isatty()
    inputs: set[tuple[int, int]] = set()

    def unreadable(directory: Path, reason: str) -> None:
        summary.runs += 1
        summary.note_missing(str(directory), f"directory cannot be read: {reason}")

    def audited() -> Iterator[Path]:
        for run_dir in find_runs(arguments.roots, unreadable):
            with contextlib.suppress(OSError):
                info = os.stat(manifest_path(run_dir))
                inputs.add((info.st_dev, info.st_ino))
            yield run_dir

    output: Path | None = arguments.output
    target = Path(os.path.realpath(output)) if output is not None else None
    if target is not None and target.is_dir():
        raise ProvenanceError(f"{output}: is a directory")
    with _sink(target, output) as sink:
        for line in audit_runs(audited(), summary):
            sink.write(line)
            if progress and summary.runs % 100 == 0:
                sys.stderr.write(f"\raudited {summary.runs} runs")
                sys.stderr.flush()
        if target is not None and _identity(target) in inputs:
            # Checked before the rename: the temp file is removed, the manifest untouched.
            raise ProvenanceError(
                f"{output}: is one of the audited manifests; refusing to overwrite it"
            )
    if progress:
        sys.stderr.write("\r\x1b[K")
    report = sys.stdout if output is not None else sys.stderr
    report.write(terminal_safe(summary.render()))
    report.flush()
    return 0


def _check_roots(roots: list[Path]) -> None:
    from insidellms_provenance.errors import ProvenanceError

    for root in roots:
        if not root.is_dir():
            raise ProvenanceError(f"{root}: not a directory")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


@contextlib.contextmanager
def _sink(target: Path | None, output: Path | None) -> Iterator[IO[bytes]]:
    """stdout, or a temp file beside ``target`` renamed over it only when all went well."""
    from insidellms_provenance.errors import WriteError

    if target is None:
        yield sys.stdout.buffer
        sys.stdout.flush()
        return
    try:
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as error:
        raise WriteError(f"{output}: cannot write in {target.parent}: {error.strerror}") from None
    file: IO[bytes] = os.fdopen(fd, "wb")
    try:
        yield file
        file.flush()
        os.fsync(file.fileno())
        file.close()
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            file.close()
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(error, OSError):
            raise WriteError(f"{output}: cannot write: {error.strerror}") from None
        raise
