"""Bytecode caches already found to match their sources, so ``record`` need not compile again.

Comparing a bytecode cache with its source costs compiling the source (≈ 1 s per 1.6 MB
of Python, every ``record``, for a pip-installed plugin: pip compiles every module). The
verdict "this cache holds what this source compiles to" is a pure function of bytes the
check reads first and of the code that checks: the cache's body, the source, the path
it is compiled under, the optimization level, the interpreter (version and build, cache
tag, magic number, flags, warning options) and the source of the comparing modules.

A match is remembered as an empty file named by the SHA-256 of exactly those
(length-prefixed), so a changed byte anywhere is another name, never a stale hit; a
mismatch is never remembered, and is checked again every time. Markers are read only
from a directory owned by the user that nobody else may write to, and only if they are
empty regular files of the user's (no symlink followed). Threat model, as for the
description cache (``docs/decisions.md``, issue 17): whoever can write that directory as
the user can also rewrite the run's files; ``verify`` never uses it and compiles every
source.

Typical usage::

    verdicts = BytecodeVerdicts(directory)
    key = verdicts.key(body, source, source_path, level)
    if key is None or not verdicts.matched(key):
        problem = compare(...)
        if problem is None and key is not None:
            verdicts.remember(key)
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from insidellms_provenance.fingerprint._cache_directory import cache_directory, trusted_directory

__all__ = ["BytecodeVerdicts", "verdicts_directory"]

_FORMAT: Final = b"insidellms-provenance bytecode verdict 1"
# The modules whose code decides a verdict (their source is part of every key).
_DEFINING_MODULES: Final = ("_integrity.py", "_bytecode_verdicts.py")
_OPEN_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def verdicts_directory(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where markers live: ``bytecode`` in the description cache's directory, if it is on."""
    descriptions = cache_directory(environ)
    return None if descriptions is None else descriptions / "bytecode"


class BytecodeVerdicts:
    """One recording's view of the markers; ``None`` as the directory turns it off."""

    __slots__ = ("_directory", "_prefix", "_trusted")

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._trusted: bool | None = None
        self._prefix = _prefix() if directory is not None else None

    def key(self, body: bytes, source: bytes, source_path: str, level: int) -> str | None:
        """The marker name for one comparison; ``None`` when verdicts are off."""
        if self._prefix is None:
            return None
        digest = hashlib.sha256(self._prefix)
        for part in (str(level).encode(), os.fsencode(source_path), source, body):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()

    def matched(self, key: str) -> bool:
        """Whether this very comparison found a match before."""
        if self._directory is None or not self._is_trusted():
            return False
        try:
            info = os.lstat(self._directory / key)
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and info.st_size == 0

    def remember(self, key: str) -> None:
        """Leave a marker for a comparison that found a match; quietly, if it cannot."""
        if self._directory is None:
            return
        try:
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._trusted = None  # it may have just been made
            if not self._is_trusted():
                return
            os.close(os.open(self._directory / key, _OPEN_FLAGS, 0o600))
        except OSError:  # already there (another recording), or not writable
            return

    def _is_trusted(self) -> bool:
        if self._trusted is None:
            self._trusted = self._directory is not None and trusted_directory(self._directory)
        return self._trusted


def _prefix() -> bytes | None:
    """The part of every key that is not the comparison's own input; ``None``: off.

    The interpreter decides what ``compile`` makes of a source (version and build, cache
    tag, magic number), and what it refuses (flags, warning options turned into errors);
    the defining modules decide how the code is compared. A source that cannot be read
    (a zip import) turns verdicts off.
    """
    from importlib.util import MAGIC_NUMBER

    digest = hashlib.sha256(_FORMAT)
    interpreter = repr(
        (
            sys.version,
            sys.implementation.cache_tag,
            sys.flags,
            sys.warnoptions,
        )
    ).encode()
    here = Path(__file__)
    try:
        sources = [here.with_name(name).read_bytes() for name in _DEFINING_MODULES]
    except OSError:
        return None
    for part in (interpreter, MAGIC_NUMBER, *sources):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()
