"""PEP 440 versions, specifiers and markers as readers compare them: unreadable is ``None``.

Typical usage::

    version = parse_version(dist["version"])  # None: not a version we can compare
    allowed = specifier_contains(">=0.2", "0.2.1")  # None: either side unreadable

``packaging`` raises ``InvalidVersion`` or ``InvalidSpecifier`` for text that is not
PEP 440, but a release number of more digits than ``int`` reads from text
(``sys.get_int_max_str_digits()``, 4300 by default) passes its pattern and then raises a
bare ``ValueError``, when the version is parsed or, for a specifier or marker, only when
it is compared. Both are ``ValueError``s and mean the same thing to a reader: a value it
cannot compare. Every reader of a run, policy, lock or flag compares through here, so
none of them turns such a value into a traceback.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: diff's start-up (analyze._change) reads this
if TYPE_CHECKING:
    from collections.abc import Mapping
    from collections.abc import Set as AbstractSet

    from packaging.markers import EvaluateContext, Marker
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

__all__ = ["marker_holds", "parse_version", "plain_release", "specifier_contains"]


def parse_version(text: str) -> Version | None:
    """``Version(text)``, or ``None`` when ``text`` is not a version ``packaging`` can read."""
    from packaging.version import Version

    try:
        return Version(text)
    except ValueError:  # InvalidVersion, or a release number over int's digit limit
        return None


def specifier_contains(specifier: str | SpecifierSet, version: str) -> bool | None:
    """Whether ``specifier`` allows ``version`` (pre-releases as they are); ``None``: unreadable.

    ``None`` when either is not PEP 440, or holds a number too long to compare.
    """
    from packaging.specifiers import SpecifierSet

    if parse_version(version) is None:
        return None
    try:
        allowed = SpecifierSet(specifier) if isinstance(specifier, str) else specifier
        return bool(allowed.contains(version, prereleases=True))
    except ValueError:  # InvalidSpecifier, or a release number over int's digit limit
        return None


def marker_holds(
    marker: Marker,
    environment: Mapping[str, str | AbstractSet[str]] | None,
    context: EvaluateContext,
) -> bool | None:
    """``marker.evaluate(environment, context=context)``; ``None`` when it cannot be compared."""
    try:
        return bool(marker.evaluate(environment, context=context))
    except ValueError:  # a version over int's digit limit; UndefinedComparison (``~= "1"``)
        return None


def plain_release(version: str) -> tuple[int, ...] | None:
    """The release numbers of ``1.2.3`` (ASCII digits and dots only), else ``None``.

    ``None`` too for a number ``int`` does not read from text (over its digit limit):
    ``packaging`` cannot compare it either (:func:`parse_version`).
    """
    parts = version.split(".")
    if not (version.isascii() and all(part.isdigit() for part in parts)):
        return None
    try:
        return tuple(map(int, parts))
    except ValueError:  # more digits than int reads from text (sys.int_info)
        return None
