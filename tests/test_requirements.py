"""Requires-Dist parsing, markers and version checks: the lean path always agrees with packaging."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker, UndefinedComparison, default_environment
from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from insidellms_provenance.fingerprint import _requirements as requirements
from insidellms_provenance.fingerprint._requirements import (
    InvalidRequirementError,
    marker_applies,
    parse_requirement,
    version_satisfies,
)

# Requires-Dist values of well-known distributions: the lean parser takes them all.
REAL_REQUIREMENTS = [
    "httpx<1,>=0.23.0",
    "typing-extensions<5,>=4.11",
    "pydantic<3,>=1.9.0",
    "anyio<5,>=3.5.0",
    "sniffio",
    "tqdm>4",
    'numpy>=1; extra == "datalib"',
    'pandas-stubs>=1.1.0.11; extra == "datalib"',
    "idna>=2.8",
    'exceptiongroup>=1.0.2; python_version < "3.11"',
    'typing_extensions>=4.5; python_version < "3.13"',
    'colorama; platform_system == "Windows"',
    'pywin32>=226; sys_platform == "win32" and platform_python_implementation != "PyPy"',
    'h2<5,>=3; extra == "http2"',
    'socksio==1.*; extra == "socks"',
    "certifi",
    "httpcore==1.*",
    'brotli; platform_python_implementation == "CPython" and extra == "brotli"',
    "charset-normalizer<4,>=2",
    'PySocks!=1.5.7,>=1.5.6; extra == "socks"',
    "urllib3<3,>=1.21.1",
    'torch>=1.11 ; extra == "torch"',
    "requests (>=2.0)",
    'importlib-metadata>=4.6; python_full_version < "3.10.2"',
    'tomli>=1.1.0; python_version < "3.11" and (extra == "toml" or extra == "all")',
    "filelock",
    "fsspec>=2023.5.0",
    "nvidia-cudnn-cu12==9.1.0.70; platform_system == 'Linux' and platform_machine == 'x86_64'",
    (
        'triton==3.0.0; platform_system == "Linux" and platform_machine == "x86_64" and '
        'python_version < "3.13"'
    ),
    "sympy",
    "jinja2",
    "networkx",
    'opt-einsum>=3.3; extra == "opt-einsum"',
    'optree>=0.11.0; extra == "optree"',
    "mpmath<1.4,>=1.1.0",
    "pytest ~= 8.0 ; extra == 'test'",
]


@pytest.mark.parametrize("text", REAL_REQUIREMENTS)
def test_real_requirements_are_read_without_packaging(text, monkeypatch):
    monkeypatch.setitem(sys.modules, "packaging.requirements", None)  # importing it fails
    monkeypatch.setitem(sys.modules, "packaging.markers", None)
    monkeypatch.setitem(sys.modules, "packaging.specifiers", None)
    requirement = parse_requirement(text)
    assert requirement.lean_marker is not None or requirement.marker is None
    for extras in (frozenset(), frozenset({"datalib", "socks"})):
        marker_applies(requirement, extras)
    version_satisfies("1.2.3", requirement.specifier)


@pytest.mark.parametrize(
    ("text", "name", "extras", "specifier", "url"),
    [
        ("Foo.Bar[Baz_Qux, x] (>= 1.0 , <2)", "foo-bar", {"baz-qux", "x"}, "<2,>=1.0", None),
        (
            "foo @ https://example.com/foo-1.0.whl",
            "foo",
            set(),
            "",
            "https://example.com/foo-1.0.whl",
        ),
        ("foo>=1.0rc1", "foo", set(), ">=1.0rc1", None),
        ("foo==1.0.*,!=1.0.3", "foo", set(), "!=1.0.3,==1.0.*", None),
    ],
)
def test_requirements_are_parsed(text, name, extras, specifier, url):
    requirement = parse_requirement(text)
    assert (requirement.name, requirement.extras) == (name, frozenset(extras))
    assert (requirement.specifier, requirement.url) == (specifier, url)


@pytest.mark.parametrize(
    "text", ["", "foo >= ", "-foo", "foo; python_version >", "foo[", "foo 1.0"]
)
def test_invalid_requirements_raise_one_error(text):
    with pytest.raises(InvalidRequirementError, match="is invalid"):
        parse_requirement(text)


ENVIRONMENTS = [
    default_environment(),
    {
        **default_environment(),
        "python_version": "3.10",
        "python_full_version": "3.10.2",
        "sys_platform": "win32",
        "platform_system": "Windows",
        "os_name": "nt",
        "platform_machine": "AMD64",
        "platform_python_implementation": "PyPy",
        "implementation_name": "pypy",
    },
    {**default_environment(), "python_version": "3.13", "python_full_version": "3.13.0rc1"},
]

NAMES = st.sampled_from(["foo", "Foo.Bar", "a_b-c", "x1", "-x", "y."])
EXTRAS = st.sampled_from(["", "[a]", "[A_b, c]", "[]", "[a,]", "[ a ]"])
SPECS = st.lists(
    st.sampled_from(
        [
            *("==", "!=", "<=", ">=", "<", ">", "~=", "===", " ", ",", "1", "0", "12", "."),
            *("*", "rc1", "post1", "+local", "(", ")", "\t", "v"),
        ]
    ),
    max_size=8,
).map("".join)
MARKER_PIECES = st.lists(
    st.sampled_from(
        [
            *("python_version", "python_full_version", "sys_platform", "extra", "os_name"),
            *("platform_system", "platform_machine", "implementation_name", "platform_release"),
            *(" ", " and ", " or ", "and", "(", ")", " not in ", " in ", "==", "!=", "<", ">="),
            *("~=", "<=", "===", '"3.11"', "'3.10'", '"3"', '"win32"', '"linux"', '"Te_st"'),
            *('"te-st"', '"3.10.2"', '"3.1,3.2"', '"3.*"', '"3.13.0rc1"', '"nt posix"', '"Linux"'),
        ]
    ),
    max_size=9,
).map("".join)
VARIABLE_NAMES = st.sampled_from(
    [
        *("python_version", "python_full_version", "sys_platform", "extra", "os_name"),
        *("platform_system", "platform_machine", "implementation_name", "platform_release"),
        *("implementation_version", "platform_python_implementation", "os.name", "nope"),
    ]
)
MARKER_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~=", "===", "in", "not in"])
LITERALS = st.sampled_from(
    [
        *("3.11", "3.10", "3", "3.10.2", "3.1,3.2", "3.*", "3.13.0rc1", "3.11.*", " 3.11"),
        *("win32", "linux", "Te_st", "te-st", "x", "nt posix", "Linux", "x86_64", "", "cpython"),
    ]
).flatmap(lambda text: st.sampled_from([f'"{text}"', f"'{text}'"]))
SPACE = st.sampled_from(["", " ", "  ", "\t"])
ATOMS = st.builds(
    lambda var, op, lit, s1, s2, flip: (
        f"{lit}{s1}{op}{s2}{var}" if flip else f"{var}{s1}{op}{s2}{lit}"
    ),
    VARIABLE_NAMES,
    MARKER_OPS,
    LITERALS,
    SPACE,
    SPACE,
    st.booleans(),
)
STRUCTURED_MARKERS = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.builds(lambda m, s: f"({s}{m}{s})", inner, SPACE),
        st.builds(
            lambda a, b, op, s: f"{a}{s}{op}{s}{b}",
            inner,
            inner,
            st.sampled_from(["and", "or"]),
            st.sampled_from([" ", "  ", ""]),
        ),
    ),
    max_leaves=4,
)
CLAUSES = st.builds(
    lambda op, version, s: f"{op}{s}{version}",
    st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "~=", "==="]),
    st.sampled_from(["1", "1.0", "0.23.0", "1.*", "2.0.*", "1.0rc1", "1!2", "01.2", "1.0+x"]),
    SPACE,
)
STRUCTURED_SPECS = st.lists(CLAUSES, max_size=3).flatmap(
    lambda clauses: st.sampled_from(
        [
            ",".join(clauses),
            " , ".join(clauses),
            f"({','.join(clauses)})",
            f"( {', '.join(clauses)} )",
        ]
    )
)
MARKER_PARTS = st.one_of(
    st.just(""),
    st.builds(
        lambda sep, marker: sep + marker, st.sampled_from([";", " ; ", "; "]), STRUCTURED_MARKERS
    ),
    st.builds(lambda sep, marker: sep + marker, st.sampled_from(["", ";", "; "]), MARKER_PIECES),
)
REQUIREMENTS = st.builds(
    lambda name, extras, spec, marker: f"{name}{extras}{spec}{marker}",
    st.one_of(st.sampled_from(["foo", "Foo.Bar", "a_b-c"]), NAMES),
    EXTRAS,
    st.one_of(STRUCTURED_SPECS, SPECS),
    MARKER_PARTS,
)


def packaging_requirement(text):
    try:
        return PackagingRequirement(text)
    except InvalidRequirement:
        return None


def packaging_marker(marker, environment):
    try:
        return marker.evaluate(environment)
    except UndefinedComparison:
        return "error"


@settings(max_examples=1500)
@given(text=REQUIREMENTS)
@example(text='foo; python_version>"3"and extra=="x"')
@example(text='foo; "3.11" < python_version')
@example(text='foo; extra != "Te_st"')
@example(text='foo; python_version == "3.1,3.2"')
@example(text='foo; "te-st" == extra')
@example(text='foo;(extra=="Te_st")')  # in a group: packaging normalizes it from 26.3
@example(text="foo (>=1)")
def test_lean_requirements_are_packagings(text):
    check_lean_requirement(text)


def check_lean_requirement(text):
    lean = requirements._lean_requirement(text)
    if lean is None:
        return
    reference = packaging_requirement(text)
    assert reference is not None, text
    assert lean.name == canonicalize_name(reference.name)
    assert lean.extras == {canonicalize_name(extra) for extra in reference.extras}
    assert lean.specifier == str(reference.specifier)
    assert (lean.marker is None) == (reference.marker is None)
    for environment in ENVIRONMENTS:
        for extra in ("", "te-st", "x"):
            expected = (
                True
                if reference.marker is None
                else packaging_marker(reference.marker, {**environment, "extra": extra})
            )
            if lean.lean_marker is None:
                continue
            got = requirements._lean_evaluate(lean.lean_marker, environment.get, extra)
            if got is not None:
                assert got == expected, (text, environment["python_version"], extra)
            # The public function falls back to packaging where the lean one declines.
            if expected == "error":
                with pytest.raises(InvalidRequirementError):
                    requirements._evaluate(lean, extra, environment)
            else:
                assert requirements._evaluate(lean, extra, environment) == expected


VERSIONS = st.lists(
    st.sampled_from(["0", "1", "2", "10", ".", "01", "rc1", ".post1", "+x", "a", "!"]),
    min_size=1,
    max_size=6,
).map("".join)


def packaging_contains(specifier, version):
    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except InvalidSpecifier:
        return False


@settings(max_examples=1500)
@given(version=VERSIONS, specifier=SPECS)
@example(version="1.0", specifier="==1")
@example(version="1", specifier="==1.0.*")
@example(version="1.5", specifier="~=1.4")
@example(version="2.0", specifier="~=1.4")
@example(version="1.4.9", specifier="~=1.4.2")
@example(version="01.2", specifier=">1.1,<=1.2")
@example(version="1.0.post1", specifier="<=1.0")
@example(version="1.0.post1", specifier=">1.0")
@example(version="1.0.post1", specifier=">1")
@example(version="1.0.post1", specifier="==1.0")
@example(version="1.0.post1", specifier="!=1.0")
@example(version="1.0.post1", specifier="==1.0.0.*")
@example(version="1.0.post1", specifier="~=1.0")
@example(version="1.post01", specifier="<1.0.1,>=1")
def test_version_verdict_is_packagings(version, specifier):
    lean = requirements._lean_satisfies(version, specifier)
    expected = packaging_contains(specifier, version)
    if lean is not None:
        assert lean == expected
    assert version_satisfies(version, specifier) == expected


@pytest.mark.parametrize("version", ["2026.10.19.post1", "1.0.post1", "3.post0"])
@pytest.mark.parametrize("specifier", ["", ">=2017.4.17", "<=1.0", ">1.0", "==1.0", "~=1.0"])
def test_post_releases_are_judged_without_packaging(version, specifier):
    # certifi publishes post-releases; judging them must not import packaging in a host run.
    assert requirements._lean_satisfies(version, specifier) == packaging_contains(
        specifier, version
    )


def test_default_marker_environment_is_packagings():
    ours = {name: requirements._environment_value(name) for name in default_environment()}
    theirs = default_environment()
    for name, value in ours.items():
        if value is not None:
            assert value == theirs[name], name


@pytest.mark.parametrize(
    ("marker", "extras", "applies"),
    [
        ('extra == "x"', frozenset(), False),
        ('extra == "x"', frozenset({"x"}), True),
        ('extra == "X_"', frozenset({"x-"}), True),
        ('extra == "x" or extra == "y"', frozenset({"y"}), True),
        ('python_version < "3"', frozenset(), False),
        ('python_version >= "3"', frozenset({"x"}), True),
        ('sys_platform == "never"', frozenset(), False),
    ],
)
def test_markers_follow_requested_extras(marker, extras, applies):
    assert marker_applies(parse_requirement(f"dep; {marker}"), extras) is applies


def test_an_unevaluable_marker_raises_one_error():
    requirement = parse_requirement('dep; python_version ~= "3"')
    with pytest.raises(InvalidRequirementError, match="cannot be evaluated"):
        marker_applies(requirement, frozenset())


def test_packaging_evaluates_unusual_markers():
    requirement = parse_requirement('dep; python_version in "3.10 3.11 3.12 3.13 3.14"')
    expected = Marker('python_version in "3.10 3.11 3.12 3.13 3.14"').evaluate()
    assert marker_applies(requirement, frozenset()) is expected


@settings(max_examples=1500)
@given(marker=STRUCTURED_MARKERS)
@example(marker='python_version>"3"and extra=="x"')
@example(marker='os_name in "nt posix"')
@example(marker='"3.1" in python_version')
def test_lean_markers_are_packagings(marker):
    check_lean_requirement(f"foo; {marker}")


# The one-regex matcher the lean path used before it was cut at ``;`` and stripped: the
# reference for which lines it takes and how it splits them. Each run of blanks could be
# split between two adjacent ``[ \t]*``, so a line it refused took polynomial time
# (``attrs`` + 400 blanks + ``!``: 6 s); it is only run here on short lines.
REFERENCE_WS = "[ \t]*"
REFERENCE_NAME = "[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
REFERENCE_RELEASE = "[0-9]+(?:\\.[0-9]+)*"
REFERENCE_CLAUSE = (
    f"(?:(?:==|!=){REFERENCE_WS}{REFERENCE_RELEASE}(?:\\.\\*)?"
    f"|(?:<=|>=|<|>){REFERENCE_WS}{REFERENCE_RELEASE}"
    f"|~={REFERENCE_WS}[0-9]+(?:\\.[0-9]+)+)"
)
REFERENCE_CLAUSES = f"{REFERENCE_CLAUSE}(?:{REFERENCE_WS},{REFERENCE_WS}{REFERENCE_CLAUSE})*"
REFERENCE_LINE = re.compile(
    f"{REFERENCE_WS}(?P<name>{REFERENCE_NAME}){REFERENCE_WS}"
    f"(?:\\[{REFERENCE_WS}(?P<extras>{REFERENCE_NAME}(?:{REFERENCE_WS},{REFERENCE_WS}"
    f"{REFERENCE_NAME})*)?{REFERENCE_WS}\\])?{REFERENCE_WS}"
    f"(?:(?:(?P<paren>\\(){REFERENCE_WS})?(?P<spec>{REFERENCE_CLAUSES})"
    f"(?(paren){REFERENCE_WS}\\)))?{REFERENCE_WS}"
    f"(?:;{REFERENCE_WS}(?P<marker>[^;]*?))?{REFERENCE_WS}",
    re.ASCII,
)

BLANKS = st.sampled_from(["", " ", "  ", "\t", " \t ", "    "])
LINE_PIECES = st.lists(
    st.one_of(
        BLANKS,
        st.sampled_from(
            [
                *("attrs", "a", "Foo.Bar", "a_b-c", "x1", "-", ".", "_", "[", "]", ",", "(", ")"),
                *("==", "!=", "<=", ">=", "<", ">", "~=", "===", "1", "1.0", ".*", "*", "0.23"),
                *(";", "python_version", '"3"', "'3.1'", "and", "or", "extra", "!", "\n", "é"),
            ]
        ),
    ),
    max_size=14,
).map("".join)
RANDOM_LINES = st.text(alphabet="aZ9._-[](),;=<>!~* \t\n'\"", max_size=24)


def reference_parts(text):
    match = REFERENCE_LINE.fullmatch(text)
    if match is None:
        return None
    return match["name"], match["extras"], match["spec"], match["marker"]


def lean_parts(text):
    parts = requirements._lean_parts(text)
    if parts is None:
        return None
    match, marker = parts
    return match["name"], match["extras"], match["spec"], marker


@settings(max_examples=3000)
@given(text=st.one_of(REQUIREMENTS, LINE_PIECES, RANDOM_LINES))
@example(text="attrs ;")
@example(text="attrs ; ")
@example(text="attrs;;")
@example(text=" \tattrs [ ] ( >=1 , <2 ) ; x ; ")
@example(text="attrs[ a , b ]>= 1 ;  extra == 'x'  \t")
@example(text="attrs (>=1")
@example(text="attrs >=1)")
@example(text="attrs\n")
def test_lean_lines_are_split_as_the_one_regex_split_them(text):
    assert lean_parts(text) == reference_parts(text)


# Lines the one regex took polynomial time to refuse (or, with a valid marker, to
# accept): at 200,000 blanks each took minutes to hours; split at ``;`` and matched part
# by part, all of them take milliseconds. Not timed: a hang fails by the timeout.
HOSTILE_BLANKS = 200_000
HOSTILE_LINES = {
    "second-semicolon": "'attrs ; x' + B + 'y;'",
    "trailing-comma": "'attrs>=1' + B + ','",
    "name-then-junk": "'attrs' + B + '!'",
    "extras-then-junk": "'attrs[b]' + B + '!'",
    "semicolon-then-junk": "'attrs ;' + B + '; '",
    "valid-marker": "'attrs ; python_version' + B + '>= \"3\"'",
}
PARSE_HOSTILE = f"""
import json
from insidellms_provenance.fingerprint._requirements import (
    InvalidRequirementError, marker_applies, parse_requirement,
)
B = " " * {HOSTILE_BLANKS}
outcomes = {{}}
for name, line in {{ {", ".join(f"{k!r}: {v}" for k, v in HOSTILE_LINES.items())} }}.items():
    try:
        requirement = parse_requirement(line)
    except InvalidRequirementError:
        outcomes[name] = "invalid"
    else:
        applies = marker_applies(requirement, frozenset())
        outcomes[name] = [requirement.name, requirement.specifier, applies]
