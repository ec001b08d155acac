"""Check a JSON value against a class of :mod:`insidellms_provenance.field.schema`.

The check is derived from the ``TypedDict`` annotations, so it cannot drift from the
recording path's types: every required key present, no unknown key, exact JSON types
(``1`` is not a string, ``true`` is not a number), ``Literal`` values from their set,
``Annotated`` patterns matched. It validates in place and copies nothing, so readers get
the very dicts they parsed, typed as the schema's classes.

Typical usage::

    issues = validate(value, schema.PluginFingerprint, "field.plugins[0]")
    if not issues:
        plugin = cast("schema.PluginFingerprint", value)

Compiled checks are cached per class; importing this module costs about a millisecond
(``typing.get_type_hints``) on first use, against ≈ 100 ms for attrs and cattrs.

Each class is compiled twice. A predicate generated once as Python source (one function
per class read, its nested classes, lists and objects written inline) says only whether a value
is valid, without introspecting an annotation or building a path per value; it decides
the common case, a valid field, at a fraction of the cost. Only a value it rejects is
walked by the reporting checks, which name every problem with its path; both are derived
from the same annotations and accept exactly the same values (``tests/test_validate_predicate.py``).
"""

from __future__ import annotations

import functools
import os
import re
import types
from collections.abc import Callable

# typing is imported only where annotations are read (to report a problem, or to
# generate predicates): a valid field is decided by the generated predicates, and
# importing typing would be about 3 ms of a diff of two small runs.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from insidellms_provenance.field.schema import Pattern

    _Path = Any  # "$" or a chain (parent, key): formatted only when a check fails
    _Check = Callable[[object, _Path, list[str]], None]

__all__ = ["generated_predicate", "validate"]

# Caches, each a pure function of the schema's classes (filled on first use, never reset):
_CHECKS: dict[object, _Check] = {}  # annotation -> reporting check
_VALID: dict[object, Callable[[object], bool]] = {}  # TypedDict -> generated predicate
# How many entries of each class were checked without its predicate: only where that
# passes _PREDICATE_AFTER is the predicate generated (which takes milliseconds: ``diff``
# of two small runs spent more on it than on everything it checked).
_CHECKED: dict[object, int] = {}
_PREDICATE_AFTER = 300  # the reporting checks take about 12 µs a plugin, the predicate 4


def validate(value: object, cls: type | str, where: str = "$", *, size: int = 1) -> list[str]:
    """Every way ``value`` fails to be a ``cls``, each as ``path: problem``; ``[]`` if none.

    ``cls``: a class of the schema, or the name of one of :data:`GENERATED_CLASSES`, whose
    generated predicate then decides a valid value without importing the schema (its
    classes take about 2 ms to build; ``diff`` of two small runs is mostly start-up).
    ``size``: about how many entries ``value`` holds (a field: its plugins). Small
    values are walked by the reporting checks alone; a class checked often enough gets
    its generated predicate. Both accept exactly the same values.
    """
    if isinstance(cls, str):
        named = _generated_by_name().get(cls)
        if named is not None and named(value):
            return []
        from insidellms_provenance.field import schema

        cls = getattr(schema, cls)
        if named is not None:  # the same predicate said no: only the report is left
            issues: list[str] = []
            _check_for(cls)(value, where, issues)
            return issues
    valid = _VALID.get(cls)
    if valid is None:
        valid = _generated_predicates().get(cls)
        if valid is not None:
            _VALID[cls] = valid
        elif (checked := _CHECKED.get(cls, 0) + size) > _PREDICATE_AFTER:
            valid = _VALID[cls] = _compile_predicate(cls)
        else:
            _CHECKED[cls] = checked
    if valid is not None and valid(value):
        return []
    issues = []
    _check_for(cls)(value, where, issues)
    return issues


def _format(path: _Path) -> str:
    """``(("field", "plugins"), 0)``-style chains as ``field.plugins[0]``."""
    parts: list[object] = []
    while isinstance(path, tuple):
        path, key = path
        parts.append(key)
    text = str(path)
    for key in reversed(parts):
        text += f"[{key}]" if isinstance(key, int) else f".{key}"
    return text


