"""Where the tool keeps what it remembers between runs, and which directory it trusts.

The description cache (:mod:`~insidellms_provenance.fingerprint._digest_cache`) and the
remembered bytecode matches
(:mod:`~insidellms_provenance.fingerprint._bytecode_verdicts`) live here; neither is
read from a directory someone else could write into.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final

__all__ = ["CACHE_VARIABLE", "cache_directory", "trusted_directory"]

CACHE_VARIABLE: Final = "INSIDELLMS_PROVENANCE_CACHE"


def cache_directory(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where entries live: ``$INSIDELLMS_PROVENANCE_CACHE``, else the user's cache directory.

    ``off`` (or an empty value) disables the cache.
    """
    configured = environ.get(CACHE_VARIABLE)
    if configured is not None:
        return None if configured in ("", "off") else Path(configured)
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "insidellms-provenance", "descriptions")


def trusted_directory(directory: Path) -> bool:
    """Only a real directory of ours that nobody else may write into is read."""
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )
