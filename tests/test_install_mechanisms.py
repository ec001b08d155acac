"""Same plugins, same field: every install mechanism compared with a plain pip venv.

Each test installs the same wheels (or the same source) with one mechanism, runs
``record`` and compares the field's bytes with those of a plain ``pip install`` into a
venv. Where a key legitimately differs, the test names that key and checks the reason;
docs/record-digest.md has the table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from plugin_catalog import GOOD, GROUP, catalog
from venvtools import UV_ENVIRONMENT, Venv, create_venv, install, uv_executable
from wheelbuilder import WheelSpec, build_wheel

pytestmark = pytest.mark.slow

# A plugin with every kind of installed file: a console script, `.data/scripts` with a
# `#!python` line, with another interpreter line and without any, and a data file.
EPSILON = WheelSpec(
    name="epsilon-plugin",
    version="1.0",
    files={
        "epsilon_plugin/__init__.py": b"def register():\n    return None\n",
        "epsilon_plugin/tool.py": b"def main():\n    return 0\n",
    },
    entry_points={
        GROUP: {"epsilon": "epsilon_plugin:register"},
        "console_scripts": {"epsilon-cli": "epsilon_plugin.tool:main"},
    },
    scripts={
        "epsilon-py": b"#!python\nprint('epsilon')\n",
        "epsilon-sh": b"#!/bin/sh\necho epsilon\n",
        "epsilon-raw": b"no interpreter line\n",
    },
    data={"share/epsilon/notes.txt": b"epsilon data\n"},
    executable_scripts=True,
)
PLUGINS = (*(catalog()[name].name for name in GOOD), EPSILON.name)
OLD_HATCHLING = "1.26.3"


@pytest.fixture(scope="module")
def wheels(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session wheelhouse plus EPSILON."""
    directory = tmp_path_factory.mktemp("mechanism-wheels")
    for wheel in wheelhouse.iterdir():
        (directory / wheel.name).symlink_to(wheel)
    build_wheel(EPSILON, directory)
    return directory


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Installers and build backends from the package index (pip's cache serves reruns)."""
    directory = tmp_path_factory.mktemp("tools")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    requirements = ["pip", "installer", "setuptools<80", "hatchling", "editables", "wheel"]
    subprocess.run([*command, "--dest", str(directory), *requirements], check=True)
    # An older build backend, to rebuild the same source (a separate resolution).
    old_backend = [f"hatchling=={OLD_HATCHLING}", "--no-deps"]
    subprocess.run([*command, "--dest", str(directory), *old_backend], check=True)
    return directory


def _env(parent: Path, installer: str, wheels: Path, *requirements: str, extra=()) -> Venv:
    venv = create_venv(parent / "venv", installer)
    install(venv, "insidellms-provenance", *requirements, find_links=wheels, extra=tuple(extra))
    return venv


@pytest.fixture(scope="module")
def pip_field(wheels: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The reference: the plugins installed by plain ``pip install`` into a venv."""
    return _env(tmp_path_factory.mktemp("pip-reference"), "pip", wheels, *PLUGINS).record()


def _plugins(field: bytes) -> dict[str, dict]:
    return {plugin["entry_point"]["name"]: plugin for plugin in json.loads(field)["plugins"]}


def _differences(expected: bytes, actual: bytes) -> dict[str, dict[str, tuple]]:
    """Per plugin, the keys (``section.key``) whose values differ."""
    found: dict[str, dict[str, tuple]] = {}
    before, after = _plugins(expected), _plugins(actual)
    assert before.keys() == after.keys()
    for name in before:
        for section, value in before[name].items():
            other = after[name][section]
            if isinstance(value, dict) and isinstance(other, dict):
                for key in value.keys() | other.keys():
                    if value.get(key) != other.get(key):
                        found.setdefault(name, {})[f"{section}.{key}"] = (
                            value.get(key),
                            other.get(key),
                        )
            elif value != other:
                found.setdefault(name, {})[section] = (value, other)
    return found


# -- uv link modes ---------------------------------------------------------------------


@pytest.mark.parametrize("link_mode", ["copy", "symlink", "hardlink"])
def test_uv_link_modes_record_the_same_bytes_as_pip(link_mode, wheels, pip_field, tmp_path):
    venv = _env(tmp_path, "uv", wheels, *PLUGINS, extra=[f"--link-mode={link_mode}"])
    if link_mode == "symlink":
        # Really linked: the package's files are symlinks into uv's cache.
        init = venv.site_packages / "epsilon_plugin" / "__init__.py"
        assert init.is_symlink()
        # ... and so are the executable scripts uv need not rewrite (no `#!python`).
        assert (venv.root / "bin" / "epsilon-sh").is_symlink()
        assert (venv.root / "bin" / "epsilon-raw").is_symlink()
        assert not (venv.root / "bin" / "epsilon-py").is_symlink()
    field = venv.record()
    assert _differences(pip_field, field) == {}
    assert field == pip_field


# -- --target directories ----------------------------------------------------------------


def _install_target(installer: str, target: Path, wheels: Path, python: str) -> None:
    """``pip install --target`` / ``uv pip install --target`` run by ``python``."""
    options = ["--no-index", "--find-links", str(wheels), "--target", str(target), *PLUGINS]
    if installer == "uv":
        command = [uv_executable(), "pip", "install", "--quiet", "--python", python]
    else:
        command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    env = {**os.environ, **UV_ENVIRONMENT}
    subprocess.run([*command, *options], check=True, capture_output=True, env=env)


def test_pip_target_records_the_same_bytes_as_a_venv(wheels, pip_field, tmp_path):
    target = tmp_path / "target"
    _install_target("pip", target, wheels, sys.executable)
    record = (target / "alpha_plugin-1.0.0.dist-info" / "RECORD").read_text()
    assert "../../bin/alpha-tool," in record  # pip's rows, for its temporary --home
    assert (target / "bin" / "alpha-tool").exists()  # where pip moved the file
    field = _env(tmp_path, "pip", wheels).record(env={"PYTHONPATH": str(target)})
    assert _differences(pip_field, field) == {}
    assert field == pip_field


def test_uv_target_differs_from_a_venv_only_in_data_file_rows(wheels, pip_field, tmp_path):
    """uv writes `.data/data` files as `share/...` rows relative to the target, the same
    form as the rows of a package named `share`: RECORD cannot tell them apart, so they
    stay unprefixed and `record_digest` differs from a venv's for plugins with data
    files (alpha, epsilon). Scripts (`bin/...`) are recognized and normalized."""
    reference = _env(tmp_path / "venv", "pip", wheels)
    fields = []
    for python in (sys.executable, str(reference.python)):  # two interpreter paths
        target = tmp_path / f"target-{len(fields)}"
        _install_target("uv", target, wheels, python)
        first_line = (target / "bin" / "epsilon-py").read_bytes().split(b"\n", 1)[0]
        assert first_line == b"#!" + python.encode()
        fields.append(reference.record(env={"PYTHONPATH": str(target)}))
    assert fields[0] == fields[1]  # the shebangs' interpreter paths do not count
    differences = _differences(pip_field, fields[0])
    assert {name: set(keys) for name, keys in differences.items()} == {
        "alpha": {"distribution.record_digest", "distribution.code_digest"},
        "epsilon": {"distribution.record_digest", "distribution.code_digest"},
    }
    assert b'"problems":["RECORD' not in fields[0]


# -- site directories that are not what their path says --------------------------------

THIS_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"


def _verdicts(venv: Venv, env: dict[str, str]) -> tuple[int, int]:
    """Exit codes of ``verify`` and of live ``check`` (no plugin loaded) in ``venv``."""
    verify = venv.run("-m", "insidellms_provenance", "verify", "-q", env=env)
    check = venv.run("-m", "insidellms_provenance", "check", "--no-load", env=env)
    return verify.returncode, check.returncode


def test_a_link_to_a_venvs_site_directory_records_as_the_directory(wheels, pip_field, tmp_path):
    """A link to another venv's ``site-packages`` on PYTHONPATH is that ``site-packages``:
    its scripts and data climb to that venv's prefix, where the digest and the check read
    them (the link's own parent holds none of them)."""
    plugins = _env(tmp_path / "plugins", "pip", wheels, *PLUGINS)
    link = tmp_path / "links" / "plugins"
    link.parent.mkdir()
    link.symlink_to(plugins.site_packages)
    tool = _env(tmp_path / "tool", "pip", wheels)
    env = {"PYTHONPATH": str(link)}
    field = tool.record(env=env)
    assert _differences(pip_field, field) == {}
    assert field == pip_field
    assert _verdicts(tool, env) == (0, 0)
    # The check reads the venv's script, through the resolved entry: a change is caught.
    script = plugins.root / "bin" / "epsilon-sh"
    script.write_bytes(script.read_bytes() + b"# changed\n")
    epsilon = _plugins(tool.record(env=env))["epsilon"]["distribution"]
    assert epsilon["integrity"]["status"] == "modified"
    assert epsilon["integrity"]["paths"] == ["{prefix}/bin/epsilon-sh"]
    assert _verdicts(tool, env) == (1, 1)


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_a_target_directory_named_like_a_site_directory_is_a_target(
    installer, wheels, pip_field, tmp_path
):
    """``--target layer/python/lib/pythonX.Y/site-packages`` (an AWS Lambda layer): pip and
    uv put scripts and data in the target's own ``bin/`` and ``share/``, as in any target
    directory; the prefix its name implies holds nothing else, so it is read as one."""
    plain = tmp_path / "plain"
    layer = tmp_path / "layer" / "python" / "lib" / THIS_PYTHON / "site-packages"
    _install_target(installer, plain, wheels, sys.executable)
    _install_target(installer, layer, wheels, sys.executable)
    assert (layer / "bin" / "alpha-tool").exists()  # inside the target, not above it
    assert sorted(os.listdir(layer.parents[2])) == ["lib"]
    tool = _env(tmp_path, "pip", wheels)
    expected = tool.record(env={"PYTHONPATH": str(plain)})
    field = tool.record(env={"PYTHONPATH": str(layer)})
    assert _differences(expected, field) == {}
    assert field == expected
    if installer == "pip":
        assert field == pip_field  # and pip's --target records as a venv does
    assert _verdicts(tool, {"PYTHONPATH": str(layer)}) == (0, 0)


def test_pip_prefix_records_the_same_bytes_as_a_venv(wheels, pip_field, tmp_path):
    """``pip install --prefix P`` (no ``pyvenv.cfg``, no standard library at P): P holds
    ``bin/`` and ``share/`` beside ``lib/``, so it is a prefix, and rows climb to it."""
    prefix = tmp_path / "prefix"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    options = ["--no-index", "--find-links", str(wheels), "--prefix", str(prefix), *PLUGINS]
    subprocess.run([*command, *options], check=True, capture_output=True)
    assert (prefix / "bin" / "alpha-tool").exists()
    tool = _env(tmp_path, "pip", wheels)
    env = {"PYTHONPATH": str(prefix / "lib" / THIS_PYTHON / "site-packages")}
    field = tool.record(env=env)
    assert _differences(pip_field, field) == {}
    assert field == pip_field
    assert _verdicts(tool, env) == (0, 0)


# -- installer-generated wrappers ------------------------------------------------------


def _describe(venv: Venv, distribution: str, *, env: dict[str, str] | None = None) -> dict:
    code = (
        "import json, sys; from importlib import metadata;"
        "from insidellms_provenance.fingerprint._distribution import describe_distribution;"
        "print(json.dumps(describe_distribution(metadata.distribution(sys.argv[1]))[0]))"
    )
    result = venv.run("-c", code, distribution, env=env)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_pip_versioned_wrappers_do_not_make_pips_digest_installer_dependent(
    wheels, tools, tmp_path
):
    """pip and uv add ``pip3.X`` (not in pip's entry_points.txt); ``installer`` does not."""
    pip_wheel = next(tools.glob("pip-*.whl"))
    installer_wheel = next(tools.glob("installer-*.whl"))
    by_pip = _env(tmp_path / "pip", "pip", wheels)
    install(by_pip, str(pip_wheel), find_links=tools)
    by_uv = _env(tmp_path / "uv", "uv", wheels)
    install(by_uv, str(pip_wheel), find_links=tools)
    by_installer = _env(tmp_path / "installer", "pip", wheels)
    result = by_installer.run(
        "-m", "installer", str(pip_wheel), env={"PYTHONPATH": str(installer_wheel)}
    )
    assert result.returncode == 0, result.stderr.decode()

    minor = f"pip{sys.version_info[0]}.{sys.version_info[1]}"
    assert (by_pip.root / "bin" / minor).exists()
    assert (by_uv.root / "bin" / minor).exists()
    assert not (by_installer.root / "bin" / minor).exists()
    described = [_describe(venv, "pip") for venv in (by_pip, by_uv, by_installer)]
    assert described[0]["problems"] == []
    assert described[0] == described[1] == described[2]


# -- editable, develop and egg installs of one src-layout project ------------------------

SETUP_PY = """\
from setuptools import setup

setup(
    name="zeta-plugin",
    version="0.1",
    package_dir={"": "src"},
    packages=["zeta_plugin", "zeta_plugin.build"],
    entry_points={"insidellms.plugins": ["zeta = zeta_plugin:register"]},
)
"""
BUILD_SYSTEM = {
    "setuptools": '[build-system]\nrequires = ["setuptools<80"]\n'
    'build-backend = "setuptools.build_meta"\n',
    "hatchling": '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
    '[project]\nname = "zeta-plugin"\nversion = "0.1"\n\n'
    '[project.entry-points."insidellms.plugins"]\nzeta = "zeta_plugin:register"\n\n'
    '[tool.hatch.build.targets.wheel]\npackages = ["src/zeta_plugin"]\n',
}
NESTED_BUILD = "src/zeta_plugin/build/__init__.py"


def _project(root: Path, backend: str) -> Path:
    """A src-layout plugin whose package has a subpackage named ``build``."""
    files = {
        "pyproject.toml": BUILD_SYSTEM[backend],
        "src/zeta_plugin/__init__.py": "def register():\n    return None\n",
        NESTED_BUILD: "STEPS = ('compile',)\n",
    }
    if backend == "setuptools":
        files["setup.py"] = SETUP_PY
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _wheel_of(project: Path, tools: Path, directory: Path) -> Path:
    """The project built as a regular wheel, by pip from the offline tools."""
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"]
    options = ["--no-index", "--find-links", str(tools), "--no-deps", "--wheel-dir"]
    subprocess.run([*command, *options, str(directory), str(project)], check=True)
    return next(directory.glob("zeta_plugin-*.whl"))


@pytest.fixture(scope="module")
def zeta_wheel_field(wheels, tools, tmp_path_factory):
    """The reference: the project built as a wheel and pip-installed into a venv."""
    fields = {}
    for backend in BUILD_SYSTEM:
        parent = tmp_path_factory.mktemp(f"zeta-{backend}")
        wheel = _wheel_of(_project(parent / "zeta", backend), tools, parent / "wheels")
        venv = create_venv(parent / "venv", "pip")
        links = ("--find-links", str(wheels))
        install(venv, "insidellms-provenance", "zeta-plugin", find_links=wheel.parent, extra=links)
        fields[backend] = venv.record()
    return fields


def _install_editable(venv: Venv, project: Path, wheels: Path, tools: Path) -> None:
    install(venv, "-e", str(project), find_links=tools, extra=("--find-links", str(wheels)))


# What an editable install legitimately records differently from the same project
# installed from its wheel: RECORD rows outside the dist-info have no hash (editable
# wheels embed the absolute source path), and the source is the local directory, whose
# files `editable_digest` covers; and the code outside RECORD is not where bytecode
# caches could be checked against RECORD's sources (`"bytecode": "not_checked"`).
EDITABLE_KEYS = {
    "distribution.record_digest",
    "source.kind",
    "source.editable",
    "source.editable_digest",
    "distribution.code_digest",
    "distribution.integrity",
}
EDITABLE_INTEGRITY = {"status": "verified", "paths": [], "bytecode": "not_checked"}


@pytest.mark.parametrize("backend", list(BUILD_SYSTEM))
def test_pep660_editables_from_two_checkouts_by_pip_and_uv(
    backend, wheels, tools, zeta_wheel_field, tmp_path
):
    one = _project(tmp_path / "checkout-one", backend)
    two = _project(tmp_path / "a second checkout", backend)
    by_pip = _env(tmp_path / "pip", "pip", wheels)
    _install_editable(by_pip, one, wheels, tools)
    by_uv = _env(tmp_path / "uv", "uv", wheels)
    _install_editable(by_uv, two, wheels, tools)

    field = by_pip.record()
    zeta = _plugins(field)["zeta"]
    assert zeta["source"]["kind"] == "directory"
    assert zeta["source"]["local_name"] is None  # nothing machine-specific
    assert zeta["origin"] == {"status": "ok", "duplicate_versions": []}
    # Different directory names, different installers: the same bytes.
    assert by_uv.record() == field
    assert set(_differences(zeta_wheel_field[backend], field)["zeta"]) == EDITABLE_KEYS
    assert zeta["distribution"]["integrity"] == EDITABLE_INTEGRITY
    assert _plugins(zeta_wheel_field[backend])["zeta"]["distribution"]["integrity"] == {
        **EDITABLE_INTEGRITY,
        "bytecode": "checked",
    }

    # Building and packaging in place is not the plugin's code ...
    (one / "build" / "lib" / "zeta_plugin").mkdir(parents=True)
    (one / "build" / "lib" / "zeta_plugin" / "__init__.py").write_text("stale = 1\n")
    (one / "dist").mkdir()
    (one / "dist" / "zeta_plugin-0.1.tar.gz").write_bytes(b"sdist")
    assert by_pip.record() == field
    # ... but real code in a subpackage named `build` is.
    (one / NESTED_BUILD).write_text("STEPS = ('compile', 'link')\n")
    edited = _plugins(by_pip.record())["zeta"]
    assert edited["source"]["editable_digest"] != zeta["source"]["editable_digest"]


@pytest.fixture(scope="module")
def develop_env(wheels, tools, tmp_path_factory):
    """A venv with setuptools < 80, whose ``setup.py develop`` writes an ``.egg-link``."""
    venv = _env(tmp_path_factory.mktemp("develop"), "pip", wheels)
    install(venv, "setuptools<80", find_links=tools)
    return venv


def _setup_py(venv: Venv, project: Path, *command: str) -> None:
    result = venv.run("setup.py", "--quiet", *command, cwd=project)
    assert result.returncode == 0, result.stderr.decode()


def test_setup_py_develop_is_fingerprinted_like_a_pep660_editable(
    develop_env, wheels, tools, tmp_path
):
    legacy = _project(tmp_path / "legacy checkout", "setuptools")
    _setup_py(develop_env, legacy, "develop", "--no-deps")
    assert list(develop_env.site_packages.glob("*.egg-link"))
    modern = _project(tmp_path / "modern", "setuptools")
    pep660 = _env(tmp_path / "pep660", "pip", wheels)
    _install_editable(pep660, modern, wheels, tools)

    field = develop_env.record()
    zeta = _plugins(field)["zeta"]
    assert zeta["origin"] == {"status": "ok", "duplicate_versions": []}
    assert zeta["distribution"]["problems"] == []
    assert zeta["distribution"]["record_digest"] is not None
    # The legitimate differences: no RECORD, so the digests list the *.egg-info files
    # instead of a dist-info's RECORD rows (and the editable's path-only rows), and no
    # file can be checked against a RECORD: integrity is unverifiable.
    assert set(_differences(pep660.record(), field)["zeta"]) == {
        "distribution.record_digest",
        "distribution.code_digest",
        "distribution.integrity",
    }
    assert zeta["distribution"]["integrity"]["status"] == "unverifiable"
    (legacy / "src" / "zeta_plugin" / "__init__.py").write_text("def register():\n    return 1\n")
    edited = _plugins(develop_env.record())["zeta"]
    assert edited["source"]["editable_digest"] != zeta["source"]["editable_digest"]


def test_egg_on_sys_path_is_fingerprinted_from_its_files(
    develop_env, wheels, zeta_wheel_field, tmp_path
):
    project = _project(tmp_path / "zeta", "setuptools")
    _setup_py(develop_env, project, "bdist_egg")
    egg = next((project / "dist").glob("*.egg"))
    # bdist_egg compiles bytecode caches into the egg; they are left out like a wheel's.
    assert any("__pycache__" in name for name in zipfile.ZipFile(egg).namelist())
    field = _env(tmp_path, "pip", wheels).record(env={"PYTHONPATH": str(egg)})
    zeta = _plugins(field)["zeta"]
    assert zeta["origin"] == {"status": "ok", "duplicate_versions": []}
    assert zeta["distribution"]["problems"] == []
    assert zeta["source"]["local_name"] == egg.name
    # Legitimately different from the wheel: the egg's own files (EGG-INFO instead of a
    # dist-info) make the digest, and the egg is the archive it runs from. The code is
    # the same: code_digest is equal. No RECORD lists hashes to check the files against:
    # integrity is unverifiable.
    assert set(_differences(zeta_wheel_field["setuptools"], field)["zeta"]) == {
        "distribution.record_digest",
        "distribution.integrity",
        "source.kind",
        "source.local_name",
    }
    assert zeta["distribution"]["integrity"] == {
        "status": "unverifiable",
        "paths": ["EGG-INFO/RECORD"],
        "bytecode": "not_checked",
    }


def test_a_stale_egg_info_copy_shows_the_version_in_its_metadata(make_env, tmp_path):
    """``name.egg-info`` names no version: the copy's PKG-INFO does."""
    stale = tmp_path / "old checkout"
    info = stale / "beta_plugin.egg-info"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: beta_plugin\nVersion: 0.9.0\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\nbeta = beta_plugin:register\n")
    plugins = _plugins(make_env("pip", GOOD).record(env={"PYTHONPATH": str(stale)}))
    assert plugins["beta"]["origin"]["duplicate_versions"] == ["0.9.0", "2.1.0"]


# -- the same code rebuilt with another build backend ----------------------------------


def _wheel_generator(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/WHEEL"))
        lines = archive.read(name).decode().splitlines()
    return next(line.partition(": ")[2] for line in lines if line.startswith("Generator: "))


def _uv_build(project: Path, tools: Path, out: Path, constraint: Path | None = None) -> Path:
    """A wheel of ``project`` built by ``uv build`` from the offline tools."""
    command = [uv_executable(), "build", "--quiet", "--wheel", "--out-dir", str(out)]
    command += ["--python", sys.executable, "--no-index", "--find-links", str(tools)]
    if constraint is not None:
        command += ["--build-constraint", str(constraint)]
    env = {**os.environ, **UV_ENVIRONMENT}
    subprocess.run([*command, str(project)], check=True, capture_output=True, env=env)
    return next(out.glob("*.whl"))


def test_rebuilt_wheel_with_identical_code_is_a_rebuild_not_tampering(wheels, tools, tmp_path):
    project = _project(tmp_path / "zeta", "hatchling")
    new = _uv_build(project, tools, tmp_path / "new")
    constraint = tmp_path / "old-backend.txt"
    constraint.write_text(f"hatchling=={OLD_HATCHLING}\n")
    old = _uv_build(project, tools, tmp_path / "old", constraint)
    assert old.name == new.name
    assert old.read_bytes() != new.read_bytes()
    generators = [_wheel_generator(wheel) for wheel in (old, new)]
    assert generators[0] == f"hatchling {OLD_HATCHLING}" != generators[1]
    links = ("--find-links", str(wheels))
    fields = []
    for wheel in (old, new):
        venv = create_venv(tmp_path / f"venv-{len(fields)}", "pip")
        install(venv, "insidellms-provenance", "zeta-plugin", find_links=wheel.parent, extra=links)
        fields.append(venv.record())
    before, after = (_plugins(field)["zeta"]["distribution"] for field in fields)
    assert before["record_digest"] != after["record_digest"]
    assert before["code_digest"] == after["code_digest"]

    paths = [tmp_path / "before.json", tmp_path / "after.json"]
    for path, field in zip(paths, fields, strict=True):
        path.write_bytes(field)
    command = [sys.executable, "-m", "insidellms_provenance", "diff", *map(str, paths)]
    result = subprocess.run([*command, "--format", "json"], capture_output=True, check=False)
    assert result.returncode == 1, result.stderr
    (change,) = json.loads(result.stdout)["changes"]
    assert (change["kind"], change["severity"]) == ("rebuilt", "medium")
    failing = subprocess.run([*command, "--fail-on", "content"], capture_output=True, check=False)
    assert failing.returncode == 0  # no code changed
