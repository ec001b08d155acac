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
from insidellms_provenance.fingerprint.redact import clean_url, redact

if TYPE_CHECKING:
    from packaging.direct_url import DirectUrl

__all__ = ["SKIPPED_SOURCE_DIRS", "describe_source", "editable_root", "source_tree_digest"]

# Directories that hold tool output, caches or other environments, not source.
SKIPPED_SOURCE_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "node_modules",
        "build",
        "dist",
    }
)


def describe_source(dist: metadata.Distribution) -> Source:
    """Summarize ``direct_url.json``; no file means the dist came from an index."""
    problems: list[str] = []
    text = read_dist_text(dist, "direct_url.json", problems)
    if problems:
        return schema.source(kind="unknown", problems=problems)
    if text is None:
        return schema.source(kind="index")
    direct = _parse_direct_url(text)
    if isinstance(direct, str):
        problem = redact(f"direct_url.json is invalid: {direct}")
        return schema.source(kind="unknown", problems=(problem,))

    url, local_name, local_path = _split_url(direct.url)
    if direct.vcs_info is not None:
        return schema.source(
            kind="vcs",
            url=url,
            local_name=local_name,
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
            local_name=local_name,
            editable=editable,
            editable_digest=digest,
            problems=problems,
        )
    return schema.source(kind="archive", url=url, local_name=local_name)


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
    """The local source directory named by ``direct_url.json``, if there is one."""
    try:
        value = orjson.loads(read_dist_text(dist, "direct_url.json") or "{}")
    except orjson.JSONDecodeError:
        return None
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

    Skips :data:`SKIPPED_SOURCE_DIRS` and any directory holding a virtual environment
    (``pyvenv.cfg``), so building or testing in place does not change the digest.
    """
    rows: list[tuple[str, str]] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            name
            for name in dirnames
            if name not in SKIPPED_SOURCE_DIRS
            and not name.endswith(".egg-info")
            and not (Path(directory, name) / "pyvenv.cfg").exists()
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


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()
