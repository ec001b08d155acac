"""``Requires-Dist`` requirements: parse them, evaluate their markers, check installed versions.

Recording runs inside every host run, so the plain shapes almost every requirement has
(``httpx<1,>=0.23.0``, ``numpy>=1; extra == "datalib"``, ``colorama; sys_platform ==
"win32"``) are parsed and judged here with the standard library; anything else
(URLs, pre-release specifiers, unusual markers or environment values) is handed to
``packaging.requirements``, ``packaging.markers`` and ``packaging.specifiers``, which
stay the reference. ``tests/test_requirements.py`` checks with Hypothesis that every
result reached without packaging is packaging's.

Typical usage::

    requirement = parse_requirement('anyio<5,>=3.5.0; python_version >= "3.8"')
    if marker_applies(requirement, extras=frozenset()):
        ok = version_satisfies("4.4.0", requirement.specifier)
"""

# No ``from __future__ import annotations``: NamedTuple would compile every string
# annotation at import, inside every host run.
import functools
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

from insidellms_provenance.errors import ProvenanceError
from insidellms_provenance.fingerprint._discover import normalized_name

__all__ = [
    "InvalidRequirementError",
    "Requirement",
    "marker_applies",
    "marker_environment",
    "parse_requirement",
    "version_satisfies",
]


class InvalidRequirementError(ProvenanceError, ValueError):
    """A ``Requires-Dist`` value is not a PEP 508 requirement, or its marker cannot be judged."""


# A marker as the lean parser understands it: ``("or", ((atom, ...), ...))`` of
# and-groups; an atom is a nested marker or ``(variable, operator, literal, var_first)``.
_Atom = tuple[str, str, str, bool]
_Marker = tuple[tuple["_Atom | _Marker", ...], ...]
_Lookup = Callable[[str], "str | None"]


class Requirement(NamedTuple):
    """One requirement: ``text`` as written, PEP 503 ``name``, normalized ``extras``.

    ``specifier`` is what ``str(packaging.specifiers.SpecifierSet)`` prints (clauses
    without spaces, sorted, de-duplicated). ``marker`` is the marker's text (``None``
    without one); ``lean_marker`` is its parsed form when the lean parser took it.
    """

    text: str
    name: str
    extras: frozenset[str]
    specifier: str
    url: str | None
    marker: str | None
    lean_marker: _Marker | None


_WS: Final = "[ \t]*"
_NAME: Final = "[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_RELEASE: Final = "[0-9]+(?:\\.[0-9]+)*"
_CLAUSE: Final = (
    f"(?:(?:==|!=){_WS}{_RELEASE}(?:\\.\\*)?"
    f"|(?:<=|>=|<|>){_WS}{_RELEASE}"
    f"|~={_WS}[0-9]+(?:\\.[0-9]+)+)"
)
_CLAUSES: Final = f"{_CLAUSE}(?:{_WS},{_WS}{_CLAUSE})*"
# What comes before the marker, blanks stripped. Each run of blanks has one place in a
# match: it opens the part it precedes, never two runs side by side, so a line that does
# not match fails in linear time (two adjacent runs made ``attrs`` + 400 blanks + ``!``
# take 6 s, and a lazy marker before a trailing run was quadratic).
_LEAN_HEAD: Final = re.compile(
    f"(?P<name>{_NAME})"
    f"(?:{_WS}\\[{_WS}(?:(?P<extras>{_NAME}(?:{_WS},{_WS}{_NAME})*){_WS})?\\])?"
    # Clauses, bare or in parentheses: written once (compiling them twice cost ≈ 1 ms a run).
    f"(?:{_WS}(?:(?P<paren>\\(){_WS})?(?P<spec>{_CLAUSES})(?(paren){_WS}\\)))?",
    re.ASCII,
)
_CLAUSE_PARTS: Final = re.compile(f"(~=|==|!=|<=|>=|<|>){_WS}([0-9.*]+)", re.ASCII)
# A final release, or a post-release of one (``2024.7.4.post1``, as ``certifi`` publishes).
_PLAIN_VERSION: Final = re.compile(f"({_RELEASE})(\\.post[0-9]+)?", re.ASCII)

