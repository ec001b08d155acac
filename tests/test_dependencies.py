"""Dependency closures over real installed wheels (unpacked onto ``sys.path``)."""

from __future__ import annotations

import shutil
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from dependency_catalog import CLOSURES, dependency_catalog, unpack
from insidellms_provenance.fingerprint import _dependencies as dependencies
from insidellms_provenance.fingerprint._dependencies import DependencyWalker
from insidellms_provenance.fingerprint._discover import InstalledDistributions
from insidellms_provenance.fingerprint._requirements import marker_applies, parse_requirement
from wheelbuilder import WheelSpec

EVERYTHING = ("chain-plugin", "chain-other", "lib-a", "lib-b", "lib-c", "lib-d", "lib-never")


def install(site: Path, *names: str, versions: dict[str, str] | None = None) -> None:
    catalog = dependency_catalog()
    versions = {"lib-b": "2.0.0", **(versions or {})}
    unpack(site, *(catalog[f"{name}-{versions.get(name, '1.0.0')}"] for name in names))


def closure_of(name: str):
    installed = InstalledDistributions()
    return DependencyWalker(installed).closure(installed.get(name))


@pytest.mark.parametrize("plugin", sorted(CLOSURES))
def test_closure_follows_markers_and_named_extras_only(site, plugin):
    install(site, *EVERYTHING)
    closure = closure_of(plugin)
    assert closure.names == CLOSURES[plugin]
    assert closure.unsatisfied == []
    assert all(isinstance(d, metadata.Distribution) for d in closure.distributions.values())


def test_a_removed_dependency_is_unsatisfied_and_not_followed(site):
    install(site, "chain-plugin", "lib-a", "lib-c")
    closure = closure_of("chain-plugin")
    assert closure.names == ["lib-a"]
    assert closure.unsatisfied == [
        {
            "name": "lib-b",
            "requirement": "lib-b[fast]>=2",
            "required_by": "lib-a",
            "installed": None,
            "reason": "missing",
        }
    ]


def test_a_version_outside_the_specifier_is_unsatisfied_but_still_in_the_closure(site):
    install(site, "chain-plugin", "lib-a", "lib-b", "lib-c", versions={"lib-b": "1.0.0"})
    closure = closure_of("chain-plugin")
    assert closure.names == ["lib-a", "lib-b", "lib-c"]
    assert [(u["name"], u["installed"], u["reason"]) for u in closure.unsatisfied] == [
        ("lib-b", "1.0.0", "version")
    ]


def test_invalid_requirements_are_recorded_and_the_rest_walked(site):
    plugin = WheelSpec(
        name="odd-plugin",
        version="1.0",
        files={"odd_plugin/__init__.py": b""},
        requires_dist=("lib-c", "not a requirement!", 'lib-d; python_version ~= "3"'),
    )
    unpack(site, plugin)
    install(site, "lib-c", "lib-d")
    closure = closure_of("odd-plugin")
    assert closure.names == ["lib-c"]
    assert [(u["name"], u["requirement"], u["reason"]) for u in closure.unsatisfied] == [
        (None, "not a requirement!", "invalid"),
        ("lib-d", 'lib-d; python_version ~= "3"', "invalid"),
    ]


def test_a_cycle_and_a_self_reference_end(site):
    cyclic = WheelSpec(
        name="cyc-a",
        version="1",
        files={"cyc_a/__init__.py": b""},
        requires_dist=("cyc-b", 'cyc-a[x]; extra == "never"', "Cyc_A[all]"),
        provides_extra=("all",),
    )
    other = WheelSpec(
        name="cyc-b", version="1", files={"cyc_b/__init__.py": b""}, requires_dist=("cyc-a",)
    )
    unpack(site, cyclic, other)
    closure = closure_of("cyc-a")
    assert closure.names == ["cyc-b"]
    assert closure.unsatisfied == []


def test_first_distribution_on_the_path_wins(site, tmp_path, monkeypatch):
    later = tmp_path / "later"
    later.mkdir()
    install(site, "chain-other", "lib-c")
    catalog = dependency_catalog()
    unpack(later, catalog["lib-b-2.1.0"], catalog["lib-c-1.0.0"])
    shutil.rmtree(site / "lib_c-1.0.0.dist-info")
    monkeypatch.setattr(sys, "path", [str(site), str(later), *sys.path[1:]])
    closure = closure_of("chain-other")
    assert closure.names == ["lib-c"]
    assert str(closure.distributions["lib-c"].locate_file("")) == str(later)


def test_installed_distributions_are_the_ones_importlib_finds(site, tmp_path, monkeypatch):
    later = tmp_path / "later"
    later.mkdir()
    install(site, *EVERYTHING)
    unpack(later, dependency_catalog()["lib-b-2.1.0"])
    monkeypatch.setattr(sys, "path", [str(site), str(later), *sys.path[1:]])
    installed = InstalledDistributions()
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        ours = installed.get(canonicalize_name(name))
        theirs = metadata.distribution(name)
        assert ours is not None
        assert (ours.version, ours.locate_file("")) == (theirs.version, theirs.locate_file(""))
    assert installed.get("lib-b").version == "2.0.0"
    assert installed.get("not-installed") is None


def test_egg_info_requirements_are_read_as_importlib_reads_them(site):
    info = site / "legacy_dep-1.0.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy-dep\nVersion: 1.0\n")
    (info / "requires.txt").write_text(
        "lib-c\n\n[fast]\nlib-d\n\n[:python_version < '3']\nlib-never\n"
    )
    install(site, "lib-c", "lib-d", "lib-never")
    installed = InstalledDistributions()
    legacy = installed.get("legacy-dep")
    text = (info / "requires.txt").read_text()
    ours = [parse_requirement(value) for value in dependencies._egg_requires(text)]
    theirs = [parse_requirement(value) for value in legacy.requires or []]
    assert [(r.name, r.specifier, r.extras) for r in ours] == [
        (r.name, r.specifier, r.extras) for r in theirs
    ]
    for extras in (frozenset(), frozenset({"fast"})):
        assert [marker_applies(r, extras) for r in ours] == [
            marker_applies(r, extras) for r in theirs
        ]
    assert DependencyWalker(installed).closure(legacy).names == ["lib-c"]


def test_closures_and_table_are_the_same_with_the_cache_off_cold_and_warm(site, tmp_path):
    install(site, *EVERYTHING, versions={"lib-b": "1.0.0"})  # one unsatisfied requirement
    info = site / "legacy_dep-1.0.egg-info"  # never cached: requires.txt is outside the key
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy-dep\nVersion: 1.0\n")
    (info / "requires.txt").write_text("lib-c\n")
    unpack(
        site,
        WheelSpec(
            name="egg-user",
            version="1",
            files={"egg_user/__init__.py": b""},
            requires_dist=("legacy-dep", "chain-other"),
        ),
    )
    cache = tmp_path / "cache"

    def recorded(directory: Path | None):
        table = dependencies.DependencyTable(directory)
        installed = InstalledDistributions()
        closures = [
            table.closure(installed.get(name))
            for name in ("chain-plugin", "chain-other", "egg-user")
        ]
        return closures, table.table

    off = recorded(None)
    assert off[0][0][1] != []  # the unsatisfied lib-b
    assert recorded(cache) == off  # cold: computes and stores
    stored = sorted(cache.iterdir())
    assert len(stored) == len(off[1]) - 1  # every dependency but the .egg-info
    assert recorded(cache) == off  # warm: every entry a hit
    assert sorted(cache.iterdir()) == stored
