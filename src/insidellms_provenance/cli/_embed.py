"""``embed``: write the field into a run's ``manifest.json`` (``custom.plugin_provenance``)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from insidellms_provenance.cli._options import add_group, group_to_record, path_value, set_epilog

if TYPE_CHECKING:
    from insidellms_provenance.runfile._embed import EmbedResult

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    add_group(parser, or_run=True)
    set_epilog(
        parser,
        exit_codes="0 embedded, or already up to date; 2 bad input (no manifest.json, "
        "invalid JSON, a record file or other file that is not a run manifest, a value "
        "under custom.plugin_provenance that is not a field this version reads, an "
        "unreadable --from file or the manifest itself as --from, a directory that cannot "
        "be written); manifest.json is then left unchanged.",
    )
    parser.add_argument(
        "run", type=path_value, metavar="RUN_DIR", help="run directory or manifest.json"
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=path_value,
        metavar="FILE",
        help="embed a field written earlier by 'record' instead of recording now",
    )


def run(arguments: argparse.Namespace) -> int:
    """Embed, then say what happened on stderr."""
    from insidellms_provenance.cli._render import safe_line
    from insidellms_provenance.runfile._embed import embed

    if arguments.source is not None:
        from insidellms_provenance.field._read import require_group
        from insidellms_provenance.runfile._read import load_provenance

        provenance, _ = load_provenance(arguments.source)
        require_group(provenance, where=str(arguments.source), group=arguments.group)
    else:
        from insidellms_provenance.fingerprint._recorder import record

        provenance = record(group_to_record(arguments), isolated=True)
    result = embed(arguments.run, provenance, source=arguments.source)
    # The run's path and an attestation's file name are in them: one line each.
    for message in _messages(result, len(provenance["plugins"])):
        print(safe_line(message), file=sys.stderr)
    return 0


def _messages(result: EmbedResult, count: int) -> list[str]:
    """What to say about an embed of ``count`` plugins: what happened, what is now stale."""
    where = result.path
    if not result.changed:
        return [f"{where}: provenance already up to date"]
    messages = [f"{where}: embedded provenance of {count} plugin(s)"]
    if not result.exact_style:
        messages.append(
            f"{where}: note: not in one json.dumps layout; every other byte is kept and "
            "the field is laid out as its neighbours"
        )
    if result.stale:
        messages.append(
            f"{where}: warning: {len(result.stale)} attestation file(s) such as "
            f"{result.stale[0]} were computed over the previous manifest.json and no longer "
            "match it; re-run 'insidellms attest' and 'insidellms sign'"
        )
    return messages
