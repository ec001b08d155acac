import os
import sys
import sysconfig
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insidellms_provenance.fingerprint._install_layout import (
    _interpreter_prefixes,
    climbing_root,
    site_layout,
)

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


def _site_in(prefix: Path, *beside: str) -> Path:
    """``prefix/lib/pythonX.Y/site-packages``, with ``beside`` (``a/b`` paths) made too."""
    site = prefix / "lib" / THIS_PYTHON / "site-packages"
    site.mkdir(parents=True)
    (site / "pkg").mkdir()  # what a site directory holds does not count
    for relative in beside:
        path = prefix / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return site


@pytest.mark.parametrize(
    ("beside", "depth", "relocated_depth"),
    [
        # Nothing but the way down: a --target directory named like a site directory.
        ((), 0, 2),
        (("pyvenv.cfg",), 3, 0),  # a venv
        (("bin/tool",), 3, 0),  # a --prefix or --user install's scripts
        (("share/x/data.txt",), 3, 0),  # ... or its data
        ((f"lib/{THIS_PYTHON}/os.py",), 3, 0),  # a base prefix's standard library
        (("lib/libx.so",), 3, 0),  # anything else beside the way down
    ],
)
def test_a_scheme_match_is_a_site_directory_only_below_a_prefix(
    tmp_path, beside, depth, relocated_depth
):
    site = _site_in(tmp_path / "prefix", *beside)
    layout = site_layout(str(site))
    assert (layout.depth, layout.relocated_depth, layout.scripts_dir) == (
        depth,
        relocated_depth,
        "bin",
    )
    assert layout.root == str(site)


@pytest.mark.parametrize("beside", [(), ("pyvenv.cfg",)])
def test_a_linked_entry_has_the_layout_of_the_directory_it_names(tmp_path, beside):
    site = _site_in(tmp_path / "prefix", *beside)
    link = tmp_path / "links" / "plugins"
    link.parent.mkdir()
    link.symlink_to(site)
    linked, real = site_layout(str(link)), site_layout(str(site))
    assert (linked.depth, linked.relocated_depth) == (real.depth, real.relocated_depth)
    assert linked.root == real.root == str(site)
    # The check climbs from the resolved entry only where rows may climb out.
    assert climbing_root(str(link), linked.depth) == (str(site) if linked.depth else str(link))


def test_the_running_interpreters_prefix_is_a_prefix():
    assert os.path.realpath(sys.prefix) in _interpreter_prefixes()
    assert site_layout(os.path.realpath(PURELIB)).depth == site_layout(PURELIB).depth > 0
