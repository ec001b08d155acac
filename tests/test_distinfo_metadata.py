"""METADATA's Name and Version are read exactly as ``packaging.metadata`` reads them."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from packaging.metadata import parse_email

from insidellms_provenance.fingerprint import _distribution as distribution
from insidellms_provenance.fingerprint._distribution import metadata_headers, name_and_version

FIELDS = ["Name", "Version", "name", "VERSION", "Summary", "Metadata-Version"]
VALUES = st.text(alphabet=st.sampled_from("ab1.-_ é\t"), max_size=6)


def packaging_reading(text: str) -> tuple[str, str, set[str]]:
    raw, unparsed = parse_email(text)
    problems = set()
    for field in ("name", "version"):
        if field in unparsed:
            problems.add(f"METADATA field {field.capitalize()} is malformed")
        elif not raw.get(field):
            problems.add(f"METADATA has no {field.capitalize()}")
    name = "" if "name" in unparsed else raw.get("name", "")
    version = "" if "version" in unparsed else raw.get("version", "")
    return name, version, problems


@given(
    headers=st.lists(st.tuples(st.sampled_from(FIELDS), VALUES), max_size=6),
    body=st.sampled_from(["", "\n", "\nbody text\n", "\n\nName: in-body\n"]),
)
@example(headers=[("Name", "a"), ("Name", "b"), ("Version", "1")], body="")
@example(headers=[("Name", ""), ("Version", "1 ")], body="\nbody")
def test_agrees_with_packaging_metadata(headers, body):
    text = "".join(f"{field}: {value}\n" for field, value in headers) + body
    problems: list[str] = []
    name, version = name_and_version(text, problems)
    assert (name, version, set(problems)) == packaging_reading(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Name: Demo\nVersion: 1.0\n", ("Demo", "1.0", [])),
        ("Version: 1.0\n", ("", "1.0", ["METADATA has no Name"])),
        (
            "Name: a\nName: b\n",
            ("", "", ["METADATA field Name is malformed", "METADATA has no Version"]),
        ),
        ("Name: Demo\n Continued\nVersion: 2\n", ("Demo\n Continued", "2", [])),  # folded, kept
    ],
)
def test_examples(text, expected):
    problems: list[str] = []
    assert (*name_and_version(text, problems), problems) == expected


_LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])
_LINES = st.one_of(
    st.tuples(st.sampled_from([*FIELDS, "Requires-Dist", "From x", "not a header"]), VALUES).map(
        lambda pair: f"{pair[0]}: {pair[1]}" if not pair[0].startswith(("From", "not")) else pair[0]
    ),
    st.sampled_from(["", " continued", "\tcontinued", "X:", "Name:value", "\x0c", "\u2028"]),
    st.text(alphabet=st.sampled_from("aN: \t\r\n"), max_size=8),
)


@settings(max_examples=500)
@given(st.lists(st.tuples(_LINES, _LINE_ENDS), max_size=12), st.booleans())
def test_headers_are_parsed_from_the_text_before_the_first_blank_line_only(lines, last_end):
    """Parsing only up to the first blank line gives every header the whole text gives."""
    from email.parser import HeaderParser

    text = "".join(line + end for line, end in lines)
    if not last_end and lines:
        text = text[: -len(lines[-1][1])]
    whole = HeaderParser().parsestr(text)
    ours = metadata_headers.__wrapped__(text)
    assert ours.items() == whole.items()
    assert ours.get_unixfrom() == whole.get_unixfrom()
    for field in ("Name", "version", "REQUIRES-DIST", "Missing"):
        assert ours.get(field) == whole.get(field)
        assert ours.get_all(field) == whole.get_all(field)


_PLAIN_LINES = st.one_of(
    st.tuples(
        st.sampled_from([*FIELDS, "Requires-Dist", "From", "X-\x7e!", "a b", ""]),
        st.text(alphabet=st.sampled_from("ab1.-_ é\t:;\x0c\u2028\udc80"), max_size=8),
    ).map(lambda pair: f"{pair[0]}:{pair[1]}"),
    st.sampled_from(["From x", "no colon", " continued", ":empty"]),
)


@settings(max_examples=500)
@given(st.lists(_PLAIN_LINES, min_size=1, max_size=10), st.sampled_from(["", "\n", "\nbody\n"]))
def test_plain_header_blocks_are_read_as_the_email_parser_reads_them(lines, body):
    """The string-method reading of plain blocks, where it answers, is the parser's."""
    from email.parser import HeaderParser

    text = "".join(f"{line}\n" for line in lines) + body
    simple = distribution._simple_headers(text.partition("\n\n")[0] + "\n")
    whole = HeaderParser().parsestr(text)
    if simple is not None:
        assert simple.items() == whole.items()
        for field in ("Name", "version", "REQUIRES-DIST", "Missing"):
            assert simple.get(field) == whole.get(field)
            assert simple.get_all(field) == whole.get_all(field)
    if "\udc80" not in text:  # compat32 makes Header objects of surrogates: no ==
        assert metadata_headers.__wrapped__(text).items() == whole.items()


@pytest.mark.parametrize(
    ("text", "simple"),
    [
        ("Name: a\nVersion: 1\n\nbody", True),
        ("Name: a\nRequires-Dist: b; extra == 'x'\n", True),
        ("Name: a\r\nVersion: 1\r\n", False),
        ("Name: a\n folded\n", False),
        ("From nobody\nName: a\n", False),
        ("Name a\n", False),
        ("Name: \udc80\n", False),
        ("Name: a", False),
    ],
)
def test_which_blocks_are_plain(text, simple):
    assert (
        distribution._simple_headers(text.partition("\n\n")[0] + "\n" if "\n\n" in text else text)
        is not None
    ) is simple
