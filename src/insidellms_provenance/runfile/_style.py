"""How a JSON text was formatted by Python's ``json`` module, and where its members stand."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "JsonStyle",
    "Member",
    "detect_style",
    "object_members",
    "render",
    "render_nested",
    "skip_space",
]


class JsonStyle:
    """The ``json.dumps`` options, and trailing text, that reproduce a file exactly.

    A plain class with slots, not a ``NamedTuple``: creating one of those costs about
    0.1 ms in every host run (it compiles its constructor).
    """

    __slots__ = ("ensure_ascii", "exact", "indent", "separators", "sort_keys", "trailer")

    def __init__(  # noqa: PLR0913 - the options
        self,
        *,
        indent: int | str | None,
        sort_keys: bool,
        ensure_ascii: bool,
        separators: tuple[str, str],
        trailer: str,
        exact: bool,
    ) -> None:
        self.indent = indent
        self.sort_keys = sort_keys
        self.ensure_ascii = ensure_ascii
        self.separators = separators
        self.trailer = trailer
        self.exact = exact


def render(value: Any, style: JsonStyle) -> str:  # noqa: ANN401 - any JSON value
    """Serialize ``value`` with ``style``."""
    return (
        json.dumps(
            value,
            indent=style.indent,
            sort_keys=style.sort_keys,
            ensure_ascii=style.ensure_ascii,
            separators=style.separators,
            allow_nan=True,  # the host writes with the json defaults
        )
        + style.trailer
    )


def render_nested(value: Any, style: JsonStyle, depth: int) -> str | None:  # noqa: ANN401
    """``render(value, style)`` as nested ``depth`` levels deep, without a trailer; or ``None``.

    What ``render`` of a document holding ``value`` there writes for it, byte for byte,
    made by orjson (``json.dumps`` with an indent runs the pure-Python encoder: ≈ 1 ms
    for a field of ten plugins, in every host run). Only for the two-space style orjson
    writes, and only where both agree: no floats (orjson writes ``1e-05`` as ``1e-5``;
    the caller must not pass any), integers orjson can write, and an ASCII result
    without DEL, which ``json`` escapes (``\u007f``, and non-ASCII with
    ``ensure_ascii``) and orjson does not. ``None`` asks the caller to ``render``.
    ``tests/test_jsonstyle.py`` holds the two equal (Hypothesis).
    """
    if style.indent != 2 or style.separators != (",", ": "):
        return None
    import orjson

    option = orjson.OPT_INDENT_2 | (orjson.OPT_SORT_KEYS if style.sort_keys else 0)
    try:
        data = orjson.dumps(value, option=option)
    except orjson.JSONEncodeError:
        return None
    if not data.isascii() or b"\x7f" in data:
        return None
    return data.decode("ascii").replace("\n", "\n" + "  " * depth)


def detect_style(text: str, value: Any) -> JsonStyle:  # noqa: ANN401 - any JSON value
    """Find options that reproduce ``text`` from ``value`` byte for byte.

    The host writes ``json.dumps(manifest, sort_keys=True, indent=2)`` without a final
    newline, so that is tried first. When nothing reproduces the text exactly, the
    result keeps its indentation, key order and trailer and has ``exact=False``.
    """
    body = text.rstrip()
    trailer = text[len(body) :]
    indent = _guess_indent(body.lstrip(" \t\n\r"))  # JSON may start with whitespace
    separators = (",", ": ") if indent is not None else (", ", ": ")
    candidates = [
        (indent, sort_keys, ensure_ascii, seps)
        for sort_keys in (True, False)
        for ensure_ascii in (True, False)
        for seps in (separators, (",", ":"))
    ]
    for indent_option, sort_keys, ensure_ascii, seps in candidates:
        style = JsonStyle(
            indent=indent_option,
            sort_keys=sort_keys,
            ensure_ascii=ensure_ascii,
            separators=seps,
            trailer=trailer,
            exact=True,
        )
        try:
            if render(value, style) == text:
                return style
        except ValueError:
            break
    return JsonStyle(
        indent=indent,
        sort_keys=False,
        ensure_ascii=text.isascii(),
        separators=separators,
        trailer=trailer,
        exact=False,
    )


def _guess_indent(body: str) -> int | str | None:
    """The indentation of the first nested line, or ``None`` for one-line JSON."""
    _, newline, rest = body.partition("\n")
    if not newline:
        return None
    stripped = rest.lstrip(" \t")
    whitespace = rest[: len(rest) - len(stripped)]
    if not whitespace:
        return 0
    if set(whitespace) == {" "}:
        return len(whitespace)
    return whitespace


class Member:
    """Where one member of a JSON object stands in its text, as offsets into it.

    ``lead_start`` is where the whitespace before the key starts (just after the ``{``
    or ``,``); the key runs from ``key_start`` to ``key_end``, then the colon and its
    whitespace, then the value from ``value_start`` to ``value_end``. A plain class
    with slots, as :class:`JsonStyle` is, since this module is imported in every host run.
    """

    __slots__ = ("key", "key_end", "key_start", "lead_start", "value_end", "value_start")

    def __init__(  # noqa: PLR0913 - the offsets
        self,
        *,
        key: str,
        lead_start: int,
        key_start: int,
        key_end: int,
        value_start: int,
        value_end: int,
    ) -> None:
        self.key = key
        self.lead_start = lead_start
        self.key_start = key_start
        self.key_end = key_end
        self.value_start = value_start
        self.value_end = value_end


_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace


def skip_space(text: str, index: int) -> int:
    """The index of the first character at or after ``index`` that is not JSON whitespace."""
    match = _SPACE.match(text, index)
    return match.end() if match is not None else index


def object_members(text: str, opening: int) -> tuple[list[Member], int]:
    """The members of the object whose ``{`` is at ``opening``, and the index of its ``}``.

    ``text`` must be JSON that ``json.loads`` read: each key and value is read again by
    the same decoder, to learn where it ends. Every member is listed, also a key that
    occurs more than once (which ``json.loads`` reduces to the last).
    """
    decode = json.JSONDecoder().raw_decode
    members: list[Member] = []
    lead_start = opening + 1
    index = skip_space(text, lead_start)
    while text[index] != "}":
        key, key_end = decode(text, index)
        value_start = skip_space(text, skip_space(text, key_end) + 1)  # past the colon
        _, value_end = decode(text, value_start)
        members.append(
            Member(
                key=key,
                lead_start=lead_start,
                key_start=index,
                key_end=key_end,
                value_start=value_start,
                value_end=value_end,
            )
        )
        index = skip_space(text, value_end)
        if text[index] == ",":
            lead_start = index + 1
            index = skip_space(text, lead_start)
    return members, index
