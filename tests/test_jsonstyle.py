import json

import pytest

from insidellms_provenance.runfile._style import detect_style, render

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
