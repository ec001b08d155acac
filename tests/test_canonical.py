import collections
import copy
import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
import json
import math
import struct
import subprocess
import sys
import typing
import uuid

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insidellms_provenance._canonical import (
    MAX_DEPTH,
    MAX_INTEGER,
    _canonical_json_python,
    _format_number,
    canonical_digest,
    canonical_json,
    canonical_json_lines,
    sha256_digest,
)
from insidellms_provenance.errors import NotCanonicalizableError, ProvenanceError


def both_writers(value):
    """The bytes of the fast path and of the reference writer, checked to agree."""
    fast = canonical_json(value)
    assert _canonical_json_python(value) == fast
    return fast


def double(bits):
    return struct.unpack(">d", bytes.fromhex(bits))[0]


# RFC 8785 Appendix B: IEEE 754 bit patterns and their serialization.
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
def test_rfc8785_appendix_b_numbers(bits, expected):
    value = double(bits)
    assert both_writers(value) == expected.encode()
    assert both_writers([value]) == f"[{expected}]".encode()
    assert both_writers({"n": value}) == f'{{"n":{expected}}}'.encode()


@pytest.mark.parametrize(
    ("bits", "name"),
    [("7fffffffffffffff", "nan"), ("7ff0000000000000", "inf"), ("fff0000000000000", "-inf")],
)
def test_rfc8785_appendix_b_errors(bits, name):
    with pytest.raises(NotCanonicalizableError, match=rf"^\$: {name} is not a JSON number$"):
        canonical_json(double(bits))


# Where orjson's own float text (in the comment) is not ECMAScript's, and the boundaries
# of ECMAScript's plain and exponent notations.
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-0.0, "0"),  # orjson: -0.0
        (0.0, "0"),  # 0.0
        (1.0, "1"),  # 1.0
        (123.0, "123"),  # 123.0
        (1e15, "1000000000000000"),  # 1000000000000000.0
        (1e16, "10000000000000000"),  # 1e+16
        (1.5e17, "150000000000000000"),  # 1.5e+17
        (1e20, "100000000000000000000"),  # 1e+20
        (123456789012345680000.0, "123456789012345680000"),  # 1.2345678901234568e+20
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (1e-6, "0.000001"),  # 1e-6
        (2.5e-6, "0.0000025"),  # 2.5e-6
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (1e-5, "0.00001"),
        (0.1, "0.1"),
        (0.3, "0.3"),
        (0.1 + 0.2, "0.30000000000000004"),
        (123456.789, "123456.789"),
        (5e-324, "5e-324"),
        (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (float(MAX_INTEGER), "9007199254740992"),
    ],
)
def test_ecmascript_number_layout(value, expected):
    assert both_writers(value) == expected.encode()
    assert both_writers(-value) == ("-" + expected if value else "0").encode()


def _sha256_chain(count):
    """``count`` 64-bit words from SHA-256 applied over and over to 32 zero bytes."""
    block = bytes(32)
    words = 0
    while True:
        block = hashlib.sha256(block).digest()
        for offset in range(0, 32, 8):
            if words == count:
                return
            words += 1
            yield block[offset : offset + 8]


def test_random_doubles_match_v8():
    # The pseudo-random doubles of cyberphone/json-canonicalization's ES6 test file (NaN,
    # infinities and zero skipped); the expected SHA-256 of the lines joined by "\n" was
    # computed with JSON.stringify in Node.js 20 (V8).
    values = [struct.unpack("<d", word)[0] for word in _sha256_chain(20_200)]
    finite = [value for value in values if value != 0 and math.isfinite(value)][:20_000]
    assert len(finite) == 20_000
    text = b"\n".join(canonical_json(value) for value in finite)
    assert hashlib.sha256(text).hexdigest() == (
        "ca8f8d0d0e44b40389539d5c48479da5abc048f1865c390af33a19e47c0ce22e"
    )


