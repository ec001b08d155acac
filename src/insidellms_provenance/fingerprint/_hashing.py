"""Hash installed files safely: no symlinks followed, no FIFOs opened, large files streamed."""

from __future__ import annotations

import hashlib
import os
import stat
from typing import Final

__all__ = ["POOL_MIN_FILES", "HashResult", "hash_fd", "hash_file", "read_file"]

# Below this many files a process pool costs more than it saves (spawning 2 workers and
# shipping the work costs about 60 ms here).
POOL_MIN_FILES: Final = 2000
_CHUNK: Final = 1 << 20
_OPEN_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

HashResult = tuple[bytes, int] | str


def hash_file(path: str, algorithm: str) -> HashResult:
    """The digest and size of a regular file, or a short reason it was not read.

    Opens without following a final symlink and without blocking (a FIFO swapped in
    after a check cannot hang us), then refuses anything that is not a regular file.
    """
    return _read(path, algorithm)


def read_file(path: str) -> bytes | str:
    """The bytes of a regular file, or a short reason it was not read, as :func:`hash_file`."""
    result = _read(path, None)
    return result if isinstance(result, str) else result[0]


def _read(path: str, algorithm: str | None) -> HashResult:
    """What :func:`hash_file` returns; without ``algorithm``, the bytes instead of a digest."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        if os.path.islink(path):
            return "symlink"
        return f"unreadable ({error.strerror})"
    try:
        return hash_fd(fd, algorithm) if algorithm is not None else _read_fd(fd)
    finally:
        os.close(fd)


def hash_fd(fd: int, algorithm: str) -> HashResult:
    """The digest and size of the regular file open as ``fd``, or why it was not read."""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "special file"
        digest = hashlib.new(algorithm)
        size = 0
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
            size += len(chunk)
        return digest.digest(), size
    except OSError as error:
        return f"unreadable ({error.strerror})"


def _read_fd(fd: int) -> HashResult:
    """The bytes and size of the regular file open as ``fd``, or why it was not read."""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "special file"
        chunks = []
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
        data = b"".join(chunks)
        return data, len(data)
    except OSError as error:
        return f"unreadable ({error.strerror})"
