"""One change between two fields, and how a version change is sized and weighed.

The vocabulary ``analyze._diff`` (plugins) and ``analyze._dependency_diff`` (their
dependency closures) both write their findings in; each imports it from here, so
neither needs the other's module to describe a change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NamedTuple

__all__ = [
    "CHANGE_KINDS",
    "SEVERITIES",
    "VERSION_SIZES",
    "Change",
    "classify_version_change",
    "problem_changes",
    "same_version_change",
    "version_severity",
]

SEVERITIES: Final = ("critical", "high", "medium", "low")

# Every kind of change, with what it means; docs/diff.md explains each with an example.
CHANGE_KINDS: Final = {
    "content": "same version, different installed code, data or scripts (code_digest)",
    "rebuilt": "same version and code, different packaging metadata (record_digest only)",
    "integrity": "the installed files no longer (or again) match their RECORD",
    "added": "a plugin entry point appeared",
    "removed": "a plugin entry point disappeared",
    "retargeted": "an entry point name now points at another object",
    "version": "the distribution's version changed",
    "distribution": "the distribution's name or RECORD/METADATA problems changed",
    "source": "where the distribution came from changed",
    "manifest": "plugin_manifest() appeared, disappeared, became invalid, or changed",
    "capabilities": "declared models, probes or datasets were added or removed",
    "compatibility": "the declared insideLLMs specifier or sdk_version changed",
    "determinism-downgrade": "the determinism class moved towards non_deterministic",
    "determinism-upgrade": "the determinism class moved towards deterministic",
    "load": "the load outcome changed",
    "origin": "the module's origin changed (shadowed, duplicate installs)",
    "registrations": "what the plugin registered in a host run changed",
    "conflict": "two plugins registering the same key appeared or disappeared",
    "dependency": "a distribution in the plugin's dependency closure changed, came or went, "
    "or a requirement became unsatisfied or satisfied",
    "group": "the entry-point group changed (of the whole field or of one entry point)",
    "other": "recorded values changed that no other kind describes",
}

# Sizes of a version change, biggest first (``classify_version_change``).
VERSION_SIZES: Final = ("major", "minor", "patch", "pre-release", "post", "dev", "local")


class Change(NamedTuple):
    """One change to one plugin (or to the run, for conflicts)."""

    plugin: str
    kind: str
    severity: str
    message: str
    before: str | None = None
    after: str | None = None
    size: str | None = None
    direction: str | None = None
    # What this change explains: the lines a version upgrade implies (the manifest's
    # own version, a new archive location), shown under it instead of beside it.
    implied: tuple[str, ...] = ()

    @property
    def sort_key(self) -> tuple[int, str, str]:
        """Most severe first, then by kind and message."""
        return (SEVERITIES.index(self.severity), self.kind, self.message)


def classify_version_change(before: str, after: str) -> tuple[str, str]:
    """Direction and size of a version change, by ``packaging.version`` rules.

    Direction is ``upgrade``, ``downgrade`` or ``changed`` (equal versions spelt
    differently, or unparsable); size is ``major`` ... ``local``, or ``unparsable``.
    """
    from packaging.version import InvalidVersion, Version

    try:
        old, new = Version(before), Version(after)
    except InvalidVersion:
        return "changed", "unparsable"
    direction = "upgrade" if new > old else "downgrade" if new < old else "changed"
    width = max(len(old.release), len(new.release), 3)
    old_release = old.release + (0,) * (width - len(old.release))
    new_release = new.release + (0,) * (width - len(new.release))
    if old.epoch != new.epoch or old_release[0] != new_release[0]:
        size = "major"
    elif old_release[1] != new_release[1]:
        size = "minor"
    elif old_release != new_release:
        size = "patch"
    elif old.pre != new.pre:
        size = "pre-release"
    elif old.post != new.post:
        size = "post"
    elif old.dev != new.dev:
        size = "dev"
    else:
        size = "local"
    return direction, size


def version_severity(size: str, direction: str) -> str:
    """High for major, unparsable and downgrades; medium for minor; low otherwise."""
    if size in ("major", "unparsable") or direction == "downgrade":
        return "high"
    return "medium" if size == "minor" else "low"


def problem_changes(
    plugin: str, kind: str, before: Iterable[str], after: Iterable[str], about: str = ""
) -> list[Change]:
    """A distribution's problems that appeared (medium) or went (low); ``about`` leads."""
    old, new = set(before), set(after)
    appeared = [("medium", f"{about}new problem: {p}", None, p) for p in sorted(new - old)]
    went = [("low", f"{about}problem gone: {p}", p, None) for p in sorted(old - new)]
    return [
        Change(plugin, kind, severity, message, before=was, after=now)
        for severity, message, was, now in appeared + went
    ]


def same_version_change(  # noqa: PLR0913 - a change's fields
    plugin: str,
    label: str,
    before: str | None,
    after: str | None,
    *,
    same_code: bool,
    kind: str | None = None,
) -> Change:
    """Same version ``label``, other ``record_digest``: rebuilt (medium) or content (critical).

    Rebuilt only when the code is known to be the same; ``kind`` defaults to the one
    that says which (a dependency's change is of kind ``dependency`` either way).
    """
    if same_code:
        message = f"{label}: same version and code, different packaging metadata - rebuilt "
        return Change(plugin, kind or "rebuilt", "medium", message + "distribution", before, after)
    message = f"{label}: same version, different installed files - rebuilt or tampered "
    return Change(plugin, kind or "content", "critical", message + "distribution", before, after)
