"""An editable install's code in a skipped directory, and names that are not UTF-8.

setuptools' ``editable_mode=strict`` puts ``CHECKOUT/build/__editable__.*/`` on
``sys.path``: a tree of absolute symlinks into the source, which is what Python imports.
``editable_digest`` skips a top-level ``build/``, so replacing a file of that tree ran
other code under a byte-identical field (``verify RUN`` exit 0). The directories an
install's ``.pth`` lines lead into are now digested, with each link of the tree counted
as the source file it stands for: a genuine strict install records the bytes of a
lenient or compat one, wherever the checkout lies. And a file whose name is not UTF-8 in
the checkout made ``record`` exit 2 for every plugin; it is now digested as its bytes.

Real installs: pip, with setuptools from the package index as the build backend.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hostile_kit import snapshot

from venvtools import Venv, create_venv, install

PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
[project]
name = "eta-plugin"
version = "0.1"
[project.entry-points."insidellms.plugins"]
eta = "eta_plugin:register"
[tool.setuptools.packages.find]
where = ["src"]
[tool.setuptools.package-data]
eta_plugin = ["*.txt"]
"""
REGISTER = "def register():\n    return None\n"
OTHER_CODE = "import os\ndef register():\n    return os.getpid()\n"
ENV = {"PYTHONDONTWRITEBYTECODE": "1"}


def _project(root: Path) -> Path:
    (root / "src" / "eta_plugin").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "src" / "eta_plugin" / "__init__.py").write_text(REGISTER)
    (root / "src" / "eta_plugin" / "helper.py").write_text("X = 1\n")
    (root / "src" / "eta_plugin" / "notes.txt").write_text("data\n")
    return root


def _editable(
    parent: Path, project: Path, mode: str, wheelhouse: Path, setuptools_wheels: Path
) -> Venv:
    """A pip venv with the tool, and ``project`` installed editable in setuptools ``mode``."""
    venv = create_venv(parent / "venv", "pip")
    install(venv, "insidellms-provenance", find_links=wheelhouse)
    options = ("--config-settings", f"editable_mode={mode}")
    install(venv, "-e", str(project), find_links=setuptools_wheels, extra=options)
    return venv


def _source(field: bytes) -> dict:
    return json.loads(field)["plugins"][0]["source"]


def _link_tree_file(project: Path, name: str) -> Path:
    (tree,) = (project / "build").glob("__editable__.eta_plugin-0.1-*")
    return tree / "eta_plugin" / name


@pytest.mark.parametrize(
    "tamper",
    ["regular-file", "link-outside", "link-to-other-file", "new-module"],
)
def test_strict_editable_link_tree_is_digested(
    tamper: str, wheelhouse: Path, setuptools_wheels: Path, tmp_path: Path
) -> None:
    """Changing what Python imports from ``build/__editable__.*`` changes the field.

    Before the fix the field was byte-identical and ``verify RUN`` exited 0.
    """
    project = _project(tmp_path / "co")
    venv = _editable(tmp_path, project, "strict", wheelhouse, setuptools_wheels)
    init = _link_tree_file(project, "__init__.py")
    assert init.is_symlink()
    assert os.readlink(init) == str(project / "src" / "eta_plugin" / "__init__.py")
    (tmp_path / "before.json").write_bytes(before := venv.record(env=ENV))
    (tmp_path / "elsewhere.py").write_text(OTHER_CODE)
    (project / "src" / "eta_plugin" / "other.py").write_text(OTHER_CODE)
    other_digest = _source(venv.record(env=ENV))["editable_digest"]
    if tamper == "new-module":
        _link_tree_file(project, "evil.py").write_text(OTHER_CODE)
    else:
        init.unlink()
        if tamper == "regular-file":
            init.write_text(OTHER_CODE)
        elif tamper == "link-outside":
            init.symlink_to(tmp_path / "elsewhere.py")
        else:
            init.symlink_to(project / "src" / "eta_plugin" / "other.py")
    probe = "import eta_plugin, inspect; print(inspect.getsource(eta_plugin), end='')"
    ran = venv.run("-c", probe, env=ENV).stdout.decode()
    assert ran == (REGISTER if tamper == "new-module" else OTHER_CODE)
    after = _source(venv.record(env=ENV))
    assert after["editable_digest"] not in (_source(before)["editable_digest"], other_digest)
    files = snapshot(tmp_path, {tmp_path / "venv"})
    result = venv.run("-m", "insidellms_provenance", "verify", "before.json", cwd=tmp_path, env=ENV)
    assert result.returncode == 1, result.stdout.decode() + result.stderr.decode()
    assert b"different editable source files" in result.stdout
    assert b"Traceback" not in result.stderr
    assert snapshot(tmp_path, {tmp_path / "venv"}) == files  # verify changed no file


def test_strict_lenient_and_compat_editables_record_the_same_bytes(
    wheelhouse: Path, setuptools_wheels: Path, tmp_path: Path
) -> None:
    """Whatever the mode and the checkout's path, a genuine editable records one field.

    The strict tree's absolute links stand for the source files they point at, so
    neither the checkout's path nor the mode reaches the digest.
    """
    installs = [("strict", "co one"), ("lenient", "co-two/deeper"), ("compat", "c3")]
    installs.append(("strict", "checkout four"))
    fields = {}
    for number, (mode, checkout) in enumerate(installs):
        parent = tmp_path / str(number)
        project = _project(parent / checkout)
        venv = _editable(parent, project, mode, wheelhouse, setuptools_wheels)
        assert (project / "build").is_dir() is (mode == "strict")
        fields[mode, checkout] = venv.record(env=ENV)
    plugins = {key: json.loads(field)["plugins"] for key, field in fields.items()}
    assert len({json.dumps(value, sort_keys=True) for value in plugins.values()}) == 1
    assert _source(fields["strict", "co one"])["editable_digest"].startswith("sha256:")


def test_a_file_name_not_utf8_in_an_editable_checkout_is_digested(
    wheelhouse: Path, setuptools_wheels: Path, tmp_path: Path
) -> None:
    """Before the fix: ``record`` exit 2, ``$[0][0]: string contains a lone surrogate``."""
    project = _project(tmp_path / "co")
    venv = _editable(tmp_path, project, "lenient", wheelhouse, setuptools_wheels)
    clean = _source(venv.record(env=ENV))["editable_digest"]
    (project / os.fsdecode(b"notes-\xe9.txt")).write_bytes(b"x")
    files = snapshot(tmp_path, {tmp_path / "venv"})
    first = venv.run("-m", "insidellms_provenance", "record", env=ENV)
    assert first.returncode == 0, first.stderr.decode()
    assert first.stderr == b""
    assert "\\udc" not in first.stdout.decode("utf-8")  # no lone surrogate, escaped or not
    assert snapshot(tmp_path, {tmp_path / "venv"}) == files  # record changed no file
    digests = [_source(first.stdout)["editable_digest"]]
    (project / os.fsdecode(b"notes-\xe9.txt")).rename(project / os.fsdecode(b"notes-\xff.txt"))
    digests.append(_source(venv.record(env=ENV))["editable_digest"])
    (project / os.fsdecode(b"notes-\xff.txt")).unlink()
    (project / "link").symlink_to(os.fsdecode(b"target-\xe9"))  # a target not UTF-8 either
    digests.append(_source(venv.record(env=ENV))["editable_digest"])
    assert len({clean, *digests}) == 4
