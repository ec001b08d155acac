"""Read a file without blocking, never past a size cap, and only if it is a regular file.

Every file the package reads (run files, policy files, a distribution's RECORD,
METADATA, ``entry_points.txt``, ``direct_url.json``) goes through :func:`read_regular`:
a FIFO, a socket or a device such as ``/dev/zero`` is refused after ``open`` and before
the first ``read``, so nothing waits for a writer or reads forever. Standard library only:
the recording path inside host runs uses it.

Typical usage::

    try:
        data = read_regular(path, limit=RUN_FILE_LIMIT)
    except FileRefusedError as error:
        print(f"{path}: {error.reason}")
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = [
    "DIST_FILE_LIMIT",
    "POLICY_FILE_LIMIT",
    "RECORD_FILE_LIMIT",
    "RUN_FILE_LIMIT",
    "FileRefusedError",
    "read_open_file",
    "read_regular",
]

# Size caps, documented in the docs of each command. A run file holds the field of every
# plugin (10,000 plugins make about 20 MB); a RECORD lists every installed file.
RUN_FILE_LIMIT: Final = 256 << 20
RECORD_FILE_LIMIT: Final = 64 << 20
DIST_FILE_LIMIT: Final = 16 << 20  # METADATA, entry_points.txt, direct_url.json
POLICY_FILE_LIMIT: Final = 1 << 20

_CHUNK: Final = 1 << 20
_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)


class FileRefusedError(Exception):
    """A file was not read: missing, not a regular file, too large or unreadable."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


def read_regular(
    path: str | os.PathLike[str],
    *,
    limit: int,
    follow_symlinks: bool = True,
    dir_fd: int | None = None,
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; raise ``FileRefusedError``.

    Opens with ``O_NONBLOCK`` (a FIFO without a writer cannot hang the open) and, unless
    ``follow_symlinks``, ``O_NOFOLLOW``; then checks with ``fstat`` that the open file is a
    regular file, so a file swapped between a check and the open is still refused.
    """
    flags = os.O_RDONLY | _NONBLOCK | (0 if follow_symlinks else _NOFOLLOW)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        raise FileRefusedError("no such file", missing=True) from None
    except IsADirectoryError:
        raise FileRefusedError("is a directory") from None
    except OSError as error:
        if not follow_symlinks and _is_symlink(path, dir_fd):
            raise FileRefusedError("is a symlink (not followed)") from None
        raise FileRefusedError(f"cannot read: {error.strerror}") from None
    try:
        return read_open_file(fd, limit=limit)
    finally:
        os.close(fd)


def read_open_file(fd: int, *, limit: int) -> bytes:
    """Check that ``fd`` is a regular file and read it whole, at most ``limit`` bytes."""
    try:
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            raise FileRefusedError("is a directory")
        if not stat.S_ISREG(status.st_mode):
            raise FileRefusedError("not a regular file (FIFO, socket or device); not read")
        # The size fstat gives, and one byte more, in one read (one copy of a large run
        # file in memory, not chunks and their join): a file that gives exactly its size
        # there has ended. Otherwise on to the end, whatever the file became.
        expected = min(max(status.st_size, 0), limit)
        first = os.read(fd, expected + 1)
        if len(first) == expected:
            return first
        chunks: list[bytes] = []
        size = 0
        while chunk := (first if not chunks else os.read(fd, min(_CHUNK, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise FileRefusedError(f"larger than the {_size(limit)} limit; not read")
        return b"".join(chunks)
    except OSError as error:
        raise FileRefusedError(f"cannot read: {error.strerror}") from None


def _is_symlink(path: str | os.PathLike[str], dir_fd: int | None) -> bool:
    try:
        return stat.S_ISLNK(os.stat(path, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"