def test_decimal_doubles_match_v8():
    # 20,000 decimals of 1 to 17 digits times 10**-30 to 10**30, derived from the same
    # chain, so that both notations and their boundaries are well covered; expected
    # SHA-256 computed with JSON.stringify in Node.js 20 (V8).
    lines = []
    for word in _sha256_chain(20_000):
        number = int.from_bytes(word, "little")
        digits = 1 + number % 17
        mantissa = (number // 17) % 10**digits
        exponent = (number >> 56) % 61 - 30
        sign = "-" if number >> 63 else ""
        lines.append(canonical_json(float(f"{sign}{mantissa}e{exponent}")))
    assert hashlib.sha256(b"\n".join(lines)).hexdigest() == (
        "859a3a689564be3b1ea7e2f7d1d4abf20e83bb47571280d8bbf7f23e4b558eb0"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (-1, "-1"),
        (10**15, "1000000000000000"),
        (MAX_INTEGER, "9007199254740992"),
        (-MAX_INTEGER, "-9007199254740992"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        ([True, 1, False, 0], "[true,1,false,0]"),
    ],
)
def test_integers_and_literals(value, expected):
    assert both_writers(value) == expected.encode()


@given(st.integers(min_value=-MAX_INTEGER, max_value=MAX_INTEGER))
@settings(max_examples=200, deadline=None)
def test_integers_are_written_as_the_same_double_would_be(number):
    assert canonical_json(number) == canonical_json(float(number))
    assert canonical_json(number).decode() == _format_number(float(number))


# RFC 8785 section 3.2.3: sorting by UTF-16 code units.
def test_rfc8785_sorting_example():
    value = json.loads(
        '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return",'
        ' "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",'
        ' "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",'
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}'
    )
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    )
    assert both_writers(value) == expected.encode()


UTF16_KEYS = {"\uffff": 1, "\ue000": 2, "\U00010000": 3, "\ud7ff": 4, "\U0010ffff": 5}
UTF16_ORDER = '{"\ud7ff":4,"\U00010000":3,"\U0010ffff":5,"\ue000":2,"\uffff":1}'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (UTF16_KEYS, UTF16_ORDER),
        ([1.5, UTF16_KEYS], f"[1.5,{UTF16_ORDER}]"),
        ({"a": {"b": UTF16_KEYS}, "c": 0.5}, f'{{"a":{{"b":{UTF16_ORDER}}},"c":0.5}}'),
        (
            {"\ue000": {"\U0001f600": 1.0, "\uffff": [2.0]}, "\U0001f600": None},
            '{"\U0001f600":null,"\ue000":{"\U0001f600":1,"\uffff":[2]}}',
        ),
        # Characters above U+FFFF without any in U+E000-U+FFFF sort alike in both orders.
        ({"\U0001f600": 1, "z": 2, "\u00e9": 3}, '{"z":2,"\u00e9":3,"\U0001f600":1}'),
        ({"b": "\U0001f600", "a": "\ue000"}, '{"a":"\ue000","b":"\U0001f600"}'),
    ],
)
def test_keys_are_sorted_by_utf16_code_units(value, expected):
    assert both_writers(value) == expected.encode()


