"""Where a plugin's code comes from cannot be talked away: shadows that lie, retargeted links.

A shadowing copy of a plugin earlier on ``sys.path`` that sets its own ``__file__`` to
the installed file is still ``shadowed`` (``origin`` is where the import system found the
module, not what the module says), and ``diff`` reports it. An editable install whose
source tree holds a symlinked directory records the link: retargeting it changes
``editable_digest``, and ``diff`` reports the change (hand-made, and by real uv and
setuptools).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import Case, Result, World, assert_outcome, run_case, run_cli, snapshot

from conftest import good_plugin
from venvtools import create_venv, install

REGISTER = "def register():\n    return None\n"
OTHER_CODE = "def register():\n    return 'not the installed code'\n"


def _lying(world: World, relative: str) -> str:
    """A shadow's code that names the installed file ``site/<relative>`` as its own."""
    return f"__file__ = {str(world.site / relative)!r}\n" + OTHER_CODE


def _record_to(world: World, name: str) -> str:
    """``record --output NAME`` now (part of building the case), for a later diff."""
    path = world.path(name)
    result = run_cli(world, ["record", "--output", str(path)])
    assert_outcome(result, 0)
    return str(path)


def _shadowed(install: Any, shadow: Any) -> Any:
    """A good plugin and ``install(world)``; then ``shadow(world)`` earlier on sys.path."""

    def build(world: World) -> list[str]:
        (world.root / "home").mkdir(exist_ok=True)
        good_plugin(world, "good_plugin")
        install(world)
        _record_to(world, "clean.json")
        shadow(world)
        world.env["PYTHONPATH"] = f"{world.path('shadow')}:{world.site}"
        return ["record"]

    return build


def _plain(world: World) -> None:
    world.plugin("tplug", REGISTER)


def _sub_entry_point(world: World) -> None:
    world.dist(
        "tplug",
        files={"tplug/__init__.py": b"", "tplug/sub.py": REGISTER.encode()},
        entry_points="[insidellms.plugins]\ntplug = tplug.sub:register\n",
    )


def _namespace(world: World) -> None:
    world.dist(
        "nsplug",
        files={"nsx/plug.py": REGISTER.encode()},
        entry_points="[insidellms.plugins]\nnsplug = nsx.plug:register\n",
    )


def _imported_first(world: World) -> None:
    """``a_first`` imports tplug at its own import: tplug is in sys.modules before us."""
    _plain(world)
    world.plugin("a_first", "import tplug\n" + REGISTER)


def _turns_into_a_link(package_too: bool) -> Any:
    """A shadow whose code, once run, makes its file (or its package) a link to the installed one.

    Resolved after the import, the path Python ran from then reads as the installed
    file's: only a link above the ``sys.path`` entry may be resolved.
    """

    def shadow(world: World) -> None:
        installed = world.site / "tplug"
        if package_too:
            moved = world.path("shadow/moved")
            code = (
                "import os\n"
                f"os.rename({str(world.path('shadow/tplug'))!r}, {str(moved)!r})\n"
                f"os.symlink({str(installed)!r}, {str(world.path('shadow/tplug'))!r})\n"
            )
            world.outputs |= {world.path("shadow/tplug"), moved, moved / "__init__.py"}
            world.outputs.add(world.path("shadow/tplug/__init__.py"))
        else:
            code = (
                "import os\n"
                "os.unlink(__file__)\n"
                f"os.symlink({str(installed / '__init__.py')!r}, __file__)\n"
            )
            world.outputs.add(world.path("shadow/tplug/__init__.py"))
        world.write("shadow/tplug/__init__.py", code + OTHER_CODE)

    return shadow


def _origin(name: str, status: str) -> Any:
    def check(world: World, result: Result) -> None:
        plugins = {p["entry_point"]["name"]: p for p in json.loads(result.stdout)["plugins"]}
        assert plugins["good_plugin"]["origin"]["status"] == "ok"
        assert plugins[name]["origin"]["status"] == status, plugins[name]
        assert plugins[name]["load"]["status"] == "loaded"

    return check


