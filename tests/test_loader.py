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


def test_named_entry_points_use_importlibs_pattern():
    from importlib import metadata

    from insidellms_provenance.fingerprint import _loader

    assert _loader._REFERENCE.pattern == metadata.EntryPoint.pattern.pattern


@pytest.mark.parametrize(
    "value",
    [
        "json",
        "json:dumps",
        "json : dumps",
        "json:JSONDecoder.decode",
        "os.path:join",
        "json:dumps [extra]",
        "json:dumps[a,b]  ",
        "json:missing_attribute",
        "no_such_module_for_the_loader_test:x",
        "json:JSONDecoder.missing",
        "",
        "not a ref!!",
        ":dumps",
    ],
)
def test_a_named_entry_point_loads_as_importlib_loads_it(value):
    """The child rebuilds entry points from strings; loading must not tell them apart."""
    from importlib import metadata

    from insidellms_provenance.fingerprint._loader import NamedEntryPoint

    def outcome(ep):
        try:
            return ("loaded", ep.load())
        except Exception as error:  # noqa: BLE001 - the outcome is what is compared
            return ("raised", type(error))

    ours = NamedEntryPoint("name", value, "group")
    theirs = metadata.EntryPoint(name="name", value=value, group="group")
    assert outcome(ours) == outcome(theirs)
    assert (ours.name, ours.value, ours.group) == (theirs.name, theirs.value, theirs.group)


def test_the_child_imports_no_metadata_machinery_before_the_plugins():
    """What the plugin-importing child loads before the first plugin: the loader, not more.

    (``subprocess`` is not listed: on Python 3.10 ``platform`` imports it, through
    ``orjson`` and ``uuid``.) What the interpreter's start-up imported already (a
    site's ``.pth`` files may import ``pathlib`` and ``zipfile``) is not the child's.
    """
    import subprocess

    code = (
        "import sys; before = set(sys.modules); "
        "import insidellms_provenance.fingerprint._child; "
        "print(' '.join(sorted(m for m in ('importlib.metadata', 'pathlib', 'email', "
        "'zipfile') if m in sys.modules and m not in before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == []
