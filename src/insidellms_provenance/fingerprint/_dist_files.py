"""Read a distribution's metadata files safely: regular files only, bounded, never blocking.

``importlib.metadata`` opens ``RECORD``, ``METADATA``, ``entry_points.txt`` and
``direct_url.json`` with a plain ``open``: a FIFO there hangs it, ``/dev/zero`` never
ends. Distributions found in directories (every real install) are read here with
:func:`insidellms_provenance._safe_io.read_regular` instead; others fall back to
``Distribution.read_text``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

from insidellms_provenance._safe_io import (
    DIST_FILE_LIMIT,
    RECORD_FILE_LIMIT,
    FileRefusedError,
    read_regular,
)

if TYPE_CHECKING:
    from importlib import metadata

    from insidellms_provenance.fingerprint._legacy import LegacyInstall

__all__ = ["legacy_install_of", "read_dist_text", "read_info_text"]

_LIMITS: Final = {"RECORD": RECORD_FILE_LIMIT}


def read_dist_text(
    dist: metadata.Distribution, filename: str, problems: list[str] | None = None
) -> str | None:
    """The text of ``filename`` in the distribution's metadata directory, or ``None``.

    ``None`` without a problem when the file does not exist; ``None`` with a problem
    (appended to ``problems``) when it exists but cannot be read as UTF-8 text within
    its size cap (see ``_safe_io``), or is not a regular file.
    """
    # PathDistribution keeps its directory in a private attribute since Python 3.8.
    from pathlib import Path  # imported already: a Distribution was made

    directory = getattr(dist, "_path", None)
    if not isinstance(directory, Path):
        try:
            return dist.read_text(filename)
        except (OSError, UnicodeDecodeError) as error:
            _note(problems, f"{filename} cannot be read: {type(error).__name__}")
            return None
    return read_info_text(directory, filename, problems)


def read_info_text(
    info_dir: str | os.PathLike[str], filename: str, problems: list[str] | None = None
) -> str | None:
    """:func:`read_dist_text` for the metadata directory ``info_dir`` itself."""
    try:
        data = read_regular(
            os.path.join(info_dir, filename), limit=_LIMITS.get(filename, DIST_FILE_LIMIT)
        )
    except FileRefusedError as error:
        if not error.missing and "is a directory" not in error.reason:
            _note(problems, f"{filename} cannot be read: {error.reason}")
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        _note(problems, f"{filename} is not UTF-8 text")
        return None


def _note(problems: list[str] | None, problem: str) -> None:
    if problems is not None:
        problems.append(problem)


def legacy_install_of(dist: metadata.Distribution) -> LegacyInstall | None:
    """:func:`~insidellms_provenance.fingerprint._legacy.legacy_install`, for any distribution.

    Only an ``*.egg-info`` or ``EGG-INFO`` metadata directory can belong to an install
    made without a wheel; for every other (a ``*.dist-info``) the answer is ``None``
    without importing the legacy reader into a host run.
    """
    name = getattr(getattr(dist, "_path", None), "name", None)
    if not isinstance(name, str) or not (name == "EGG-INFO" or name.lower().endswith(".egg-info")):
        return None
    from insidellms_provenance.fingerprint._legacy import legacy_install

    return legacy_install(dist)
