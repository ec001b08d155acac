"""The checks of ``canonical_json``'s fast path: what it refuses, at every size.

The fast path checks types and NaN with ``marshal`` and nesting with orjson's own limit,
and finds the floats orjson lays out unlike ECMAScript in its bytes; a value goes down
it whole, or in parts where it is an object or array of many members, so every refusal
is tried inside a small value, inside a large one (which takes the other branch of the
nesting check), inside a part of one written in parts, and next to nulls (where NaN
could hide).
"""

from __future__ import annotations

import enum
import math
import struct
import uuid

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insidellms_provenance._canonical import (
    _PART,
    MAX_DEPTH,
    _canonical_json_python,
    _depth_padding,
    _in_parts,
    _may_hold_non_finite,
    canonical_json,
    canonical_json_lines,
)
from insidellms_provenance.errors import NotCanonicalizableError

rfc8785 = pytest.importorskip("rfc8785")

BULK = {f"k{index:04d}": {"note": "x" * 20, "none": None, "n": index} for index in range(600)}


def large(value):
    """``value`` beside enough members that it takes the large-value branch."""
    return {"bulk": BULK, "value": value}


def in_parts(value):
    """``value`` as a member of an object written in parts (among BULK's members)."""
    return {**BULK, "k0300+": value}


def in_array_parts(value):
    """``value`` as an item of an array written in parts, in its third part."""
    items = list(BULK.values())
    return [*items[: 2 * _PART + 3], value, *items[2 * _PART + 3 :]]


WRAPS = pytest.mark.parametrize(
    "wrap",
    [lambda v: v, large, in_parts, in_array_parts],
    ids=["small", "large", "object-parts", "array-parts"],
)


class Plain(enum.Enum):
    A = "a"


@WRAPS
@pytest.mark.parametrize(
    ("culprit", "message"),
    [
        (math.nan, "nan is not a JSON number"),
        (math.inf, "inf is not a JSON number"),
        (-math.inf, "-inf is not a JSON number"),
        (struct.unpack("<d", bytes.fromhex("0100000000f8ffff"))[0], "nan is not a JSON number"),
        (uuid.UUID(int=7), "UUID is not a JSON type"),
        (Plain.A, "Plain is not a JSON type"),
        (orjson.Fragment(b"1"), "Fragment is not a JSON type"),
        ({1, 2}, "set is not a JSON type"),
        (b"x", "bytes is not a JSON type"),
        (1j, "complex is not a JSON type"),
        (..., "ellipsis is not a JSON type"),
        (2**53 + 1, "integer 9007199254740993 is beyond ±2**53"),
    ],
)
def test_refused_inside_values_of_every_size(wrap, culprit, message):
    value = wrap({"a": [None, "\x7f\x7f", -1, 1.0, {"b": culprit}, None]})
    with pytest.raises(NotCanonicalizableError, match=f"{message}$".replace("*", r"\*")):
        canonical_json(value)
    with pytest.raises(NotCanonicalizableError):
        canonical_json_lines([{"ok": 1}, value])


@pytest.mark.parametrize("kind", ["array", "object"])
def test_nesting_limit_in_a_large_value(kind):
    def nested(levels):
        value: object = 1
        for _ in range(levels):
            value = [value] if kind == "array" else {"k": value}
        return value

    allowed = {"bulk": BULK, "value": nested(MAX_DEPTH - 1)}
    assert canonical_json(allowed) == _canonical_json_python(allowed)
    too_deep = {"bulk": BULK, "value": nested(MAX_DEPTH)}
    with pytest.raises(NotCanonicalizableError, match=f"nested deeper than {MAX_DEPTH} levels"):
        canonical_json(too_deep)


def test_orjson_nesting_limit_is_found():
    padding = _depth_padding()
    assert padding is not None
    orjson.dumps(_nested_lists(MAX_DEPTH + padding))
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(_nested_lists(MAX_DEPTH + padding + 1))


def _nested_lists(levels):
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    return value


non_finite = st.builds(
    lambda sign, payload: struct.unpack(
        "<d", struct.pack("<Q", sign << 63 | 0x7FF << 52 | payload)
    )[0],
    st.integers(0, 1),
    st.integers(0, 2**52 - 1),
)
finite_or_not = st.floats() | non_finite
leaves = (
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | finite_or_not | st.text(max_size=4)
)
values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=20,
)


def _has_non_finite(value):
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(item) for item in value)
    return False


@given(values)
@settings(max_examples=500, deadline=None)
def test_non_finite_floats_are_always_found(value):
    import marshal

    if _has_non_finite(value):
        assert _may_hold_non_finite(marshal.dumps(value, 4))
        with pytest.raises(NotCanonicalizableError):
            canonical_json(value)
    else:
        assert canonical_json(value) == _canonical_json_python(value)