SHADOWS = [
    Case(
        "record-shadow-keeps-its-own-file",
        _shadowed(_plain, lambda w: w.write("shadow/tplug/__init__.py", OTHER_CODE)),
        0,
        check=_origin("tplug", "shadowed"),
    ),
    Case(
        "record-shadow-names-the-installed-file",
        _shadowed(
            _plain, lambda w: w.write("shadow/tplug/__init__.py", _lying(w, "tplug/__init__.py"))
        ),
        0,
        check=_origin("tplug", "shadowed"),
    ),
    Case(
        "record-shadow-of-pkg-sub-names-the-installed-files",
        _shadowed(
            _sub_entry_point,
            lambda w: (
                w.write("shadow/tplug/__init__.py", _lying(w, "tplug/__init__.py")),
                w.write("shadow/tplug/sub.py", _lying(w, "tplug/sub.py")),
            ),
        ),
        0,
        check=_origin("tplug", "shadowed"),
    ),
    Case(
        "record-namespace-shadow-names-the-installed-file",
        _shadowed(_namespace, lambda w: w.write("shadow/nsx/plug.py", _lying(w, "nsx/plug.py"))),
        0,
        check=_origin("nsplug", "shadowed"),
    ),
    Case(
        "record-shadow-turns-itself-into-a-link-to-the-installed-file",
        _shadowed(_plain, _turns_into_a_link(package_too=False)),
        0,
        check=_origin("tplug", "shadowed"),
    ),
    Case(
        "record-shadow-turns-its-package-into-a-link-to-the-installed-one",
        _shadowed(_plain, _turns_into_a_link(package_too=True)),
        0,
        check=_origin("tplug", "shadowed"),
    ),
    Case(
        "record-namespace-unshadowed",
        _shadowed(_namespace, lambda w: w.write("shadow/other/__init__.py", "")),
        0,
        check=_origin("nsplug", "ok"),
    ),
    Case(
        "record-shadow-imported-by-an-earlier-plugin-names-the-installed-file",
        _shadowed(
            _imported_first,
            lambda w: w.write("shadow/tplug/__init__.py", _lying(w, "tplug/__init__.py")),
        ),
        0,
        check=_origin("tplug", "shadowed"),
    ),
]


def _diff_after(build: Any) -> Any:
    """``diff clean.json now.json``: the recording before the shadow, and with it."""

    def make(world: World) -> list[str]:
        build(world)
        return ["diff", str(world.path("clean.json")), _record_to(world, "now.json")]

    return make


DIFFS = [
    Case(
        "diff-shadow-names-the-installed-file",
        _diff_after(SHADOWS[1].build),
        1,
        "tplug  high      origin  origin ok -> shadowed",
    ),
]


# -- an editable install whose source tree holds a symlinked directory ------------------

EDITABLE_INIT = "from edplug.impl.core import CODE\ndef register():\n    return CODE\n"


def _editable_with_link(world: World) -> Path:
    """``proj/src/edplug`` installed editable, its ``impl`` a link to ``implA``."""
    world.write("proj/src/edplug/__init__.py", EDITABLE_INIT)
    for which in "AB":
        world.write(f"impl{which}/__init__.py", "")
        world.write(f"impl{which}/core.py", f"CODE = {which!r}\n")
    world.link("proj/src/edplug/impl", world.path("implA"))
    direct_url = {"url": world.path("proj").as_uri(), "dir_info": {"editable": True}}
    world.dist(
        "edplug",
        entry_points="[insidellms.plugins]\nedplug = edplug:register\n",
        direct_url=json.dumps(direct_url).encode(),
    )
    world.env["PYTHONPATH"] = f"{world.site}:{world.path('proj/src')}"
    return world.path("proj/src/edplug/impl")


def _retargeted(relative_target: bool) -> Any:
    def make(world: World) -> list[str]:
        (world.root / "home").mkdir(exist_ok=True)
        good_plugin(world, "good_plugin")
        link = _editable_with_link(world)
        if relative_target:
            link.unlink()
            link.symlink_to("../../../implA")
        before = _record_to(world, "A.json")
        link.unlink()
        link.symlink_to("../../../implB" if relative_target else world.path("implB"))
        return ["diff", before, _record_to(world, "B.json")]

    return make


def _origin_ok_in_both(world: World, result: Result) -> None:
    for name in ("A.json", "B.json"):
        plugins = {
            p["entry_point"]["name"]: p for p in json.loads(world.path(name).read_text())["plugins"]
        }
        assert plugins["edplug"]["origin"]["status"] == "ok"
        assert plugins["edplug"]["load"]["status"] == "loaded"


LINKS = [
    Case(
        f"diff-editable-symlinked-directory-retargeted-{kind}",
        _retargeted(relative_target=kind == "relative"),
        1,
        "edplug  critical  content  same version, different editable source files",
        check=_origin_ok_in_both,
    )
    for kind in ("absolute", "relative")
]

CASES = SHADOWS + DIFFS + LINKS


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_origin_and_links(case: Case, world: World) -> None:
    run_case(case, world)


