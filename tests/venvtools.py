"""Throwaway virtual environments where real pip or real uv install real wheels."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import attrs

from insidellms_provenance.fingerprint._digest_cache import cache_directory

INSTALLERS = ("pip", "uv")

# uv hardlinks installed files from its cache by default: tampering with one test venv
# in place would change the cache and every other venv. Copies, and a private cache.
UV_ENVIRONMENT: dict[str, str] = {"UV_LINK_MODE": "copy"}


def assert_private_cache(environment: Mapping[str, str]) -> None:
    """Fail unless the tool, run with ``environment``, caches outside the user's cache."""
    chosen = cache_directory(environment)
    if chosen is not None and any(chosen.is_relative_to(users) for users in _USER_CACHES):
        raise AssertionError(f"the tool would cache in the user's {chosen}: use a temporary one")


# Where the tool caches for the user who runs the suite, as the suite starts (before
# conftest's ``private_user_cache`` moves it): their setting, and the default.
_USER_CACHES = {
    path
    for path in (
        cache_directory(os.environ),
        Path(os.path.expanduser("~"), ".cache", "insidellms-provenance"),
    )
    if path is not None
}


def uv_executable() -> str:
    """The ``uv`` binary: next to this interpreter (the ``uv`` wheel) or on PATH."""
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        raise RuntimeError("uv is not installed: pip install -e '.[test]'")
    return found


@attrs.frozen
class Venv:
    """A virtual environment and the installer that manages it."""

    root: Path
    installer: str

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        return self.root / "lib" / version / "site-packages"

    def run(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run this environment's Python with a small, controlled environment.

        The tool's description cache goes where this session's is (``XDG_CACHE_HOME``, set
        by conftest), never into the user's ``~/.cache``.
        """
        base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
        if "XDG_CACHE_HOME" in os.environ:
            base["XDG_CACHE_HOME"] = os.environ["XDG_CACHE_HOME"]
        environment = {**base, **(env or {})}
        assert_private_cache(environment)
        return subprocess.run(
            [str(self.python), *args],
            env=environment,
            cwd=cwd,
            capture_output=True,
            check=False,
        )

    def load_plugins(self, group: str = "insidellms.plugins") -> None:
        """Import every plugin of ``group`` as a host does; Python writes their caches."""
        result = self.run(
            "-c",
            "import importlib.metadata as m; "
            f"[ep.load() for ep in m.entry_points(group={group!r})]",
        )
        assert result.returncode == 0, result.stderr.decode()

    def record(self, *args: str, env: dict[str, str] | None = None) -> bytes:
        """``python -m insidellms_provenance record ...`` in this environment; its stdout."""
        result = self.run("-m", "insidellms_provenance", "record", *args, env=env)
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout


def create_venv(root: Path, installer: str) -> Venv:
    """A new, empty virtual environment (no pip inside: installers work from outside)."""
    if installer == "uv":
        command = [uv_executable(), "venv", "--quiet", "--python", sys.executable, str(root)]
    else:
        command = [sys.executable, "-m", "venv", "--without-pip", str(root)]
    subprocess.run(command, check=True, capture_output=True)
    return Venv(root, installer)


def install(
    venv: Venv,
    *requirements: str,
    find_links: Path,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> None:
    """Install from ``find_links`` only, with the environment's own installer."""
    options = ["--no-index", "--find-links", str(find_links), *extra, *requirements]
    if venv.installer == "uv":
        command = [uv_executable(), "pip", "install", "--quiet", "--python", str(venv.python)]
    else:
        command = [sys.executable, "-m", "pip", "--python", str(venv.python), "install"]
        command += ["--quiet", "--disable-pip-version-check", "--no-cache-dir"]
    variables = {**os.environ, **(UV_ENVIRONMENT if venv.installer == "uv" else {}), **(env or {})}
    result = subprocess.run(command + options, capture_output=True, check=False, env=variables)
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
