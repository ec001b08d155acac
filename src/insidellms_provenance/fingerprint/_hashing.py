"""Hash installed files safely: no symlinks followed, no FIFOs opened, large files streamed."""

from __future__ import annotations

import hashlib
import os
from stat import S_ISREG
from typing import Final

__all__ = ["POOL_MIN_FILES", "HashResult", "hash_fd", "hash_file", "read_file"]

# Below this many files a process pool costs more than it saves (spawning 2 workers and
# shipping the work costs about 60 ms here).
POOL_MIN_FILES: Final = 2000
_CHUNK: Final = 1 << 20
_OPEN_FLAGS: Final = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
# The C constructors, without ``hashlib.new``'s Python-level lookup (once a file).
_CONSTRUCTORS: Final = {
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}

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
    """The digest and size of the regular file open as ``fd``, or why it was not read.

    The first read asks for one byte more than ``fstat``'s size (at most a chunk): a
    file that gives exactly its size there has ended, and most files take that one
    read. Anything else (a file that grew or shrank since) is read on to its end.
    """
    try:
        status = os.fstat(fd)
        if not S_ISREG(status.st_mode):
            return "special file"
        expected = status.st_size
        first = os.read(fd, expected + 1 if expected < _CHUNK else _CHUNK)
        constructor = _CONSTRUCTORS.get(algorithm)
        digest = constructor(first) if constructor is not None else hashlib.new(algorithm, first)
        size = len(first)
        if size != expected or size == _CHUNK:
            while chunk := os.read(fd, _CHUNK):
                digest.update(chunk)
                size += len(chunk)
        return digest.digest(), size
    except OSError as error:
        return f"unreadable ({error.strerror})"


def _read_fd(fd: int) -> HashResult:
    """The bytes and size of the regular file open as ``fd``, or why it was not read."""
    try:
        if not S_ISREG(os.fstat(fd).st_mode):
            return "special file"
        chunks = []
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
        data = b"".join(chunks)
        return data, len(data)
    except OSError as error:
        return f"unreadable ({error.strerror})"
