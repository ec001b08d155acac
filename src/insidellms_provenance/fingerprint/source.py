"""Where a distribution came from (PEP 610), and a digest of an editable source tree."""

from __future__ import annotations

import hashlib
import os
import stat
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import orjson

from insidellms_provenance.canonical import canonical_digest
from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import Source
from insidellms_provenance.fingerprint.dist_files import read_dist_text
from insidellms_provenance.fingerprint.legacy import legacy_install
from insidellms_provenance.fingerprint.redact import clean_url, redact

if TYPE_CHECKING:
    from packaging.direct_url import DirectUrl

__all__ = [
    "SKIPPED_SOURCE_DIRS",
    "TOP_LEVEL_OUTPUT_DIRS",
    "describe_source",
    "editable_root",
    "source_tree_digest",
]

# Skipped at any depth: version-control and tool state. None of these names is a valid
# Python identifier or a place a build backend takes package data from, so they cannot
# hold the plugin's code.
SKIPPED_SOURCE_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
    }
)
# Skipped only directly below the source root, and only when not a package (no
# ``__init__.py``): where build backends, ``python -m build`` and npm write their output.
# The same names deeper down (``src/pkg/build/``) or as a flat-layout package are code.
TOP_LEVEL_OUTPUT_DIRS = frozenset({"build", "dist", "node_modules"})


def describe_source(dist: metadata.Distribution) -> Source:
    """Summarize ``direct_url.json``; no file means the dist came from an index."""
    problems: list[str] = []
    text = read_dist_text(dist, "direct_url.json", problems)
    if problems:
        return schema.source(kind="unknown", problems=problems)
    if text is None:
        return _legacy_source(dist)
    direct = _parse_direct_url(text)
    if isinstance(direct, str):
        problem = redact(f"direct_url.json is invalid: {direct}")
        return schema.source(kind="unknown", problems=(problem,))

    url, local_name, local_path = _split_url(direct.url)
    if direct.vcs_info is not None:
        return schema.source(
            kind="vcs",
            url=url,
            vcs=direct.vcs_info.vcs,
            commit=direct.vcs_info.commit_id,
            requested_revision=direct.vcs_info.requested_revision,
        )
    if direct.dir_info is not None:
        editable = bool(direct.dir_info.editable)
        digest = None
        if editable:
            if local_path is not None and local_path.is_dir():
                digest = source_tree_digest(local_path)
            else:
                problems.append("editable source directory is not available")
        return schema.source(
            kind="directory",
            url=url,
            editable=editable,
            editable_digest=digest,
            problems=problems,
        )
    return schema.source(kind="archive", url=url, local_name=local_name)


def _legacy_source(dist: metadata.Distribution) -> Source:
    """No ``direct_url.json``: from an index, unless installed without a wheel.

    A ``setup.py develop`` install is fingerprinted like a PEP 660 editable one; an
    ``.egg`` is an archive named by its file name.
    """
    legacy = legacy_install(dist)
    if legacy is None:
        return schema.source(kind="index")
    if legacy.kind == "egg":
        return schema.source(kind="archive", local_name=legacy.root.name)
    if not legacy.root.is_dir():
        return schema.source(
            kind="directory",
            editable=True,
            problems=("editable source directory is not available",),
        )
    return schema.source(
        kind="directory", editable=True, editable_digest=source_tree_digest(legacy.root)
    )


def _parse_direct_url(text: str) -> DirectUrl | str:
    """``direct_url.json`` parsed by packaging, or the first line of what is wrong with it."""
    from packaging.direct_url import DirectUrl, DirectUrlValidationError

    try:
        value = orjson.loads(text)
        if not isinstance(value, dict):
            return f"expected a JSON object, not {type(value).__name__}"
        return DirectUrl.from_dict(value)
    except (orjson.JSONDecodeError, DirectUrlValidationError, TypeError) as error:
        return str(error).splitlines()[0] if str(error) else type(error).__name__


def editable_root(dist: metadata.Distribution) -> Path | None:
    """The local source directory of an editable install, if there is one.

    Named by ``direct_url.json``, or by the ``.egg-link`` of a ``setup.py develop``.
    """
    try:
        text = read_dist_text(dist, "direct_url.json")
        value = orjson.loads(text) if text is not None else None
    except orjson.JSONDecodeError:
        return None
    if value is None:
        legacy = legacy_install(dist)
        return legacy.root if legacy is not None and legacy.kind == "develop" else None
    url = value.get("url", "") if isinstance(value, dict) else None
    return _split_url(url)[2] if isinstance(url, str) else None


def _split_url(url: str) -> tuple[str | None, str | None, Path | None]:
    """(remote URL without credentials, local file name, local path) of a PEP 610 URL."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        return None, path.name, path
    return clean_url(url), None, None


def source_tree_digest(root: Path) -> str:
    """Digest every file below ``root``: relative path and content, symlinks not followed.

    Skips only what cannot be the plugin's code (``docs/record-digest.md``):
    :data:`SKIPPED_SOURCE_DIRS`, ``*.egg-info`` metadata and virtual environments
    (``pyvenv.cfg``) at any depth, :data:`TOP_LEVEL_OUTPUT_DIRS` directly below ``root``
    unless they are packages, and bytecode. Building, testing or creating a venv in
    place does not change the digest; an edit to any module does.
    """
    rows: list[tuple[str, str]] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            name
            for name in dirnames
            if not _skipped(Path(directory, name), top=directory == str(root))
        )
        relative_dir = Path(directory).relative_to(root)
        for name in filenames:
            path = Path(directory, name)
            relative = (relative_dir / name).as_posix()
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                rows.append((relative, "symlink:" + os.readlink(path)))
            elif stat.S_ISREG(mode) and not name.endswith((".pyc", ".pyo")):
                rows.append((relative, _file_sha256(path)))
    rows.sort(key=lambda row: row[0].encode("utf-8", "surrogatepass"))
    return canonical_digest(rows)


def _skipped(directory: Path, *, top: bool) -> bool:
    """Whether ``directory`` cannot hold the plugin's code (see :func:`source_tree_digest`)."""
    name = directory.name
    if name in SKIPPED_SOURCE_DIRS or name.endswith(".egg-info"):
        return True
    if top and name in TOP_LEVEL_OUTPUT_DIRS and not (directory / "__init__.py").exists():
        return True
    return (directory / "pyvenv.cfg").exists()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()
