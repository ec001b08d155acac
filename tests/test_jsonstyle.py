import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insidellms_provenance.field.schema import FIELD_KEY
from insidellms_provenance.runfile._embed import embed_text
from insidellms_provenance.runfile._style import JsonStyle, detect_style, render, render_nested

VALUE = {"b": [1, 2.5, None], "a": {"é": "ü", "z": True}, "n": 1e-7}


@pytest.mark.parametrize(
    "options",
    [
        {"sort_keys": True, "indent": 2},
        {"sort_keys": False, "indent": 2},
        {"sort_keys": True, "indent": 4, "ensure_ascii": False},
        {"indent": "\t"},
        {},
        {"separators": (",", ":")},
        {"sort_keys": True, "indent": 0},
    ],
)
@pytest.mark.parametrize("trailer", ["", "\n", "\n\n"])
def test_python_json_styles_round_trip_exactly(options, trailer):
    text = json.dumps(VALUE, **options) + trailer
    style = detect_style(text, json.loads(text))
    assert style.exact
    assert render(json.loads(text), style) == text


def test_foreign_style_keeps_order_indent_and_trailer():
    text = '{\n   "z": 1,\n   "a": [1,2]\n}\n'
    style = detect_style(text, json.loads(text))
    assert not style.exact
    assert (
        render(json.loads(text), style) == '{\n   "z": 1,\n   "a": [\n      1,\n      2\n   ]\n}\n'
    )


def test_host_style_with_nan_round_trips():
    text = json.dumps({"x": float("nan"), "y": 1}, sort_keys=True, indent=2)
    style = detect_style(text, json.loads(text))
    assert style.exact


# Values as a field holds them: no floats (field.schema has none).
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(max_size=8)
)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    value=_values,
    sort_keys=st.booleans(),
    ensure_ascii=st.booleans(),
    depth=st.integers(0, 3),
)
def test_render_nested_is_json_dumps_or_nothing(value, sort_keys, ensure_ascii, depth):
    """orjson's rendering is used only where it is ``json.dumps``'s, byte for byte."""
    style = JsonStyle(
        indent=2,
        sort_keys=sort_keys,
        ensure_ascii=ensure_ascii,
        separators=(",", ": "),
        trailer="",
        exact=True,
    )
    nested = render_nested(value, style, depth)
    if nested is None:
        return

    def nest(inner: object) -> object:
        for level in range(depth):
            inner = {f"level-{level}": inner}
        return inner

    placeholder = "\x00placeholder\x00"
    spliced = render(nest(placeholder), style).replace(json.dumps(placeholder), nested)
    assert spliced == render(nest(value), style)


@settings(max_examples=200, deadline=None)
@given(
    manifest=st.dictionaries(
        st.text(max_size=6).filter(lambda key: key != "custom"), _values | st.floats(), max_size=5
    ),
    field=_values,
    options=st.sampled_from(
        [
            {"indent": 2, "sort_keys": True},
            {"indent": 2, "sort_keys": False},
            {"indent": 2, "sort_keys": True, "ensure_ascii": False},
            {"indent": 4, "sort_keys": True},
            {"indent": None},
        ]
    ),
)
def test_embedding_renders_as_one_json_dumps(manifest, field, options):
    """The field spliced into the rendered manifest is what rendering it all at once writes."""
    text = json.dumps(manifest, **options)
    new_text, _ = embed_text(text, field, where="manifest.json")
    value = json.loads(text)
    style = detect_style(text, value)
    value.setdefault("custom", {})[FIELD_KEY] = field
    assert new_text == render(value, style)
