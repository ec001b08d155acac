"""Discovery selects exactly the entry points the host's importlib.metadata selects.

The host loads ``importlib.metadata.entry_points(group="insidellms.plugins")``: any
other reading of ``entry_points.txt`` (its sections, comments, names, size) lets a
plugin run that no verdict judged. Parsing is compared with importlib's own, on
generated texts and on tables; this package's hook is left out only where this
package's distribution declares it; an ``entry_points.txt`` larger than the metadata
cap is read whole; and real wheels installed by uv and pip show ``record``, ``check``
and ``verify`` following the host.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insidellms_provenance._safe_io import DIST_FILE_LIMIT
from insidellms_provenance.fingerprint._discover import (
    _group_entries,
    _streamed_lines,
    declares_group,
    declaring_directories,
    discover,
    entry_points_of,
)
from venvtools import INSTALLERS, Venv, create_venv, install
from wheelbuilder import WheelSpec, build_wheel

GROUP = "insidellms.plugins"
OWN_HOOK = ("!provenance", "insidellms_provenance.host.plugin:register")
LARGE = DIST_FILE_LIMIT + (1 << 20)  # over the cap on every file system


class TextDistribution(metadata.Distribution):
    """A distribution whose ``entry_points.txt`` is ``text``: importlib's own parse of it."""

    def __init__(self, text: str) -> None:
        self._text = text

    def read_text(self, filename: str) -> str | None:
        return self._text if filename == "entry_points.txt" else None

    def locate_file(self, path: str | os.PathLike[str]) -> Path:
        raise NotImplementedError(path)


def importlib_entries(text: str, group: str) -> list[tuple[str, str]]:
    """What ``entry_points(group=group)`` selects from ``text`` (may raise ``TypeError``)."""
    return [(ep.name, ep.value) for ep in TextDistribution(text).entry_points.select(group=group)]


def importlib_sections(text: str, group: str) -> list[tuple[str, str]]:
    """The lines importlib's ``Sectioned`` puts in ``group``, split as ``Pair.parse`` splits.

    ``Pair.parse`` raises on a line without ``=``; this package reads it as an empty value.
    """
    lines = metadata.Sectioned.read(text, filter_=metadata.Sectioned.valid)  # type: ignore[attr-defined]
    found = []
    for section, line in lines:
        if section == group:
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def ours(text: str, group: str) -> list[tuple[str, str]]:
    return [(ep.name, ep.value) for ep in entry_points_of(text, group)]


# ---------------------------------------------------------------- the parse, generated

GROUPS = ["g", "insidellms.plugins", "g.x", "[g", "g]", " g"]
TOKENS = [
    "[", "]", "[[", "]]", " ", "\t", "#", ";", "=", " = ", "\x1f", "\ufeff",
    "a", "!provenance", ";hid", "é", "mod:fn", "insidellms_provenance.host.plugin:register",
    *GROUPS,
]  # fmt: skip
BREAKS = ["\n", "\r\n", "\r", "\u2028", "\x85", "\x0c", "\x1c"]
lines_strategy = st.lists(st.lists(st.sampled_from(TOKENS), max_size=6).map("".join), max_size=12)


@st.composite
def entry_points_texts(draw: st.DrawFn) -> str:
    lines = draw(lines_strategy)
    breaks = draw(st.lists(st.sampled_from(BREAKS), min_size=len(lines), max_size=len(lines)))
    return "".join(line + brk for line, brk in zip(lines, breaks, strict=True))


@given(entry_points_texts(), st.sampled_from(GROUPS))
@settings(max_examples=1500, deadline=None)
def test_parse_is_importlibs_on_generated_texts(text, group):
    assert ours(text, group) == importlib_sections(text, group)
    try:
        selected = importlib_entries(text, group)
    except TypeError:  # a line without "=" in some section: the host fails to start
        return
    assert ours(text, group) == selected


