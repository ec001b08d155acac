"""discover() against importlib.metadata.entry_points() on fake installed distributions.

The fast path lists sys.path itself; every case here compares it with what importlib
finds, and checks whether the fast path or the exact fallback produced the answer.
"""

import hashlib
import importlib.machinery
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata

# Python 3.13 imports this (and email) lazily, when the tests' sys.path no longer has them.
from importlib.metadata import _adapters  # noqa: F401
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from insidellms_provenance.fingerprint._discover import (
    declaring_directories,
    discover,
    normalized_name,
)
from privileges import unprivileged

GROUP = "fake.plugins"


def write_info(directory: Path, child: str, *, name: str, entry_points: str | None = None) -> Path:
    """A metadata directory ``child`` with METADATA and, if given, entry_points.txt."""
    info = directory / child
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    return info


def declares(*names: str, group: str = GROUP) -> str:
    lines = "".join(f"{name} = {name.replace('-', '_')}_mod:register\n" for name in names)
    return f"[{group}]\n{lines}"


def described(eps):
    return [
        (
            ep.name,
            ep.value,
            ep.group,
            type(ep.dist),
            str(ep.dist._path),
            str(ep.dist.locate_file("")),
        )
        for ep in eps
    ]


OWN_HOOK = ("insidellms.plugins", "!provenance", "insidellms_provenance.host.plugin:register")


def is_own_hook(ep: metadata.EntryPoint) -> bool:
    """This package's hook, declared by this package's distribution (importlib's key)."""
    own = ep.dist is not None and ep.dist._normalized_name == "insidellms_provenance"
    return own and (ep.group, ep.name, ep.value) == OWN_HOOK


def expected(group: str = GROUP):
    metadata.FastPath.__new__.cache_clear()  # its listings are cached by mtime
    eps = sorted(metadata.entry_points(group=group), key=lambda ep: (ep.name, ep.value))
    return described(ep for ep in eps if not is_own_hook(ep))


