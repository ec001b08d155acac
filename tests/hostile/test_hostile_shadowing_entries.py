"""An entry Python imports in place of a listed module, beside it, is a finding of ``verify``.

A module of a namespace directory (``nsx/plug.py``) or a top-level module (``tmod.py``)
lies in a directory other distributions share, which the unexpected-file walk does not
claim. A package directory (``plug/__init__.py``) or an extension module of the same name
dropped beside it is imported first, and the listed file never runs: ``verify`` and
``record`` (integrity ``modified``) name it without importing anything. The controls: an
unrelated entry, and a directory without ``__init__`` (a namespace portion, which Python
imports only after the module), are nothing to report. An ``__init__`` (any import
suffix) dropped into a namespace directory above a listed module or package makes it a
regular package whose code runs first: reported too, by name, also where the package
below was proved clean by ``verify``'s fast walk. No other file changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.machinery import EXTENSION_SUFFIXES

import pytest
from hostile_kit import Case, Result, World, run_case

REGISTER = b"def register():\n    return None\n"


def _namespace_plugin(world: World) -> None:
    world.dist(
        "nsplug",
        files={"nsx/plug.py": REGISTER},
        entry_points="[insidellms.plugins]\nnsplug = nsx.plug:register\n",
    )


def _top_level_plugin(world: World) -> None:
    world.dist(
        "tmod",
        files={"tmod.py": REGISTER},
        entry_points="[insidellms.plugins]\ntmod = tmod:register\n",
    )


def _namespace_package_plugin(world: World) -> None:
    """A regular package (walked) inside a namespace directory (not walked)."""
    world.dist(
        "nspkg",
        files={"nsx/deep/pkg/__init__.py": REGISTER, "nsx/deep/pkg/core.py": b""},
        entry_points="[insidellms.plugins]\nnspkg = nsx.deep.pkg:register\n",
    )


def _namespace_plugin_owning_its_init(world: World) -> None:
    """The namespace module's directory has an ``__init__`` RECORD lists (not ``.py``)."""
    world.dist(
        "nsplug",
        files={f"nsx/__init__{EXTENSION_SUFFIXES[0]}": b"\x7fELF", "nsx/plug.py": REGISTER},
        entry_points="[insidellms.plugins]\nnsplug = nsx.plug:register\n",
    )


def _then(
    install: Callable[[World], None], *extra: str, command: str = "verify"
) -> Callable[[World], list[str]]:
    def build(world: World) -> list[str]:
        install(world)
        for relative in extra:
            world.write(f"site/{relative}", b"def register():\n    return 'other code'\n")
        return [command] if command == "verify" else ["record"]

    return build


def _integrity(status: str, paths: list[str]) -> Callable[[World, Result], None]:
    def check(_world: World, result: Result) -> None:
        (plugin,) = json.loads(result.stdout)["plugins"]
        integrity = plugin["distribution"]["integrity"]
        assert (integrity["status"], integrity["paths"]) == (status, paths)

    return check


EXTENSION = EXTENSION_SUFFIXES[0]
NAMESPACE_INIT = "unexpected file: Python runs it before any module below its directory"

CASES = [
    Case(
        "namespace-module-shadowed-by-a-package",
        _then(_namespace_plugin, "nsx/plug/__init__.py"),
        1,
        "nsx/plug/__init__.py  unexpected file: Python imports it in place of plug.py",
    ),
    Case(
        "top-level-module-shadowed-by-an-extension",
        _then(_top_level_plugin, f"tmod{EXTENSION}"),
        1,
        f"tmod{EXTENSION}  unexpected file: Python imports it in place of tmod.py",
    ),
    Case(
        "record-namespace-module-shadowed-by-a-package",
        _then(_namespace_plugin, "nsx/plug/__init__.py", command="record"),
        0,
        check=_integrity("modified", ["nsx/plug/__init__.py"]),
    ),
    # An ``__init__`` dropped into a namespace directory above the plugin's module makes
    # it a regular package: Python runs it first, whatever its suffix.
    Case(
        "namespace-directory-made-a-package-by-init-py",
        _then(_namespace_plugin, "nsx/__init__.py"),
        1,
        "nsx/__init__.py  " + NAMESPACE_INIT,
    ),
    Case(
        "namespace-directory-made-a-package-by-init-pyc",
        _then(_namespace_plugin, "nsx/__init__.pyc"),
        1,
        "nsx/__init__.pyc  " + NAMESPACE_INIT,
    ),
    Case(
        "namespace-directory-made-a-package-by-an-extension",
        _then(_namespace_plugin, f"nsx/__init__{EXTENSION}"),
        1,
        f"nsx/__init__{EXTENSION}  " + NAMESPACE_INIT,
    ),
    Case(
        "namespace-directories-above-a-package-made-packages",
        _then(_namespace_package_plugin, "nsx/__init__.py", "nsx/deep/__init__.pyc"),
        1,
        "nsx/deep/__init__.pyc  " + NAMESPACE_INIT,
    ),
    Case(
        "record-namespace-directory-made-a-package",
        _then(_namespace_package_plugin, "nsx/deep/__init__.py", command="record"),
        0,
        check=_integrity("modified", ["nsx/deep/__init__.py"]),
    ),
    Case(
        "namespace-init-listed-in-record",
        _then(_namespace_plugin_owning_its_init),
        0,
        "0 problems",
    ),
    Case(
        "namespace-package-untouched",
        _then(_namespace_package_plugin, "nsx/deep/other.py"),
        0,
        "0 problems",
    ),
    Case(
        "namespace-with-an-unrelated-package",
        _then(_namespace_plugin, "nsx/other/__init__.py"),
        0,
        "0 problems",
    ),
    Case(
        "namespace-portion-of-the-same-name",
        _then(_namespace_plugin, "nsx/plug/helper.py"),
        0,
        "0 problems",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_shadowing_entries(case: Case, world: World) -> None:
    run_case(case, world)
