"""Session fixtures: a wheelhouse of real wheels and venvs built from it by pip and uv."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import venvtools
from dependency_catalog import dependency_catalog
from insidellms_provenance.fingerprint._digest_cache import CACHE_VARIABLE
from plugin_catalog import GOOD, catalog
from venvtools import Venv, create_venv, install
from wheelbuilder import build_wheel

ROOT = Path(__file__).resolve().parent.parent

MakeEnv = Callable[..., Venv]


@pytest.fixture(scope="session", autouse=True)
def private_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every run of the tool in this session caches under a temporary directory.

    The description cache lives in ``$XDG_CACHE_HOME`` (else ``~/.cache``): set here for
    the tool run in-process and for every subprocess that inherits the environment, and
    passed on by :meth:`venvtools.Venv.run`, which refuses to start the tool otherwise.
    """
    directory = tmp_path_factory.mktemp("user-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(directory))
        patch.delenv(CACHE_VARIABLE, raising=False)
        yield directory


@pytest.fixture(scope="session", autouse=True)
def _hangup_at_its_default_action() -> Iterator[None]:
    """Every process a test starts gets SIGHUP's default action, as a shell's command does.

    A run started under ``nohup`` has SIGHUP ignored, and an ignored signal stays ignored
    in every child; the tests of what SIGHUP does to a command need it at its default.
    """
    if not hasattr(signal, "SIGHUP"):
        yield
        return
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


@pytest.fixture(autouse=True)
def _no_test_uses_the_user_cache(private_user_cache: Path) -> Iterator[None]:
    """Fail a test that runs, or leaves, the tool pointed at the user's own cache."""
    venvtools.assert_private_cache(os.environ)
    yield
    venvtools.assert_private_cache(os.environ)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that installs real wheels (it needs the wheelhouse).

    ``pytest -m "not slow"`` is then the fast subset: everything but real installs.
    """
    for item in items:
        if "wheelhouse" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty site directory first on ``sys.path`` (this process's), for this test."""
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.setattr(sys, "path", [str(directory), *sys.path])
    return directory


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, its runtime dependencies, and every catalog plugin.

    Building the project's wheel and fetching its dependencies is the one step that
    may need the package index (once; pip's cache serves later runs). Everything is
    then installed with ``--no-index`` from this directory.
    """
    venvtools.UV_ENVIRONMENT["UV_CACHE_DIR"] = str(tmp_path_factory.mktemp("uv-cache"))
    directory = tmp_path_factory.mktemp("wheelhouse")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*command, "--wheel-dir", str(directory), str(ROOT)], check=True)
    for spec in catalog().values():
        build_wheel(spec, directory)
    return directory


@pytest.fixture(scope="module")
def chain_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every wheel of the dependency catalog (several lib-b versions among them)."""
    directory = tmp_path_factory.mktemp("chain-wheels")
    for spec in dependency_catalog().values():
        build_wheel(spec, directory)
    return directory


@pytest.fixture(scope="module")
def catalog_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The catalog's wheels for the export tests: beta silently rebuilt, noisy absent."""
    directory = tmp_path_factory.mktemp("export") / "wheels"
    for name, spec in catalog().items():
        if name == "noisy":
            continue
        rebuilt = spec.with_changed_byte("beta_plugin/__init__.py") if name == "beta" else spec
        build_wheel(rebuilt, directory, zipfile.ZIP_STORED)
    return directory


@pytest.fixture(scope="session")
def make_env(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> MakeEnv:
    """Make (and cache for the session) a venv with the project and some plugins.

    Session-cached environments must not be modified; pass ``fresh=True`` for one a
    test may tamper with.
    """
    made: dict[tuple[object, ...], Venv] = {}

    def make(
        installer: str,
        plugins: Iterable[str] = GOOD,
        *,
        directory: str | None = None,
        find_links: Path | None = None,
        fresh: bool = False,
    ) -> Venv:
        names = tuple(plugins)
        key = (installer, names, directory, find_links)
        if key in made and not fresh:
            return made[key]
        parent = tmp_path_factory.mktemp(directory or f"{installer}-env")
        venv = create_venv(parent / "venv", installer)
        specs = catalog()
        links = find_links or wheelhouse
        extra = () if links == wheelhouse else ("--find-links", str(wheelhouse))
        install(
            venv,
            "insidellms-provenance",
            *(specs[name].name for name in names),
            find_links=links,
            extra=extra,
        )
        if not fresh:
            made[key] = venv
        return venv

    return make