# RFC 8785 section 3.2.2: the input is the RFC's JSON text, the output its bytes.
def test_rfc8785_main_example():
    text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        b'{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        b'"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert both_writers(json.loads(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # No locale-aware sorting, and no Unicode normalization.
        (
            '{"sin": 1, "p\\u00eache": 2, "p\\u00e9ch\\u00e9": 3, "peach": 4}',
            '{"peach":4,"p\u00e9ch\u00e9":3,"p\u00eache":2,"sin":1}',
        ),
        (
            '{"A\\u030a": "A\\u030a", "\\u00c5": "\\u00c5"}',
            '{"A\u030a":"A\u030a","\u00c5":"\u00c5"}',
        ),
        # Keys sort as strings, not numbers; nested objects and arrays too.
        ('[56, {"d": true, "10": null, "1": [ ]}]', '[56,{"1":[],"10":null,"d":true}]'),
        (
            '{"1": {"f": {"f": "hi", "F": 5}, "\\n": 56.0}, "10": {}, "": "empty", "a": {}}',
            '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"a":{}}',
        ),
        ('{"</script>": "<b>", "\\u2028": "\\u2029"}', '{"</script>":"<b>","\u2028":"\u2029"}'),
    ],
)
def test_json_text_examples(text, expected):
    assert both_writers(json.loads(text)) == expected.encode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\b\f\n\r\t", '"\\b\\f\\n\\r\\t"'),
        (
            "".join(map(chr, range(0x20))),
            '"'
            + "".join(
                {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(code, f"\\u{code:04x}")
                for code in range(0x20)
            )
            + '"',
        ),
        ("\x1f\x0b", '"\\u001f\\u000b"'),
        ('"\\', '"\\"\\\\"'),
        ("/ \x7f \x80 \u2028 \u2029", '"/ \x7f \x80 \u2028 \u2029"'),
        ("é€\uffff\U0001f600\U0010ffff", '"é€\uffff\U0001f600\U0010ffff"'),
        ("", '""'),
    ],
)
def test_minimal_string_escaping(text, expected):
    assert both_writers(text) == expected.encode()
    assert both_writers({text: text}) == f"{{{expected}:{expected}}}".encode()


class Color(enum.IntEnum):
    RED = 1


class Mood(str, enum.Enum):
    CALM = "calm"


class Ratio(float):
    def __repr__(self):
        return "not a number text"


class Name(str):
    __slots__ = ()

    def __str__(self):
        return "not the data"


class Point(typing.NamedTuple):
    x: int
    y: float


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((1, (2, [3])), "[1,[2,[3]]]"),
        (collections.OrderedDict([("b", 1), ("a", (1, 2))]), '{"a":[1,2],"b":1}'),
        (collections.defaultdict(list, b=[0.5], a=[]), '{"a":[],"b":[0.5]}'),
        ([Point(1, 2.0)], "[[1,2]]"),
        ({"c": Color.RED, "m": Mood.CALM}, '{"c":1,"m":"calm"}'),
        ([Ratio(0.25), Name("data")], '[0.25,"data"]'),
        ({Name("b"): 1, Mood.CALM: 2, "a": 3}, '{"a":3,"b":1,"calm":2}'),
    ],
)
def test_subclasses_of_json_types_are_written_as_their_base_type(value, expected):
    assert both_writers(value) == expected.encode()


@dataclasses.dataclass
class Record:
    name: str


