"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping

from insidellms_provenance.field.schema import DEFAULT_GROUP

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import NoReturn, Protocol

    class _Writable(Protocol):
        """What argparse writes its messages to (``_typeshed.SupportsWrite[str]``)."""

        def write(self, text: str, /) -> object: ...


__all__ = [
    "ENVIRONMENT_HELP",
    "HelpFormatter",
    "Parser",
    "StoreOnce",
    "add_format",
    "add_group",
    "add_group_filter",
    "add_output",
    "add_quiet",
    "add_run",
    "group_to_record",
    "named_path",
    "path_value",
    "set_epilog",
]

# What the two environment switches do; shown by ``doctor --help`` and ``list --help``.
ENVIRONMENT_HELP = (
    "INSIDELLMS_PROVENANCE=off (or 0, false, no): the hook in insideLLMs runs records",
    "  nothing; runs then have no custom.plugin_provenance field.",
    "INSIDELLMS_DISABLE_PLUGINS=1 (or true, yes; case-sensitive, as insideLLMs reads it):",
    "  insideLLMs loads no plugin at all, this package's hook included, so runs have no",
    "  field, and 'record' marks every plugin 'disabled' without importing it.",
    "A run without the field means 'unknown', never 'no plugins'.",
    "INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT=SECONDS (default 300): commands that import",
    "  plugins do so in a child process; a plugin still importing after this long is",
    "  stopped and recorded as failed ('inf': the longest wait the system takes).",
)

_HELP_WIDTH = 79


def add_group(parser: argparse.ArgumentParser, *, or_run: bool = False) -> None:
    """``--group``: the entry-point group (default ``insidellms.plugins``).

    ``or_run``: the command records the group, or reads a recorded run instead; the
    value is then None unless given (:func:`group_to_record` gives the default), so that
    a group the user names is held against the run's.
    """
    if not or_run:
        help_text = f"entry-point group (default: {DEFAULT_GROUP})"
        parser.add_argument("--group", default=DEFAULT_GROUP, help=help_text)
        return
    help_text = (
        f"entry-point group to record (default: {DEFAULT_GROUP}); given with a recorded "
        "run, refuse a run recorded for another group"
    )
    parser.add_argument("--group", action=StoreOnce, default=None, help=help_text)


def group_to_record(arguments: argparse.Namespace) -> str:
    """The group a command of :func:`add_group` ``or_run`` records: ``--group`` or the default."""
    group: str | None = arguments.group
    return DEFAULT_GROUP if group is None else group


def add_group_filter(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--group`` for readers: refuse fields of another group (default: accept any)."""
    parser.add_argument("--group", action=StoreOnce, default=None, help=help_text)


def named_path(text: str) -> str:
    """``text``, a path argument as typed, if it names a file: the type of every path argument.

    An empty argument (an unset shell variable, ``diff "$BASE_RUN" run``) names no file,
    but ``Path("")`` is ``.``: read as the current directory it compared a run with
    itself and wrote ``./manifest.json``. It is refused as bad input, as an empty
    ``--output`` is. The one rule: :func:`path_value` and ``diff``'s runs go through it.
    """
    if not text:
        raise argparse.ArgumentTypeError("an empty path names no file")
    return text


def path_value(text: str) -> Path:
    """A path argument's value, as ``type=Path`` makes it, if it names one (:func:`named_path`).

    ``pathlib`` (about 4 ms with ``urllib.parse`` and ``ipaddress``) is imported when a
    path is given, not to build the parser: ``verify`` with no RUN needs none.
    """
    from pathlib import Path

    return Path(named_path(text))


def add_run(parser: argparse.ArgumentParser, help_text: str, *, optional: bool = False) -> None:
    """The positional ``RUN``: a run directory, its ``manifest.json`` or a record file."""
    parser.add_argument(
        "run", type=path_value, nargs="?" if optional else None, metavar="RUN", help=help_text
    )


def add_output(parser: argparse.ArgumentParser, help_text: str, *, short: bool = True) -> None:
    """``--output FILE`` (and ``-o`` when ``short``), kept as typed.

    Not a ``Path``: it drops a trailing ``/``, and ``newdir/`` would become a file named
    ``newdir`` instead of a refusal (:func:`~insidellms_provenance.runfile._embed.check_output`).
    """
    flags = ("--output", "-o") if short else ("--output",)
    parser.add_argument(*flags, metavar="FILE", help=help_text)


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress line (shown only when stderr is a terminal)."""
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress line on stderr (shown only when stderr is a terminal)",
    )


