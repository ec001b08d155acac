"""Interpreters for the processes the benchmarks time: venvs built with ``uv``, as users have.

A process is timed in a virtual environment with this package installed from the
checkout (not editable) and its bytecode compiled, as ``pip`` compiles it at install
time. Not with the interpreter that runs the benchmark: that one may run start-up code
of its machine's own. A ``.pth`` file in its site-packages can import third-party
modules in every process: one machine this project was measured on imports ``certifi``,
and with it ``pathlib``, ``zipfile``, ``tempfile`` and ``re`` (``python -c pass`` took
140 M instructions there, against 35 M in a venv). Such a process carries that cost on
both sides of a ratio, and has already imported modules that the command would
otherwise import itself, so a ratio read there is smaller than a user's.
:func:`describe` says what an interpreter imports at start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))  # venvtools: the suite's own way to find uv

# The interpreter's version, how many modules it has imported once it has started, then
# the top-level names of those that are not its own (standard library, built in,
# ``__main__``).
_STARTUP = (
    "import sys\n"
    "names = {name.partition('.')[0] for name in sys.modules}\n"
    "own = {*sys.stdlib_module_names, *sys.builtin_module_names, '__main__'}\n"
    "print(sys.version.split()[0], len(sys.modules), *sorted(names - own))\n"
)


def build_venv(directory: Path, *packages: str, compile_bytecode: bool = True) -> Path:
    """A venv in ``directory`` with this package (not editable) and ``packages``; its python.

    Installed by ``uv`` from the package index (or uv's cache), with bytecode compiled as
    pip compiles it unless ``compile_bytecode`` is false (uv's own default).
    """
    from venvtools import create_venv, uv_executable

    python = create_venv(directory, "uv").python
    install = [uv_executable(), "pip", "install", "-q", "--python", str(python)]
    if compile_bytecode:
        install.append("--compile-bytecode")
    subprocess.run([*install, str(ROOT), *packages], check=True)
    return python


def clean_environment() -> dict[str, str]:
    """This process's environment without what would point a venv's python elsewhere."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def site_packages(python: Path) -> Path:
    """The site-packages directory of the venv whose interpreter is ``python``."""
    return next((python.parent.parent / "lib").glob("python3*/site-packages"))


def describe(python: Path | str) -> str:
    """One line for a benchmark's header: the interpreter and what it imports at start-up."""
    shown = subprocess.run(
        [str(python), "-c", _STARTUP],
        check=True,
        capture_output=True,
        text=True,
        env=clean_environment(),
    ).stdout.split()
    version, count, others = shown[0], int(shown[1]), shown[2:]
    line = f"timed interpreter: Python {version}, {count} modules at start-up"
    if others:
        return f"{line}, WARNING: it imports {', '.join(others)} at start-up (a .pth file?)"
    return f"{line}, none outside the standard library"