class Plain(enum.Enum):
    A = "a"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, r"\$: nan is not a JSON number"),
        ({"a": [math.inf]}, r"\$\.a\[0\]: inf is not a JSON number"),
        ({"a": {"b": -math.inf}}, r"\$\.a\.b: -inf is not a JSON number"),
        (
            {"capabilities": {"models": ["a", "b", math.nan]}},
            r"\$\.capabilities\.models\[2\]: nan is not a JSON number",
        ),
        ({1: "x"}, r"\$: key 1 is not a string"),
        ({"x": [{None: 1}]}, r"\$\.x\[0\]: key None is not a string"),
        ({"x": {True: 1}}, r"\$\.x: key True is not a string"),
        ({(1, 2): 1}, r"\$: key \(1, 2\) is not a string"),
        ({"s": {1, 2}}, r"\$\.s: set is not a JSON type"),
        ([frozenset()], r"\$\[0\]: frozenset is not a JSON type"),
        ([b"bytes"], r"\$\[0\]: bytes is not a JSON type"),
        ([bytearray(b"x")], r"\$\[0\]: bytearray is not a JSON type"),
        ({"d": dt.date(2026, 1, 1)}, r"\$\.d: date is not a JSON type"),
        (
            {"d": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)},
            r"\$\.d: datetime is not a JSON type",
        ),
        ({"u": uuid.UUID(int=1)}, r"\$\.u: UUID is not a JSON type"),
        ({"r": Record("x")}, r"\$\.r: Record is not a JSON type"),
        ({"e": Plain.A}, r"\$\.e: Plain is not a JSON type"),
        ({"f": orjson.Fragment(b"1")}, r"\$\.f: Fragment is not a JSON type"),
        ({"n": decimal.Decimal("1.5")}, r"\$\.n: Decimal is not a JSON type"),
        ({"c": 1j}, r"\$\.c: complex is not a JSON type"),
        ([object()], r"\$\[0\]: object is not a JSON type"),
        ([MAX_INTEGER + 1], r"\$\[0\]: integer 9007199254740993 is beyond ±2\*\*53"),
        ([-MAX_INTEGER - 1], r"\$\[0\]: integer -9007199254740993 is beyond ±2\*\*53"),
        ({"big": 2**64}, r"\$\.big: integer 18446744073709551616 is beyond ±2\*\*53"),
        ({"a": "\ud800"}, r"\$\.a: string contains a lone surrogate"),
        (["ok", "x\udfffy"], r"\$\[1\]: string contains a lone surrogate"),
        ({"\udfff": 1}, r"\$: key '\\udfff' contains a lone surrogate"),
        ({"a b": [math.nan]}, r'\$\["a b"\]\[0\]: nan is not a JSON number'),
        ({"1": {"é": math.nan}}, r'\$\["1"\]\["\\u00e9"\]: nan is not a JSON number'),
        ({"a.b": {"c": set()}}, r'\$\["a\.b"\]\.c: set is not a JSON type'),
    ],
)
def test_refusals_name_the_json_path(value, message):
    for write in (canonical_json, _canonical_json_python):
        with pytest.raises(NotCanonicalizableError, match=f"^{message}$") as raised:
            write(value)
        assert isinstance(raised.value, ProvenanceError)
        assert isinstance(raised.value, ValueError)


def test_every_problem_is_listed_in_canonical_order():
    value = {"z": math.nan, "a": [set(), {"k": 2**60}], 3: None}
    reordered = {3: None, "a": [set(), {"k": 2**60}], "z": math.nan}
    expected = (
        "cannot write canonical JSON: $: key 3 is not a string; $.a[0]: set is not a JSON "
        "type; $.a[1].k: integer 1152921504606846976 is beyond ±2**53; "
        "$.z: nan is not a JSON number"
    )
    for candidate in (value, reordered):
        with pytest.raises(NotCanonicalizableError) as raised:
            canonical_json(candidate)
        assert str(raised.value) == expected
        assert len(raised.value.issues) == 4


def test_problems_stop_after_ten():
    with pytest.raises(NotCanonicalizableError) as raised:
        canonical_json([math.nan] * 1000)
    assert raised.value.issues[-1] == "(and perhaps more)"
    assert len(raised.value.issues) == 11


def nested(kind, levels, innermost):
    value = innermost
    for _ in range(levels):
        value = [value] if kind == "array" else {"k": value}
    return value


@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("innermost", [[], {}, 1, 1.5, "s"], ids=repr)
def test_nesting_limit(kind, innermost):
    container = int(isinstance(innermost, (list, dict)))
    allowed = nested(kind, MAX_DEPTH - container, innermost)
    assert both_writers(allowed) == json.dumps(allowed, separators=(",", ":")).encode()
    too_deep = nested(kind, MAX_DEPTH - container + 1, innermost)
    path = "$" + ("[0]" if kind == "array" else ".k") * MAX_DEPTH
    for write in (canonical_json, _canonical_json_python):
        with pytest.raises(NotCanonicalizableError) as raised:
            write(too_deep)
        assert str(raised.value) == f"{path}: nested deeper than {MAX_DEPTH} levels"


