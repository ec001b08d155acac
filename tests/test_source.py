"""The editable source-tree digest: what counts as the plugin's code and what is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from insidellms_provenance.fingerprint.source import source_tree_digest


def _project(root: Path) -> Path:
    """A src-layout project whose package has a subpackage named ``build``."""
    for relative, text in {
        "pyproject.toml": "[project]\nname = 'demo'\n",
        "src/demo/__init__.py": "def register():\n    return None\n",
        "src/demo/build/__init__.py": "STEPS = 1\n",
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("relative", "counts"),
    [
        # Real code and data, wherever it lies and whatever its directory is called.
        ("src/demo/build/__init__.py", True),
        ("src/demo/dist/__init__.py", True),
        ("src/demo/venv/__init__.py", True),
        ("src/demo/node_modules/loader.py", True),
        ("src/demo/build/steps/x.py", True),
        ("src/demo/data/model.json", True),
        ("build/__init__.py", True),  # a flat-layout package named `build`
        ("setup.py", True),
        # Tool output, caches and other environments: never the plugin's code.
        ("build/lib/demo/__init__.py", False),
        ("dist/demo-0.1-py3-none-any.whl", False),
        ("node_modules/left-pad/index.js", False),
        ("src/demo.egg-info/PKG-INFO", False),
        ("src/demo/__pycache__/x.cpython-311.pyc", False),
        ("src/demo/x.pyc", False),
        (".git/HEAD", False),
        ("src/demo/.mypy_cache/x.json", False),
        (".tox/py311/lib/x.py", False),
        (".venv/lib/x.py", False),
        ("env/lib/x.py", False),  # any directory holding pyvenv.cfg
    ],
)
def test_what_counts_as_source(tmp_path, relative, counts):
    root = _project(tmp_path / "project")
    (root / ".venv").mkdir()
    (root / ".venv" / "pyvenv.cfg").write_text("home = /x\n")
    (root / "env").mkdir()
    (root / "env" / "pyvenv.cfg").write_text("home = /x\n")
    before = source_tree_digest(root)
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("changed\n")
    assert (source_tree_digest(root) != before) is counts


def test_the_same_source_under_another_directory_name_has_the_same_digest(tmp_path):
    assert source_tree_digest(_project(tmp_path / "checkout-a")) == source_tree_digest(
        _project(tmp_path / "another name")
    )
