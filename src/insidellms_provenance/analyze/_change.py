"""One change between two fields, and how a version or determinism change is sized and weighed.

The vocabulary ``analyze._diff`` (plugins) and ``analyze._dependency_diff`` (their
dependency closures) both write their findings in; each imports it from here, so
neither needs the other's module to describe a change.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable

from insidellms_provenance.analyze._versions import parse_version, plain_release
from insidellms_provenance.field._names import DETERMINISM_CLASSES

# typing is not imported at run time: it is about 3 ms of a diff of two small runs. The
# report's tuples are declared to the type checker as NamedTuples and made at run time
# by collections.namedtuple, with the same fields (tests/test_report_tuples.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final, NamedTuple

__all__ = [
    "CHANGE_KINDS",
    "SEVERITIES",
    "VERSION_SIZES",
    "Change",
    "classify_version_change",
    "determinism_rank",
    "problem_changes",
    "same_version_change",
    "version_change",
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


if TYPE_CHECKING:

    class _ChangeFields(NamedTuple):
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

else:
    _ChangeFields = namedtuple(  # noqa: PYI024 - typed above, for the type checker
        "Change",
        "plugin kind severity message before after size direction implied",
        defaults=(None, None, None, None, ()),
    )


class Change(_ChangeFields):
    """One change to one plugin (or to the run, for conflicts)."""

    __slots__ = ()

    @property
    def sort_key(self) -> tuple[int, str, str]:
        """Most severe first, then by kind and message."""
        return (SEVERITIES.index(self.severity), self.kind, self.message)

    @property
    def respelled(self) -> bool:
        """A version change between two spellings of one version (``1.0`` and ``1.0.0``)."""
        return self.direction == "changed" and self.size == "local"


def determinism_rank(level: str | None) -> int:
    """Position in ``DETERMINISM_CLASSES``; an undeclared or unknown class ranks below all."""
    return DETERMINISM_CLASSES.index(level) if level in DETERMINISM_CLASSES else 3


def classify_version_change(before: str, after: str) -> tuple[str, str]:
    """Direction and size of a version change, by ``packaging.version`` rules.

    Direction is ``upgrade``, ``downgrade`` or ``changed`` (equal versions spelt
    differently, or unparsable); size is ``major`` ... ``local``, or ``unparsable``.
    Plain releases (``1.2.3``: ASCII digits and dots only, the common case) are compared
    without importing ``packaging`` (a few milliseconds of start-up, most of it compiling
    its version pattern), by the same rules: release numbers as integers, trailing zeros
    not counted (``tests/test_diff.py`` checks the two agree).
    """
    old_release, new_release = plain_release(before), plain_release(after)
    if old_release is not None and new_release is not None:
        old_key, new_key = _strip_zeros(old_release), _strip_zeros(new_release)
        direction = (
            "upgrade" if new_key > old_key else "downgrade" if new_key < old_key else "changed"
        )
        return direction, _size(old_release, new_release) or "local"
    old, new = parse_version(before), parse_version(after)
    if old is None or new is None:
        return "changed", "unparsable"
    direction = _direction(old, new)
    if old.epoch != new.epoch:
        size: str | None = "major"
    else:
        size = _size(old.release, new.release)
    if size is not None:
        return direction, size
    if old.pre != new.pre:
        return direction, "pre-release"
    if old.post != new.post:
        return direction, "post"
    return direction, "dev" if old.dev != new.dev else "local"


def _direction(old: Any, new: Any) -> str:  # noqa: ANN401 - versions or release tuples
    return "upgrade" if new > old else "downgrade" if new < old else "changed"


def _strip_zeros(release: tuple[int, ...]) -> tuple[int, ...]:
    """A release as ``packaging`` compares it: trailing zeros dropped (``1.0`` is ``1``)."""
    end = len(release)
    while end and release[end - 1] == 0:
        end -= 1
    return release[:end]


def _size(old: tuple[int, ...], new: tuple[int, ...]) -> str | None:
    """``major``, ``minor`` or ``patch`` by the first differing release number, else ``None``."""
    width = max(len(old), len(new), 3)
    old = old + (0,) * (width - len(old))
    new = new + (0,) * (width - len(new))
    if old[0] != new[0]:
        return "major"
    if old[1] != new[1]:
        return "minor"
    return "patch" if old != new else None


def version_change(plugin: str, kind: str, label: str, before: str, after: str) -> Change:
    """``label``'s version ``before`` -> ``after``, sized and weighed.

    Two spellings of one version (``1.0.0`` and ``1.0``, ``1.0a1`` and ``1.0.0-alpha1``)
    are a change of size ``local`` that says so: installers take them for the same
    version, so the caller compares the installed files as for an unchanged version.
    """
    direction, size = classify_version_change(before, after)
    change = Change(
        plugin, kind, version_severity(size, direction), "", before, after, size, direction
    )
    how = "the same version, spelt differently" if change.respelled else f"{size} {direction}"
    return change._replace(message=f"{label} {before} -> {after} ({how})")


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
