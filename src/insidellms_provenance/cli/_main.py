"""Parse arguments, run one command, map errors to exit codes (0 ok, 1 problem, 2 bad input).

Each subcommand is a module ``cli/_<name>.py`` with ``add_arguments(parser)`` and
``run(arguments) -> int``; its one-line help is in :data:`COMMANDS`. Only the module of
the command being run is imported, and it imports its heavy dependencies inside ``run``.
"""

from __future__ import annotations

import gc
import importlib
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

    words = join_dashed_values(sys.argv[1:] if argv is None else argv)
    arguments = _plain_arguments(words) or build_parser(words).parse_args(words)
    try:
        code: int = arguments.handler(arguments)
    except ProvenanceError as error:
        _print_error(str(error))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into ``head`` and the like: stop quietly, as diff(1) does.
        sys.stderr.close()
        return EXIT_PROBLEM
    except OSError as error:
        # The last guard: a path no reader expected the system to refuse (a name too
        # long, a loop of links) is still one line naming it, not a traceback.
        where = error.filename
        path = os.fsdecode(where) if isinstance(where, (str, bytes)) else "a path"
        _print_error(f"{path}: {error.strerror or 'cannot be read'}")
        return EXIT_BAD_INPUT
    return code


def _print_error(message: str) -> None:
    """The one line of exit 2, whatever a path or value in it holds (a newline, an ESC)."""
    from insidellms_provenance.cli._render import error_line

    print(error_line(PROG, message), file=sys.stderr)


def process_main() -> int:
    """:func:`main` for a process of its own: the console script's and ``-m``'s target.

    Before the interpreter exits, every object left is frozen out of the cyclic
    collector (``gc.freeze``): Python's shutdown runs that collector over every object
    still tracked, more than once, and the command's modules and theirs are all still
    there. That was 7-8% of the CPU time of a small ``diff`` (docs/performance.md).
    Objects are still freed by their reference counts, and ``atexit`` functions still
    run; only garbage in reference cycles is left to the system, which takes back the
    whole process anyway. Every file a command writes is closed before :func:`main`
    returns. Not done in :func:`main`, which a process may call more than once (the
    tests do).
    """
    _in_utf8_mode()
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
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, arguments, environment)  # noqa: S606 - this very command
    except OSError:
        return  # no interpreter to start again (an embedded one): go on as we are
