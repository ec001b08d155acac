import os
import sys
import sysconfig

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insidellms_provenance.fingerprint._install_layout import site_layout

PURELIB = sysconfig.get_paths()["purelib"]
# This interpreter's own ``lib/pythonX.Y`` (the schemes are read from the running Python).
THIS_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"


def test_this_interpreters_site_packages_has_the_scheme_depth():
    layout = site_layout(PURELIB)
    assert (
        layout.depth
        == len(sysconfig.get_paths(vars={"base": "/B", "platbase": "/B"})["purelib"].split("/")) - 2
    )
    assert layout.scripts_dir == "bin"


@pytest.mark.parametrize(
    ("site_dir", "depth"),
    [
        (f"/any/where/venv/lib/{THIS_PYTHON}/site-packages", 3),
        # Another interpreter's site directory is not one of this interpreter's schemes.
        ("/any/where/venv/lib/python2.7/site-packages", 0),
        ("/srv/app/vendor", 0),
        ("/", 0),
    ],
)
def test_site_layout_table(site_dir, depth):
    assert site_layout(site_dir).depth == depth


@settings(max_examples=500)
@given(st.text(alphabet="/.ab\\", max_size=12))
def test_path_parts_are_purepaths_parts(path):
    """``_path_parts`` splits a path as ``PurePosixPath`` does (verify imports no pathlib)."""
    from pathlib import PurePosixPath

    from insidellms_provenance.fingerprint._install_layout import _path_parts

    if os.name != "nt":
        assert _path_parts(path) == PurePosixPath(path).parts


@pytest.mark.parametrize(
    "path",
    ["/__base__/lib/python3.11/site-packages", "/__base__/bin", "/__base__", "//__base__/x"],
)
def test_below_base_is_relative_to(path):
    from pathlib import PurePosixPath

    from insidellms_provenance.fingerprint._install_layout import _BASE, _below_base

    try:
        expected: tuple[str, ...] | None = PurePosixPath(path).relative_to(_BASE).parts
    except ValueError:
        expected = None
    try:
        found: tuple[str, ...] | None = _below_base(path)
    except ValueError:
        found = None
    assert found == expected
