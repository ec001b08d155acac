"""A run's dependency closures, reused while nothing they were read from has changed.

The closures of a run's plugins and the table describing their dependencies are a pure
function of: the interpreter (which markers hold), the installed listing (which
metadata directory each name resolves to), the METADATA, RECORD and ``direct_url.json``
of every plugin and dependency walked, and the code that computes them. One entry per
set of plugins holds the result with that listing and the status evidence of every
metadata directory (``_digest_cache.metadata_status``: device, inode, size, mode,
modification and change times of the directory, RECORD and METADATA, and of
``direct_url.json``). A later run serves it only if the listing is equal and every
status is equal and settled (``_digest_cache.settled``, git's racy-timestamp rule);
otherwise the closures are walked again, through the description cache. Nothing is
stored when anything else was read (an editable dependency's source tree, a RECORD
whose digest reads scripts, an ``.egg-info``), or on a file system whose change time
proves nothing. ``docs/decisions.md`` (issue 17) gives the reasoning.

Typical usage::

    found = load_closures(directory, plugin_dirs)
    if found is None: ...walk, then store_closures(directory, plugin_dirs, ...)
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Final, cast

from insidellms_provenance.field.schema import Dependency, UnsatisfiedRequirement
from insidellms_provenance.fingerprint._digest_cache import (
    Status,
    file_status,
    load_entry,
    metadata_status,
    settled,
    source_definition,
    store_entry,
)
from insidellms_provenance.fingerprint._discover import InstalledDistributions

__all__ = ["Closures", "load_closures", "store_closures"]

Closures = tuple[dict[str, tuple[list[str], list[UnsatisfiedRequirement]]], dict[str, Dependency]]
"""Each plugin's closure and unsatisfied requirements (by metadata directory), and the table."""

_FORMAT: Final = b"insidellms-provenance closures 1"
# The modules whose code decides the closures, the table, and this entry.
_DEFINING_MODULES: Final = (
    "insidellms_provenance._safe_io",
    "insidellms_provenance._canonical",
    "insidellms_provenance.errors",
    "insidellms_provenance.field.schema",
    "insidellms_provenance.fingerprint._closure_cache",
    "insidellms_provenance.fingerprint._dependencies",
    "insidellms_provenance.fingerprint._digest_cache",
    "insidellms_provenance.fingerprint._discover",
    "insidellms_provenance.fingerprint._dist_files",
    "insidellms_provenance.fingerprint._distribution",
    "insidellms_provenance.fingerprint._install_layout",
    "insidellms_provenance.fingerprint._record_file",
    "insidellms_provenance.fingerprint._redact",
    "insidellms_provenance.fingerprint._requirements",
    "insidellms_provenance.fingerprint._source",
)


def load_closures(directory: Path, plugin_dirs: Sequence[str]) -> Closures | None:
    """The stored closures of the plugins in ``plugin_dirs``, if nothing they depend on changed."""
    name, _ = _entry_name(plugin_dirs)
    value = load_entry(directory, name) if name is not None else None
    if value is None:
        return None
    evidence, checked_ns = value.get("evidence"), value.get("checked_ns")
    closures, table = value.get("closures"), value.get("table")
    if not (
        isinstance(evidence, dict)
        and type(checked_ns) is int
        and isinstance(closures, dict)
        and closures.keys() == set(plugin_dirs)
        and all(_is_closure(found) for found in closures.values())
        and isinstance(table, dict)
        and all(isinstance(entry, dict) for entry in table.values())
        and value.get("listing") == InstalledDistributions().listing()
    ):
        return None
    statuses: list[Status] = []
    for path, stored in evidence.items():
        current = _evidence(path)
        if current is None or current != stored:
            return None
        statuses.extend(status for status in current if status is not None)
    if not settled(statuses, checked_ns, time.time_ns()):
        return None
    return (
        {path: (found[0], found[1]) for path, found in closures.items()},
        cast("dict[str, Dependency]", table),
    )


def store_closures(  # noqa: PLR0913 - what the entry is made of
    directory: Path,
    plugin_dirs: Sequence[str],
    *,
    closures: Closures,
    listing: dict[str, str],
    read: Sequence[metadata.Distribution],
    checked_ns: int,
) -> None:
    """Store ``closures`` with the evidence of what they were ``read`` from, if it proves it.

    ``checked_ns`` is the time before the first of them was read: evidence taken now
    counts only if every change time is older than that (``settled``), so a file
    changed while it was walked never counts.
    """
    name, code = _entry_name(plugin_dirs)
    by_plugin, table = closures
    if name is None or any(
        entry["source"] is None or entry["source"]["editable"] for entry in table.values()
    ):
        return
    evidence: dict[str, Any] = {}
    for dist in read:
        path = getattr(dist, "_path", None)
        found = _evidence(path) if isinstance(path, Path) else None
        if found is None:
            return
        evidence[str(path)] = found
    statuses = [status for found in evidence.values() for status in found if status is not None]
    if not settled([*statuses, *code], checked_ns, checked_ns):
        return  # could never count: the next run walks (and stores) again
    value = {
        "listing": listing,
        "evidence": evidence,
        "checked_ns": checked_ns,
        "closures": {path: list(found) for path, found in by_plugin.items()},
        "table": table,
    }
    store_entry(directory, name, value)


def _is_closure(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], list)
        and all(isinstance(name, str) for name in value[0])
        and isinstance(value[1], list)
        and all(isinstance(requirement, dict) for requirement in value[1])
    )


def _evidence(path: str | os.PathLike[str]) -> list[Status | None] | None:
    """Status of a metadata directory, RECORD, METADATA and ``direct_url.json`` (or ``None``).

    ``None`` where status proves nothing (``metadata_status``). A missing
    ``direct_url.json`` is ``None`` in the list: creating one changes the directory's.
    """
    found = metadata_status(path)
    if found is None:
        return None
    return [*found, file_status(os.path.join(path, "direct_url.json"))]


def _entry_name(plugin_dirs: Sequence[str]) -> tuple[str | None, list[Status]]:
    """A digest of the code, the interpreter markers are judged for, and the plugins.

    The code is named by the status of each defining module's source where status proves
    it (then also returned, so that storing can require it settled: an edit after that
    changes the name), else by the sources' content; ``None`` if neither can.
    """
    package = Path(__file__).parent.parent
    statuses = [
        file_status(os.path.join(package, *module.split(".")[1:-1], f"{module.split('.')[-1]}.py"))
        for module in _DEFINING_MODULES
    ]
    code = [status for status in statuses if status is not None]
    if len(code) == len(statuses):
        definition = b"status " + repr(code).encode()
    else:
        code = []
        source = source_definition(_DEFINING_MODULES)
        if source is None:
            return None, []
        definition = b"source " + source
    implementation = sys.implementation
    interpreter = repr(
        (
            sys.version,
            implementation.name,
            tuple(implementation.version),
            sys.platform,
            os.name,
            tuple(os.uname()) if hasattr(os, "uname") else None,
        )
    ).encode()
    digest = hashlib.sha256(_FORMAT)
    for part in (definition, interpreter, *(os.fsencode(path) for path in sorted(plugin_dirs))):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest(), code