# (text, group, what importlib and this package both select)
TABLE = [
    pytest.param("[[g]]\na = m:f\n", "g", [("a", "m:f")], id="double-brackets-are-the-group"),
    pytest.param("[[[g]]\na = m:f\n", "g", [("a", "m:f")], id="unbalanced-brackets"),
    pytest.param("[g]\n;a = m:f\n", "g", [(";a", "m:f")], id="semicolon-is-a-name"),
    pytest.param("[ g ]\na = m:f\n", "g", [], id="spaced-brackets-are-not-the-group"),
    pytest.param("[ g ]\na = m:f\n", " g ", [("a", "m:f")], id="spaced-group-name"),
    pytest.param("[g]\n#a = m:f\n  # b = m:f\n", "g", [], id="hash-comments"),
    pytest.param("#[g]\na = m:f\n", "g", [], id="commented-section"),
    pytest.param("a = m:f\n[g]\n", "g", [], id="before-any-section"),
    pytest.param("[g]\na = m:f\na = m:f\n", "g", [("a", "m:f")] * 2, id="duplicates-kept"),
    pytest.param("[g]\n a =  m:f = x \n", "g", [("a", "m:f = x")], id="first-equals-splits"),
    pytest.param("[g]\n=v\n", "g", [("", "v")], id="empty-name"),
    pytest.param("[g]\n[a] = b\n", "g", [("[a]", "b")], id="brackets-inside-a-name"),
    pytest.param("[g]\n[other]\na = b\n", "g", [], id="next-section-ends-it"),
    pytest.param("[g]\na = b\n[other]\n[g]\nc = d\n", "g", [("a", "b"), ("c", "d")], id="twice"),
    pytest.param("[g]\r\na = b\r\n", "g", [("a", "b")], id="crlf"),
    pytest.param("[g]\u2028a = b\x85c = d", "g", [("a", "b"), ("c", "d")], id="unicode-breaks"),
    pytest.param("\ufeff[g]\na = b\n", "g", [], id="bom-is-not-stripped"),
    pytest.param("[g.x]\na = b\n", "g", [], id="longer-group"),
]


@pytest.mark.parametrize(("text", "group", "selected"), TABLE)
def test_parse_table(text, group, selected):
    assert importlib_entries(text, group) == selected
    assert ours(text, group) == selected


def test_line_without_equals_is_an_empty_value_where_importlib_raises():
    text = "[g]\njust-a-name\n"
    with pytest.raises(TypeError):
        importlib_entries(text, "g")
    assert ours(text, "g") == [("just-a-name", "")]


# ---------------------------------------------------------------- streaming


@given(
    st.text(alphabet="ab[]#=\n\r\x85\u2028\x1céΩ😀 ", max_size=80),
    st.integers(min_value=1, max_value=9),
)
@settings(max_examples=500, deadline=None)
def test_streamed_lines_are_splitlines(text, chunk):
    with tempfile.TemporaryFile() as file:
        file.write(text.encode())
        file.seek(0)
        assert list(_streamed_lines(file.fileno(), chunk)) == text.splitlines(keepends=True)


@given(entry_points_texts(), st.sampled_from(GROUPS), st.integers(min_value=1, max_value=7))
@settings(max_examples=300, deadline=None)
def test_streamed_parse_is_the_whole_parse(text, group, chunk):
    with tempfile.TemporaryFile() as file:
        file.write(text.encode())
        file.seek(0)
        streamed = _group_entries(_streamed_lines(file.fileno(), chunk), group)
    assert streamed == _group_entries(text.splitlines(), group)


@pytest.mark.parametrize("data", [b"[g]\na = \xff\n", b"[g]\na = \xc3"], ids=["bad", "cut"])
def test_streamed_invalid_utf8_raises_as_decoding_does(data):
    with tempfile.TemporaryFile() as file:
        file.write(data)
        file.seek(0)
        with pytest.raises(UnicodeDecodeError):
            list(_streamed_lines(file.fileno(), 2))


# ---------------------------------------------------------------- installed directories


