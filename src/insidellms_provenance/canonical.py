"""Canonical JSON (RFC 8785, JCS): the one way bytes are made for digests.

Typical usage::

    canonical_json({"b": [1, 2.5], "a": None})  # b'{"a":null,"b":[1,2.5]}'
    canonical_digest(value)                       # 'sha256:<hex>'

``orjson`` writes the bytes. Its string escaping is RFC 8785's; its key order (code
points) and float format (``1e+20``, ``-0.0``, ``1.0``) are not, so one validating walk
decides: values without floats and without keys containing U+E000 or above go to
``orjson`` as they are; others get their numbers pre-formatted the ES6 way
(``orjson.Fragment``) and their keys sorted by UTF-16 code units first.
"""

from __future__ import annotations

import hashlib
import math
from typing import Final

import orjson

from insidellms_provenance.errors import NotCanonicalizableError

__all__ = ["MAX_DEPTH", "canonical_digest", "canonical_json", "sha256_digest"]

MAX_DEPTH: Final = 128  # below orjson's own recursion limit (255)
_MAX_SAFE_INTEGER: Final = 2**53
_UTF16_SENSITIVE: Final = "\ue000"  # keys below this sort the same by code point and UTF-16


def canonical_json(value: object) -> bytes:
    """RFC 8785 bytes of ``value``.

    Accepts dicts with str keys, lists, tuples, str, int, float, bool and None.
    Anything else, NaN, infinities, lone surrogates, integers beyond ±2**53 and nesting
    deeper than :data:`MAX_DEPTH` raise ``NotCanonicalizableError`` naming the JSON path
    of the culprit.
    """
    try:
        if _is_plain(value, 0):
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        return orjson.dumps(_prepare(value, "$", 0))
    except orjson.JSONEncodeError as error:
        # Only lone surrogates get here; find where for the message.
        raise NotCanonicalizableError(_surrogate_path(value, "$") or str(error)) from None


def _is_plain(value: object, depth: int) -> bool:  # noqa: C901, PLR0911 - one branch per JSON type
    """Whether ``orjson`` with sorted keys already writes ``value`` canonically.

    ``False`` for floats, keys that sort differently in UTF-16, and anything invalid:
    :func:`_prepare` then walks again, slowly, to build a copy or name the culprit.
    Written as plain loops: this walk runs for every digest and is on the hot path.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER  # type: ignore[operator]
    if depth >= MAX_DEPTH:
        return False
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or (key and max(key) >= _UTF16_SENSITIVE):
                return False
            if type(item) is not str and item is not None and not _is_plain(item, depth + 1):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:  # type: ignore[attr-defined]  # noqa: SIM110 - loop is faster than all()
            if type(item) is not str and not _is_plain(item, depth + 1):
                return False
        return True
    return False


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``: the digest format used everywhere."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_digest(value: object) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return sha256_digest(canonical_json(value))


def _prepare(value: object, path: str, depth: int) -> object:
    """Validate ``value`` and return a copy that ``orjson`` writes canonically.

    Numbers are pre-formatted and every object is rebuilt in UTF-16 key order, so no
    sorting option is needed.
    """
    if depth > MAX_DEPTH:
        raise NotCanonicalizableError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            return int(value)
        raise NotCanonicalizableError(f"{path}: integer {value} is beyond ±2**53")
    if isinstance(value, float):
        return orjson.Fragment(_format_number(value, path).encode("ascii"))
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise NotCanonicalizableError(f"{path}: key {key!r} is not a string")
        return {
            key: _prepare(value[key], f"{path}.{key}", depth + 1)
            for key in sorted(value, key=_utf16_key)
        }
    if isinstance(value, (list, tuple)):
        return [_prepare(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value)]
    raise NotCanonicalizableError(f"{path}: {type(value).__name__} is not a JSON type")


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _format_number(value: float, path: str) -> str:
    """ECMAScript ``Number.prototype.toString`` (RFC 8785 section 3.2.2.3)."""
    if not math.isfinite(value):
        raise NotCanonicalizableError(f"{path}: {value} is not a JSON number")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, as ECMAScript requires.
    mantissa, _, exponent_text = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).rstrip("0")
    point = len(whole) + (int(exponent_text) if exponent_text else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped
    count = len(digits)
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exponent = point - 1
    exponent_sign = "+" if exponent >= 0 else "-"
    head = digits[0] + ("." + digits[1:] if count > 1 else "")
    return f"{sign}{head}e{exponent_sign}{abs(exponent)}"


def _surrogate_path(value: object, path: str) -> str | None:
    """The path of the first string or key holding a lone surrogate, if any."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{path}: string contains a lone surrogate"
        return None
    items: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _surrogate_path(key, path) is not None:
                return f"{path}: key contains a lone surrogate"
            items.append((f"{path}.{key}", item))
    elif isinstance(value, (list, tuple)):
        items = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    for item_path, item in items:
        found = _surrogate_path(item, item_path)
        if found is not None:
            return found
    return None


def _canonical_json_python(value: object) -> bytes:
    """A second, slow, dependency-free writer used by the tests to cross-check the fast one."""
    return _write(value, "$", 0).encode("utf-8")


_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _write_string(text: str, path: str) -> str:
    if _surrogate_path(text, path) is not None:
        raise NotCanonicalizableError(f"{path}: string contains a lone surrogate")
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _write(value: object, path: str, depth: int) -> str:  # noqa: C901, PLR0911 - one branch per JSON type
    if depth > MAX_DEPTH:
        raise NotCanonicalizableError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _write_string(value, path)
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INTEGER:
            raise NotCanonicalizableError(f"{path}: integer {value} is beyond ±2**53")
        return str(value)
    if isinstance(value, float):
        return _format_number(value, path)
    if isinstance(value, (list, tuple)):
        items = (_write(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        return "[" + ",".join(items) + "]"
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise NotCanonicalizableError(f"{path}: key {key!r} is not a string")
        members = (
            _write_string(key, path) + ":" + _write(value[key], f"{path}.{key}", depth + 1)
            for key in sorted(value, key=_utf16_key)
        )
        return "{" + ",".join(members) + "}"
    raise NotCanonicalizableError(f"{path}: {type(value).__name__} is not a JSON type")
