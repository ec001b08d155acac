"""Package directories that several distributions install into, by real pip and uv.

Portions of a ``pkgutil`` namespace (``zope.*``, ``backports.*``, old ``azure-*``) each
list the shared ``zz/__init__.py``, so each one's walk for unexpected files met the
others' subpackages; and a distribution may install a subpackage into another's regular
package (``gx/ext/`` of ``gx-ext`` into ``gx-core``'s ``gx/``). Each flagged the other's
files (under pip their compiled caches too): genuine installs were ``modified``, and pip
and uv gave different field bytes. A file another RECORD of the site directory lists,
with bytes that match it, is that distribution's; ``gx-core``'s ``gx/__init__.py``,
which runs before ``gx-ext``'s modules, is still ``gx-ext``'s finding (docs/verify.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from venvtools import create_venv, install
from wheelbuilder import WheelSpec, build_wheel

NAMESPACE_INIT = b"__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"
REGISTER = b"def register():\n    return None\n"
PLUGINS = ("zz.alpha", "zz.beta", "gx-core", "gx-ext")


def _specs() -> list[WheelSpec]:
    portions = [
        WheelSpec(
            name=f"zz.{name}",
            version="1.0",
            files={
                "zz/__init__.py": NAMESPACE_INIT,
                f"zz/{name}/__init__.py": REGISTER,
                f"zz/{name}/data.txt": name.encode(),
            },
            entry_points={"insidellms.plugins": {f"zz{name}": f"zz.{name}:register"}},
        )
        for name in ("alpha", "beta")
    ]
    return [
        *portions,
        WheelSpec(
            name="gx-core",
            version="1.0",
            files={"gx/__init__.py": REGISTER, "gx/core.py": b"X = 1\n"},
            entry_points={"insidellms.plugins": {"gxcore": "gx:register"}},
        ),
        WheelSpec(
            name="gx-ext",
            version="1.0",
            files={"gx/ext/__init__.py": REGISTER, "gx/ext/more.py": b"Y = 2\n"},
            entry_points={"insidellms.plugins": {"gxext": "gx.ext:register"}},
        ),
    ]


@pytest.fixture(scope="module")
def shared_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("shared-wheels")
    for spec in _specs():
        build_wheel(spec, directory)
    return directory


def _installed(tmp_path: Path, installer: str, wheelhouse: Path, wheels: Path) -> object:
    venv = create_venv(tmp_path / installer, installer)
    extra = ("--find-links", str(wheelhouse))
    if installer == "pip":
        extra += ("--compile",)  # pip compiles every portion's caches, the others' too
    install(venv, "insidellms-provenance", *PLUGINS, find_links=wheels, extra=extra)
    return venv


def test_shared_package_directories_are_verified_and_pip_equals_uv(
    tmp_path, wheelhouse, shared_wheels
):
    fields = {}
    for installer in ("pip", "uv"):
        venv = _installed(tmp_path, installer, wheelhouse, shared_wheels)
        if installer == "pip":
            caches = list(venv.site_packages.glob("zz/*/__pycache__/*.pyc"))
            assert len(caches) == 2, caches  # the case that differed from uv
        fields[installer] = venv.record()
        integrity = {
            plugin["entry_point"]["name"]: plugin["distribution"]["integrity"]
            for plugin in json.loads(fields[installer])["plugins"]
        }
        verified = {"status": "verified", "paths": [], "bytecode": "checked"}
        assert integrity == {
            **dict.fromkeys(("gxcore", "zzalpha", "zzbeta"), verified),
            # gx-core's __init__ runs before gx-ext's modules, and gx-ext's RECORD does
            # not vouch for it: reported, as docs/verify.md decides.
            "gxext": {"status": "modified", "paths": ["gx/__init__.py"], "bytecode": "checked"},
        }, installer
        verify = venv.run("-m", "insidellms_provenance", "verify", "--format", "json")
        assert verify.returncode == 1, verify.stderr.decode()
        assert [
            (finding["distribution"], finding["path"])
            for finding in json.loads(verify.stdout)["findings"]
        ] == [("gx-ext", "gx/__init__.py")]
        if installer == "pip":
            # A sibling's file changed is still found, by the sibling and by the walk
            # that meets it (the other RECORD's claim no longer holds).
            data = venv.site_packages / "zz/beta/data.txt"
            data.write_bytes(b"changed")
            tampered = venv.run("-m", "insidellms_provenance", "verify", "--format", "json")
            assert tampered.returncode == 1
            found = {
                (finding["path"], finding["problem"])
                for finding in json.loads(tampered.stdout)["findings"]
            }
            assert ("zz/beta/data.txt", "content does not match RECORD hash") in found
            assert ("zz/beta/data.txt", "unexpected file: not listed in RECORD") in found
            data.write_bytes(b"beta")
    assert fields["pip"] == fields["uv"]