def _type_name(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _check_for(hint: object) -> _Check:
    check = _CHECKS.get(hint)
    if check is None:
        check = _compile(hint)
        _CHECKS[hint] = check
    return check


def _compile(hint: object) -> _Check:  # noqa: C901, PLR0911 - one branch per kind of annotation
    import typing

    origin = typing.get_origin(hint)
    if hint is str:
        return _expect(lambda v: isinstance(v, str), "a string")
    if hint is bool:
        return _expect(lambda v: v is True or v is False, "true or false")
    if hint is int:
        return _expect(
            lambda v: type(v) is int and v >= 0,
            "a non-negative integer",
        )
    if hint is type(None):
        return _expect(lambda v: v is None, "null")
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        return _expect(
            lambda v: isinstance(v, str) and v in allowed,
            " or ".join(repr(a) for a in allowed),
        )
    if origin is typing.Annotated:
        base, *extras = typing.get_args(hint)
        from insidellms_provenance.field.schema import Pattern

        return _annotated(_check_for(base), [e for e in extras if isinstance(e, Pattern)])
    if origin in (typing.Union, types.UnionType):
        return _union([_check_for(arg) for arg in typing.get_args(hint)])
    if origin is list:
        (item,) = typing.get_args(hint)
        return _list(_check_for(item))
    if origin is dict:
        _, item = typing.get_args(hint)  # JSON object keys are always strings
        return _mapping(_check_for(item))
    if typing.is_typeddict(hint):
        return _typeddict(hint)  # type: ignore[arg-type]
    raise TypeError(f"no check for {hint!r}")


def _expect(test: Callable[[object], bool], what: str) -> _Check:
    def check(value: object, path: _Path, issues: list[str]) -> None:
        if not test(value):
            issues.append(f"{_format(path)}: expected {what}, got {_type_name(value)}")

    return check


def _annotated(base: _Check, patterns: list[Pattern]) -> _Check:
    compiled = [re.compile(pattern.regex) for pattern in patterns]

    def check(value: object, path: _Path, issues: list[str]) -> None:
        before = len(issues)
        base(value, path, issues)
        if len(issues) == before and isinstance(value, str):
            issues.extend(
                f"{_format(path)}: {value!r} does not match {regex.pattern}"
                for regex in compiled
                if not regex.search(value)
            )

    return check


def _union(options: list[_Check]) -> _Check:
    def check(value: object, path: _Path, issues: list[str]) -> None:
        found: list[str] = []
        for option in options:
            attempt: list[str] = []
            option(value, path, attempt)
            if not attempt:
                return
            found.extend(attempt)
        issues.append(f"{_format(path)}: matches no option ({'; '.join(found)})")

    if len(options) == 2:
        first, second = options
        none = _CHECKS.get(type(None))
        if second is none:

            def optional(value: object, path: _Path, issues: list[str]) -> None:
                if value is not None:
                    first(value, path, issues)

            return optional
    return check


def _list(item: _Check) -> _Check:
    def check(value: object, path: _Path, issues: list[str]) -> None:
        if not isinstance(value, list):
            issues.append(f"{_format(path)}: expected an array, got {_type_name(value)}")
            return
        for index, element in enumerate(value):
            item(element, (path, index), issues)

    return check


def _mapping(item: _Check) -> _Check:
    def check(value: object, path: _Path, issues: list[str]) -> None:
        if not isinstance(value, dict):
            issues.append(f"{_format(path)}: expected an object, got {_type_name(value)}")
            return
        for key, element in value.items():
            item(element, (path, key), issues)

    return check


def _typeddict(cls: type) -> _Check:
    import typing

    hints = typing.get_type_hints(cls, include_extras=True)
    required: frozenset[str] = cls.__required_keys__  # type: ignore[attr-defined]
    ordered_required = [key for key in hints if key in required]
    keys: dict[str, _Check] = {}

    def check(value: object, path: _Path, issues: list[str]) -> None:
        if not isinstance(value, dict):
            issues.append(f"{_format(path)}: expected an object, got {_type_name(value)}")
            return
        if not keys:  # compiled on first use: classes may refer to each other
            keys.update({key: _check_for(hint) for key, hint in hints.items()})
        issues.extend(
            f"{_format(path)}: missing key {key!r}" for key in ordered_required if key not in value
        )
        for key, item in value.items():
            key_check = keys.get(key)
            if key_check is None:
                issues.append(f"{_format(path)}: unexpected key {key!r}")
            else:
                key_check(item, (path, key), issues)

    return check


# The classes readers validate (field._read). Their predicates are generated ahead of
# time into field/_predicates.py, so that no command compiles them at start-up
# (milliseconds); tests/test_validate_predicate.py keeps that file current
# (REGEN_PREDICATES=1 rewrites it).
GENERATED_CLASSES = ("Provenance", "PluginFingerprint", "Conflict")


@functools.cache
def _generated_by_name() -> dict[str, Callable[[object], bool]]:
    """The predicates of field/_predicates.py by class name, if it was generated from these sources.

    It records the digest of the two files it is generated from (the schema and this
    module); where they differ (a key added and the file not generated again), there
    are none here, and the predicates are compiled instead, so a stale file is never used.
    """
    from insidellms_provenance.field import _predicates

    if _sources_digest() != _predicates.SOURCES_DIGEST:
        return {}
    return dict(_predicates.PREDICATES)


def generated_predicate(name: str) -> Callable[[object], bool] | None:
    """The generated predicate of the class of :data:`GENERATED_CLASSES` named ``name``.

    ``None`` where field/_predicates.py is stale. It says only whether a value is valid;
    :func:`validate` says why not.
    """
    return _generated_by_name().get(name)


@functools.cache
def _generated_predicates() -> dict[object, Callable[[object], bool]]:
    """:func:`_generated_by_name` keyed by the schema's classes."""
    from insidellms_provenance.field import schema

    return {getattr(schema, name): valid for name, valid in _generated_by_name().items()}


def _sources_digest() -> str | None:
    """``sha256:<hex>`` of the schema's and this module's source, or ``None`` unreadable."""
    import hashlib

    # The schema's file, beside this one, is read without importing the schema.
    schema_file = os.path.join(os.path.dirname(__file__), "schema.py")
    digest = hashlib.sha256()
    try:
        for module_file in (schema_file, __file__):
            with open(module_file, "rb") as source:  # not pathlib: diff does not import it
                digest.update(source.read() + b"\0")
    except (OSError, TypeError):
        return None
    return "sha256:" + digest.hexdigest()


def predicates_module_text() -> str:
    """The text of field/_predicates.py: the predicates of :data:`GENERATED_CLASSES`."""
    from insidellms_provenance.field import schema

    source = _PredicateSource()
    roots = {name: source.function_for(getattr(schema, name)) for name in GENERATED_CLASSES}
    constants = [f"{name} = {_literal(value)}" for name, value in source.namespace.items()]
    functions = [text.replace("(v):", "(v: Any) -> bool:", 1) for text in source.functions]
    table = "".join(f'    "{name}": {function},\n' for name, function in roots.items())
    return "\n".join(
        [
            '"""Predicates of the field\'s classes, generated by ``field._validate``: do not edit.',
            "",
            "``REGEN_PREDICATES=1 pytest tests/test_validate_predicate.py`` writes this file",
            "again from ``field/schema.py``; until then, ``field._validate`` compiles them.",
            '"""',
            "",
            "# ruff: noqa: ANN401, C901, PLR0911, PLR0912, PLR0915, Q000, SIM102",
            "# fmt: off",
            "from __future__ import annotations",
            "",
            "import re",
            "",
            "TYPE_CHECKING = False",
            "if TYPE_CHECKING:",
            "    from typing import Any",
            "",
            '__all__ = ["PREDICATES", "SOURCES_DIGEST"]',
            "",
            f'SOURCES_DIGEST = "{_sources_digest()}"',
            "",
            *constants,
            "",
            "",
            "\n\n".join(functions),
            "",
            f"PREDICATES = {{\n{table}}}",
            "",
        ]
    )


def _literal(value: object) -> str:
    """Python source for a constant of a generated predicate."""
    if value is _ABSENT:
        return "object()"
    if isinstance(value, frozenset):
        return "frozenset({" + ", ".join(repr(item) for item in sorted(value)) + "})"
    if isinstance(value, tuple):
        return repr(value)
    search = getattr(value, "__self__", None)
    if isinstance(search, re.Pattern) and not search.flags & ~re.UNICODE:
        return f"re.compile({search.pattern!r}).search"
    raise TypeError(f"no literal for {value!r}")


def _compile_predicate(root: object) -> Callable[[object], bool]:
    """Generate ``root``'s predicate: ``True`` exactly when its checks report nothing."""
    source = _PredicateSource()
    root_name = source.function_for(root)
    exec("\n".join(source.functions), source.namespace)  # noqa: S102 - generated from the schema only
    predicate: Callable[[object], bool] = source.namespace[root_name]
    return predicate


class _PredicateSource:
    """The source of the predicates of a class, and the constants they use."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {}
        self.functions: list[str] = []
        self._names: dict[object, str] = {}
        self._variables = 0

    def _variable(self) -> str:
        self._variables += 1
        return f"x{self._variables}"

    def constant(self, value: object) -> str:
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def function_for(self, hint: object) -> str:
        name = self._names.get(hint)
        if name is None:
            name = self._names[hint] = f"_f{len(self._names)}"  # named first: classes may recur
            self.functions.append(self._define(hint, name))
        return name

    def expression(self, hint: object, var: str) -> str:  # noqa: PLR0911 - one branch per kind
        """A Python expression true when ``var`` is a valid ``hint``."""
        import typing

        origin = typing.get_origin(hint)
        if hint is str:
            return f"isinstance({var}, str)"
        if hint is bool:
            return f"({var} is True or {var} is False)"
        if hint is int:
            return f"(type({var}) is int and {var} >= 0)"
        if hint is type(None):
            return f"({var} is None)"
        if origin is typing.Literal:
            allowed = self.constant(typing.get_args(hint))
            return f"(isinstance({var}, str) and {var} in {allowed})"
        if origin is typing.Annotated:
            return self._annotated_expression(hint, var)
        if origin in (typing.Union, types.UnionType):
            options = [self.expression(arg, var) for arg in typing.get_args(hint)]
            return "(" + " or ".join(options) + ")"
        if origin in (list, dict) or typing.is_typeddict(hint):
            return f"{self.function_for(hint)}({var})"
        raise TypeError(f"no check for {hint!r}")

    def _annotated_expression(self, hint: object, var: str) -> str:
        import typing

        from insidellms_provenance.field.schema import Pattern

        base, *extras = typing.get_args(hint)
        searches = [
            f"{self.constant(re.compile(extra.regex).search)}({var}) is not None"
            for extra in extras
            if isinstance(extra, Pattern)
        ]
        if not searches:
            return self.expression(base, var)
        if base is str:
            return f"(isinstance({var}, str) and {' and '.join(searches)})"
        return (
            f"({self.expression(base, var)} and (not isinstance({var}, str)"
            f" or ({' and '.join(searches)})))"
        )

    def _define(self, hint: object, name: str) -> str:
        """The source of ``def name(v)`` for a list, dict or ``TypedDict`` annotation.

        A required key is read by subscription, which raises ``KeyError`` where it is
        missing: that is a ``False``, so an object's keys are checked by counting them
        (:meth:`_typeddict_statements`).
        """
        lines = [f"def {name}(v):", "    try:"]
        self._statements(hint, "v", "        ", lines, (hint,))
        lines.append("    except KeyError:\n        return False")
        lines.append("    return True\n")
        return "\n".join(lines)

    def _statements(
        self, hint: object, var: str, indent: str, lines: list[str], within: tuple[object, ...]
    ) -> None:
        """Append statements that ``return False`` unless ``var`` is a valid ``hint``.

        Lists, ``TypedDict``s and optional ones are written inline (no call per value);
        a class already being written (``within``) is called, so recursion ends.
        """
        import typing

        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        inner = indent + "    "
        if origin is list:
            lines.append(f"{indent}if not isinstance({var}, list):\n{inner}return False")
            nested = self._variable()
            lines.append(f"{indent}for {nested} in {var}:")
            self._statements(args[0], nested, inner, lines, (*within, hint))
        elif origin is dict:  # JSON object keys are always strings
            nested = self._variable()
            lines.append(f"{indent}if not isinstance({var}, dict):\n{inner}return False")
            lines.append(f"{indent}for {nested} in {var}.values():")
            self._statements(args[1], nested, inner, lines, (*within, hint))
        elif typing.is_typeddict(hint) and (hint not in within or var == "v"):
            self._typeddict_statements(hint, var, indent, lines, (*within, hint))  # type: ignore[arg-type]
        elif origin in (typing.Union, types.UnionType) and len(args) == 2 and args[1] is type(None):
            lines.append(f"{indent}if {var} is not None:")
            self._statements(args[0], var, inner, lines, within)
        else:
            lines.append(f"{indent}if not {self.expression(hint, var)}:\n{inner}return False")

    def _typeddict_statements(
        self, hint: type, var: str, indent: str, lines: list[str], within: tuple[object, ...]
    ) -> None:
        """Statements for a ``TypedDict``: its keys, then each value.

        Every required key is read by subscription below (a missing one raises
        ``KeyError``, which :meth:`_define` makes ``False``), so the keys are exactly
        right when the object has as many as its required keys and the optional keys
        it holds: comparing key sets took most of the predicate's time. Only an exact
        ``dict`` is vouched for (a subclass could answer for a missing key); anything
        else is left to the reporting checks, which decide alone.
        """
        import typing

        inner = indent + "    "
        hints = typing.get_type_hints(hint, include_extras=True)
        required: frozenset[str] = hint.__required_keys__  # type: ignore[attr-defined]
        lines.append(f"{indent}if type({var}) is not dict:\n{inner}return False")
        count = " + ".join(
            [str(len(required)), *(f"({key!r} in {var})" for key in hints if key not in required)]
        )
        lines.append(f"{indent}if len({var}) != {count}:\n{inner}return False")
        item = self._variable()
        for key, key_hint in hints.items():
            if key in required:
                lines.append(f"{indent}{item} = {var}[{key!r}]")
                self._statements(key_hint, item, indent, lines, within)
            else:
                missing = self.constant(_ABSENT)
                lines.append(f"{indent}{item} = {var}.get({key!r}, {missing})")
                lines.append(f"{indent}if {item} is not {missing}:")
                self._statements(key_hint, item, inner, lines, within)


_ABSENT = object()  # stands for a key that is not there, in generated predicates
