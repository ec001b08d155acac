"""``diff --fail-on``: the selectors of a CI gate, and which changes a policy selects.

A policy is comma-separated selectors; ``-name`` excludes what ``name`` names. Ordered
selectors (severities and version sizes) read as people read them: included, ``high``
is "high or worse" and ``minor`` is "a minor release or bigger"; excluded, ``-medium``
is "medium or milder" and ``-patch`` is "a patch release or smaller". So
``--fail-on any,-low`` fails on every change except low ones.

Typical usage::

    policy = parse_fail_on("any,-patch")
    failed = bool(selected_changes(report, policy))
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable

from insidellms_provenance.analyze._change import CHANGE_KINDS, SEVERITIES, VERSION_SIZES, Change
from insidellms_provenance.analyze._diff import DiffReport

TYPE_CHECKING = False  # typing is not imported at run time (see analyze._change)
if TYPE_CHECKING:
    from typing import Final, NamedTuple

__all__ = [
    "FAIL_ON_EXAMPLES",
    "FAIL_ON_RULES",
    "SELECTORS",
    "FailOnPolicy",
    "parse_fail_on",
    "selected_changes",
]

_Matcher = Callable[[Change], bool]


def _size_index(change: Change) -> int | None:
    """Position of a version change's size in ``VERSION_SIZES``; unparsable counts as major."""
    # A dependency's version change carries a size too: ``-patch`` drops patch releases
    # of dependencies as it does of plugins.
    if change.kind not in ("version", "dependency") or change.size is None:
        return None
    return 0 if change.size == "unparsable" else VERSION_SIZES.index(change.size or "local")


def _size_or_bigger(size: str) -> _Matcher:
    limit = VERSION_SIZES.index(size)
    return lambda change: (index := _size_index(change)) is not None and index <= limit


def _size_or_smaller(size: str) -> _Matcher:
    limit = VERSION_SIZES.index(size)
    return lambda change: (index := _size_index(change)) is not None and index >= limit


def _severity_or_worse(severity: str) -> _Matcher:
    limit = SEVERITIES.index(severity)
    return lambda change: SEVERITIES.index(change.severity) <= limit


def _severity_or_milder(severity: str) -> _Matcher:
    limit = SEVERITIES.index(severity)
    return lambda change: SEVERITIES.index(change.severity) >= limit


def _kind_is(kind: str) -> _Matcher:
    return lambda change: change.kind == kind


def _is_downgrade(change: Change) -> bool:
    return change.direction == "downgrade"


# name -> (what it matches included, what it matches excluded)
SELECTORS: Final[dict[str, tuple[_Matcher, _Matcher]]] = {
    "any": (lambda _change: True, lambda _change: True),
    **{s: (_severity_or_worse(s), _severity_or_milder(s)) for s in SEVERITIES},
    **{s: (_size_or_bigger(s), _size_or_smaller(s)) for s in VERSION_SIZES},
    "downgrade": (_is_downgrade, _is_downgrade),
    **{kind: (_kind_is(kind), _kind_is(kind)) for kind in CHANGE_KINDS},
}

# The rules in full, for ``--help`` and docs/diff.md (installed users have no docs/):
# (selectors, what they match included, what they match excluded with ``-``).
FAIL_ON_RULES: Final = (
    ("any", "every change (the default)", "refused: the gate could never fail"),
    (
        " ".join(SEVERITIES),
        "that severity or worse: high = high and critical",
        (
            "that severity or milder: -low = low only, -medium = medium and low, "
            "-critical is refused (every change)"
        ),
    ),
    (
        " ".join(VERSION_SIZES),
        "a version change of that size or bigger; unparsable versions count as major",
        (
            "a version change of that size or smaller: -patch = patch, pre-release, "
            "post, dev and local"
        ),
    ),
    ("downgrade", "a version downgrade of any size", "the same"),
    (" ".join(CHANGE_KINDS), "changes of that kind", "the same"),
)

# (policy, what makes it fail), shown in ``--help`` and docs/diff.md; tested.
FAIL_ON_EXAMPLES: Final = (
    ("any", "every change"),
    ("any,-low", "every change except low ones"),
    ("-low", "every change except low ones ('any' is implied)"),
    ("-medium", "critical and high changes"),
    ("high", "critical and high changes"),
    ("any,-patch", "all but version changes of patch size or smaller"),
    ("content,major,removed", "same-version content, major releases, removals"),
    ("medium,-version", "critical, high and medium changes but version changes"),
)


if TYPE_CHECKING:

    class _FailOnPolicyFields(NamedTuple):
        text: str
        include: tuple[str, ...]
        exclude: tuple[str, ...]

else:
    _FailOnPolicyFields = namedtuple(  # noqa: PYI024 - typed above, for the type checker
        "FailOnPolicy", "text include exclude"
    )


class FailOnPolicy(_FailOnPolicyFields):
    """A parsed ``--fail-on``: its text as given and its included and excluded selectors."""

    __slots__ = ()

    def selects(self, change: Change) -> bool:
        """Whether ``change`` makes this policy fail."""
        if any(SELECTORS[name][1](change) for name in self.exclude):
            return False
        return any(SELECTORS[name][0](change) for name in self.include)


def parse_fail_on(text: str) -> FailOnPolicy:
    """Parse ``--fail-on``; raise ``ValueError`` naming unknown selectors or a dead gate."""
    include: list[str] = []
    exclude: list[str] = []
    unknown: list[str] = []
    for raw in (part.strip() for part in text.split(",")):
        if not raw:
            continue
        name = raw.removeprefix("-")
        if name not in SELECTORS:
            unknown.append(name)
        (exclude if raw.startswith("-") else include).append(name)
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise ValueError(f"unknown --fail-on selector {listed} (see --help for the selectors)")
    dead = [name for name in exclude if name in ("any", SEVERITIES[0])]
    if dead:
        raise ValueError(
            f"--fail-on {text.strip()!r}: '-{dead[0]}' excludes every change, "
            "so the gate could never fail"
        )
    return FailOnPolicy(
        text=text.strip() or "any", include=tuple(include or ["any"]), exclude=tuple(exclude)
    )


def selected_changes(report: DiffReport, policy: FailOnPolicy) -> tuple[Change, ...]:
    """The changes that make ``policy`` fail, in report order."""
    return tuple(change for change in report.changes if policy.selects(change))