print(json.dumps(outcomes))
"""


def test_hostile_blanks_are_parsed_in_linear_time():
    result = subprocess.run(
        [sys.executable, "-c", PARSE_HOSTILE],
        capture_output=True,
        text=True,
        timeout=60,  # milliseconds now; minutes to hours with the one regex
        check=True,
    )
    assert json.loads(result.stdout) == {
        "second-semicolon": "invalid",
        "trailing-comma": ["attrs", ">=1", True],  # packaging takes a trailing comma
        "name-then-junk": "invalid",
        "extras-then-junk": "invalid",
        "semicolon-then-junk": "invalid",
        "valid-marker": ["attrs", "", True],
    }


def nested(depth, atom='python_version > "3"'):
    return "(" * depth + atom + ")" * depth


def test_nesting_up_to_the_limit_is_read_as_packaging_reads_it():
    text = f"attrs ; {nested(requirements._MAX_NESTING)}"
    assert requirements._lean_requirement(text) is not None
    check_lean_requirement(text)
    assert marker_applies(parse_requirement(text), frozenset()) is True


@pytest.mark.parametrize(
    "text",
    [
        f"attrs ; {nested(33)}",
        f"attrs ; {nested(500)}",
        f"attrs ; {nested(5000)}",
        "attrs ; " + nested(500, "python_version === '3'"),  # packaging's to judge
        "attrs ; " + nested(500, 'os_name == "("'),
        f"attrs (>=1) ; {nested(40)}",
        "attrs @ https://example.com/" + "(" * 40 + " ; os_name == 'x'",  # any parenthesis
        "attrs ; " + ")" * 50 + nested(33),
    ],
)
def test_parentheses_nested_too_deep_are_invalid(text):
    with pytest.raises(InvalidRequirementError) as caught:
        parse_requirement(text)
    assert caught.value.issues == (
        f"parentheses nested more than {requirements._MAX_NESTING} deep",
    )


def test_deep_nesting_is_refused_before_anything_recurses():
    # As in a host whose stack is already deep: a parser that recursed on 500 levels (ours
    # or packaging's before 26.4) would raise RecursionError.
    def depth():
        frame, count = sys._getframe(), 0
        while frame is not None:
            frame, count = frame.f_back, count + 1
        return count

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth() + 120)
    try:
        with pytest.raises(InvalidRequirementError):
            parse_requirement(f"attrs ; {nested(500)}")
    finally:
        sys.setrecursionlimit(limit)


def test_many_parentheses_not_nested_deep_are_read():
    siblings = " or ".join([nested(2)] * 40)  # 80 parentheses, two deep
    assert parse_requirement(f"attrs ; {siblings}").lean_marker is not None


@contextlib.contextmanager
def int_digit_limit(limit):
    """``sys.set_int_max_str_digits(limit)`` (0: none) where Python has one."""
    if not hasattr(sys, "set_int_max_str_digits"):
        yield
        return
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(limit)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


LONG = "1" * 5000
TOO_LONG_NUMBERS = [
    f"attrs>={LONG}",
    f"attrs (>={LONG})",
    f"attrs>=1.{LONG}",
    f"attrs>={LONG}rc1",  # packaging's to judge
    f"attrs==1.0.*,!={LONG}",
    f'attrs ; python_version >= "{LONG}"',
    f"attrs ; python_version >= '1.{'0' * 601}'",
    f"attrs>={'1' * 601}",
]


@pytest.mark.parametrize("limit", [0, 640, 4300])
@pytest.mark.parametrize("text", TOO_LONG_NUMBERS)
def test_numbers_of_too_many_digits_are_invalid_whatever_the_interpreter_reads(text, limit):
    with int_digit_limit(limit), pytest.raises(InvalidRequirementError) as caught:
        parse_requirement(text)
    assert caught.value.issues == ("a number of more than 600 digits",)


@pytest.mark.parametrize("limit", [0, 640])
def test_numbers_up_to_the_limit_are_read(limit):
    bound = "1" * requirements._MAX_DIGITS
    with int_digit_limit(limit):
        requirement = parse_requirement(f"attrs>={bound}")
        assert requirement.specifier == f">={bound}"
        assert version_satisfies("2", requirement.specifier) is False
        assert version_satisfies(bound, requirement.specifier) is True


@pytest.mark.parametrize("limit", [0, 640, 4300])
@pytest.mark.parametrize("version", [LONG, f"1.{LONG}", f"{LONG}rc1", f"1.0+{LONG}"])
def test_installed_versions_of_too_many_digits_satisfy_only_no_specifier(version, limit):
    with int_digit_limit(limit):
        assert version_satisfies(version, ">=1") is False
        assert version_satisfies(version, "") is True