@pytest.fixture
def sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One empty directory on ``sys.path``, with the standard library but no site-packages."""
    directory = tmp_path / "site"
    directory.mkdir()
    standard = [entry for entry in sys.path if entry and "-packages" not in entry]
    monkeypatch.setattr(sys, "path", [str(directory), *standard])
    metadata.FastPath.__new__.cache_clear()  # type: ignore[attr-defined]
    return directory


def write_info(site: Path, child: str, name: str, entry_points: bytes | None) -> Path:
    info = site / child
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_bytes(entry_points)
    return info


def host_selects(group: str = GROUP) -> list[tuple[str, str, str]]:
    """importlib's selection, sorted as the host loads it, with each distribution's key."""
    metadata.FastPath.__new__.cache_clear()  # type: ignore[attr-defined]
    eps = metadata.entry_points(group=group)
    return sorted((ep.name, ep.value, ep.dist._normalized_name) for ep in eps)  # type: ignore[union-attr]


def found(*, include_own: bool = False, group: str = GROUP) -> list[tuple[str, str, str]]:
    eps = discover(group, include_own=include_own)
    return [(ep.name, ep.value, ep.dist._normalized_name) for ep in eps]  # type: ignore[union-attr]


HOOK_LINE = f"{OWN_HOOK[0]} = {OWN_HOOK[1]}\n"
OWN_DIR = "insidellms_provenance-0.1.0.dist-info"

# (metadata directory, METADATA Name, entry_points.txt, entry-point names discover finds)
OWN_HOOK_CASES = [
    pytest.param(OWN_DIR, "insidellms-provenance", f"[{GROUP}]\n{HOOK_LINE}", [], id="own"),
    pytest.param(
        "Insidellms.Provenance-0.1.dist-info",
        "insidellms-provenance",
        f"[{GROUP}]\n{HOOK_LINE}",
        [],
        id="own-spelt-otherwise",
    ),
    pytest.param(
        OWN_DIR,
        "insidellms-provenance",
        f"[{GROUP}]\n{HOOK_LINE}extra = evil:register\n",
        ["extra"],
        id="own-distribution-declaring-more",
    ),
    pytest.param(
        OWN_DIR,
        "insidellms-provenance",
        f"[{GROUP}]\n{OWN_HOOK[0]} = insidellms_provenance.other:register\n",
        ["!provenance"],
        id="own-name-other-value",
    ),
    pytest.param(
        OWN_DIR,
        "insidellms-provenance",
        f"[{GROUP}]\nhook = {OWN_HOOK[1]}\n",
        ["hook"],
        id="own-value-other-name",
    ),
    pytest.param(
        "sneaky-1.0.dist-info",
        "sneaky",
        f"[{GROUP}]\nsneak = insidellms_provenance.zz_sneak:register\n",
        ["sneak"],
        id="other-distribution-in-our-namespace",
    ),
    pytest.param(
        "mimic-1.0.dist-info",
        "mimic",
        f"[{GROUP}]\n{HOOK_LINE}",
        ["!provenance"],
        id="other-distribution-declaring-our-hook",
    ),
]


@pytest.mark.parametrize(("child", "name", "text", "names"), OWN_HOOK_CASES)
def test_only_our_distributions_hook_is_left_out(sites, child, name, text, names):
    info = write_info(sites, child, name, text.encode())
    everything = host_selects()
    assert found(include_own=True) == everything
    assert [ep[0] for ep in found()] == names
    assert found() == [ep for ep in everything if ep[0] in names]
    declares = bool(names)
    assert declares_group(str(info), GROUP) is declares
    assert declaring_directories(GROUP) == ([str(info)] if declares else [])


def test_our_hook_in_another_group_is_an_entry_point(sites):
    write_info(sites, OWN_DIR, "insidellms-provenance", f"[other]\n{HOOK_LINE}".encode())
    assert found(group="other") == host_selects("other") != []


def padded_entry_points(path: Path, head: bytes, tail: bytes) -> None:
    """``head``, a comment line of zero bytes past the size cap, ``tail``: a sparse file."""
    with path.open("wb") as file:
        file.write(head + b"#")
        file.seek(LARGE)
        file.write(b"\n" + tail)


def test_entry_points_txt_over_the_cap_is_read_whole(sites):
    info = write_info(sites, "big-1.dist-info", "big", None)
    head = f"[{GROUP}]\nfirst = big:register\n".encode()
    padded_entry_points(info / "entry_points.txt", head, f"[{GROUP}]\nlast = big:late\n".encode())
    assert (info / "entry_points.txt").stat().st_size > DIST_FILE_LIMIT
    assert [ep[0] for ep in found()] == ["first", "last"]
    assert found() == host_selects()
    assert declares_group(str(info), GROUP)
    assert declaring_directories(GROUP) == [str(info)]


def test_entry_points_txt_over_the_cap_declaring_after_the_cap(sites):
    info = write_info(sites, "big-1.dist-info", "big", None)
    padded_entry_points(
        info / "entry_points.txt", b"", f"[{GROUP}]\nlate = big:register\n".encode()
    )
    assert found() == host_selects() != []
    assert declaring_directories(GROUP) == [str(info)]


def test_entry_points_txt_over_the_cap_not_declaring(sites):
    info = write_info(sites, "big-1.dist-info", "big", None)
    padded_entry_points(info / "entry_points.txt", b"[other]\n", b"x = y:z\n")
    assert found() == host_selects() == []
    assert not declares_group(str(info), GROUP)


def test_entry_points_txt_over_the_cap_not_utf8_declares_nothing(sites):
    # importlib raises for the whole file (the host does not start); nothing is found.
    info = write_info(sites, "big-1.dist-info", "big", None)
    padded_entry_points(info / "entry_points.txt", f"[{GROUP}]\na = b:c\n".encode(), b"\xff\n")
    with pytest.raises(UnicodeDecodeError):
        host_selects()
    assert found() == []
    assert not declares_group(str(info), GROUP)


@pytest.mark.parametrize("in_the_pool", [False, True], ids=["described-here", "in-the-pool"])
def test_verify_checks_what_discovery_finds(sites, monkeypatch, in_the_pool):
    """``verify``'s choice of directories, in this process or in the pool's workers."""
    from insidellms_provenance.analyze import _verify

    hook = f"[{GROUP}]\n{HOOK_LINE}".encode()
    own = write_info(sites, OWN_DIR, "insidellms-provenance", hook)
    mimic = write_info(sites, "mimic-1.0.dist-info", "mimic", hook)
    big = write_info(sites, "big-1.dist-info", "big", None)
    padded_entry_points(big / "entry_points.txt", b"", f"[{GROUP}]\nb = big:register\n".encode())
    if in_the_pool:
        monkeypatch.setattr(_verify, "_DESCRIBED_HERE_MAX", 0)
    checked, findings = _verify.verify_checked([str(own), str(mimic), str(big)], group=GROUP)
    assert checked == 2
    assert {finding.distribution for finding in findings} <= {"mimic", "big"}
    assert sorted(declaring_directories(GROUP) or []) == [str(big), str(mimic)]


# ---------------------------------------------------------------- real wheels, uv and pip

EVIL = b"def register():\n    return None\n"


def plugin_wheel(name: str, module: str, entry_points: bytes | None = None) -> WheelSpec:
    """A one-module plugin; ``entry_points`` replaces the wheel's entry_points.txt."""
    files = {f"{module.replace('.', '/')}.py": EVIL}
    if entry_points is not None:
        dist_info = WheelSpec(name=name, version="1.0", files={}).dist_info
        files[f"{dist_info}/entry_points.txt"] = entry_points
    return WheelSpec(
        name=name,
        version="1.0",
        files=files,
        entry_points={} if entry_points is not None else {GROUP: {name: f"{module}:register"}},
    )