def test_cycles_are_refused_without_recursion_error():
    cycle: list[object] = []
    cycle.append(cycle)
    cycle.append(cycle)
    branchy: dict[str, object] = {}
    branchy["a"] = branchy
    branchy["b"] = [branchy, 1.5]
    for value in (cycle, branchy):
        with pytest.raises(NotCanonicalizableError, match="nested deeper than 128 levels"):
            canonical_json(value)


def test_input_is_not_modified():
    value = {"f": [1.5, {"\ue000": 0.5, "\U0001f600": [2.0]}], "t": (3.0,), "s": "x"}
    before = copy.deepcopy(value)
    inner = value["f"]
    canonical_json(value)
    assert value == before
    assert value["f"] is inner
    assert type(value["f"][0]) is float


def test_digests():
    assert sha256_digest(b"") == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert canonical_digest({"b": 1, "a": [2.0]}) == sha256_digest(b'{"a":[2],"b":1}')
    assert canonical_digest({"a": [2], "b": 1}) == canonical_digest({"b": 1, "a": [2.0]})


def test_import_is_light():
    code = (
        "import sys, insidellms_provenance._canonical; "
        "print(sorted(m for m in ('attrs', 'cattrs', 'packaging') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert result.stdout == b"[]\n"


# Properties over arbitrary JSON values.

TRICKY_CHARACTERS = (
    '\x00\x1f"\\/\x7f\x80\u2028\ud7ff\ue000\ufb33\uffff\U00010000\U0001f600\U0010ffff'
)
text = st.text(
    alphabet=st.sampled_from(TRICKY_CHARACTERS) | st.characters(codec="utf-8"), max_size=6
)
json_integers = st.integers(min_value=-MAX_INTEGER, max_value=MAX_INTEGER)
json_floats = st.floats(allow_nan=False, allow_infinity=False)
float_free_values = st.recursive(
    st.none() | st.booleans() | json_integers | text,
    lambda children: (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(text, children, max_size=5)
    ),
    max_leaves=25,
)
json_values = st.recursive(
    st.none() | st.booleans() | json_integers | json_floats | text,
    lambda children: (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(text, children, max_size=5)
    ),
    max_leaves=25,
)


def as_doubles(value):
    """``value`` as RFC 8785 sees it: every number an IEEE double, tuples as lists."""
    if isinstance(value, dict):
        return {key: as_doubles(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_doubles(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def shuffled(value, random):
    """``value`` with every object's members inserted in another order."""
    if isinstance(value, dict):
        keys = list(value)
        random.shuffle(keys)
        return {key: shuffled(value[key], random) for key in keys}
    if isinstance(value, (list, tuple)):
        return [shuffled(item, random) for item in value]
    return value


@given(json_values)
@settings(max_examples=400, deadline=None)
def test_fast_path_and_reference_writer_agree(value):
    assert canonical_json(value) == _canonical_json_python(value)


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_output_parses_back_to_the_value_and_is_a_fixed_point(value):
    data = canonical_json(value)
    # JSON numbers are doubles in RFC 8785: read them so (-0.0 == 0 as well).
    parsed = json.loads(data, parse_int=float)
    assert parsed == as_doubles(value)
    assert canonical_json(parsed) == data


@given(json_values, st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_member_order_does_not_matter(value, random):
    assert canonical_json(shuffled(value, random)) == canonical_json(value)


@given(float_free_values)
@settings(max_examples=300, deadline=None)
def test_sorted_orjson_output_is_canonical_without_floats(value):
    # The claim the fast path rests on, checked against the reference writer: without
    # floats, orjson with sorted keys is RFC 8785 unless keys mix U+E000-U+FFFF with
    # characters above U+FFFF.
    reference = _canonical_json_python(value)
    orjson_bytes = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    keys = "".join(_all_keys(value))
    mixes = any("\ue000" <= c <= "\uffff" for c in keys) and max(keys, default="") > "\uffff"
    assert orjson_bytes == reference or mixes
    assert canonical_json(value) == reference


def _all_keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _all_keys(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _all_keys(item)


@given(json_floats)
@settings(max_examples=500, deadline=None)
def test_numbers_round_trip_with_the_fewest_digits(number):
    text = _format_number(number)
    assert float(text) == number
    digits = text.lstrip("-").split("e")[0].replace(".", "").strip("0")
    shortest = repr(abs(number)).split("e")[0].replace(".", "").strip("0")
    assert len(digits) == len(shortest) or number == 0


# The fast path writes floats through orjson and relays the few layouts where orjson and
# ECMAScript differ; a string may hold the same characters, and must be left alone.
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": 1.0, "b": "x:12.0,y"}, b'{"a":1,"b":"x:12.0,y"}'),
        ({"a": 1.0, "b": ":12.0,"}, b'{"a":1,"b":":12.0,"}'),
        ({"a": [1.0, "[3.0]"]}, b'{"a":[1,"[3.0]"]}'),
        ({"a": 2.0, "s": ">=0.2.0,<0.3.0"}, b'{"a":2,"s":">=0.2.0,<0.3.0"}'),
        ({"a": -0.0, "b": [0.0, 1e16, 2.5e-6]}, b'{"a":0,"b":[0,10000000000000000,0.0000025]}'),
        ({"a": 1e20, "b": ",1e+20]"}, b'{"a":100000000000000000000,"b":",1e+20]"}'),
        ({"a": 1e-6, "b": "[1e-6,"}, b'{"a":0.000001,"b":"[1e-6,"}'),
        ({"a": 3.0, "b": 'q"\\:4.0,'}, b'{"a":3,"b":"q\\"\\\\:4.0,"}'),
        ({"a": 3.0, "b": "\\"}, b'{"a":3,"b":"\\\\"}'),
        ({"a": 1e21, "b": 1e-7, "c": 0.5}, b'{"a":1e+21,"b":1e-7,"c":0.5}'),
        ({"k\U0001f600": 1.0, "note": "\ufb33"}, b'{"k\xf0\x9f\x98\x80":1,"note":"\xef\xac\xb3"}'),
        ({"\ufb33": 1, "\U0001f600": [2.0]}, b'{"\xf0\x9f\x98\x80":[2],"\xef\xac\xb3":1}'),
        ({"b": "\U0001f600", "a": "\ufb33"}, b'{"a":"\xef\xac\xb3","b":"\xf0\x9f\x98\x80"}'),
    ],
)
def test_floats_are_relaid_only_outside_strings(value, expected):
    assert both_writers(value) == expected


rfc8785 = pytest.importorskip("rfc8785")
rfc8785_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | json_floats
    | text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(text, children, max_size=5),
    max_leaves=30,
)


@given(rfc8785_values)
@settings(max_examples=500, deadline=None)
def test_same_bytes_as_the_rfc8785_package(value):
    assert canonical_json(value) == rfc8785.dumps(value)


@given(json_floats)
@settings(max_examples=1000, deadline=None)
def test_orjson_float_digits_are_ecmascripts(number):
    # The fast path keeps orjson's text of floats outside the relaid layouts: the same
    # shortest digits as float.__repr__, only laid out differently.
    assert canonical_json([number]) == b"[" + _format_number(number).encode() + b"]"
    written = orjson.dumps(number).decode()
    assert float(written) == number
    assert written.replace("e+", "e") == _format_number(number).replace("e+", "e") or (
        number % 1.0 == 0.0 or 1e-6 <= abs(number) < 1e-5 or 1e16 <= abs(number) < 1e21
    )


@given(st.lists(json_values, max_size=6))
@settings(max_examples=200, deadline=None)
def test_json_lines_are_canonical_json_of_each_value(values):
    assert canonical_json_lines(values) == b"".join(canonical_json(v) + b"\n" for v in values)


def test_json_lines_refuse_what_canonical_json_refuses():
    with pytest.raises(NotCanonicalizableError, match=r"\$\.a: nan"):
        canonical_json_lines([{"b": 1}, {"a": math.nan}])
