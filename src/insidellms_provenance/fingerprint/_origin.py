"""Check that an imported entry point's module came from its distribution's files."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import Origin
from insidellms_provenance.fingerprint._dist_files import read_info_text

__all__ = ["check_origin", "duplicate_versions"]


@functools.cache
def _real(path: str) -> str:
    """``realpath`` of a site directory, resolved once per process."""
    return os.path.realpath(path)


def duplicate_versions(
    dist: metadata.Distribution, copies: list[str], editable_root: Path | None
) -> list[str]:
    """Versions of the copies of ``dist`` that count as installs of their own, if several.

    ``copies`` are metadata directories from ``installed_copies``. An editable install's
    own source directory is on ``sys.path`` and may hold the ``*.egg-info`` its build
    backend wrote there (setuptools does, in ``src/``): that is the same install, not a
    second one, unless it is the distribution's own metadata. With one install or none
    there is no duplicate, and no version is read.
    """
    if editable_root is not None:
        own = os.path.abspath(str(getattr(dist, "_path", "")))
        root = os.path.abspath(editable_root)
        copies = [
            directory
            for directory in copies
            if os.path.abspath(directory) == own
            or not Path(os.path.abspath(directory)).is_relative_to(root)
        ]
    return [_copy_version(directory) for directory in copies] if len(copies) > 1 else []


def _copy_version(directory: str) -> str:
    """The Version in a copy's METADATA (PKG-INFO for eggs), else its directory name's."""
    # Only with several copies installed: a host run rarely needs the METADATA reader.
    from insidellms_provenance.fingerprint._distribution import name_and_version

    for filename in ("METADATA", "PKG-INFO"):
        text = read_info_text(directory, filename)
        version = name_and_version(text, [])[1] if text is not None else ""
        if version:
            return version
    name = os.path.basename(directory)
    return name.rpartition(".")[0].partition("-")[2].partition("-")[0]


def check_origin(
    module_file: str | None,
    *,
    site_dir: Path,
    record_paths: frozenset[str],
    editable_root: Path | None,
    versions: list[str],
) -> Origin:
    """``shadowed`` when the imported module's file is not one of the dist's files.

    ``module_file`` is where the import system found the entry point's module (see
    :func:`~insidellms_provenance.fingerprint._loader.imported_file`: never the module's
    own ``__file__``), here or in the child process that imported it.

    ``record_paths`` are the distribution's RECORD paths, relative to ``site_dir``. A
    same-named directory earlier on ``sys.path`` is the usual cause of shadowing. Works
    only after the module was imported, and only where the distribution lists its files
    (RECORD, or a legacy install's own list) or is editable; otherwise the status is
    ``unknown``: a ``*.egg-info`` without RECORD (``setup.py install``, a distribution's
    system package) owns its module as far as anyone can tell.
    ``versions`` lists the versions of every copy of the distribution on ``sys.path``.
    """
    duplicates = tuple(versions) if len(versions) > 1 else ()
    if module_file is None or (editable_root is None and not record_paths):
        return schema.origin(status="unknown", duplicate_versions=duplicates)
    if editable_root is not None:
        owned = any(
            Path(file).is_relative_to(root)
            for file, root in _both_forms(module_file, str(editable_root))
        )
    else:
        owned = any(
            (relative := _relative(file, site)) in record_paths and not relative.startswith("../")
            for file, site in _both_forms(module_file, str(site_dir))
        )
    return schema.origin(status="ok" if owned else "shadowed", duplicate_versions=duplicates)


def _relative(file: str, directory: str) -> str:
    """``os.path.relpath(file, directory)`` with ``/``, for two absolute, normal paths.

    A file below the directory is the common case, and its relative path is the rest
    of its own: no need for ``relpath``'s splitting and comparing (≈ 60 µs a plugin).
    """
    if directory != os.sep and file.startswith(directory + os.sep):
        return file[len(directory) + 1 :].replace(os.sep, "/")
    return os.path.relpath(file, directory).replace(os.sep, "/")


def _both_forms(file: str, directory: str) -> Iterator[tuple[str, str]]:
    """``file`` and ``directory`` as written (absolute), then with symlinks above them resolved.

    As written first: uv's ``--link-mode=symlink`` installs every file as a symlink into
    its cache, so only the path Python imported through lies in the site directory.
    Resolved second, and only if asked for (resolving costs a system call per
    component): a site directory reached through a symlinked parent (``/tmp`` on
    macOS) may be spelt differently in the module's path and on ``sys.path``. Only the
    ``sys.path`` entry the file lies in is resolved, never a link below it: there the
    module's own code could have turned itself, or its package, into a link to the
    installed file after it ran.
    """
    file = os.path.abspath(file)
    yield file, os.path.abspath(directory)
    for entry, below in _entries_holding(file):
        yield os.path.join(_real(entry), below), _real(directory)


def _entries_holding(file: str) -> Iterator[tuple[str, str]]:
    """Each ``sys.path`` entry (absolute) that ``file`` lies below, and the rest of its path."""
    for entry in sorted({os.path.abspath(entry or os.curdir) for entry in sys.path}):
        prefix = entry if entry.endswith(os.sep) else entry + os.sep
        if file.startswith(prefix):
            yield entry, file[len(prefix) :]
