"""The host contract's call-shape check: the code-object reading equals ``inspect``'s."""

from __future__ import annotations

import functools
import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insidellms_provenance.host import _contract as contract

NAMES = ("p0", "p1", "a0", "a1", "a2", "k0", "k1", "zz", "fn", "overwrite")


def by_inspect(function, positional: int, keywords: tuple[str, ...]) -> bool:
    try:
        signature = inspect.signature(function)
    except ValueError:  # "invalid method signature": the benefit of the doubt
        return True
    try:
        signature.bind(*range(positional), **dict.fromkeys(keywords))
    except TypeError:
        return False
    return True


@st.composite
def functions(draw):
    only = draw(st.integers(0, 2))
    regular = draw(st.integers(0, 3))
    positional = [f"p{i}" for i in range(only)] + [f"a{i}" for i in range(regular)]
    defaults = draw(st.integers(0, len(positional)))
    keyword_only = [f"k{i}" for i in range(draw(st.integers(0, 2)))]
    parts = []
    for index, name in enumerate(positional):
        parts.append(f"{name}=0" if index >= len(positional) - defaults else name)
        if index == only - 1:
            parts.append("/")
    if draw(st.booleans()):
        parts.append("*args")
    elif keyword_only:
        parts.append("*")
    parts += [f"{name}=0" if draw(st.booleans()) else name for name in keyword_only]
    if draw(st.booleans()):
        parts.append("**kwargs")
    namespace: dict[str, object] = {}
    exec(f"def function({', '.join(parts)}):\n    return None\n", namespace)  # noqa: S102
    function = namespace["function"]
    if draw(st.booleans()):  # a bound method: its first parameter is the instance
        function = type("Owner", (), {"method": function})().method
    return function


def test_methods_without_a_place_for_their_instance_are_left_to_inspect():
    class Owner:
        def method() -> None:  # type: ignore[misc]
            return None

    assert contract._code_accepts(Owner().method, 0, ()) is None


@given(
    functions(),
    st.integers(0, 5),
    st.lists(st.sampled_from(NAMES), max_size=3, unique=True).map(tuple),
)
def test_the_code_reading_equals_inspect(function, positional, keywords):
    assert contract._accepts(function, positional, keywords) == by_inspect(
        function, positional, keywords
    )


def wrapped(fn, *, overwrite=False):
    return fn, overwrite


@functools.wraps(wrapped)
def wrapper(*args, **kwargs):
    return wrapped(*args, **kwargs)


@pytest.mark.parametrize(
    ("function", "positional", "keywords", "expected"),
    [
        pytest.param(wrapper, 1, ("overwrite",), True, id="wraps-followed-by-inspect"),
        pytest.param(wrapper, 2, (), False, id="wraps-refused-by-inspect"),
        pytest.param(functools.partial(wrapped, 1), 0, ("overwrite",), True, id="partial"),
        pytest.param(len, 1, (), True, id="builtin"),
        pytest.param(dict, 0, ("fn",), True, id="class"),
    ],
)
def test_other_callables_are_judged_by_inspect(function, positional, keywords, expected):
    assert contract._code_accepts(function, positional, keywords) is None
    assert contract._accepts(function, positional, keywords) is expected
