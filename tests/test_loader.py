import sys
from pathlib import Path

import pytest

from insidellms_provenance.fingerprint._loader import describe_error, plugins_disabled


class PluginError(Exception):
    pass


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("bad\nsecond line"), ("ValueError", "bad")),
        (
            ModuleNotFoundError("No module named 'x'"),
            ("ModuleNotFoundError", "No module named 'x'"),
        ),
        (PluginError(""), ("test_loader.PluginError", "")),
        (RuntimeError("   \n  "), ("RuntimeError", "")),
        (
            OSError(2, "No such file", f"{sys.prefix}/lib/x.py"),
            ("FileNotFoundError", "[Errno 2] No such file: '{prefix}/lib/x.py'"),
        ),
        (RuntimeError(f"read {Path.home()}/.config/x"), ("RuntimeError", "read {path}")),
    ],
)
def test_describe_error_table(error, expected):
    assert describe_error(error) == expected


@pytest.mark.parametrize(
    ("group", "value", "disabled"),
    [
        ("insidellms.plugins", "1", True),
        ("insidellms.plugins", "true", True),
        ("insidellms.plugins", "yes", True),
        ("insidellms.plugins", "TRUE", False),
        ("insidellms.plugins", "0", False),
        ("insidellms.plugins", "", False),
        ("pytest11", "1", False),
    ],
)
def test_plugins_disabled_matches_the_host_loader(group, value, disabled):
    assert plugins_disabled(group, {"INSIDELLMS_DISABLE_PLUGINS": value}) is disabled


@pytest.mark.parametrize("before", [None, "", "0", "yes"])
@pytest.mark.parametrize("raises", [False, True])
def test_host_loader_is_held_off_during_an_import_and_restored(monkeypatch, before, raises):
    """While we import a plugin the host's loader sees plugins disabled; afterwards, as before."""
    import os

    from insidellms_provenance.fingerprint._loader import host_loader_disabled

    if before is None:
        monkeypatch.delenv("INSIDELLMS_DISABLE_PLUGINS", raising=False)
    else:
        monkeypatch.setenv("INSIDELLMS_DISABLE_PLUGINS", before)
    seen = []
    with pytest.raises(PluginError) if raises else _nothing(), host_loader_disabled():
        seen.append(os.environ["INSIDELLMS_DISABLE_PLUGINS"])
        if raises:
            raise PluginError
    assert seen == ["1"]
    assert os.environ.get("INSIDELLMS_DISABLE_PLUGINS") == before


def _nothing():
    import contextlib

    return contextlib.nullcontext()