def hostile_wheels() -> list[WheelSpec]:
    padding = (b"#" + b"x" * 1000 + b"\n") * (LARGE // 1002 + 1)
    return [
        plugin_wheel("good", "good"),
        plugin_wheel("fhid-a", "fhid_a", f"[[{GROUP}]]\nhid_a = fhid_a:register\n".encode()),
        plugin_wheel("fhid-b", "fhid_b", f"[{GROUP}]\n;hid_b = fhid_b:register\n".encode()),
        plugin_wheel("fws", "fws", f"[ {GROUP} ]\nws = fws:register\n".encode()),
        plugin_wheel(
            "sneaky",
            "insidellms_provenance.zz_sneak",
            f"[{GROUP}]\nsneak = insidellms_provenance.zz_sneak:register\n".encode(),
        ),
        plugin_wheel("mimic", "mimic", f"[{GROUP}]\n{HOOK_LINE}".encode()),
        plugin_wheel("bigep", "bigep", f"[{GROUP}]\nbig = bigep:register\n".encode() + padding),
    ]


# Which distribution provides each entry point the host loads (fws: none, it is not the group).
HOST_LOADS = {
    ";hid_b": "fhid-b",
    "big": "bigep",
    "good": "good",
    "hid_a": "fhid-a",
    "!provenance": "mimic",
    "sneak": "sneaky",
}


# Each plugin distribution's module file, relative to site-packages.
MODULES = {
    "bigep": "bigep.py",
    "fhid-a": "fhid_a.py",
    "fhid-b": "fhid_b.py",
    "good": "good.py",
    "mimic": "mimic.py",
    "sneaky": "insidellms_provenance/zz_sneak.py",
}


@pytest.fixture(scope="module", params=INSTALLERS)
def hostile_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path
) -> tuple[Venv, set[str]]:
    """The tool (a real wheel) and every hostile plugin uv or pip installs; those it refused.

    pip before its ``importlib.metadata`` backend (pip 23 on Python 3.10 and 3.11) reads
    entry points with ``pkg_resources``, which refuses a ``[[group]]`` section ("Invalid
    group name"): that wheel is then not installed, and no host can load its plugin.
    """
    wheels = tmp_path_factory.mktemp("entry-point-wheels")
    for spec in hostile_wheels():
        build_wheel(spec, wheels)
    venv = create_venv(tmp_path_factory.mktemp(f"{request.param}-ep") / "venv", request.param)
    extra = ("--find-links", str(wheelhouse))
    install(venv, "insidellms-provenance", find_links=wheels, extra=extra)
    refused = {
        spec.name
        for spec in hostile_wheels()
        if not _installed(venv, spec.name, wheels, extra, may_refuse=spec.name == "fhid-a")
    }
    return venv, refused