_MARKER_TOKEN: Final = re.compile(
    "[ \t]*(?:(?P<paren>[()])|(?P<quoted>'[^']*'|\"[^\"]*\")"
    "|(?P<op>===|==|~=|!=|<=|>=|<|>)|(?P<word>[A-Za-z_][A-Za-z0-9_]*))",
    re.ASCII,
)
# Markers compared as versions (packaging.markers.MARKERS_REQUIRING_VERSION) and as strings.
_VERSION_VARIABLES: Final = frozenset(
    {"python_version", "python_full_version", "implementation_version", "platform_release"}
)
_STRING_VARIABLES: Final = frozenset(
    {
        "implementation_name",
        "os_name",
        "platform_machine",
        "platform_python_implementation",
        "platform_system",
        "platform_version",
        "sys_platform",
    }
)
_VARIABLES: Final = _VERSION_VARIABLES | _STRING_VARIABLES | {"extra"}


# Python refuses ``int()`` of more digits than its limit (4,300 by default, and a program
# may lower it to 640); a number of more digits than this is refused first, so the verdict
# never depends on the interpreter or on what the host set.
_MAX_DIGITS: Final = 600
# Patterns for rare lines (long, or with many parentheses): compiled at first use, by ``re``.
_LONG_NUMBER: Final = f"(?<![0-9])[0-9]{{{_MAX_DIGITS + 1}}}"
# Parentheses nest at most this deep: the lean parser and packaging recurse on each level
# (packaging before 26.4 without a limit), so a deeper line is refused before either.
_MAX_NESTING: Final = 32
_NOT_A_PARENTHESIS: Final = "[^()]+"


def parse_requirement(text: str) -> Requirement:
    """Parse one ``Requires-Dist`` value; raise :class:`InvalidRequirementError`.

    Beyond PEP 508, a value with a number of more than 600 digits, or parentheses nested
    more than 32 deep, is invalid: no real requirement has either, and reading them would
    depend on the interpreter's limits.
    """
    if _holds_a_long_number(text):
        raise InvalidRequirementError(
            f"requirement {text!r} is invalid", (f"a number of more than {_MAX_DIGITS} digits",)
        )
    if text.count("(") > _MAX_NESTING and _nested_too_deep(text):
        raise InvalidRequirementError(
            f"requirement {text!r} is invalid",
            (f"parentheses nested more than {_MAX_NESTING} deep",),
        )
    lean = _lean_requirement(text)
    if lean is not None:
        return lean
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as PackagingRequirement

    try:
        parsed = PackagingRequirement(text)
    except InvalidRequirement as error:
        first = str(error).splitlines()[0] if str(error) else "invalid"
        raise InvalidRequirementError(f"requirement {text!r} is invalid", (first,)) from None
    marker = str(parsed.marker) if parsed.marker is not None else None
    return Requirement(
        text=text.strip(),
        name=normalized_name(parsed.name),
        extras=frozenset(normalized_name(extra) for extra in parsed.extras),
        specifier=str(parsed.specifier),
        url=parsed.url,
        marker=marker,
        lean_marker=None,
    )


def _holds_a_long_number(text: str) -> bool:
    """Whether ``text`` holds a run of more than ``_MAX_DIGITS`` digits (no search if shorter)."""
    return len(text) > _MAX_DIGITS and re.search(_LONG_NUMBER, text, re.ASCII) is not None


def _nested_too_deep(text: str) -> bool:
    """Whether parentheses in ``text`` nest more than ``_MAX_NESTING`` deep.

    Every parenthesis counts, quoted or not, and a ``)`` with none open is passed over:
    never less than any parser's depth.
    """
    depth = 0
    for parenthesis in re.sub(_NOT_A_PARENTHESIS, "", text):
        if parenthesis == "(":
            depth += 1
            if depth > _MAX_NESTING:
                return True
        elif depth:
            depth -= 1
    return False


