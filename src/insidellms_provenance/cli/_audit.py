"""``audit``: plugin provenance across many runs, as JSON lines and a summary."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from insidellms_provenance.cli._options import (
    add_group_filter,
    add_output,
    add_quiet,
    path_value,
    set_epilog,
)
from insidellms_provenance.cli._render import StdoutBytes, write_output

if TYPE_CHECKING:
    from insidellms_provenance.analyze._audit import RunDir

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    parser.add_argument(
        "roots",
        type=path_value,
        nargs="+",
        metavar="DIR",
        help="directories to search for runs (recursively)",
    )
    add_output(
        parser,
        "write the JSON lines to FILE, atomically (the summary then goes to stdout); "
        "a symlink, FIFO, device or directory there is refused, not replaced",
    )
    add_group_filter(
        parser,
        "audit only fields recorded for this entry-point group; runs whose field "
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
        "--deps",
        action="store_true",
        help="follow each plugin's line with one line per dependency in its closure "
        "(lines with a 'dependency' column)",
    )
    add_quiet(parser)
    set_epilog(
        parser,
        exit_codes="0 audited (runs without a readable field are counted and listed in "
        "the summary, not errors); 2 bad input (a DIR that is not a directory, an "
        "--output path that cannot be written).",
    )


def run(arguments: argparse.Namespace) -> int:
    """Stream the lines, then print the summary (stderr when lines go to stdout)."""
    from insidellms_provenance.analyze._audit import (
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
        try:
            is_directory = stat.S_ISDIR(os.stat(root).st_mode)
        except FileNotFoundError:
            is_directory = False
        except OSError as error:  # a name too long, a loop of links
            raise ProvenanceError(f"{root}: cannot read: {error.strerror}") from None
        if not is_directory:
            raise ProvenanceError(f"{root}: not a directory")
    from insidellms_provenance.cli._progress import Progress

    summary = AuditSummary()
    progress = Progress.for_terminal("audited", "runs", quiet=arguments.quiet)

    def unreadable(directory: Path, reason: str) -> None:
        summary.runs += 1
        summary.note_missing(str(directory), f"directory cannot be read: {reason}")

    runs = find_runs(arguments.roots, shard, unreadable)
    output: str | None = arguments.output
    if output is not None:
        _check_output(output, runs)
    target = Path(output) if output is not None else None
    with _deferred_interrupts() as interrupts, _sink(target, interrupts) as sink:
        for line in audit_runs(runs, summary, group=arguments.group, dependencies=arguments.deps):
            sink.write(line)
            progress.update(summary.runs, summary.current)
            interrupts.check()
    progress.close()
    _print_summary(summary.render(), results_on_stdout=output is None)
    return 0


def _print_summary(text: str, *, results_on_stdout: bool) -> None:
    """The summary: on stderr when the lines went to stdout, else on stdout (a result)."""
    # Safe for a terminal as rendered; terminal_safe over it would make two names one.
    if results_on_stdout:
        sys.stderr.write(text)
        sys.stderr.flush()
    else:
        write_output(text)


def _check_output(output: str, runs: Iterable[RunDir]) -> None:
    """Refuse an output path no write may replace, or one of the runs' manifests.

    Manifests are compared by device and inode, so a manifest.json that is a link to
    the output (or a hard link of it) is seen whatever the output is named.
    """
    from insidellms_provenance.field.schema import MANIFEST_NAME
    from insidellms_provenance.runfile._embed import check_output

    manifests = (os.path.join(run.name, MANIFEST_NAME) for run in runs)  # runs are dirs
    check_output(
        output,
        inputs=manifests,
        refusal="is one of the audited manifests; refusing to overwrite it",
    )


class _Interrupts:
    """Ctrl-C noted by a signal handler, raised as ``KeyboardInterrupt`` by :meth:`check`."""

    def __init__(self) -> None:
        self.pending = False

    def note(self, signum: int, frame: object) -> None:
        """The SIGINT handler: nothing but a flag, so nothing can fail where it lands."""
        del signum, frame
        self.pending = True

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` here if Ctrl-C was pressed."""
        if self.pending:
            raise KeyboardInterrupt


@contextlib.contextmanager
def _deferred_interrupts() -> Iterator[_Interrupts]:
    """While auditing, Ctrl-C raises only where :meth:`_Interrupts.check` is called.

    Python's own handler raises ``KeyboardInterrupt`` at whatever bytecode runs next: in
    the import system's weakref callbacks (where it is printed as "ignored" and lost, so
    audit finished with exit 0) or in a string ``exec`` (after which CPython ends the
    process by SIGINT, whatever the handler did). Audit imports code lazily while
    auditing its first runs, so a Ctrl-C in those milliseconds did either. Only
    Python's default handler is replaced: an ignored SIGINT stays ignored.
    """
    interrupts = _Interrupts()
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield interrupts
        return
    try:
        signal.signal(signal.SIGINT, interrupts.note)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield interrupts
        return
    try:
        yield interrupts
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupts.check()  # pressed after the last check: still an interrupted command


@contextlib.contextmanager
def _sink(target: Path | None, interrupts: _Interrupts) -> Iterator[IO[bytes] | StdoutBytes]:
    """stdout, or a temp file beside ``target`` renamed over it only when all went well.

    A Ctrl-C (``interrupts``) noted before the rename removes the temp file instead, and
    so does a ``target`` that became something no write may replace while auditing. The
    file keeps the permission bits, owner, group, ACL and extended attributes of the one
    it replaces, where this process may (:func:`output_mode`, :func:`keep_owner`).
    """
    from insidellms_provenance.errors import WriteError
    from insidellms_provenance.runfile._embed import (
        check_output,
        keep_owner,
        output_mode,
        temp_file_beside,
    )

    if target is None:
        stdout = StdoutBytes()
        yield stdout
        stdout.flush()
        return
    with temp_file_beside(target) as (fd, temp_name):  # removed if anything below raises
        file: IO[bytes] = os.fdopen(fd, "wb")
        try:
            yield file
            file.flush()
            interrupts.check()
            replaced = check_output(target)
            keep_owner(file.fileno(), replaced, target)
            os.fsync(file.fileno())
            file.close()
            os.chmod(temp_name, output_mode(replaced))  # after the owner: set-id bits stay
            os.replace(temp_name, target)
        except BaseException as error:
            with contextlib.suppress(OSError):
                file.close()
            if isinstance(error, OSError):
                raise WriteError(f"{target}: cannot write: {error.strerror}") from None
            raise
