"""Canonical JSON (RFC 8785, JCS): the one function that makes bytes for digests.

Typical usage::

    canonical_json({"b": [1, 2.5], "a": None})  # b'{"a":null,"b":[1,2.5]}'
    canonical_digest({"b": [1, 2.5], "a": None})  # 'sha256:<hex>'

``docs/canonical-json.md`` states the rules and the fast-path design.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import math
import re
import sys
from collections.abc import Iterable, Iterator, Sequence

from insidellms_provenance.errors import NotCanonicalizableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    import orjson

__all__ = [
    "MAX_DEPTH",
    "MAX_INTEGER",
    "canonical_digest",
    "canonical_json",
    "canonical_json_lines",
    "sha256_digest",
]

MAX_DEPTH: Final = 128
"""Most arrays and objects nested in one another (orjson's own limit is 254)."""

MAX_INTEGER: Final = 2**53
"""Largest magnitude of an ``int``: every integer up to it is exactly one IEEE double."""

# orjson's OPT_SORT_KEYS and OPT_STRICT_INTEGER (its documented flags; a test holds them
# equal), written here so that importing this module does not import orjson.
_SORT_KEYS: Final = 1 << 5
# orjson refuses integers beyond ±(2**53 - 1) with this option; ±2**53 itself, which JCS
# allows, goes to the reference writer.
_FAST_OPTIONS: Final = _SORT_KEYS | 1 << 6
_LAST_DEPTH: Final = MAX_DEPTH - 1
_MAX_PROBLEMS: Final = 10
# A value of fewer marshal bytes is written by the reference writer while no module of
# the process has imported orjson (about 0.2 ms a KiB, against about 10 ms of imports).
_WRITTEN_WITHOUT_ORJSON: Final = 4096


class _ImportedOnFirstUse:
    """Stands for ``orjson`` until an attribute of it is first read, then is the module.

    Importing orjson imports ``uuid``, ``dataclasses`` (``inspect``), ``datetime`` and
    ``json``: about 10 ms, more than a command that writes one small output (``verify
    --format json``) does otherwise. The first read puts the module itself in this
    module's globals, so later reads are plain global lookups.
    """

    def __getattr__(self, name: str) -> object:
        import orjson as module

        globals()["orjson"] = module
        return getattr(module, name)


if not TYPE_CHECKING:
    orjson = _ImportedOnFirstUse()


def canonical_json(value: object) -> bytes:
    """RFC 8785 bytes of ``value``.

    Accepts dicts with string keys, lists, tuples, strings, ints within
    ±:data:`MAX_INTEGER`, finite floats, bools and None; subclasses of these (such as
    ``OrderedDict`` or an ``IntEnum``) are written as their base type. Anything else,
    NaN, infinities, lone surrogates and nesting deeper than :data:`MAX_DEPTH` raise
    ``NotCanonicalizableError`` naming the JSON path of each culprit, such as
    ``$.capabilities.models[2]``.
    """
    if (type(value) is dict or type(value) is list) and len(value) > _IN_PARTS_FROM:
        written = _in_parts(value)
        if written is not None:
            return written
    size = _exact_and_finite(value)
    if size is not None and size < _WRITTEN_WITHOUT_ORJSON and "orjson" not in sys.modules:
        return _canonical_json_python(value)  # the same bytes, without orjson's imports
    try:
        plain = _plain_sized(value, size)
        return _canonical_json_prepared(value) if plain is None else bytes(plain)
    except (_NeedsReferenceWriter, orjson.JSONEncodeError):
        # Invalid input, or what orjson refuses though JCS allows it (keys that are
        # instances of str subclasses, ±2**53): the reference writer raises with paths,
        # or writes.
        return _canonical_json_python(value)


def _plain(value: object) -> bytes | memoryview | None:
    """:func:`canonical_json` of a plain value by the fast path; None to take the prepared path.

    A view of a larger buffer where orjson's bytes needed no change but a slice.

    Raises ``JSONEncodeError`` for what orjson refuses.
    """
    return _plain_sized(value, _exact_and_finite(value))


def _plain_sized(value: object, size: int | None) -> bytes | memoryview | None:
    """:func:`_plain`, ``size`` being :func:`_exact_and_finite` of ``value``."""
    if size is None or type(value) is float:
        return None
    written = _dumps_padded(value, large=size > _SMALL_VALUE)
    if written is None:
        return None
    data, padding = written
    if not data.isascii() and _keys_may_need_utf16_order(data):
        return None
    return _relay_numbers(data, padding)  # None: a backslash beside a relaid float


# A large object or array is written a few dozen members at a time: each part is checked
# by ``marshal`` and written by orjson while its objects are still in the processor's
# caches, where checking and writing the whole value walk it twice from memory (about a
# quarter of the time of a 10,000-plugin value). Its members are the whole value's, in
# the same order, so the parts joined are the same bytes.
_IN_PARTS_FROM: Final = 256  # members; below this, one part
_PART: Final = 64  # members of a part: its objects, about 300 KB, stay in a core's cache


def _in_parts(value: dict[object, object] | list[object]) -> bytes | None:
    """:func:`canonical_json` of a large object or array, written in parts; None to decide whole.

    None where some part is not plain (the whole value then takes the usual paths, which
    write or refuse it) or where the object's keys are not all exact strings whose order
    by code point is their order by UTF-16 code unit (see :func:`_in_utf16_order`).
    """
    # Each part is made as it is written (generators): made all at once, they fill the
    # caches the parts are meant to stay in.
    parts: Iterator[object]
    if isinstance(value, dict):
        if set(map(type, value)) != {str}:
            return None
        keys: list[str] = sorted(value)  # type: ignore[arg-type]
        names = "".join(keys)
        if not names.isascii() and max(names) > "\uffff" and re.search("[\ue000-\uffff]", names):
            return None
        parts = (
            {key: value[key] for key in keys[start : start + _PART]}
            for start in range(0, len(keys), _PART)
        )
        opening, closing = b"{", b"}"
    else:
        parts = (value[start : start + _PART] for start in range(0, len(value), _PART))
        opening, closing = b"[", b"]"
    pieces: list[bytes | memoryview] = [opening]
    try:
        for part in parts:
            written = _plain(part)
            if written is None:
                return None
            pieces += (memoryview(written)[1:-1], b",")  # its members, without brackets
    except (_NeedsReferenceWriter, orjson.JSONEncodeError):
        return None
    pieces[-1] = closing
    return b"".join(pieces)  # the one copy of the output


def canonical_json_lines(values: Sequence[object]) -> bytes:
    """:func:`canonical_json` of each of ``values``, each followed by a newline (JSON Lines).

    The same bytes as ``canonical_json(value)`` and a newline for each, with one check of
    types, one call per value to orjson and one pass over the lines for numbers when the
    values are plain.
    """
    if _exact_and_finite(values) is not None and float not in set(map(type, values)):
        try:
            data = _plain_lines(values)
        except orjson.JSONEncodeError:
            data = None
        if data is not None and (data.isascii() or not _keys_may_need_utf16_order(data)):
            relaid = _relay_numbers(data)  # no padding: bytes, not a view
            if relaid is not None:
                return bytes(relaid)
    return b"".join([canonical_json(value) + b"\n" for value in values])


def _plain_lines(values: Sequence[object]) -> bytes | None:
    """Sorted JSON lines of ``values`` by orjson, each nested no deeper than MAX_DEPTH.

    Raises ``JSONEncodeError`` if orjson refuses a value or one is nested too deep; None
    if orjson's nesting limit is unknown. A value is nested no deeper than the brackets
    of all the lines together, so one count settles most; past it each value is bounded
    as :func:`canonical_json` bounds it.
    """
    lines: list[bytes | None] = [orjson.dumps(value, option=_FAST_OPTIONS) for value in values]
    lines.append(b"")
    data = b"\n".join(lines)  # type: ignore[arg-type]
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return data
    lines = [_dumps_bounded(value, large=False) for value in values]
    if None in lines:
        return None
    lines.append(b"")
    return b"\n".join(lines)  # type: ignore[arg-type]


def _canonical_json_prepared(value: object) -> bytes:
    """The slower path: a prepared copy (floats as fragments, subclasses as base types).

    Raises :class:`_NeedsReferenceWriter` or ``orjson.JSONEncodeError`` for what only the
    reference writer can tell or write.
    """
    data = orjson.dumps(_prepare(value, 0, utf16_keys=False), option=_SORT_KEYS)
    if data.isascii() or not _keys_may_need_utf16_order(data):
        return data
    return orjson.dumps(_prepare(value, 0, utf16_keys=True), option=_SORT_KEYS)


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``: the digest format used everywhere."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_digest(value: object) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return sha256_digest(canonical_json(value))


# The fast path: orjson with sorted keys writes the bytes, checked by passes that run at
# C speed over the whole value (no Python loop over its items):
# - ``marshal`` refuses every object whose type is not exactly a built-in one (subclasses,
#   UUID, Enum members, orjson.Fragment, datetime, dataclasses, numpy scalars, ...), and
#   writes each float as its 8 IEEE bytes, where NaN and infinities can be found;
# - orjson refuses the built-in types that are not JSON (sets, bytes, complex, ...),
#   keys that are not strings, lone surrogates, integers beyond 2**53 - 1 and, wrapped in
#   enough lists to reach its own limit at MAX_DEPTH, nesting too deep.
# What neither writes as JCS goes to the slower paths below.


class _NeedsReferenceWriter(Exception):  # noqa: N818 - a signal that never leaves the module
    """The value is invalid or unusual: only the reference writer can tell or write it."""


_MARSHAL_VERSION: Final = 4  # floats as TYPE_BINARY_FLOAT: a type byte, 8 little-endian bytes
_FLOAT_TYPES: Final = (0x67, 0x67 | 0x80)  # "g", and "g" with marshal's FLAG_REF
_MAX_TOP_BYTES: Final = 4096  # past this many bytes to check, the prepared path decides
_SMALL_VALUE: Final = 8192  # marshal bytes below which counting brackets is cheaper


def _exact_and_finite(value: object) -> int | None:
    """Size of ``value``'s ``marshal`` bytes if all its objects are of exact built-in types, finite.

    None if some object in ``value`` may be of another type (a subclass, ``UUID``, an
    ``Enum`` member) or some float may be NaN or infinite.

    The built-in types ``marshal`` writes beyond JSON's (sets, bytes, complex, ...) are
    left to orjson, which refuses them. The bytes themselves are freed before orjson
    writes: kept alive beside orjson's output and the relaid copy, the three large
    buffers made the allocator return memory to the system and fault it in again on
    every call (a quarter of the time of an 11 MB value, ``perf stat``).
    """
    try:
        marshalled = marshal.dumps(value, _MARSHAL_VERSION)  # type: ignore[arg-type]
    except ValueError:  # "unmarshallable object": a subclass or a type marshal lacks
        return None
    return None if _may_hold_non_finite(marshalled) else len(marshalled)


def _may_hold_non_finite(marshalled: bytes) -> bool:
    """Whether ``marshal`` bytes may hold a NaN or an infinity.

    A float is its type byte and 8 little-endian IEEE bytes; NaN and the infinities have
    every exponent bit set: the last byte is 0x7F or 0xFF and the one before it 0xF0 or
    more. A byte 0x7F or 0xFF is rare elsewhere (UTF-8 text holds no 0xFF, and 0x7F only
    as DEL), so the few found by ``find`` (C speed) are checked one by one.
    """
    checked = 0
    for top in (0x7F, 0xFF):
        at = marshalled.find(top, 8)
        while at != -1:
            if marshalled[at - 1] >= 0xF0 and marshalled[at - 8] in _FLOAT_TYPES:
                return True
            checked += 1
            if checked > _MAX_TOP_BYTES:
                return True
            at = marshalled.find(top, at + 1)
    return False


def _dumps_bounded(value: object, *, large: bool) -> bytes | None:
    """Sorted bytes of ``value`` by orjson; ``JSONEncodeError`` if it is nested too deep.

    None if orjson's limit is unknown (see :func:`_dumps_padded`).
    """
    written = _dumps_padded(value, large=large)
    if written is None:
        return None
    data, padding = written
    return data[padding:-padding] if padding else data


def _dumps_padded(value: object, *, large: bool) -> tuple[bytes, int] | None:
    """Sorted bytes of ``value`` by orjson, inside ``padding`` brackets on each side.

    A small value is nested no deeper than the brackets in its bytes (no padding); a
    large one is wrapped in lists up to orjson's own limit, so that orjson refuses it
    (``JSONEncodeError``) exactly when it is nested deeper than :data:`MAX_DEPTH`. None
    if orjson's limit is unknown. The caller slices the padding off as it copies the
    bytes anyway (one copy of a large output, not two).
    """
    if not large:
        data = orjson.dumps(value, option=_FAST_OPTIONS)
        if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
            return data, 0
    padding = _depth_padding()
    if padding is None:
        return None
    for _ in range(padding):
        value = [value]
    return orjson.dumps(value, option=_FAST_OPTIONS), padding


_PROBED_DEPTHS: Final = 4096


@functools.cache
def _depth_padding() -> int | None:
    """Lists to wrap a value in so that orjson's nesting limit falls at :data:`MAX_DEPTH`.

    orjson 3 writes 254 nested arrays or objects and refuses 255; the limit is probed once
    rather than assumed. Below MAX_DEPTH (0 lists), orjson refuses some values that JCS
    allows, and the reference writer writes them; None when orjson writes more than
    ``_PROBED_DEPTHS`` levels, which the caller leaves to the prepared path.
    """

    def writes(levels: int) -> bool:
        nested: list[object] = []
        for _ in range(levels - 1):
            nested = [nested]
        try:
            orjson.dumps(nested)
        except orjson.JSONEncodeError:
            return False
        return True

    if writes(254) and not writes(255):
        return 254 - MAX_DEPTH
    if writes(_PROBED_DEPTHS):
        return None
    low, high = 0, _PROBED_DEPTHS  # orjson writes `low` levels, not `high`
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if writes(middle) else (low, middle)
    return max(low - MAX_DEPTH, 0)


# orjson writes a finite double as ECMAScript does (the same shortest digits, checked by
# a property test) except in three layouts: integral values with a fraction (``1.0``,
# ``-0.0``), exponents for magnitudes from 1e16 up to 1e21 (ECMAScript: plain digits)
# and for magnitudes from 1e-6 up to 1e-5 (ECMAScript: ``0.00000x``).
# Where such a number can be in orjson's compact output: its last characters, followed by
# a delimiter. Each pattern starts with a literal, which the regular expression engine
# finds quickly. A string can hold the same characters; its quotes tell it apart.
# Compiled at first use (:func:`_pattern`): a host run that records no float needs few.
_INTEGRAL_END: Final = rb"\.0(?<!\.[0-9]\.0)(?=[,\]}])"
_LARGE_END: Final = rb"e\+(?:1[6-9]|20)(?=[,\]}])"
_SMALL_END: Final = rb"e-6(?=[,\]}])"
_NUMBER: Final = rb"-?[0-9]+(?:\.[0-9]+)?(?:e[-+][0-9]+)?"
_NUMBER_CHARACTERS: Final = frozenset(b"-.0123456789")
_BEFORE_VALUE: Final = frozenset(b":,[")
_DIGITS: Final = frozenset(b"0123456789")
_DOT: Final = ord(".")
_MINUS: Final = ord("-")
_COLON: Final = ord(":")
_QUOTE: Final = ord('"')
_BEFORE_STRING: Final = frozenset(b"{[,:\n")


@functools.cache
def _pattern(source: bytes) -> re.Pattern[bytes]:
    return re.compile(source)


def _tails(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of ``data[start:end]`` that may end a float orjson lays out unlike ECMAScript."""
    spans = [match.span() for match in _pattern(_INTEGRAL_END).finditer(data, start, end)]
    unsorted = False
    # A one-byte search (memchr) rules out values without the exponent's sign. A search
    # for "e-6" itself would not help: where it is absent, it takes longer than the
    # expression's own scan (7.6 against 4.6 ms over 11 MB).
    for pattern, sign in ((_LARGE_END, b"+"), (_SMALL_END, b"-")):
        if sign in data:
            more = [match.span() for match in _pattern(pattern).finditer(data, start, end)]
            unsorted |= bool(spans and more)
            spans += more
    if unsorted:
        spans.sort()
    return spans


def _relay_numbers(data: bytes, padding: int = 0) -> bytes | memoryview | None:
    """``data`` with the floats orjson lays out unlike ECMAScript written as ECMAScript does.

    ``data`` is orjson's compact output of a container, or of JSON lines of containers,
    inside ``padding`` brackets on each side, which the result leaves out (where nothing
    is relaid, by a view: the caller copies it once, into its own result). Returns None
    if a float to relay is found and ``data`` holds a backslash: then a quote inside a
    string cannot be told from one that ends it by counting, and the caller takes the
    slower path.
    """
    end = len(data) - padding
    tails = _tails(data, padding, end)
    if not tails:
        return memoryview(data)[padding:end] if padding else data
    if b"\\" in data:
        return None
    view = memoryview(data)  # pieces of it are joined without copying them first
    pieces: list[bytes | memoryview] = []
    done = padding  # data[padding:done] is in pieces
    quotes = 0  # quotes in data[:counted]
    counted = 0
    for tail, number_end in tails:
        start = _number_start(data, tail, number_end)
        if start is None:
            continue  # inside a string: "1.2.0," or "v1e-6]"
        if not _after_a_key(data, start):
            quotes += data.count(b'"', counted, start)
            counted = start
            if quotes % 2:
                continue  # inside a string that happens to hold ':12.0,'
        if data[tail] == _DOT:  # an integral value: "12.0" is "12", "-0.0" is "0"
            text = data[start:tail]
            pieces += (view[done:start], b"0" if text == b"-0" else text)
        else:
            number = float(data[start:number_end])
            pieces += (view[done:start], _format_number(number).encode("ascii"))
        done = number_end
    if not pieces:
        return memoryview(data)[padding:end] if padding else data
    pieces.append(view[done:end])
    return b"".join(pieces)


def _after_a_key(data: bytes, start: int) -> bool:
    """Whether ``data[start]`` follows an object's key, so is outside every string.

    ``"key":`` before it, with the key's last character not one that can precede a
    string's opening quote: a string holds no quote (``data`` has no backslash), so the
    quote before the colon cannot open a string holding ``start``. Saves counting quotes.
    """
    return (
        start >= 3
        and data[start - 1] == _COLON
        and data[start - 2] == _QUOTE
        and data[start - 3] not in _BEFORE_STRING
    )


def _number_start(data: bytes, tail: int, end: int) -> int | None:
    """Where the number ending ``data[tail:end]`` starts, if it is one after ``:``, ``,`` or ``[``.

    None if the characters before the tail are not a number's, or are not preceded by
    one of those delimiters: then they are inside a string.
    """
    start = tail
    if data[tail] == _DOT:  # an integral value, "-12.0": digits, perhaps a minus, before
        while data[start - 1] in _DIGITS:
            start -= 1
        number = start != tail
        if data[start - 1] == _MINUS:
            start -= 1
    else:
        while data[start - 1] in _NUMBER_CHARACTERS:
            start -= 1
        number = _pattern(_NUMBER).fullmatch(data, start, end) is not None
    return start if number and data[start - 1] in _BEFORE_VALUE else None


def _prepare(value: object, depth: int, *, utf16_keys: bool) -> object:
    """``value``, or a copy of its parts that orjson would not write canonically.

    Floats become ``orjson.Fragment`` holding their ECMAScript text. With ``utf16_keys``,
    objects whose keys sort differently by UTF-16 code unit become fragments written in
    that order. Raises :class:`_NeedsReferenceWriter` for invalid values.
    """
    kind = type(value)
    if kind is dict or kind is list or kind is tuple:
        return _prepare_container(value, depth, utf16_keys)  # type: ignore[arg-type]
    if kind is str or kind is bool or value is None:
        return value
    if kind is int and -MAX_INTEGER <= value <= MAX_INTEGER:  # type: ignore[operator]
        return value
    if kind is float:
        return _number_fragment(value)  # type: ignore[arg-type]
    return _prepare_other(value, depth, utf16_keys)


def _prepare_container(
    value: dict[object, object] | list[object] | tuple[object, ...], depth: int, utf16_keys: bool
) -> object:
    """:func:`_prepare` for an exact dict, list or tuple at nesting ``depth``."""
    members: Iterable[tuple[Any, object]]
    members = value.items() if type(value) is dict else enumerate(value)
    copy: Any = None
    for slot, item in members:
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int and -MAX_INTEGER <= item <= MAX_INTEGER:  # type: ignore[operator]
            continue
        prepared: object
        if kind is float:
            prepared = _number_fragment(item)  # type: ignore[arg-type]
        elif (kind is dict or kind is list or kind is tuple) and depth < _LAST_DEPTH:
            if not item:
                continue
            prepared = _prepare_container(item, depth + 1, utf16_keys)  # type: ignore[arg-type]
        else:
            prepared = _prepare_other(item, depth + 1, utf16_keys)
        if prepared is not item:
            if copy is None:
                copy = value.copy() if type(value) is dict else list(value)
            copy[slot] = prepared
    result = value if copy is None else copy
    if utf16_keys and type(result) is dict:
        return _in_utf16_order(result)
    return result


def _prepare_other(value: object, depth: int, utf16_keys: bool) -> object:
    """Prepare what the loops do not: subclasses of JSON types, as their base type.

    Refuses everything else, including ints out of range and containers nested too deep.
    Subclasses are read through their base type, as the reference writer reads them.
    """
    if type(value) is not int:  # an exact int gets here only when out of range
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, int):
            return _prepare(int.__int__(value), depth, utf16_keys=utf16_keys)
        if isinstance(value, float):
            return _number_fragment(float.__float__(value))
        if depth < MAX_DEPTH and isinstance(value, dict):
            return _prepare_container(dict(dict.items(value)), depth, utf16_keys)
        if depth < MAX_DEPTH and isinstance(value, (list, tuple)):
            return _prepare_container(list(value), depth, utf16_keys)
    raise _NeedsReferenceWriter


def _number_fragment(value: float) -> orjson.Fragment:
    if math.isfinite(value):
        return orjson.Fragment(_format_number(value).encode("ascii"))
    raise _NeedsReferenceWriter


def _in_utf16_order(value: dict[object, object]) -> object:
    """``value``, or a fragment writing it in UTF-16 key order if that is not code point order.

    The orders differ only between a character in U+E000-U+FFFF (one code unit, 0xE000 and
    up) and one above U+FFFF (a surrogate pair, 0xD800 and up).
    """
    try:
        keys = "".join(value)  # type: ignore[arg-type]
    except TypeError:
        raise _NeedsReferenceWriter from None
    if keys.isascii() or max(keys) <= "\uffff":
        return value
    if not any("\ue000" <= char <= "\uffff" for char in keys):
        return value
    members = (
        orjson.dumps(key) + b":" + orjson.dumps(value[key], option=_SORT_KEYS)
        for key in sorted(value, key=_utf16_key)  # type: ignore[arg-type]
    )
    return orjson.Fragment(b"{" + b",".join(members) + b"}")


def _keys_may_need_utf16_order(data: bytes) -> bool:
    """Whether some object in UTF-8 JSON ``data`` might sort differently by UTF-16 code unit.

    Only keys are sorted, and only keys mixing a character above U+FFFF (UTF-8 lead bytes
    F0 to F4) with one in U+E000-U+FFFF (lead bytes EE and EF) sort differently, so a
    value without both kinds of character anywhere is in order: two quick byte searches
    decide for almost every value, such as one with emoji in its strings.
    """
    return (b"\xee" in data or b"\xef" in data) and any(
        lead in data for lead in (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")
    )


def _utf16_key(key: str) -> bytes:
    """Sort key giving RFC 8785 order: big-endian UTF-16 bytes compare as code units."""
    return str.encode(key, "utf-16-be")


def _utf16_member_key(member: tuple[str, object]) -> bytes:
    return _utf16_key(member[0])


def _format_number(value: float) -> str:
    """ECMAScript ``Number.prototype.toString`` of a finite double (RFC 8785 3.2.2.3).

    ``float.__repr__`` gives the digits ECMAScript requires, the fewest that read back
    as the same double (the closest to it on ties); only their layout differs.
    """
    if value == 0:
        return "0"  # and -0
    text = float.__repr__(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    # value = 0.<digits> * 10**point, digits without leading or trailing zeros.
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    significant = digits.lstrip("0")
    point -= len(digits) - len(significant)
    digits = significant.rstrip("0")
    count = len(digits)
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    head = digits[0] + ("." + digits[1:] if count > 1 else "")
    return f"{sign}{head}e{point - 1:+d}"


# The reference writer: slow, independent of orjson, and the one place that says what is
# wrong with a value. The tests check that the fast path agrees with it byte for byte.


def _canonical_json_python(value: object) -> bytes:
    """RFC 8785 bytes of ``value``, written in pure Python (see :func:`canonical_json`)."""
    problems: list[str] = []
    _find_problems(value, "$", 0, problems)
    if len(problems) == 1:
        raise NotCanonicalizableError(problems[0])
    if problems:
        if len(problems) >= _MAX_PROBLEMS:
            problems.append("(and perhaps more)")
        raise NotCanonicalizableError("cannot write canonical JSON", tuple(problems))
    out: list[str] = []
    _write(value, out)
    return "".join(out).encode("utf-8")


def _find_problems(value: object, path: str, depth: int, problems: list[str]) -> None:
    """Append to ``problems`` why ``value`` at ``path`` cannot be written, if it cannot.

    Members are visited in canonical order, so the messages do not depend on insertion
    order; the search stops after a few problems (a cycle has no end of them).
    """
    if len(problems) >= _MAX_PROBLEMS:
        return
    members: list[tuple[str, object]]
    if isinstance(value, dict):
        valid: list[tuple[str, object]] = []
        for key, item in dict.items(value):
            if not isinstance(key, str):
                problems.append(f"{path}: key {key!r} is not a string")
            elif _has_lone_surrogate(key):
                problems.append(f"{path}: key {key!r} contains a lone surrogate")
            else:
                valid.append((key, item))
        valid.sort(key=_utf16_member_key)
        members = [(_member_path(path, key), item) for key, item in valid]
    elif isinstance(value, (list, tuple)):
        members = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    else:
        problem = _scalar_problem(value)
        if problem is not None:
            problems.append(f"{path}: {problem}")
        return
    if depth >= MAX_DEPTH:
        problems.append(f"{path}: nested deeper than {MAX_DEPTH} levels")
        return
    for member_path, item in members:
        _find_problems(item, member_path, depth + 1, problems)


def _scalar_problem(value: object) -> str | None:
    """Why a value that is not a container cannot be written, or None if it can."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return "string contains a lone surrogate" if _has_lone_surrogate(value) else None
    if isinstance(value, int):
        in_range = -MAX_INTEGER <= value <= MAX_INTEGER
        return None if in_range else f"integer {int.__repr__(value)} is beyond ±2**53"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{float.__repr__(value)} is not a JSON number"
    return f"{type(value).__name__} is not a JSON type"


def _member_path(path: str, key: str) -> str:
    """``$.name`` for identifier-like keys, ``$["any key"]`` for the others (RFC 9535)."""
    if key.isascii() and key.isidentifier():
        return f"{path}.{key}"
    import json  # only when reporting a problem

    return f"{path}[{json.dumps(key)}]"


def _has_lone_surrogate(text: str) -> bool:
    try:
        str.encode(text, "utf-8")
    except UnicodeEncodeError:
        return True
    return False


_ESCAPES: Final = {
    **{code: f"\\u{code:04x}" for code in range(0x20)},
    ord("\b"): "\\b",
    ord("\f"): "\\f",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    ord('"'): '\\"',
    ord("\\"): "\\\\",
}


def _write(value: object, out: list[str]) -> None:
    """Append the canonical text of a value that :func:`_find_problems` accepted."""
    if isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(sorted(dict.items(value), key=_utf16_member_key)):
            out.append(',"' if index else '"')
            out.append(str.translate(key, _ESCAPES) + '":')
            _write(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        out.append(_scalar_text(value))


def _scalar_text(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + str.translate(value, _ESCAPES) + '"'
    if isinstance(value, int):
        return int.__repr__(value)
    return _format_number(value)  # type: ignore[arg-type]  # a float: checked before