def discovered(monkeypatch: pytest.MonkeyPatch, group: str = GROUP, *, fast: bool):
    """discover(group), asserting whether it took the fast path."""
    calls = []

    def distributions(**kwargs):
        if fast:
            raise AssertionError("the fast path must not iterate metadata.distributions()")
        calls.append(kwargs)
        return real(**kwargs)

    real = metadata.distributions
    with monkeypatch.context() as patch:
        patch.setattr(metadata, "distributions", distributions)
        eps = discover(group)
        result = described(eps)
        # verify's shortcut names the same distributions, without parsing entry points.
        directories = declaring_directories(group)
    assert bool(calls) is not fast
    if fast:
        assert directories is not None
        assert len(set(directories)) == len(directories)
        assert set(directories) == {str(ep.dist._path) for ep in eps}
    else:
        assert directories is None
    return result


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Two empty directories, alone on sys.path."""
    directories = [tmp_path / "first", tmp_path / "second"]
    for directory in directories:
        directory.mkdir()
    monkeypatch.setattr(sys, "path", [str(directory) for directory in directories])
    return directories


@pytest.mark.parametrize("group", ["console_scripts", "insidellms.plugins"])
def test_fast_path_in_this_environment(monkeypatch, group):
    # This package's console script is an entry point like any other; its hook is not.
    result = discovered(monkeypatch, group, fast=True)
    assert result == expected(group)
    hooks = [ep for ep in discover(group, include_own=True) if ep.name == OWN_HOOK[1]]
    assert [is_own_hook(ep) for ep in hooks] == ([True] if group == OWN_HOOK[0] else [])


def test_entry_points_are_importlibs_own(site, monkeypatch):
    write_info(site[0], "plug-1.0.dist-info", name="plug", entry_points=declares("plug"))
    (site[0] / "plug_mod.py").write_text("def register():\n    return 42\n")
    monkeypatch.delitem(sys.modules, "plug_mod", raising=False)
    [ep] = discover(GROUP)
    try:
        assert isinstance(ep, metadata.EntryPoint)
        assert isinstance(ep.dist, metadata.PathDistribution)
        assert (ep.module, ep.attr, ep.load()()) == ("plug_mod", "register", 42)
    finally:
        sys.modules.pop("plug_mod", None)
    assert ep.dist.locate_file("") == site[0]
    assert ep.dist.read_text("METADATA").startswith("Metadata-Version")
    assert [found.name for found in ep.dist.entry_points] == ["plug"]


# (path entry, metadata directory, METADATA Name, entry_points.txt), and the entry
# points found (or the outcomes allowed, where importlib leaves the order to the file
# system): the first path entry holding a distribution wins, as in importlib.
SHADOWING = [
    pytest.param(
        [
            (0, "foo-1.0.dist-info", "foo", declares(group="other")),
            (1, "foo-2.0.dist-info", "foo", declares("foo")),
            (1, "bar-1.0.dist-info", "bar", declares("bar")),
        ],
        ["bar"],
        id="first-wins-without-declaring-the-group",
    ),
    pytest.param(
        [
            (0, "foo-1.0.dist-info", "foo", declares(group="other")),
            (1, "foo-2.0.dist-info", "foo", None),
            (1, "bar-1.0.dist-info", "bar", declares("bar")),
        ],
        ["bar"],
        id="first-wins-neither-declares",
    ),
    pytest.param(
        [
            (0, "foo-1.0.dist-info", "foo", declares("a")),
            (1, "foo-2.0.dist-info", "foo", declares("b")),
        ],
        ["a"],
        id="first-wins-both-declare",
    ),
    pytest.param(
        [
            (1, "foo-1.0.dist-info", "foo", declares("a")),
            (0, "foo-2.0.dist-info", "foo", declares("b")),
        ],
        ["b"],
        id="first-wins-whatever-the-version",
    ),
    pytest.param(
        [
            (0, "foo-1.0.dist-info", "foo", declares("old")),
            (0, "foo-2.0.dist-info", "foo", declares("new")),
        ],
        (["old"], ["new"]),
        id="two-versions-in-one-directory",
    ),
    # Negative rows: distinct names in either entry never shadow each other.
    pytest.param(
        [
            (0, "foo-1.0.dist-info", "foo", declares("a")),
            (1, "bar-1.0.dist-info", "bar", declares("b")),
        ],
        ["a", "b"],
        id="other-names-both-found",
    ),
    pytest.param(
        [
            (0, "foo-1.0.dist-info", "foo", None),
            (1, "foo_bar-1.0.dist-info", "foo-bar", declares("b")),
        ],
        ["b"],
        id="a-longer-name-is-another-distribution",
    ),
    # importlib's key for an upper-case extension is METADATA's Name ("quiet"), not its
    # stem ("shout").
    *(
        pytest.param(
            [
                (0, child, "quiet", declares("upper")),
                (1, "quiet-2.0.dist-info", "quiet", declares("lower")),
                (1, "shout-2.0.dist-info", "shout", declares("shout")),
            ],
            ["shout", "upper"],
            id=f"upper-case-extension-{child}",
        )
        for child in ("Shout-1.0.DIST-INFO", "Shout-1.0.Egg-Info")
    ),
    pytest.param(
        [
            (0, "-1.0.dist-info", "nameless", declares("a")),
            (0, ".dist-info", "dotted", declares("b")),
            (1, "nameless-2.0.dist-info", "nameless", declares("c")),
            (1, "dotted-2.0.dist-info", "dotted", declares("d")),
        ],
        ["a", "b"],
        id="stems-importlib-takes-no-name-from",
    ),
    # A capital sigma lowercases to a final sigma before "_" or "-" but not before "." and
    # a letter: importlib lists "ALPHA SIGMA . BETA-1.dist-info" under "alpha sigma _ beta"
    # but de-duplicates it as "alpha final-sigma _ beta".
    pytest.param(
        [
            (0, "\u0391\u03a3.\u0392-1.dist-info", "\u0391\u03a3.\u0392", declares("sigma1")),
            (1, "\u03b1\u03c2_\u03b2-2.dist-info", "\u03b1\u03c2_\u03b2", declares("sigma2")),
            (1, "\u03b1\u03c3_\u03b2-2.dist-info", "\u03b1\u03c3_\u03b2", declares("sigma3")),
        ],
        ["sigma1", "sigma3"],
        id="non-ascii-lowercase-depends-on-context",
    ),
]


@pytest.mark.parametrize(("infos", "found"), SHADOWING)
def test_shadowing_follows_importlib(site, monkeypatch, infos, found):
    for entry, child, name, entry_points in infos:
        write_info(site[entry], child, name=name, entry_points=entry_points)
    result = discovered(monkeypatch, fast=True)
    assert result == expected()
    names = [row[0] for row in result]
    assert names in found if isinstance(found, tuple) else names == found


@pytest.mark.parametrize("split", [0, 1, 2, 3])
def test_spellings_of_one_normalized_name(site, monkeypatch, split):
    # The stem's name ends at its first "-": "FOO-bar-3" is "foo", like "foo-9".
    children = ["Foo.Bar-1.dist-info", "foo_bar-2.dist-info", "FOO-bar-3.dist-info"]
    for index, child in enumerate(children):
        directory = site[0] if index < split else site[1]
        write_info(directory, child, name="Foo.Bar", entry_points=declares(f"ep{index}"))
    write_info(site[1], "foo-9.dist-info", name="FOO", entry_points=declares("plain-foo"))
    result = discovered(monkeypatch, fast=True)
    assert result == expected()
    assert len(result) == 2


def test_egg_info_directory_and_file(site, monkeypatch):
    write_info(site[0], "legacy-1.0-py3.11.egg-info", name="legacy", entry_points=declares("a"))
    (site[0] / "flat-1.0.egg-info").write_text("Metadata-Version: 1.1\nName: flat\n")
    write_info(site[1], "legacy-2.0.dist-info", name="legacy", entry_points=declares("b"))
    result = discovered(monkeypatch, fast=True)
    assert result == expected()
    assert [row[0] for row in result] == ["a"]


def test_listing_order_is_grouped_as_importlib_groups_it(site, monkeypatch):
    # importlib groups a directory's children by their lowercase stem: "Foo.DIST-INFO"
    # (whose Name is "bar") follows "foo-2.dist-info" and so precedes "bar-1.dist-info".
    write_info(site[0], "foo-2.dist-info", name="foo", entry_points=declares("foo"))
    write_info(site[0], "bar-1.dist-info", name="bar", entry_points=declares("bar-plain"))
    write_info(site[0], "Foo.DIST-INFO", name="bar", entry_points=declares("bar-upper"))
    order = ["foo-2.dist-info", "bar-1.dist-info", "Foo.DIST-INFO"]
    real = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: order if path == str(site[0]) else real(path))
    result = discovered(monkeypatch, fast=True)
    assert result == expected()
    assert [row[0] for row in result] == ["bar-upper", "foo"]


def test_same_entry_point_from_two_distributions_keeps_discovery_order(site, monkeypatch):
    for directory, name in ((site[0], "zeta"), (site[1], "alpha"), (site[0], "mid")):
        write_info(directory, f"{name}-1.dist-info", name=name, entry_points=declares("same"))
    result = discovered(monkeypatch, fast=True)
    assert result == expected()
    assert len(result) == 3


@pytest.mark.parametrize(
    "entry_points",
    [
        None,
        "",
        f"# {GROUP}\n[other]\nx = mod:fn\n",
        f"[other]\n{GROUP} = mod:fn\n",
        f"[{GROUP}.extra]\nx = mod:fn\n",
        f"[other]\nx = mod:fn\n[{GROUP}]\ny = mod:fn\n",
    ],
)
def test_entry_points_files_that_may_or_may_not_declare(site, monkeypatch, entry_points):
    write_info(site[0], "one-1.dist-info", name="one", entry_points=entry_points)
    write_info(site[1], "one-2.dist-info", name="one", entry_points=declares("shadowed"))
    result = discovered(monkeypatch, fast=True)
    assert result == expected()
    assert [row[0] for row in result] == (["y"] if entry_points and "y =" in entry_points else [])


def test_entry_points_txt_that_is_a_directory_declares_nothing(site, monkeypatch):
    (write_info(site[0], "one-1.dist-info", name="one") / "entry_points.txt").mkdir()
    write_info(site[1], "one-2.dist-info", name="one", entry_points=declares("shadowed"))
    assert discovered(monkeypatch, fast=True) == expected() == []


_COMPARE_IN_CHILD = """
import json, sys
from importlib import metadata
from insidellms_provenance.fingerprint._discover import discover
sys.path[:0] = sys.argv[1:]
group = "fake.plugins"
fast = [(ep.name, ep.value, str(ep.dist._path)) for ep in discover(group)]
eps = sorted(metadata.entry_points(group=group), key=lambda ep: (ep.name, ep.value))
exact = [(ep.name, ep.value, str(ep.dist._path)) for ep in eps]
print(json.dumps([fast, exact]))
"""


def test_unreadable_entry_points_txt_declares_nothing(site):
    # A child process without root's permission bypass, so the kernel really refuses.
    info = write_info(site[0], "one-1.dist-info", name="one", entry_points=declares("one"))
    write_info(site[1], "one-2.dist-info", name="one", entry_points=declares("shadowed"))
    (info / "entry_points.txt").chmod(0)
    command = unprivileged(sys.executable, "-c", _COMPARE_IN_CHILD, *map(str, site))
    try:
        result = subprocess.run(command, capture_output=True, check=False)
    finally:
        (info / "entry_points.txt").chmod(0o644)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout) == [[], []]


def test_missing_and_duplicate_path_entries(site, monkeypatch, tmp_path):
    write_info(site[0], "one-1.dist-info", name="one", entry_points=declares("one"))
    path = [str(tmp_path / "missing"), *sys.path, str(site[0]), str(tmp_path / "x.egg")]
    monkeypatch.setattr(sys, "path", path)
    result = discovered(monkeypatch, fast=True)
    assert result == expected()
    assert len(result) == 1


def test_empty_path_entry_is_the_current_directory(site, monkeypatch):
    write_info(site[0], "one-1.dist-info", name="one", entry_points=declares("one"))
    write_info(site[1], "one-2.dist-info", name="one", entry_points=declares("shadowed"))
    monkeypatch.chdir(site[0])
    monkeypatch.setattr(sys, "path", ["", str(site[1])])
    result = discovered(monkeypatch, fast=True)
    assert result == expected()
    assert result[0][4] == "one-1.dist-info"


def test_zip_file_on_sys_path_falls_back(site, monkeypatch, tmp_path):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zipped-1.dist-info/METADATA", "Name: zipped\nVersion: 1\n")
        zipped.writestr("zipped-1.dist-info/entry_points.txt", declares("zipped"))
    write_info(site[1], "zipped-2.dist-info", name="zipped", entry_points=declares("on-disk"))
    write_info(site[1], "other-1.dist-info", name="other", entry_points=declares("other"))
    monkeypatch.setattr(sys, "path", [str(site[0]), str(archive), str(site[1])])
    result = discovered(monkeypatch, fast=False)
    assert result == expected()
    assert [row[0] for row in result] == ["other", "zipped"]


def test_egg_directory_on_sys_path_falls_back(site, monkeypatch, tmp_path):
    egg = tmp_path / "legacy-1.0-py3.11.egg"
    write_info(egg, "EGG-INFO", name="legacy", entry_points=declares("egg"))
    write_info(site[1], "legacy-2.0.dist-info", name="legacy", entry_points=declares("wheel"))
    monkeypatch.setattr(sys, "path", [str(site[0]), str(egg), str(site[1])])
    result = discovered(monkeypatch, fast=False)
    assert result == expected()
    assert [row[0] for row in result] == ["egg"]


def test_other_distribution_finder_falls_back(site, monkeypatch, tmp_path):
    hidden = write_info(
        tmp_path / "hidden", "one-1.dist-info", name="one", entry_points=declares("from-finder")
    )
    write_info(site[0], "one-2.dist-info", name="one", entry_points=declares("from-path"))

    class Finder:
        @staticmethod
        def find_spec(*_args):
            return None

        @staticmethod
        def find_distributions(_context=None):
            return iter([metadata.PathDistribution(hidden)])

    monkeypatch.setattr(sys, "meta_path", [Finder, *sys.meta_path])
    result = discovered(monkeypatch, fast=False)
    assert result == expected()
    assert [row[0] for row in result] == ["from-finder"]


def test_without_path_finder_falls_back(site, monkeypatch):
    write_info(site[0], "one-1.dist-info", name="one", entry_points=declares("one"))
    finders = [finder for finder in sys.meta_path if finder is not importlib.machinery.PathFinder]
    monkeypatch.setattr(sys, "meta_path", finders)
    assert discovered(monkeypatch, fast=False) == expected() == []


# Capital, plain and final sigma: lowercasing depends on the neighbours.
name_parts = st.text(alphabet="aAbB.-_\u03a3\u03c3\u03c2", min_size=1, max_size=4)
children = st.tuples(
    st.integers(0, 2),  # which directory
    name_parts,  # the stem's name
    st.sampled_from(["dist-info", "egg-info", "DIST-INFO", "Egg-Info"]),
    name_parts,  # METADATA's Name
    st.sampled_from([None, "ep", "other"]),  # what entry_points.txt declares
)


@given(st.lists(children, max_size=12), st.integers(0, 2**32))
@settings(max_examples=150, deadline=None)
def test_random_sites_match_importlib(specs, seed):
    def shuffled(names):
        return sorted(names, key=lambda name: hashlib.sha256(f"{seed}{name}".encode()).digest())

    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        directories = [Path(tmp, str(index)) for index in range(3)]
        for directory in directories:
            directory.mkdir()
        for version, (index, stem, extension, name, group) in enumerate(specs):
            child = f"{stem}-{version}.{extension}"
            entry_points = None if group is None else declares(f"ep{version}", "same", group=group)
            write_info(directories[index], child, name=name, entry_points=entry_points)
        real = os.listdir
        patch.setattr(os, "listdir", lambda path: shuffled(real(path)))
        patch.setattr(sys, "path", [str(directory) for directory in directories])
        want = expected("ep")
        assert discovered(patch, "ep", fast=True) == want


@given(name=st.text(alphabet=st.sampled_from("aZ9._-É\u0130ß "), max_size=12))
def test_normalized_name_is_packagings_canonicalize_name(name):
    assert normalized_name(name) == canonicalize_name(name)


@given(name=st.text(alphabet=st.sampled_from("aZ9._-É\u0130ß "), max_size=12))
def test_lookup_normalization_is_importlibs(name):
    """The key discovery groups metadata directories by: ``Prepared.normalize``."""
    from importlib.metadata import Prepared

    from insidellms_provenance.fingerprint._discover import _normalize

    assert _normalize(name) == Prepared.normalize(name)