def test_a_symlinked_directory_is_one_row_of_the_source_digest(tmp_path: Path) -> None:
    """The link's target is in the digest, never what lies behind it, nor its absolute path."""
    from insidellms_provenance.fingerprint._source import source_tree_digest

    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    without = source_tree_digest(root)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (root / "pkg" / "impl").symlink_to("../../one")
    one = source_tree_digest(root)
    (tmp_path / "one" / "core.py").write_text("CODE = 1\n")
    assert source_tree_digest(root) == one  # not followed
    (root / "pkg" / "impl").unlink()
    (root / "pkg" / "impl").symlink_to("../../two")
    assert len({without, one, source_tree_digest(root)}) == 3


# -- the same with real uv and setuptools (PEP 660) ---------------------------------------

PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"
[project]
name = "edplug"
version = "0.1"
[project.entry-points."insidellms.plugins"]
edplug = "edplug:register"
[tool.setuptools.packages.find]
where = ["src"]
"""


@pytest.mark.slow
def test_uv_pep660_editable_with_a_retargeted_symlinked_directory(
    wheelhouse: Path, setuptools_wheels: Path, tmp_path: Path
) -> None:
    project = tmp_path / "proj"
    (project / "src" / "edplug").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "src" / "edplug" / "__init__.py").write_text(EDITABLE_INIT)
    for which in "AB":
        (tmp_path / f"impl{which}").mkdir()
        (tmp_path / f"impl{which}" / "__init__.py").write_text("")
        (tmp_path / f"impl{which}" / "core.py").write_text(f"CODE = {which!r}\n")
    venv = create_venv(tmp_path / "venv", "uv")
    install(venv, "insidellms-provenance", find_links=wheelhouse)
    links = ("--find-links", str(wheelhouse))
    install(venv, "-e", str(project), find_links=setuptools_wheels, extra=links)
    link = project / "src" / "edplug" / "impl"
    link.symlink_to(tmp_path / "implA")
    env = {"PYTHONDONTWRITEBYTECODE": "1"}
    (tmp_path / "A.json").write_bytes(venv.record(env=env))
    before = _snapshot(tmp_path)
    link.unlink()
    link.symlink_to(tmp_path / "implB")
    (tmp_path / "B.json").write_bytes(venv.record(env=env))
    fields = [json.loads((tmp_path / name).read_text()) for name in ("A.json", "B.json")]
    sources = [field["plugins"][0]["source"] for field in fields]
    assert [source["editable"] for source in sources] == [True, True]
    assert sources[0]["editable_digest"] != sources[1]["editable_digest"]
    assert [field["plugins"][0]["origin"]["status"] for field in fields] == ["ok", "ok"]
    result = venv.run("-m", "insidellms_provenance", "diff", "A.json", "B.json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr.decode()
    assert b"different editable source files" in result.stdout
    assert b"Traceback" not in result.stderr
    after = _snapshot(tmp_path)
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    assert changed == {str(link)}  # only the link the test retargeted


def _snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """The project and the trees its link points at (the venv is the installer's)."""
    return {
        path: entry
        for directory in ("proj", "implA", "implB")
        for path, entry in snapshot(root / directory, set()).items()
    }


# A flat layout: setuptools installs it editable through an import finder (a module
# whose MAPPING names the package's directory), not a path in the ``.pth``.
PYPROJECT_FLAT = PYPROJECT.replace(
    '[tool.setuptools.packages.find]\nwhere = ["src"]', '[tool.setuptools]\npackages = ["edplug"]'
)


def _edplug_venv(
    tmp_path: Path, wheelhouse: Path, setuptools_wheels: Path, installer: str, *, flat: bool = False
) -> Any:
    """A venv with the tool and ``edplug``, a project installed editable (PEP 660).

    A src layout (setuptools writes the source path into its ``.pth``), or a flat one
    (an import finder).
    """
    project = tmp_path / "proj"
    package = project / "edplug" if flat else project / "src" / "edplug"
    package.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT_FLAT if flat else PYPROJECT)
    (package / "__init__.py").write_text(REGISTER)
    venv = create_venv(tmp_path / "venv", installer)
    install(venv, "insidellms-provenance", find_links=wheelhouse)
    links = ("--find-links", str(wheelhouse))
    install(venv, "-e", str(project), find_links=setuptools_wheels, extra=links)
    return venv


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_pyvenv_cfg_in_the_editable_package_hides_no_edit(
    wheelhouse: Path, setuptools_wheels: Path, tmp_path: Path, installer: str
) -> None:
    """An empty ``pyvenv.cfg`` in the plugin's package does not make it a virtual environment.

    Recorded with the file present, the package's edited ``__init__.py`` still changes
    ``editable_digest``: ``diff`` exit 1 (critical ``content``), ``verify RUN`` exit 1; the
    commands change no file but their outputs.
    """
    venv = _edplug_venv(tmp_path, wheelhouse, setuptools_wheels, installer)
    package = tmp_path / "proj" / "src" / "edplug"
    (package / "pyvenv.cfg").write_text("")
    env = {"PYTHONDONTWRITEBYTECODE": "1"}
    (tmp_path / "before.json").write_bytes(venv.record(env=env))
    (package / "__init__.py").write_text(OTHER_CODE)
    (tmp_path / "after.json").write_bytes(venv.record(env=env))
    before = _snapshot(tmp_path)
    cli = ("-m", "insidellms_provenance")
    diffed = venv.run(*cli, "diff", "before.json", "after.json", cwd=tmp_path, env=env)
    assert diffed.returncode == 1, diffed.stdout.decode()
    assert b"different editable source files" in diffed.stdout
    verified = venv.run(*cli, "verify", "before.json", cwd=tmp_path, env=env)
    assert verified.returncode == 1, verified.stdout.decode()
    assert b"different editable source files" in verified.stdout
    assert b"Traceback" not in diffed.stderr + verified.stderr
    assert _snapshot(tmp_path) == before


