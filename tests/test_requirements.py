"""Requires-Dist parsing, markers and version checks: the lean path always agrees with packaging."""

from __future__ import annotations

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
