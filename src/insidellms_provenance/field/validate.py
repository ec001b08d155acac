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
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from insidellms_provenance.field.schema import Pattern

__all__ = ["validate"]

_Path = Any  # "$" or a chain (parent, key): formatted only when a check fails
_Check = Callable[[object, _Path, list[str]], None]

_CHECKS: dict[object, _Check] = {}


def validate(value: object, cls: type, where: str = "$") -> list[str]:
    """Every way ``value`` fails to be a ``cls``, each as ``path: problem``; ``[]`` if none."""
    issues: list[str] = []
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
    if origin is Literal:
        allowed = typing.get_args(hint)
        return _expect(
            lambda v: isinstance(v, str) and v in allowed,
            " or ".join(repr(a) for a in allowed),
        )
    if origin is Annotated:
        base, *extras = typing.get_args(hint)
        return _annotated(_check_for(base), [e for e in extras if isinstance(e, Pattern)])
    if origin in (Union, types.UnionType):
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
