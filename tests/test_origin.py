"""``origin``: did the imported module come from the distribution's own files?"""

from __future__ import annotations

import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

from insidellms_provenance.field import schema
from insidellms_provenance.fingerprint._loader import imported_file
from insidellms_provenance.fingerprint._origin import check_origin, duplicate_versions

MODULE = "origin_probe_plugin"


@pytest.fixture
def layout(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / MODULE).mkdir(parents=True)
    (site / MODULE / "__init__.py").write_text("")
    elsewhere = tmp_path / "elsewhere" / MODULE
    elsewhere.mkdir(parents=True)
    (elsewhere / "__init__.py").write_text("")
    editable = tmp_path / "src"
    (editable / MODULE).mkdir(parents=True)
    (editable / MODULE / "__init__.py").write_text("")
    roots = {"site": site, "elsewhere": elsewhere.parent, "editable": editable}

    def import_from(where: str | None) -> None:
        if where is None:
            monkeypatch.delitem(sys.modules, MODULE, raising=False)
            return
        # imported_file asks the import system's finders where the name is found, not
        # the module's __file__: the root goes on sys.path, as an import found it.
        module = types.ModuleType(MODULE)
        if where != "no file":
            monkeypatch.syspath_prepend(str(roots[where]))
            module.__file__ = str(roots[where] / MODULE / "__init__.py")
        monkeypatch.setitem(sys.modules, MODULE, module)

    return roots, import_from


ENTRY_POINT = metadata.EntryPoint(name="p", value=f"{MODULE}:register", group="g")
LISTED = frozenset({f"{MODULE}/__init__.py"})


def origin_of(
    roots: dict[str, Path],
    *,
    record_paths: frozenset[str] = LISTED,
    editable: bool = False,
    versions: list[str] | None = None,
) -> schema.Origin:
    """``check_origin`` of the probe module as the layout installed it."""
    return check_origin(
        imported_file(ENTRY_POINT),
        site_dir=roots["site"],
        record_paths=record_paths,
        editable_root=roots["editable"] if editable else None,
        versions=versions or [],
    )


@pytest.mark.parametrize(
    ("imported_from", "record_paths", "editable", "status"),
    [
        ("site", LISTED, False, "ok"),
        ("site", frozenset({"other/__init__.py"}), False, "shadowed"),  # not listed
        ("site", frozenset(), False, "unknown"),  # no RECORD (or none readable): no list
        ("elsewhere", frozenset(), False, "unknown"),
        ("elsewhere", LISTED, False, "shadowed"),  # an earlier directory on sys.path
        ("editable", frozenset(), True, "ok"),
        ("elsewhere", frozenset(), True, "shadowed"),
        (None, LISTED, False, "unknown"),  # not imported (load failed or disabled)
        ("no file", LISTED, False, "unknown"),  # a module without a file
    ],
)
def test_origin_status(layout, imported_from, record_paths, editable, status):
    roots, import_from = layout
    import_from(imported_from)
    found = origin_of(roots, record_paths=record_paths, editable=editable, versions=["1.0"])
    assert found == schema.origin(status=status)


@pytest.mark.parametrize(
    ("versions", "duplicates"),
    [([], []), (["1.0"], []), (["1.0", "0.9"], ["0.9", "1.0"]), (["1.0", "1.0"], ["1.0"])],
)
def test_duplicate_versions(layout, versions, duplicates):
    roots, import_from = layout
    import_from("site")
    assert origin_of(roots, versions=versions)["duplicate_versions"] == duplicates


def test_a_module_that_names_the_installed_file_as_its_own_is_still_shadowed(layout):
    """A shadowing copy earlier on sys.path may set ``__file__`` to the installed path."""
    roots, import_from = layout
    import_from("elsewhere")
    sys.modules[MODULE].__file__ = str(roots["site"] / MODULE / "__init__.py")
    assert origin_of(roots)["status"] == "shadowed"


def test_a_module_linked_into_a_cache_is_the_distributions_own(layout, tmp_path):
    """uv --link-mode=symlink: site/pkg/__init__.py is a symlink into uv's cache."""
    roots, import_from = layout
    cache = tmp_path / "cache" / MODULE
    cache.mkdir(parents=True)
    (cache / "__init__.py").write_text("")
    linked = roots["site"] / MODULE / "__init__.py"
    linked.unlink()
    linked.symlink_to(cache / "__init__.py")
    import_from("site")
    assert origin_of(roots)["status"] == "ok"


@pytest.mark.parametrize(
    ("copies", "editable", "versions"),
    [
        # Not editable: every copy counts, each with the version its METADATA holds.
        ([("site/demo-1.0.dist-info", "1.0"), ("src/demo.egg-info", "1.1")], False, ["1.0", "1.1"]),
        # Editable: the egg-info its backend wrote into the source tree is the same install.
        ([("site/demo-1.0.dist-info", "1.0"), ("src/demo.egg-info", "1.0")], True, []),
        # ... but a copy elsewhere still counts, with its own version.
        (
            [("site/demo-1.0.dist-info", "1.0"), ("old/demo.egg-info", "0.9")],
            True,
            ["1.0", "0.9"],
        ),
        # No METADATA: the version in the directory's name.
        (
            [("site/demo-1.0.dist-info", "1.0"), ("old/demo-0.8.dist-info", None)],
            False,
            ["1.0", "0.8"],
        ),
        # setup.py develop: the distribution's own metadata lies in the source tree.
        ([("src/demo.egg-info", "1.0")], True, []),
        # One install: no duplicate.
        ([("site/demo-1.0.dist-info", "1.0")], False, []),
    ],
)
def test_versions_of_copies_that_are_installs_of_their_own(tmp_path, copies, editable, versions):
    for directory, version in copies:
        (tmp_path / directory).mkdir(parents=True)
        if version is not None:
            name = "PKG-INFO" if directory.endswith(".egg-info") else "METADATA"
            (tmp_path / directory / name).write_text(f"Name: demo\nVersion: {version}\n")
    dist = metadata.PathDistribution(tmp_path / copies[0][0])
    found = duplicate_versions(
        dist,
        [str(tmp_path / directory) for directory, _ in copies],
        tmp_path / "src" if editable else None,
    )
    assert found == versions
