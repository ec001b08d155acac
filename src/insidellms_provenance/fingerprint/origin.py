"""Check that an imported entry point's module came from its distribution's files."""

from __future__ import annotations

import functools
import os
import sys
from importlib import metadata
from pathlib import Path

from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import Origin

__all__ = ["check_origin", "imported_file"]


@functools.cache
def _real(path: str) -> str:
    """``realpath`` of a site directory, resolved once per process."""
    return os.path.realpath(path)


def imported_file(ep: metadata.EntryPoint) -> str | None:
    """The file the entry point's module was imported from in this process, if any."""
    from insidellms_provenance.fingerprint.loader import entry_point_module

    module = sys.modules.get(entry_point_module(ep) or "")
    module_file = getattr(module, "__file__", None)
    return module_file if isinstance(module_file, str) else None


def check_origin(
    module_file: str | None,
    *,
    site_dir: Path,
    record_paths: frozenset[str],
    editable_root: Path | None,
    versions: list[str],
) -> Origin:
    """``shadowed`` when the imported module's file is not one of the dist's files.

    ``module_file`` is where the entry point's module was imported from (see
    :func:`imported_file`), here or in the child process that imported it.

    ``record_paths`` are the distribution's RECORD paths, relative to ``site_dir``. A
    same-named directory earlier on ``sys.path`` is the usual cause of shadowing. Works
    only after the module was imported; otherwise the status is ``unknown``.
    ``versions`` lists the versions of every copy of the distribution on ``sys.path``.
    """
    duplicates = tuple(versions) if len(versions) > 1 else ()
    if module_file is None:
        return schema.origin(status="unknown", duplicate_versions=duplicates)
    real_file = os.path.realpath(module_file)
    if editable_root is not None:
        inside = Path(real_file).is_relative_to(os.path.realpath(editable_root))
        return schema.origin(status="ok" if inside else "shadowed", duplicate_versions=duplicates)
    site = _real(str(site_dir))
    relative = os.path.relpath(real_file, site).replace(os.sep, "/")
    owned = not relative.startswith("../") and relative in record_paths
    return schema.origin(status="ok" if owned else "shadowed", duplicate_versions=duplicates)
