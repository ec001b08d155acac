import sys
import sysconfig

import pytest

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