def _installed(
    venv: Venv, name: str, wheels: Path, extra: tuple[str, ...], *, may_refuse: bool
) -> bool:
    """Install ``name``; False if pip refused it for its ``[[group]]`` (see ``hostile_env``)."""
    try:
        install(venv, name, find_links=wheels, extra=extra)
    except AssertionError as error:
        if venv.installer == "pip" and may_refuse and "Invalid group name" in str(error):
            return False
        raise
    return True


def run_tool(venv: Venv, *args: str) -> tuple[int, str]:
    result = venv.run("-m", "insidellms_provenance", *args)
    assert b"Traceback" not in result.stderr, result.stderr.decode()
    return result.returncode, result.stdout.decode() + result.stderr.decode()


def problems_named(output: str, marker: str) -> set[str]:
    """The first word (a distribution or plugin) of each output line holding ``marker``."""
    return {line.split()[0] for line in output.splitlines() if marker in line}


def test_installed_host_selection_is_recorded(hostile_env):
    hostile_env, refused = hostile_env
    selected = hostile_env.run(
        "-c",
        "import importlib.metadata as m, json; print(json.dumps(sorted("
        f"[e.name, e.dist.name] for e in m.entry_points(group={GROUP!r}))))",
    )
    assert selected.returncode == 0, selected.stderr.decode()
    host = [tuple(pair) for pair in json.loads(selected.stdout)]
    assert host.count(("!provenance", "insidellms-provenance")) == 1
    field = json.loads(hostile_env.record())
    recorded = [
        (plugin["entry_point"]["name"], plugin["distribution"]["name"])
        for plugin in field["plugins"]
    ]
    assert recorded == sorted((k, v) for k, v in HOST_LOADS.items() if v not in refused)
    assert recorded == [pair for pair in host if pair != ("!provenance", "insidellms-provenance")]


def test_installed_verify_and_check_judge_every_plugin_the_host_loads(hostile_env):
    hostile_env, refused = hostile_env
    host_loads = {name: dist for name, dist in HOST_LOADS.items() if dist not in refused}
    plugin_modules = {dist: module for dist, module in MODULES.items() if dist not in refused}
    # sneaky's module lies in this package's directory, beside files its RECORD does not
    # list: it alone is judged modified before any change.
    code, output = run_tool(hostile_env, "verify")
    assert f"the {len(host_loads)} distributions providing entry points" in output, output
    assert problems_named(output, ".py") <= {"sneaky"}, output
    code, output = run_tool(hostile_env, "check")
    assert f"{len(host_loads)} plugin(s) of group {GROUP} checked" in output, output
    assert problems_named(output, "integrity modified") <= {"sneak"}, output
    modules = [*plugin_modules.values(), "fws.py"]  # fws: not a plugin of the group
    site = hostile_env.site_packages
    originals = {module: (site / module).read_bytes() for module in modules}
    try:
        for module in modules:
            (site / module).write_bytes(originals[module] + b"# changed\n")
        code, output = run_tool(hostile_env, "verify")
        assert code == 1, output
        assert problems_named(output, ".py") == set(plugin_modules), output
        code, output = run_tool(hostile_env, "check")
        assert code == 1, output
        assert problems_named(output, "integrity modified") == set(host_loads), output
    finally:
        for module, data in originals.items():
            (site / module).write_bytes(data)
