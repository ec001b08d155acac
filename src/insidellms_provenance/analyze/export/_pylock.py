"""A PEP 751 ``pylock.toml`` of a run's distributions, validated by packaging.

Typical usage::

    lock = build_lock(provenance, matches, wheels_dir=Path("wheelhouse"), lock_dir=Path("."))
    text = lock_text(lock.value)  # TOML by tomli_w, checked by packaging.pylock first

What can be pinned is: a wheel whose contents match the run exactly (file name, path and
sha256), or a VCS source (its commit). An editable install becomes a directory entry.
What cannot (an index install with no matching wheel, a silent rebuild, an archive URL
without a wheel, an exact wheel only under a file name that is not a wheel name of its
distribution, which installers would refuse) is listed under
``[tool.insidellms-provenance] unpinned``, because PEP 751 has no package entry without
a source, and each gets a warning. The plugins'
dependencies (a field's dependency table) are locked by the same rules as the plugins;
each names the plugins that need it (``required-by``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import attrs

from insidellms_provenance.analyze._reproduce import (
    MATCH_TEXT,
    UNPACKED_CHANGED,
    WheelMatch,
    lockable_name,
)
from insidellms_provenance.analyze.export._common import NAMESPACE
from insidellms_provenance.errors import ProvenanceError
from insidellms_provenance.field.schema import Provenance

__all__ = ["LOCK_VERSION", "Lock", "build_lock", "check_lock_path", "lock_text"]

LOCK_VERSION = "1.0"


@attrs.frozen(kw_only=True)
class Lock:
    """The lock as a TOML value, the warnings to show, and whether all is pinned exactly."""

    value: dict[str, Any]
    warnings: tuple[str, ...]
    exact: bool


def build_lock(
    provenance: Provenance,
    matches: Sequence[WheelMatch],
    *,
    wheels_dir: Path | None,
    lock_dir: Path,
) -> Lock:
    """The lock of ``matches``; wheel paths are relative to ``lock_dir``."""
    packages: list[dict[str, Any]] = []
    unpinned: list[dict[str, Any]] = []
    warnings: list[str] = []
    for match in sorted(matches, key=lambda m: (m.normalized_name, m.version)):
        package, warning = _package(match, wheels_dir, lock_dir)
        if package is None:
            unpinned.append(
                {
                    "name": match.normalized_name,
                    "version": match.version,
                    **_tool(match),
                    "reason": warning,
                }
            )
        else:
            packages.append(package)
        if warning:
            warnings.append(f"{match.label}: {warning}")
    value: dict[str, Any] = {
        "lock-version": LOCK_VERSION,
        "created-by": NAMESPACE,
        "packages": packages,
        "tool": {
            NAMESPACE: {
                "group": provenance["group"],
                "field-digest": provenance["digest"],
                "unpinned": unpinned,
            }
        },
    }
    return Lock(value=value, warnings=tuple(warnings), exact=all(m.exact for m in matches))


def _package(  # noqa: PLR0911 - one return per kind of lock entry
    match: WheelMatch, wheels_dir: Path | None, lock_dir: Path
) -> tuple[dict[str, Any] | None, str]:
    """A ``[[packages]]`` entry, or ``None``; and a warning when not pinned exactly."""
    entry: dict[str, Any] = {"name": match.normalized_name, "version": match.version}
    tool = _tool(match)
    source = match.source
    wheel = match.wheel
    if wheel is not None and wheel.digest is not None and wheels_dir is not None:
        if not lockable_name(wheel, match.normalized_name, match.version):
            return None, (
                f"{wheel.filename}: {MATCH_TEXT[match.status]}, but its file name is not a "
                f"wheel name of {match.normalized_name} {match.version}, which a lock must "
                "give: content is not pinned"
            )
        path = os.path.relpath(wheels_dir / wheel.filename, lock_dir)  # lexical, as installers
        entry["wheels"] = [
            {
                "name": PurePosixPath(wheel.filename).name,
                "path": Path(path).as_posix(),
                "hashes": {"sha256": wheel.digest.removeprefix("sha256:")},
            }
        ]
        entry["tool"] = {NAMESPACE: tool}
        warning = "" if match.exact else MATCH_TEXT[match.status]
        return entry, warning
    if source is not None and source["editable"]:
        local_name = source.get("local_name")
        entry["directory"] = {"path": local_name or ".", "editable": True}
        entry["tool"] = {NAMESPACE: tool}
        return entry, (
            "editable install, locked as its source directory by name only "
            f"({local_name or '?'}): check the path, its content is not pinned"
        )
    if source is not None and source["kind"] == "vcs" and source["url"] and source["commit"]:
        entry["vcs"] = {
            "type": source["vcs"] or "git",
            "url": source["url"],
            "commit-id": source["commit"],
        }
        if source["requested_revision"]:
            entry["vcs"]["requested-revision"] = source["requested_revision"]
        entry["tool"] = {NAMESPACE: tool}
        warning = "" if match.status == "no_candidate" else MATCH_TEXT[match.status]
        return entry, warning or "pinned by VCS commit; the built content is not pinned"
    if match.status == "rebuilt":
        return None, MATCH_TEXT[match.status]
    if wheel is not None and wheel.unpacked:
        if not match.exact:
            return None, f"{wheel.filename}: {UNPACKED_CHANGED}"
        return None, (
            f"matches only the unpacked wheel {wheel.filename} (a cache directory: no "
            "archive, no sha256 to lock): content is not pinned"
        )
    kind = source["kind"] if source is not None else "unknown"
    return None, f"installed from {kind}, no matching wheel: content is not pinned"


def _tool(match: WheelMatch) -> dict[str, Any]:
    """Our keys of one distribution: ``required-by`` only where a closure holds it."""
    tool: dict[str, Any] = {
        "record-digest": match.record_digest or "",
        "plugins": list(match.plugins),
    }
    if match.required_by:
        tool["required-by"] = list(match.required_by)
    return tool


def check_lock_path(path: Path) -> None:
    """Refuse a lock file name that PEP 751 does not allow (installers look for these)."""
    from packaging.pylock import is_valid_pylock_path

    if not is_valid_pylock_path(path):
        raise ProvenanceError(
            f"{path}: PEP 751 lock files are named pylock.toml or pylock.<name>.toml"
        )


def lock_text(value: dict[str, Any]) -> bytes:
    """The lock as TOML, after ``packaging.pylock`` has validated it."""
    import tomli_w
    from packaging.pylock import Pylock, PylockValidationError

    try:
        Pylock.from_dict(value)
    except PylockValidationError as error:  # a bug of ours, not bad input: say so plainly
        raise ProvenanceError(f"the lock would not be valid PEP 751: {error}") from None
    return tomli_w.dumps(value).encode("utf-8")