@given(values.filter(lambda v: not _has_non_finite(v)))
@settings(max_examples=300, deadline=None)
def test_large_values_are_the_rfc8785_packages_bytes(value):
    data = large(value)
    if _fits_rfc8785(value):
        assert canonical_json(data) == rfc8785.dumps(data)
    assert canonical_json(data) == _canonical_json_python(data)


def _fits_rfc8785(value):
    """The ``rfc8785`` package refuses ±2**53 itself, which RFC 8785 and we accept."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < 2**53
    if isinstance(value, dict):
        return all(_fits_rfc8785(item) for item in value.values())
    if isinstance(value, list):
        return all(_fits_rfc8785(item) for item in value)
    return True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": ":1.0,", "b": 2.0}, b'{"a":":1.0,","b":2}'),
        ({"a,": 1.0, "[": [3.0, "x"], "": -0.0}, b'{"":0,"[":[3,"x"],"a,":1}'),
        ({"s": '{"k":1.0}', "t": 1e16}, b'{"s":"{\\"k\\":1.0}","t":10000000000000000}'),
        (
            {"v": ">=0.2.0,<0.3.0", "w": [">=1.10.0,", 4.0]},
            b'{"v":">=0.2.0,<0.3.0","w":[">=1.10.0,",4]}',
        ),
        ({"q": '":5.0,', "r": 5.0}, b'{"q":"\\":5.0,","r":5}'),
        ([{"a": 1e-6}, "e-6]", 7.0], b'[{"a":0.000001},"e-6]",7]'),
        ({"DEL": "\x7f" * 5000, "f": 1.5}, ('{"DEL":"' + "\x7f" * 5000 + '","f":1.5}').encode()),
    ],
)
def test_relaid_floats_in_tricky_company(value, expected):
    assert canonical_json(value) == expected == _canonical_json_python(value)
    assert canonical_json_lines([value, value]) == expected + b"\n" + expected + b"\n"


@given(st.lists(values.filter(lambda v: not _has_non_finite(v)), max_size=5))
@settings(max_examples=200, deadline=None)
def test_json_lines_of_values_with_floats(lines):
    assert canonical_json_lines(lines) == b"".join(_canonical_json_python(v) + b"\n" for v in lines)


@pytest.mark.parametrize(
    "value",
    [
        {"": 1.0, "bulk": BULK, "zz": [2.0, -0.0]},  # relaid next to both ends of the padding
        {"": -0.0, "bulk": BULK, "s": "1.0,", "t": "null", "zz": 1e16},
        {"a": [1e-6, 1e20, 1e21, 1e-7, 2.5e-6, 123.0], "bulk": BULK, "z": "\U0001f600"},
        [BULK, 5.0],
        [3.0, BULK],
    ],
)
def test_relaid_floats_in_large_values(value):
    # A large value is written inside orjson's nesting padding, which the relaid bytes
    # leave out as they are joined.
    assert canonical_json(value) == _canonical_json_python(value) == rfc8785.dumps(value)


@WRAPS
@given(number=st.floats(1e-6, 1e-5, exclude_max=True), negative=st.booleans())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_floats_orjson_writes_with_e_minus_6_are_relaid(wrap, number, negative):
    # orjson writes these as "1e-6", ECMAScript as "0.000001"; among text holding the
    # bytes of such a float's exponent (">" is 0x3E, "\u00be" holds 0xBE).
    value = wrap({"a": [">=0.2.0", -number if negative else number, "\u00be"]})
    assert canonical_json(value) == _canonical_json_python(value)
    assert canonical_json_lines([value]) == _canonical_json_python(value) + b"\n"


@pytest.mark.parametrize(
    "number",
    [
        1e-6,
        math.nextafter(1e-6, 0),
        math.nextafter(1e-5, 0),
        1e-5,
        2.0**-20,
        2.0**-16,
        math.nextafter(2.0**-16, 0),
    ],
)
def test_floats_beside_the_e_minus_6_range(number):
    value = in_parts({"a": [number, -number]})
    assert canonical_json(value) == _canonical_json_python(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("count", [1, MAX_DEPTH // 3, MAX_DEPTH])
def test_json_lines_past_the_bracket_count(count):
    # Together the lines hold more brackets than MAX_DEPTH (each value far fewer); one
    # value nested too deep among them is still refused.
    lines = [{"a": [float(index)], "b": {"c": -0.0}} for index in range(count)]
    expected = b"".join(_canonical_json_python(line) + b"\n" for line in lines)
    assert canonical_json_lines(lines) == expected
    deep: object = 1
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(NotCanonicalizableError, match="nested deeper than 128 levels"):
        canonical_json_lines([*lines, deep])


# Accepted and refused alike: the rfc8785 package's verdict on values mixing JSON data
# with everything the fast path's checks must tell apart (subclasses, written as their
# base type; UUIDs, enum members, fragments, NaN and infinities, integers beyond 2**53,
# lone surrogates, keys that are not strings, sets and bytes, refused), at both sizes.


class Text(str):
    __slots__ = ()

    def __str__(self):
        return "not the data"


class Real(float):
    def __repr__(self):
        return "not a number text"


class Whole(int):
    def __repr__(self):
        return "not a number text"


class Mapping(dict):
    def items(self):
        return [("not", "the data")]


class Row(tuple):
    __slots__ = ()


class Items(list):
    pass


class Number(enum.IntEnum):
    ONE = 1


class Word(str, enum.Enum):
    HI = "hi"


floats_of_every_magnitude = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-7, 1e-6, 1e-5])
    | st.sampled_from([1e15, 1e16, 1e20, 1e21, 2.0**53, -(2.0**53), 1.7976931348623157e308])
    | st.integers(-(2**60), 2**60).map(float)
)
hostile_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.sampled_from([2**53 + 1, -(2**53) - 1, 2**64, -(2**70)])
    | floats_of_every_magnitude
    | non_finite
    | st.text(max_size=4)
    | st.sampled_from(["\ud800", "a\udfffb", "\U0001f600\ufb33"])
    | st.builds(Text, st.text(max_size=3))
    | st.builds(Real, floats_of_every_magnitude)
    | st.builds(Whole, st.integers(-(2**53) + 1, 2**53 - 1))
    | st.sampled_from([Number.ONE, Word.HI, Plain.A, uuid.UUID(int=9), orjson.Fragment(b"1")])
    | st.sampled_from([{1, 2}, b"x", 1j, True, False])
)
hostile_keys = (
    st.text(max_size=3)
    | st.builds(Text, st.text(max_size=3))
    | st.sampled_from([Word.HI, "\ud800", "\U0001f600", "\ufb33"])
    | st.sampled_from([1, None, True, 1.5, (1, 2)])
)
hostile_values = st.recursive(
    hostile_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=3).map(tuple)
        | st.lists(children, max_size=3).map(Row)
        | st.lists(children, max_size=3).map(Items)
        | st.dictionaries(hostile_keys, children, max_size=4)
        | st.dictionaries(st.text(max_size=3), children, max_size=3).map(Mapping)
    ),
    max_leaves=12,
)


def _verdict(write, value):
    try:
        return write(value)
    except ValueError as error:
        return type(error)


@WRAPS
@given(value=hostile_values)
@settings(max_examples=400, deadline=None)
def test_same_verdict_as_the_rfc8785_package(wrap, value):
    value = wrap(value)
    ours = _verdict(canonical_json, value)
    theirs = _verdict(rfc8785.dumps, value)
    # ±2**53, which RFC 8785 allows and the package refuses, is not among the integers.
    assert ours == theirs if isinstance(theirs, bytes) else ours is NotCanonicalizableError
    assert _verdict(_canonical_json_python, value) == ours
    lines = _verdict(canonical_json_lines, [value, value])
    assert lines == (ours + b"\n" + ours + b"\n" if isinstance(ours, bytes) else ours)


# Written in parts: an object or array of many members is checked and written a few
# dozen members at a time. The parts joined must be the whole value's bytes, and any
# doubt about one part (or about the object's keys) sends the whole value down the
# usual paths.


def test_a_plain_object_or_array_of_many_members_is_written_in_parts():
    for value in (in_parts(1.5), in_array_parts(2.0), {f"{i:05d}": [i, 0.5] for i in range(999)}):
        written = _in_parts(value)
        assert written is not None
        assert written == canonical_json(value) == _canonical_json_python(value)
        assert written == rfc8785.dumps(value)


@WRAPS
@pytest.mark.parametrize(
    "member", ["plain", 2.0, 1e-6], ids=["nothing-relaid", "integral", "small"]
)
def test_the_result_is_bytes_of_its_own(wrap, member):
    # Where orjson's bytes need only their padding cut, the fast path slices a view;
    # the caller must still get bytes that hold no larger buffer.
    value = wrap(member)
    written = canonical_json(value)
    assert type(written) is bytes
    assert written == _canonical_json_python(value)
    lines = canonical_json_lines([value, value])
    assert type(lines) is bytes
    assert lines == written + b"\n" + written + b"\n"


# Keys at U+E000 and up that fill the parts after BULK's to the brim, so that a key above
# U+FFFF (which UTF-16 orders before them, code points after) starts a part of its own.
_BRIM = [f"\ufb33{index:03d}" for index in range(-len(BULK) % _PART or _PART)]


@pytest.mark.parametrize(
    "keys",
    [
        ["\ufb33", "\U0001f600"],  # UTF-16 order differs from code point order
        [*_BRIM, "\U0001f600"],  # the same, the two kinds of key in different parts
        [Word.HI, "b"],  # a key of a str subclass
        [1, "b"],  # a key that is not a string
        ["\ud800", "b"],  # a lone surrogate
    ],
    ids=["utf16-order", "utf16-order-across-parts", "str-subclass", "int", "lone-surrogate"],
)
def test_keys_that_parts_cannot_order_leave_the_value_whole(keys):
    value = {**BULK, **{key: index for index, key in enumerate(keys)}}
    assert _in_parts(value) is None
    assert _verdict(canonical_json, value) == _verdict(_canonical_json_python, value)


@pytest.mark.parametrize(
    "member",
    [
        {"q": '"\\', "f": 3.0},  # a backslash beside a relaid float: the prepared path
        [[[[[]]]]],
        {"big": 2**53},  # JCS allows it, orjson does not: the reference writer
        "\ufb33\U0001f600",
    ],
)
def test_a_part_the_fast_path_cannot_write_leaves_the_value_whole(member):
    for wrap in (in_parts, in_array_parts):
        value = wrap(member)
        assert canonical_json(value) == _canonical_json_python(value)


def test_nesting_limit_inside_a_part():
    deepest = _nested_lists(MAX_DEPTH - 1)  # the member is one level below the whole
    assert canonical_json(in_parts(deepest)) == _canonical_json_python(in_parts(deepest))
    with pytest.raises(NotCanonicalizableError, match="nested deeper than"):
        canonical_json(in_parts([deepest]))
    with pytest.raises(NotCanonicalizableError, match="nested deeper than"):
        canonical_json(in_array_parts([deepest]))


finite_members = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | floats_of_every_magnitude
    | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=4,
)


@given(
    items=st.lists(finite_members, min_size=257, max_size=270),
    keys=st.lists(st.text(max_size=4), max_size=12),
    as_object=st.booleans(),
)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
def test_parts_are_the_whole_values_bytes(items, keys, as_object):
    # Among generated members, some keys are arbitrary text (non-BMP, U+E000 and up...).
    names = [*keys, *(f"m{index:04d}" for index in range(len(items)))]
    value = dict(zip(names, items, strict=False)) if as_object else items
    assert canonical_json(value) == _canonical_json_python(value)


def test_orjson_flags_are_orjsons_own():
    from insidellms_provenance._canonical import _FAST_OPTIONS, _SORT_KEYS

    assert _SORT_KEYS == orjson.OPT_SORT_KEYS
    assert _FAST_OPTIONS == orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


WITHOUT_ORJSON = """
import sys
from insidellms_provenance._canonical import canonical_json
from insidellms_provenance.errors import NotCanonicalizableError