def add_format(parser: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    """``--format``: how results are printed (the first choice is the default)."""
    parser.add_argument(
        "--format",
        choices=choices,
        default=choices[0],
        help=f"output format (default: {choices[0]})",
    )


def set_epilog(
    parser: argparse.ArgumentParser,
    *,
    exit_codes: str,
    sections: Mapping[str, str | tuple[str, ...] | Callable[[], str]] = {},
) -> None:
    """End ``--help`` with the command's exit codes and its rules, in full.

    Installed users have no ``docs/``, so what a selector or rule means is said here.
    A section given as a string is wrapped; one given as lines keeps them; one given as
    a function is its result. The text is put together only if help is printed
    (:class:`Parser`): running a command does not pay for wrapping it.
    """

    def epilog() -> str:
        blocks = [
            *((title, _section_text(text)) for title, text in sections.items()),
            ("exit codes", exit_codes),
        ]
        return "\n\n".join(f"{title}:\n{_indent(text)}" for title, text in blocks)

    if isinstance(parser, Parser):
        parser.epilog_text = epilog
    else:
        parser.epilog = epilog()
    parser.formatter_class = RawDescriptionHelpFormatter


def _section_text(text: str | tuple[str, ...] | Callable[[], str]) -> str:
    if isinstance(text, str):
        return text
    return "\n".join(text) if isinstance(text, tuple) else text()


def _indent(text: str) -> str:
    import textwrap

    if "\n" in text:
        return textwrap.indent(text, "  ")
    return textwrap.fill(
        text, width=_HELP_WIDTH, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
    )


class StoreOnce(argparse.Action):
    """``store`` for an option that may be given once: a second time is bad input.

    Given twice, an option that sets a policy is refused rather than "last one wins": a
    CI line that appends a second ``--fail-on`` or ``--policy`` must not silently drop
    the first. The error names both values; :attr:`hint` may say what to do instead.
    The option's default must be ``None`` (not given), which is how a second one is seen.
    """

    hint = ""

    @classmethod
    def with_hint(cls, hint: str) -> type[StoreOnce]:
        """The action with a refusal that ends with ``hint`` (``"; combine ... with commas"``)."""
        return type(cls.__name__, (cls,), {"hint": hint})

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        """Store ``values``; refuse them if the option was given before."""
        previous = getattr(namespace, self.dest, None)
        if previous is not None:
            option = option_string or self.dest
            given = f"{option} {previous} {option} {values}"
            parser.error(f"{option} may be given once ({given}){self.hint}")
        setattr(namespace, self.dest, values)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose epilog (:func:`set_epilog`) is written when help is."""

    epilog_text: Callable[[], str] | None = None

    def format_help(self) -> str:
        """The help, with the epilog put together first."""
        if self.epilog_text is not None:
            self.epilog, self.epilog_text = self.epilog_text(), None
        return super().format_help()

    def error(self, message: str) -> NoReturn:
        """Exit 2 with one line on stderr, as for any other bad input, and no usage block.

        The line names the command and where its usage is (``--help``). Words from the
        command line in the message (``unrecognized arguments: ...``) are made safe as
        recorded text is: a newline or an escape sequence in them cannot start a line.
        """
        from insidellms_provenance.cli._render import error_line

        root, _, command = self.prog.partition(" ")
        about = f"{command}: " if command else ""
        self.exit(2, error_line(root, f"{about}{message} (see '{self.prog} --help')") + "\n")

    def _print_message(self, message: str, file: _Writable | None = None) -> None:
        """Write help, usage or the version; one that cannot be written is not dropped.

        argparse ignores a failed write, so ``--help`` into a full disk or a closed pipe
        exited 0 with nothing written. The failure now goes on to ``main`` as a
        command's own output's does (exit 2; a broken pipe 141). A message for stderr
        (an error line) that cannot be written has nowhere to be told: it is dropped.
        """
        if not message:
            return
        stream = sys.stderr if file is None else file
        try:
            stream.write(message)
            flush = getattr(stream, "flush", None)
            if flush is not None:
                flush()
        except OSError as error:
            if stream is not sys.stderr:
                from insidellms_provenance.cli._render import raise_stdout_error

                raise_stdout_error(error)


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, reading the terminal's width only when it writes help.

    argparse makes a formatter for every argument added (to check its metavar) and each
    one read the terminal's width (importing ``shutil``, with ``bz2`` and ``lzma``), though
    none of them wrote a line. The width is now read as argparse reads it, just later,
    so help and usage are the same bytes.
    """

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, 80 if width is None else width)
        self._read_width = width is None
        self._asked_help_position = max_help_position

    def format_help(self) -> str:
        """Help or usage, wrapped to the terminal's width (as argparse sets it)."""
        if self._read_width:
            import shutil

            self._read_width = False
            self._width = shutil.get_terminal_size().columns - 2
            self._max_help_position = min(
                self._asked_help_position, max(self._width - 20, self._indent_increment * 2)
            )
        return super().format_help()


class RawDescriptionHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """:class:`HelpFormatter` that keeps the description's and epilog's line breaks."""
