"""Hash installed files safely: no symlinks followed, no FIFOs opened, large files streamed."""

from __future__ import annotations

import hashlib
import os
import stat
from typing import Final

__all__ = ["POOL_MIN_FILES", "HashResult", "hash_file", "read_file"]

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
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "special file"
        chunks = []
        digest = hashlib.new(algorithm) if algorithm is not None else None
        size = 0
        while chunk := os.read(fd, _CHUNK):
            if digest is None:
                chunks.append(chunk)
            else:
                digest.update(chunk)
            size += len(chunk)
        return (b"".join(chunks) if digest is None else digest.digest()), size
    except OSError as error:
        return f"unreadable ({error.strerror})"
    finally:
        os.close(fd)
