import collections
import json
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insidellms_provenance.canonical import (
    MAX_DEPTH,
    _canonical_json_python,
    canonical_digest,
    canonical_json,
    sha256_digest,
)
from insidellms_provenance.errors import NotCanonicalizableError

# RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript serialization.
RFC_NUMBERS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), RFC_NUMBERS)
def test_rfc8785_number_serialization(bits, expected):
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert canonical_json(value) == expected.encode()
    assert _canonical_json_python(value) == expected.encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e-7, "1e-7"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (-0.0, "0"),
        (1.0, "1"),
        (0.1, "0.1"),
        (-1.5, "-1.5"),
        (123456.789, "123456.789"),
        (1e-6, "0.000001"),
        (2**53, "9007199254740992"),
        (-(2**53), "-9007199254740992"),
        (True, "true"),
        (None, "null"),
    ],
)
def test_scalars(value, expected):
    assert canonical_json(value) == expected.encode()


def test_rfc8785_sorting_example():
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    assert list(json.loads(canonical_json(value)).values()) == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]


def test_rfc8785_main_example():
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(value) == expected.encode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\b\f\n\r\t", '"\\b\\f\\n\\r\\t"'),
        ("\x00\x1f", '"\\u0000\\u001f"'),
        ('"\\', '"\\"\\\\"'),
        ("/\x7f\u2028\u2029é", '"/\x7f\u2028\u2029é"'),
    ],
)
def test_minimal_string_escaping(text, expected):
    assert canonical_json(text) == expected.encode()
    assert _canonical_json_python(text) == expected.encode()


def test_subclasses_and_tuples_are_plain_json():
    value = collections.OrderedDict([("b", 1), ("a", (1, collections.OrderedDict(d=1, c=2)))])
    assert canonical_json(value) == b'{"a":[1,{"c":2,"d":1}],"b":1}'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, r"^\$: nan is not a JSON number$"),
        ({"a": [math.inf]}, r"^\$\.a\[0\]: inf is not a JSON number$"),
        ({"a": {"b": -math.inf}}, r"^\$\.a\.b: -inf is not a JSON number$"),
        ({1: "x"}, r"^\$: key 1 is not a string$"),
        ({"x": {None: 1}}, r"^\$\.x: key None is not a string$"),
        ({"s": {1, 2}}, r"^\$\.s: set is not a JSON type$"),
        ([b"bytes"], r"^\$\[0\]: bytes is not a JSON type$"),
        ({"d": __import__("datetime").date(2026, 1, 1)}, r"^\$\.d: date is not a JSON type$"),
        ([2**53 + 1], r"^\$\[0\]: integer 9007199254740993 is beyond"),
        ({"a": "\ud800"}, r"^\$\.a: string contains a lone surrogate$"),
        ({"\udfff": 1}, r"^\$: key contains a lone surrogate$"),
    ],
)
def test_refusals_name_the_json_path(value, message):
    with pytest.raises(NotCanonicalizableError, match=message):
        canonical_json(value)
    with pytest.raises(NotCanonicalizableError):
        _canonical_json_python(value)


def test_nesting_limit_is_an_error_not_a_recursion_error():
    value: list[object] = []
    inner = value
    for _ in range(MAX_DEPTH + 5):
        inner.append([])
        inner = inner[0]  # type: ignore[assignment]
    with pytest.raises(NotCanonicalizableError, match="nested deeper than 128 levels"):
        canonical_json(value)
    ok: list[object] = []
    inner = ok
    for _ in range(MAX_DEPTH - 1):
        inner.append([])
        inner = inner[0]  # type: ignore[assignment]
    assert canonical_json(ok) == b"[" * MAX_DEPTH + b"]" * MAX_DEPTH


def test_digests():
    assert sha256_digest(b"") == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert canonical_digest({"b": 1, "a": 2}) == sha256_digest(b'{"a":2,"b":1}')


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_properties(value):
    data = canonical_json(value)
    # The slow, independent writer agrees byte for byte.
    assert data == _canonical_json_python(value)
    # JSON numbers are IEEE doubles in RFC 8785: parse them as such. The result equals
    # the input (-0.0 == 0) ...
    parsed = json.loads(data, parse_int=float)
    assert parsed == value
    # ... and canonicalizing it again changes nothing.
    assert canonical_json(parsed) == data


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), st.integers(-(2**53), 2**53), min_size=2, max_size=8))
def test_key_insertion_order_does_not_matter(value):
    reversed_order = dict(reversed(list(value.items())))
    assert canonical_json(reversed_order) == canonical_json(value)