def written(value):
    try:
        return canonical_json(value).hex()
    except NotCanonicalizableError as error:
        return "refused: " + str(error)

lines = [written(value) for value in {values}]
print("orjson" in sys.modules)
print("\\n".join(lines))
"""

# Small values a process may write before (or without) importing orjson: floats in
# ECMAScript's layouts, keys in UTF-16 order, escapes, nesting, and refusals. (A value
# marshal refuses or that may hold a NaN takes canonical_json's usual paths: orjson.)
SMALL_VALUES = """[
    {"schema": "x/v1", "checked": 5000, "ok": True, "findings": [], "reproducibility": None},
    {"b": [1, 2.5, -0.0, 1e21, 1e-7, 100.0, 123456789012345680000.0], "a": None},
    {"\\U0001f600": 1, "\\ue000": 2, "z": '\\u2028\\x00"\\\\', "\\xe9": [[], {}]},
    [[[[[[["deep"]]]]]]],
    {"n": 2**53, "m": -(2**53)},
    {1: "a key that is not a string"},
    {"big": 2**53 + 1},
]"""


def _written(value):
    try:
        return canonical_json(value).hex()
    except NotCanonicalizableError as error:
        return "refused: " + str(error)


def _written_elsewhere(values: str) -> tuple[bool, list[str]]:
    """Whether a fresh interpreter imported orjson writing ``values``, and what it wrote."""
    import subprocess
    import sys

    code = WITHOUT_ORJSON.format(values=values)
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    imported, *written = result.stdout.splitlines()
    return imported == "True", written


def test_small_values_written_without_orjson_are_its_bytes():
    """A process that has not imported orjson writes small values without importing it."""
    imported, written = _written_elsewhere(SMALL_VALUES)
    assert not imported
    # Here orjson is imported: canonical_json's usual paths write them.
    assert written == [_written(value) for value in eval(SMALL_VALUES)]  # noqa: S307


def test_a_large_value_imports_orjson():
    imported, written = _written_elsewhere(repr([BULK]))
    assert imported
    assert written == [canonical_json(BULK).hex()]
