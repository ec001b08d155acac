"""``INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT``: what each value means, up to "no limit"."""

from __future__ import annotations

import os
import threading

import pytest

from insidellms_provenance.fingerprint import _isolation

LONGEST = _isolation._LONGEST_WAIT


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, _isolation.DEFAULT_TIMEOUT),
        ("5", 5.0),
        ("0.5", 0.5),
        ("2147483", 2147483.0),
        # Beyond what select() takes (2**31 - 1 ms): the longest wait, "no practical limit".
        ("2147484", LONGEST),
        ("1e9", LONGEST),
        ("1e20", LONGEST),
        ("1e308", LONGEST),
        ("inf", LONGEST),
        ("Infinity", LONGEST),
        # Not a positive number: the default, as always.
        ("0", _isolation.DEFAULT_TIMEOUT),
        ("-1", _isolation.DEFAULT_TIMEOUT),
        ("-inf", _isolation.DEFAULT_TIMEOUT),
        ("nan", _isolation.DEFAULT_TIMEOUT),
        ("abc", _isolation.DEFAULT_TIMEOUT),
        ("", _isolation.DEFAULT_TIMEOUT),
    ],
)
def test_timeout_values(value: str | None, seconds: float) -> None:
    environ = {} if value is None else {_isolation.TIMEOUT_VARIABLE: value}
    assert _isolation.timeout(environ) == seconds


def test_the_longest_wait_is_one_select_takes() -> None:
    import selectors

    read, write = os.pipe()
    try:
        selector = selectors.DefaultSelector()
        selector.register(read, selectors.EVENT_READ)
        os.write(write, b"x")
        assert selector.select(LONGEST)  # ready: returns at once, without OverflowError
        selector.close()
    finally:
        os.close(read)
        os.close(write)


@pytest.mark.parametrize("timeout", [float("inf"), 1e9, 1e20, LONGEST])
def test_a_line_is_read_whatever_the_timeout(timeout: float) -> None:
    read, write = os.pipe()
    with os.fdopen(read, "rb", buffering=0) as stream:
        lines = _isolation._Lines(stream)
        try:
            # Written after the wait began: the line is waited for, not timed out.
            writer = threading.Timer(0.05, os.write, (write, b"one\n"))
            writer.start()
            assert lines.next(timeout) == b"one"
            writer.join()
            os.close(write)
            assert lines.next(timeout) is None  # the pipe's end
            assert lines.ended
        finally:
            lines.close()