def _rehash_record_row(site: Path, relative: str) -> None:
    """The attacker's second step: ``relative``'s RECORD row made to match its new bytes."""
    import base64
    import hashlib

    data = (site / relative).read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    (record,) = site.glob("edplug-0.1.dist-info/RECORD")
    rows = [
        f"{relative},sha256={digest},{len(data)}" if row.split(",")[0] == relative else row
        for row in record.read_text().splitlines()
    ]
    record.write_text("\n".join(rows) + "\n")


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["uv", "pip"])
@pytest.mark.parametrize("flat", [False, True], ids=["pth-path", "finder-mapping"])
def test_an_editable_redirected_with_its_record_row_fails_verify(
    wheelhouse: Path, setuptools_wheels: Path, tmp_path: Path, installer: str, *, flat: bool
) -> None:
    """An editable ``.pth`` (or its finder) sent to another tree, RECORD row rewritten.

    Before: ``verify`` and ``verify RUN`` exit 0 (a genuine editable install of either
    kind is not a finding). After: Python imports the other tree's code, and both exit 1
    naming the rewritten file, integrity ``modified``; ``record_digest`` keeps no hash of
    the row (rule 7) and ``editable_digest`` still fingerprints the untouched checkout.
    The commands change no file.
    """
    venv = _edplug_venv(tmp_path, wheelhouse, setuptools_wheels, installer, flat=flat)
    env = {"PYTHONDONTWRITEBYTECODE": "1"}
    cli = ("-m", "insidellms_provenance")
    (tmp_path / "before.json").write_bytes(venv.record(env=env))
    assert venv.run(*cli, "verify", "before.json", cwd=tmp_path, env=env).returncode == 0
    evil = tmp_path / "elsewhere" / "edplug"  # a path of another length: caches go stale
    evil.mkdir(parents=True)
    (evil / "__init__.py").write_text(OTHER_CODE)
    site = venv.site_packages
    if flat:
        redirect = "__editable___edplug_0_1_finder.py"
        original = str(tmp_path / "proj" / "edplug")
        text = (site / redirect).read_text()
        assert repr(original) in text
        (site / redirect).write_text(text.replace(repr(original), repr(str(evil))))
        problem = b"editable install: maps modules to files outside its source directory"
    else:
        redirect = "__editable__.edplug-0.1.pth"
        (site / redirect).write_text(f"{evil.parent}\n")
        problem = b"editable install: puts a directory outside its source directory on sys.path"
    _rehash_record_row(site, redirect)
    imported = venv.run("-c", "import edplug; print(edplug.__file__)", env=env)
    assert imported.stdout.decode().strip() == str(evil / "__init__.py")
    before = {**_snapshot(tmp_path), **snapshot(evil.parent, set())}
    for arguments in (("verify", "before.json"), ("verify",)):
        result = venv.run(*cli, *arguments, cwd=tmp_path, env=env)
        assert result.returncode == 1, result.stdout.decode()
        assert f"{redirect}  ".encode() + problem in result.stdout
        assert b"Traceback" not in result.stderr
    assert {**_snapshot(tmp_path), **snapshot(evil.parent, set())} == before
    field = json.loads(venv.record(env=env))
    integrity = field["plugins"][0]["distribution"]["integrity"]
    assert (integrity["status"], integrity["paths"]) == ("modified", [redirect])
