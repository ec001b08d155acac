"""``demo``: record, embed and show on a built-in example, with no insideLLMs installed."""

from __future__ import annotations

import argparse
from pathlib import Path

from insidellms_provenance.cli._options import path_value, set_epilog

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    parser.add_argument(
        "directory",
        type=path_value,
        nargs="?",
        metavar="DIR",
        help="where to put the example, kept afterwards (default: a temporary "
        "directory, removed at the end)",
    )
    set_epilog(
        parser,
        exit_codes="0 every step showed what it should; 1 a step did not (a bug: please "
        "report it); 2 bad input (DIR cannot be written).",
    )


def run(arguments: argparse.Namespace) -> int:
    """Tell the story in DIR (kept), or in a temporary directory that is removed."""
    import shutil
    import tempfile

    from insidellms_provenance._demo import run_demo
    from insidellms_provenance.errors import ProvenanceError

    if arguments.directory is not None:
        # Absolute: the demo's processes run in DIR and find its site-packages by path.
        directory: Path = arguments.directory.absolute()
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise ProvenanceError(f"{directory}: not an empty directory; give a new one")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ProvenanceError(f"{directory}: cannot create: {error.strerror}") from None
        code = run_demo(directory, keep=True)
        print(f"\nThe example is kept in {directory}.")
        return code
    directory = Path(tempfile.mkdtemp(prefix="insidellms-provenance-demo-"))
    try:
        return run_demo(directory, keep=False)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        print(f"\nRemoved the temporary directory {directory} (give DIR to keep the example).")