def _lean_parts(text: str) -> tuple[re.Match[str], str | None] | None:
    """The head's match and the marker's text (``None`` without a ``;``), or ``None``.

    The same as matching the whole line against ``blanks head blanks (; blanks marker)?
    blanks``, the marker free of ``;`` and taken as short as it can be; cut at the first
    ``;`` and stripped instead, so that no run of blanks is scanned twice.
    """
    head, semicolon, marker = text.partition(";")
    if semicolon and ";" in marker:
        return None
    match = _LEAN_HEAD.fullmatch(head.strip(" \t"))
    if match is None:
        return None
    return match, marker.strip(" \t") if semicolon else None


def _lean_requirement(text: str) -> Requirement | None:
    """The requirement, if it has one of the plain shapes; ``None`` lets packaging judge."""
    parts = _lean_parts(text)
    if parts is None:
        return None
    match, marker_text = parts
    lean_marker = None
    if marker_text is not None:
        lean_marker = _parse_marker(marker_text)
        if lean_marker is None:
            return None
    extras = match["extras"]
    specifier = _canonical_specifier(match["spec"] or "")
    if specifier is None:
        return None
    return Requirement(
        text=text.strip(),
        name=normalized_name(match["name"]),
        extras=frozenset(normalized_name(e.strip()) for e in extras.split(","))
        if extras
        else frozenset(),
        specifier=specifier,
        url=None,
        marker=marker_text,
        lean_marker=lean_marker,
    )


def _canonical_specifier(text: str) -> str | None:
    """``>= 1.0 , <2`` → ``<2,>=1.0``: the form ``str(SpecifierSet)`` prints.

    ``None`` when two different clauses are equal to packaging (``==1,==1.0``): which
    one it prints depends on its set's order, so packaging judges. No number is longer
    than ``_MAX_DIGITS`` (:func:`parse_requirement`), so ``int`` reads each.
    """
    clauses: dict[tuple[str, tuple[int, ...]], str] = {}
    for op, version in _CLAUSE_PARTS.findall(text):
        release = [int(part) for part in version.removesuffix(".*").split(".")]
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        clause = op + version
        if clauses.setdefault((op, tuple(release)), clause) != clause:
            return None
    return ",".join(sorted(set(clauses.values())))


def _parse_marker(text: str) -> _Marker | None:
    """Parse ``text`` into and/or groups of comparisons, or ``None`` if it is not plain.

    It recurses once a parenthesis, at most ``_MAX_NESTING`` deep (:func:`parse_requirement`).
    """
    tokens = _marker_tokens(text)
    if tokens is None:
        return None
    marker, end = _parse_or(tokens, 0)
    return marker if marker is not None and end == len(tokens) else None


def _marker_tokens(text: str) -> list[tuple[str, str]] | None:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip(" \t")
    while position < len(text):
        match = _MARKER_TOKEN.match(text, position)
        if match is None:
            return None
        kind = match.lastgroup or ""
        value = match[kind]
        glued = bool(tokens) and match.start(kind) == position and kind in ("word", "quoted")
        if glued and (tokens[-1][0] == "quoted" or (kind, tokens[-1][0]) == ("word", "word")):
            # packaging splits ``'3'and`` differently from a lean reading; let it judge.
            return None
        tokens.append((kind, value))
        position = match.end()
    return tokens


def _parse_or(tokens: list[tuple[str, str]], index: int) -> tuple[_Marker | None, int]:
    groups: list[tuple[_Atom | _Marker, ...]] = []
    while True:
        group: list[_Atom | _Marker] = []
        while True:
            atom, index = _parse_atom(tokens, index)
            if atom is None:
                return None, index
            group.append(atom)
            if index < len(tokens) and tokens[index] == ("word", "and"):
                index += 1
                continue
            break
        groups.append(tuple(group))
        if index < len(tokens) and tokens[index] == ("word", "or"):
            index += 1
            continue
        return tuple(groups), index


