"""Distributions installed without a wheel: ``setup.py develop`` links and ``.egg`` files.

Neither has a ``RECORD`` nor a ``direct_url.json``. A ``setup.py develop`` install (also
what pip before 21.3 ran for ``pip install -e``) puts ``NAME.egg-link`` in the site
directory, naming the directory that holds ``NAME.egg-info`` (the *egg base*) and, on
its second line, the project directory relative to it; the egg base goes on
``sys.path`` through ``easy-install.pth``. An ``.egg`` (a zip file or a directory) is
on ``sys.path`` itself, with its metadata in ``EGG-INFO``.

Typical usage::

    install = legacy_install(dist)
    if install is not None:
        rows, problems = legacy_rows(install)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import stat
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from insidellms_provenance._safe_io import (
    RECORD_FILE_LIMIT,
    FileRefusedError,
    read_regular,
)

__all__ = ["LegacyInstall", "legacy_install", "legacy_rows"]

_LINK_LIMIT = 4096  # an .egg-link is two short lines; refuse to read more
_CHUNK = 1 << 20
_FILE_LIMIT = RECORD_FILE_LIMIT  # a file of an unzipped egg or of an *.egg-info
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class LegacyInstall(NamedTuple):
    """A ``develop`` link or an ``egg``, and where its files are.

    ``metadata_dir`` is the ``*.egg-info`` or ``EGG-INFO`` directory; ``root`` is the
    project directory of a ``develop`` install (its source, as an editable's) or the
    ``.egg`` itself (its installed files, as a wheel's).
    """

    kind: str
    metadata_dir: Path
    root: Path


def legacy_install(dist: metadata.Distribution) -> LegacyInstall | None:
    """How ``dist`` was installed, when it was installed without a wheel."""
    # PathDistribution keeps its directory in a private attribute (see discover).
    path = getattr(dist, "_path", None)
    name = getattr(path, "name", None)
    if path is None or not isinstance(name, str):
        return None
    parent = os.path.normpath(str(path.parent))
    if name == "EGG-INFO" and parent.lower().endswith(".egg"):
        return LegacyInstall("egg", Path(parent, name), Path(parent))
    if name.lower().endswith(".egg-info") and isinstance(path, Path) and path.is_dir():
        root = _egg_links(tuple(entry for entry in sys.path if isinstance(entry, str))).get(parent)
        if root is not None:
            return LegacyInstall("develop", path, Path(root))
    return None


@functools.cache
def _egg_links(search_path: tuple[str, ...]) -> dict[str, str]:
    """``{egg base: project directory}`` of every ``*.egg-link`` on ``search_path``."""
    links: dict[str, str] = {}
    for entry in search_path:
        try:
            names = sorted(name for name in os.listdir(entry or ".") if name.endswith(".egg-link"))
        except OSError:
            continue
        for name in names:
            try:
                data = read_regular(
                    os.path.join(entry or ".", name), limit=_LINK_LIMIT, follow_symlinks=False
                )
            except FileRefusedError:
                continue  # not a link setuptools wrote: a symlink, a FIFO, a huge file
            lines = data.decode("utf-8", "replace").splitlines()
            if lines and lines[0].strip():
                base = os.path.normpath(lines[0].strip())
                relative = lines[1].strip() if len(lines) > 1 and lines[1].strip() else "."
                links.setdefault(base, os.path.normpath(os.path.join(base, relative)))
    return links


def legacy_rows(install: LegacyInstall) -> tuple[list[tuple[str, str, int]], list[str]]:
    """``[path, hash, size]`` rows of what a ``RECORD`` would list, and the problems.

    A ``develop`` install's code is its source tree (``source.editable_digest``), so its
    rows are the files of its ``*.egg-info`` directory: the metadata, entry points
    included, that decides what is loaded. An ``.egg``'s rows are all of its files,
    relative to the egg, as a wheel's RECORD lists them relative to the site directory,
    except ``__pycache__`` bytecode, which ``bdist_egg`` compiles from the sources it
    lists (with their build time in it) and which ``zipimport`` never reads.
    """
    if install.kind == "develop":
        prefix = install.metadata_dir.name + "/"
        rows, problems = _directory_rows(install.metadata_dir)
        return [(prefix + path, digest, size) for path, digest, size in rows], problems
    if install.root.is_dir():
        return _directory_rows(install.root)
    return _zip_rows(install.root)


def _row(path: str, data: bytes) -> tuple[str, str, int]:
    value = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return (path, f"sha256={value}", len(data))


def _directory_rows(root: Path) -> tuple[list[tuple[str, str, int]], list[str]]:
    rows: list[tuple[str, str, int]] = []
    problems: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(name for name in dirnames if name != "__pycache__")
        relative_dir = Path(directory).relative_to(root)
        for name in sorted(filenames):
            relative = (relative_dir / name).as_posix()
            try:
                data = read_regular(
                    os.path.join(directory, name), limit=_FILE_LIMIT, follow_symlinks=False
                )
            except FileRefusedError as error:
                problems.append(f"{relative!r}: {error.reason}")
            else:
                rows.append(_row(relative, data))
    return rows, problems


def _zip_rows(path: Path) -> tuple[list[tuple[str, str, int]], list[str]]:
    """Rows of a zipped egg, opened without following a symlink or blocking on a FIFO."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        return [], [f"{path.name!r} cannot be read: {type(error).__name__}"]
    try:
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                return [], [f"{path.name!r} is not a regular file"]
            with zipfile.ZipFile(file) as archive:
                return [
                    _member_row(archive, info)
                    for info in archive.infolist()
                    if not info.is_dir() and "__pycache__" not in info.filename.split("/")
                ], []
    except (OSError, zipfile.BadZipFile, ValueError) as error:
        return [], [f"{path.name!r} cannot be read: {type(error).__name__}"]


def _member_row(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, str, int]:
    """A member's row, hashed in chunks (memory stays flat whatever it expands to)."""
    digest = hashlib.sha256()
    size = 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    value = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
    return (info.filename, f"sha256={value}", size)
