"""``record``: fingerprint the group's plugins in this environment and print the field."""

from __future__ import annotations

import argparse

from insidellms_provenance.cli._options import add_group, add_output, set_epilog
from insidellms_provenance.cli._render import write_output

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    add_group(parser)
    set_epilog(
        parser,
        exit_codes="0 recorded; 2 bad input (an --output path that cannot be written, or "
        "that is a run manifest: 'embed' writes into those). "
        "A plugin that fails to import or whose plugin_manifest() raises is recorded as a "
        "problem on that plugin, not an error.",
    )
    add_output(parser, "write the field to FILE instead of standard output")


def run(arguments: argparse.Namespace) -> int:
    """Record and write canonical JSON plus a newline."""
    from insidellms_provenance._canonical import canonical_json
    from insidellms_provenance.fingerprint._recorder import record_field

    # Before the plugins are imported, not after: an output no write may replace, or a
    # closed stdout (``>&-``), which refuses even an empty write.
    if arguments.output is not None:
        from insidellms_provenance.runfile._embed import check_output

        if check_output(arguments.output) is not None:
            _refuse_a_manifest(arguments.output)
    else:
        write_output(b"")
    data = canonical_json(record_field(arguments.group, isolated=True)) + b"\n"
    if arguments.output is None:
        write_output(data)
    else:
        from pathlib import Path

        from insidellms_provenance.runfile._embed import atomic_write

        atomic_write(Path(arguments.output), data)
    return 0


def _refuse_a_manifest(output: str) -> None:
    """Refuse ``--output`` onto a run manifest: the record would replace the whole run's.

    What the file is, ``file_kind`` says, the rule every reader and ``embed`` use: a
    JSON object that is not a record file is a manifest. A record file, or a file that
    is not a run file at all, is replaced as before. The message says which: the host's
    manifests have a ``custom`` object; any other JSON object (a ``package.json``) is
    only read as one.
    """
    from insidellms_provenance.errors import InvalidRunFileError, WriteError
    from insidellms_provenance.runfile._read import file_kind, read_json

    try:
        value = read_json(output)
        kind = file_kind(value, output)
    except InvalidRunFileError:
        return
    if kind == "manifest":
        custom = isinstance(value, dict) and isinstance(value.get("custom"), dict)
        what = "a run manifest" if custom else "a JSON object, read as a run manifest"
        raise WriteError(
            f"{output}: is {what}, not a record file; refusing to replace it "
            "('embed' writes the field into a manifest)"
        )