def _parse_atom(  # noqa: PLR0911 - one exit per shape the grammar declines
    tokens: list[tuple[str, str]], index: int
) -> tuple[_Atom | _Marker | None, int]:
    if index < len(tokens) and tokens[index] == ("paren", "("):
        inner, index = _parse_or(tokens, index + 1)
        if inner is None or index >= len(tokens) or tokens[index] != ("paren", ")"):
            return None, index
        return inner, index + 1
    if index + 3 > len(tokens):
        return None, index
    (left_kind, left), (op_kind, op), (right_kind, right) = tokens[index : index + 3]
    if op_kind == "word" and op == "in":
        op_kind = "op"
    elif op_kind == "word" and op == "not" and index + 3 < len(tokens):
        if tokens[index + 2] != ("word", "in"):
            return None, index
        op, op_kind = "not in", "op"
        right_kind, right = tokens[index + 3]
        index += 1
    if op_kind != "op" or op == "===":
        return None, index
    if left_kind == "word" and right_kind == "quoted" and left in _VARIABLES:
        return (left, op, right[1:-1], True), index + 3
    if left_kind == "quoted" and right_kind == "word" and right in _VARIABLES:
        return (right, op, left[1:-1], False), index + 3
    return None, index


@functools.cache
def marker_environment() -> Mapping[str, str | None]:
    """The running interpreter's marker values, as ``packaging.markers.default_environment``.

    Values that need the ``platform`` module are read lazily (``None`` here, filled in
    by :func:`_environment_value`); ``python_full_version`` is ``None`` unless it is a
    plain release, so packaging judges unusual builds.
    """
    info = sys.version_info
    full = f"{info.major}.{info.minor}.{info.micro}"
    implementation = sys.implementation.version
    implementation_version = f"{implementation.major}.{implementation.minor}.{implementation.micro}"
    if implementation.releaselevel != "final":
        implementation_version += implementation.releaselevel[0] + str(implementation.serial)
    return {
        "python_version": f"{info.major}.{info.minor}",
        "python_full_version": full if sys.version.startswith(full + " ") else None,
        "implementation_name": sys.implementation.name,
        "implementation_version": implementation_version,
        "os_name": os.name,
        "sys_platform": sys.platform,
    }


@functools.cache
def _platform_value(name: str) -> str | None:
    import platform

    readers = {
        "platform_machine": platform.machine,
        "platform_python_implementation": platform.python_implementation,
        "platform_release": platform.release,
        "platform_system": platform.system,
        "platform_version": platform.version,
    }
    reader = readers.get(name)
    return reader() if reader is not None else None


def _environment_value(name: str) -> str | None:
    environment = marker_environment()
    if name in environment:
        return environment[name]
    return _platform_value(name)


def marker_applies(
    requirement: Requirement,
    extras: frozenset[str],
    environment: Mapping[str, str] | None = None,
) -> bool:
    """Whether ``requirement`` applies when its distribution was asked for with ``extras``.

    As pip decides it: with no extras, the marker is evaluated with ``extra == ""``;
    otherwise it applies if it is true for any one of the requested extras. Markers are
    evaluated for the running interpreter, or for ``environment`` when given (tests).
    Raises :class:`InvalidRequirementError` if packaging cannot evaluate the marker.
    """
    if requirement.marker is None:
        return True
    contexts = sorted(extras) if extras else [""]
    return any(_evaluate(requirement, extra, environment) for extra in contexts)


