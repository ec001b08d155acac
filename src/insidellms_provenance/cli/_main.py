"""Parse arguments, run one command, map errors to exit codes (0 ok, 1 problem, 2 bad input).

Each subcommand is a module ``cli/_<name>.py`` with ``add_arguments(parser)`` and
``run(arguments) -> int``; its one-line help is in :data:`COMMANDS`. Only the module of
the command being run is imported, and it imports its heavy dependencies inside ``run``.
"""

from __future__ import annotations

import gc
import importlib
import io
import os
import sys
from collections.abc import Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace

__all__ = [
    "COMMANDS",
    "EXIT_BAD_INPUT",
    "EXIT_BROKEN_PIPE",
    "EXIT_OK",
    "EXIT_PROBLEM",
    "build_parser",
    "join_dashed_values",
    "main",
    "process_main",
]

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_BAD_INPUT = 2
# Output piped into a reader that stopped (``| head``): what a shell shows for a command
# the pipe killed (128 + SIGPIPE), as for git or ls there; never a verdict's 0, 1 or 2.
EXIT_BROKEN_PIPE = 141
PROG = "insidellms-provenance"
COMMANDS: dict[str, str] = {
    "demo": "run record, embed and show on a built-in example (no insideLLMs needed)",
    "record": "fingerprint the group's plugins in this environment; print the field as JSON",
    "embed": "record now (or take --from FILE) and write the field into RUN_DIR/manifest.json",
    "show": "print the recorded plugins of a run, manifest or record file as a table",
    "diff": "compare the plugin provenance of two runs (run dir, manifest.json or record file)",
    "verify": "re-hash installed plugin files against RECORD; compare this environment with a run",
    "check": "enforce plugin policy on a recorded run or, before a run, on this environment",
    "audit": "walk run directories; one JSON line per (run, plugin) and a summary",
    "doctor": "check the group's plugins: manifests, compatibility, requirements, conflicts",
    "list": "list registered models, probes and datasets with their provenance",
    "export": "write a run's plugins as a PEP 751 lock, CycloneDX SBOM or in-toto statement",
    "fingerprint": "the record_digest of wheel files, computed from their contents, uninstalled",
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; when ``argv`` names a subcommand, only that one is built.

    With no recognizable subcommand first (``--help``, a typo), every subcommand is
    built complete, so help and errors are the same as always. Building the others costs
    more than running ``diff`` of two small runs: argparse looks for translations of its
    messages on disk for every parser.
    """
    from insidellms_provenance import __version__
    from insidellms_provenance.cli._options import HelpFormatter, Parser

    parser = Parser(
        prog=PROG,
        description="Record, show and compare which plugin code produced a run.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # prog given: argparse would otherwise write the usage line to find it (PROG, always).
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", prog=PROG)
    words = sys.argv[1:] if argv is None else list(argv)
    first = next((word for word in words if not word.startswith("-")), None)
    chosen = first if first in COMMANDS else None
    for name, help_text in COMMANDS.items():
        if chosen in (None, name):
            command = subparsers.add_parser(
                name, help=help_text, description=help_text, formatter_class=HelpFormatter
            )
            module = importlib.import_module(f"insidellms_provenance.cli._{name}")
            module.add_arguments(command)
            command.set_defaults(handler=module.run)
    return parser


def _plain_arguments(words: Sequence[str]) -> argparse.Namespace | SimpleNamespace | None:
    """A command's arguments read without argparse, where its module offers that.

    A command module may define ``plain_arguments(words)``: the arguments of a plain
    command line, exactly as argparse parses them, or ``None`` to leave the line to
    argparse (``diff``: importing argparse and building its parser cost more than
    comparing two small runs).
    """
    if not words or words[0] not in COMMANDS:
        return None
    module = importlib.import_module(f"insidellms_provenance.cli._{words[0]}")
    plain = getattr(module, "plain_arguments", None)
    arguments = plain(words[1:]) if plain is not None else None
    if arguments is not None:
        arguments.command, arguments.handler = words[0], module.run
    return arguments


# Options whose value may start with "-" (``--fail-on -medium``): argparse would take such
# a value for an option and stop with "expected one argument".
_DASHED_VALUE_OPTIONS = ("--fail-on",)


def join_dashed_values(words: Sequence[str]) -> list[str]:
    """``--fail-on -x`` becomes ``--fail-on=-x``, so argparse accepts a leading dash.

    A following word that starts with ``--`` is left alone: it is the next option, and
    argparse then says that the value is missing.
    """
    joined: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else ""
        dashed = following.startswith("-") and not following.startswith("--")
        if word in _DASHED_VALUE_OPTIONS and dashed:
            joined.append(f"{word}={following}")
            index += 2
            continue
        if word == "--":
            joined += words[index:]
            break
        joined.append(word)
        index += 1
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    from insidellms_provenance.errors import ProvenanceError

    _replace_missing_streams()
    words = join_dashed_values(sys.argv[1:] if argv is None else argv)
    try:
        # Help and the version are output too: one not written is an error (Parser).
        arguments = _plain_arguments(words) or build_parser(words).parse_args(words)
        code: int = arguments.handler(arguments)
    except ProvenanceError as error:
        _drop_unwritten_output()
        _print_error(str(error))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into ``head`` and the like: stop quietly, with the exit code of a
        # command the pipe killed, so that no verdict is read into it.
        _drop_unwritten_output()
        sys.stderr.close()
        return EXIT_BROKEN_PIPE
    except OSError as error:
        _drop_unwritten_output()
        # The last guard: a path no reader expected the system to refuse (a name too
        # long, a loop of links) is still one line naming it, not a traceback.
        where = error.filename
        path = os.fsdecode(where) if isinstance(where, (str, bytes)) else "a path"
        _print_error(f"{path}: {error.strerror or 'cannot be read'}")
        return EXIT_BAD_INPUT
    return code


def _drop_unwritten_output() -> None:
    """After a write to stdout failed: drop what is left of it, to ``/dev/null``.

    Otherwise the interpreter tries again at exit, prints a second error and exits 120,
    not the exit code given. Output that can be written (the error was another) is.
    """
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
        except (OSError, ValueError):  # no descriptor to point elsewhere
            pass


def _print_error(message: str) -> None:
    """The one line of exit 2, whatever a path or value in it holds (a newline, an ESC)."""
    from insidellms_provenance.cli._render import error_line

    if sys.stderr is not None:  # never print(file=None): that is stdout, the results'
        print(error_line(PROG, message), file=sys.stderr)


class _MissingStream(io.TextIOBase):
    """A standard stream the process was started without (``>&-``), where Python has ``None``.

    stdout (``refuse``): writing the results there is an error, exit 2: they cannot be
    read, and a verdict no one can see must not pass for one. stderr: progress, warnings
    and errors are dropped, as when a terminal is gone; the exit code still tells.
    """

    def __init__(self, name: str, *, refuse: bool) -> None:
        super().__init__()
        self.name = name
        self._refuse = refuse

    @property
    def buffer(self) -> _MissingStream:
        """Itself: bytes written to the stream's buffer are refused or dropped alike."""
        return self

    def writable(self) -> bool:
        """Writable: a write is what refuses (or drops) the text."""
        return True

    def write(self, text: str | bytes) -> int:
        """Refuse ``text`` (stdout) with :class:`WriteError`, or drop it (stderr)."""
        if self._refuse:
            from insidellms_provenance.errors import WriteError

            raise WriteError(f"{self.name} is closed: the output cannot be written")
        return len(text)


def _replace_missing_streams() -> None:
    """Stand in for a closed stdout or stderr (:class:`_MissingStream`), once a process.

    Its file descriptor is given ``/dev/null`` first, if still free: a file opened later
    would get it otherwise, and a process started with it inherited would write there.
    """
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is None:
            _fill_closed_fd(fd)
            setattr(sys, name, _MissingStream(name, refuse=name == "stdout"))


def _fill_closed_fd(fd: int) -> None:
    """Open ``/dev/null`` on ``fd`` if it is closed; if that fails too, leave it so."""
    try:
        os.fstat(fd)
    except OSError:
        pass
    else:
        return  # taken already: not ours to replace
    try:
        null = os.open(os.devnull, os.O_RDWR)
    except OSError:
        return
    if null != fd:
        os.dup2(null, fd)
        os.close(null)


def process_main() -> int:
    """:func:`main` for a process of its own: the console script's and ``-m``'s target.

    Before the interpreter exits, every object left is frozen out of the cyclic
    collector (``gc.freeze``): Python's shutdown runs that collector over every object
    still tracked, more than once, and the command's modules and theirs are all still
    there. That was 7-8% of the CPU time of a small ``diff`` (docs/performance.md).
    Objects are still freed by their reference counts, and ``atexit`` functions still
    run; only garbage in reference cycles is left to the system, which takes back the
    whole process anyway. Every file a command writes is closed before :func:`main`
    returns.

    SIGTERM and SIGHUP unwind the command as Ctrl-C does, so that no temp file or child
    process is left, and then end the process by that signal
    (:func:`~insidellms_provenance._signals.terminations_end_the_process`).

    Neither is done in :func:`main`, which a process may call more than once (the
    tests do), and whose caller owns the process's signals.
    """
    from insidellms_provenance._signals import terminations_end_the_process

    _in_utf8_mode()
    with terminations_end_the_process():
        code = main()
    gc.freeze()
    return code


def _in_utf8_mode() -> None:
    """Start this process again in UTF-8 mode if its file system encoding is not UTF-8.

    Installed file names are UTF-8 text in RECORD; under another file system encoding
    (a non-UTF-8 locale, or UTF-8 mode turned off in the C locale) Python cannot name
    every such file, reads others back with surrogates, and cannot print them. In UTF-8
    mode every command sees the bytes on disk as UTF-8, so the same plugins give the
    same field in every locale (docs/decisions.md, "Non-UTF-8 file system encodings").
    ``PYTHONUTF8`` carries the mode to the processes a command starts (the plugins'
    import); ``-X utf8`` holds even under ``-E`` or ``-I``, so this never loops.
    """
    if sys.flags.utf8_mode or sys.getfilesystemencoding() == "utf-8":
        return
    environment = {**os.environ, "PYTHONUTF8": "1"}
    arguments = [sys.executable, "-X", "utf8", *sys.orig_argv[1:]]
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None: started without it (>&-)
            stream.flush()
    try:
        os.execve(sys.executable, arguments, environment)  # noqa: S606 - this very command
    except OSError:
        return  # no interpreter to start again (an embedded one): go on as we are
