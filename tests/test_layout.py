import sysconfig

import pytest

from insidellms_provenance.fingerprint.install_layout import site_layout

PURELIB = sysconfig.get_paths()["purelib"]


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
        ("/any/where/venv/lib/python3.11/site-packages", 3),
        ("/srv/app/vendor", 0),
        ("/", 0),
    ],
)
def test_site_layout_table(site_dir, depth):
    assert site_layout(site_dir).depth == depth
