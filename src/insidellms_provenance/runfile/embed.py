"""Write the provenance field into a run's ``manifest.json``, atomically and in its style.

:func:`embed_text` is the one embedder: ``embed`` (the command) and the in-run hook both
call it, so a run's manifest gets the same bytes either way. It runs inside every host
run, so this module imports only the standard library and the recording path's modules.
"""

# No ``from __future__ import annotations``: NamedTuple would compile every string
# annotation at import, ≈ 1 ms a class inside every host run.
import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Any, NamedTuple

from insidellms_provenance.errors import InvalidRunFileError, WriteError
from insidellms_provenance.field.schema import FIELD_KEY, Provenance
from insidellms_provenance.runfile.style import detect_style, render

__all__ = [
    "EmbedResult",
    "atomic_write",
    "embed",
    "embed_text",
    "stale_attestations",
]


class EmbedResult(NamedTuple):
    """What ``embed`` did: the file, whether it changed, and what may now be stale."""

    path: Path
    changed: bool
    exact_style: bool
    stale: tuple[str, ...]


def embed_text(text: str, field: Provenance, *, where: str) -> tuple[str, bool]:
    """The manifest text with the field set under ``custom``, in the same JSON style.

    Returns the new text and whether the original style was reproduced exactly.
    """
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRunFileError(f"{where}: not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidRunFileError(f"{where}: expected a JSON object")
    custom = value.setdefault("custom", {})
    if not isinstance(custom, dict):
        raise InvalidRunFileError(f"{where}: 'custom' is not a JSON object")
    style = detect_style(text, value)
    custom[FIELD_KEY] = field
    return render(value, style), style.exact


def embed(run: Path, field: Provenance) -> EmbedResult:
    """Set the field in ``run``'s manifest; leave the file untouched on any failure."""
    from insidellms_provenance.runfile.read import manifest_path

    path = manifest_path(run)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidRunFileError(f"{path}: no such file") from None
    except OSError as error:
        raise InvalidRunFileError(f"{path}: cannot read: {error.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRunFileError(f"{path}: not UTF-8 text") from None
    if not text.strip():
        raise InvalidRunFileError(f"{path}: file is empty")
    new_text, exact = embed_text(text, field, where=str(path))
    if new_text == text:
        return EmbedResult(path=path, changed=False, exact_style=exact, stale=())
    atomic_write(path, new_text.encode("utf-8"))
    return EmbedResult(
        path=path, changed=True, exact_style=exact, stale=stale_attestations(path.parent)
    )


def stale_attestations(run_dir: Path) -> tuple[str, ...]:
    """Host artifacts computed over ``manifest.json`` that a rewrite invalidates."""
    patterns = (("attestations", "*.dsse.json"), ("signing", "*.sigstore.bundle.json"))
    found = []
    for directory, pattern in patterns:
        found += [f"{directory}/{p.name}" for p in sorted((run_dir / directory).glob(pattern))]
    return tuple(found)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file in the same directory, fsync, rename.

    Keeps the original's permission bits. On failure the original is untouched and the
    temp file removed.
    """
    import tempfile

    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o644
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise WriteError(f"{path}: cannot write in {path.parent}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(error, OSError):
            raise WriteError(f"{path}: cannot write: {error.strerror}") from None
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; some platforms cannot open directories, which is fine."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