def _evaluate(requirement: Requirement, extra: str, environment: Mapping[str, str] | None) -> bool:
    if requirement.lean_marker is not None:
        if environment is None:
            result = _lean_evaluate(requirement.lean_marker, _environment_value, extra)
        else:
            result = _lean_evaluate(requirement.lean_marker, environment.get, extra)
        if result is not None:
            return result
    from packaging.markers import InvalidMarker, Marker, UndefinedComparison

    try:
        values = {**(environment or {}), "extra": extra}
        return Marker(requirement.marker or "").evaluate(values)
    except (InvalidMarker, UndefinedComparison, KeyError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InvalidRequirementError(
            f"marker {requirement.marker!r} cannot be evaluated", (message,)
        ) from None


def _lean_evaluate(marker: _Marker, lookup: _Lookup, extra: str) -> bool | None:
    """Evaluate ``marker``; ``None`` where a comparison needs packaging."""
    any_true = False
    for group in marker:
        group_true = True
        for atom in group:
            if len(atom) == 4 and isinstance(atom[0], str):
                value = _lean_compare(atom, lookup, extra)
            else:
                value = _lean_evaluate(atom, lookup, extra)
            if value is None:
                return None
            group_true = group_true and value
        any_true = any_true or group_true
    return any_true


def _lean_compare(atom: _Atom, lookup: _Lookup, extra: str) -> bool | None:
    variable, op, literal, var_first = atom
    if variable == "extra":
        if op not in ("==", "!=") or not var_first:
            return None
        return (normalized_name(extra) == normalized_name(literal)) == (op == "==")
    value = lookup(variable)
    if not isinstance(value, str):
        return None
    left, right = (value, literal) if var_first else (literal, value)
    if variable in _VERSION_VARIABLES:
        # One Specifier, not a set: a comma makes packaging compare strings instead.
        if op in ("in", "not in") or "," in right:
            return None
        return _lean_satisfies(left, op + right)
    return _STRING_OPERATORS[op](left, right) if op in _STRING_OPERATORS else None


_STRING_OPERATORS: Final[dict[str, Callable[[str, str], bool]]] = {
    "==": str.__eq__,
    "!=": str.__ne__,
    "in": lambda left, right: left in right,
    "not in": lambda left, right: left not in right,
}


def version_satisfies(version: str, specifier: str) -> bool:
    """Whether installed ``version`` is inside ``specifier``, pre-releases included.

    As ``SpecifierSet(specifier).contains(version, prereleases=True)``, the check
    ``pip check`` makes; a version that is not PEP 440 satisfies only an empty specifier
    as packaging says; nor does one with a number of more than 600 digits, which Python
    may refuse to read (so the verdict never depends on the interpreter's limit).
    """
    if _holds_a_long_number(version):
        return not specifier
    result = _lean_satisfies(version, specifier)
    if result is not None:
        return result
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except InvalidSpecifier:
        return False


def _lean_satisfies(version: str, specifier: str) -> bool | None:
    """The verdict for a plain release (or a post-release of one) against plain clauses.

    ``None`` for anything else, which packaging judges.
    """
    plain = _PLAIN_VERSION.fullmatch(version)
    if plain is None:
        return None
    clauses = specifier.split(",") if specifier else []
    release = tuple(int(part) for part in plain[1].split("."))
    post = plain[2] is not None
    for clause in clauses:
        match = _CLAUSE_PARTS.fullmatch(clause.strip(" \t"))
        if match is None or not _LEAN_CLAUSE.fullmatch(clause.strip(" \t")):
            return None
        if not _clause_holds(release, post, match[1], match[2]):
            return False
    return True


_LEAN_CLAUSE: Final = re.compile(_CLAUSE, re.ASCII)


def _clause_holds(release: tuple[int, ...], post: bool, op: str, bound_text: str) -> bool:
    """Whether ``release`` (a post-release of it if ``post``) meets one plain clause.

    A post-release sorts after its release; the clauses' bounds are plain releases, so
    it equals none of them, and ``>`` excludes the post-releases of its bound (PEP 440).
    A prefix match (``==1.0.*``) compares the release only.
    """
    prefix = bound_text.endswith(".*")
    bound = tuple(int(part) for part in bound_text.removesuffix(".*").split("."))
    if prefix:
        padded = (release + (0,) * len(bound))[: len(bound)]
        return (padded == bound) == (op == "==")
    width = max(len(release), len(bound))
    left = release + (0,) * (width - len(release))
    right = bound + (0,) * (width - len(bound))
    if op == "~=":
        head = bound[:-1]
        return left >= right and (release + (0,) * len(head))[: len(head)] == head
    if op == ">":
        return left > right
    ordered, limit = (left, post), (right, False)
    return {
        "==": ordered == limit,
        "!=": ordered != limit,
        "<=": ordered <= limit,
        ">=": ordered >= limit,
        "<": ordered < limit,
    }[op]
