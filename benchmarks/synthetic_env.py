"""Lay out a synthetic site directory of installed distributions for benchmarks."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

MODULE = """def register():
    return None


def plugin_manifest():
    return {{
        "name": "{name}",
        "version": "1.0.{index}",
        "sdk_version": "1",
        "insideLLMs": ">=0.2.0,<0.3.0",
        "capabilities": {{"models": ["m{index}"], "probes": [], "datasets": []}},
        "requires": {{"python": ">=3.10", "extras": [], "env": []}},
        "determinism": {{"class": "deterministic", "notes": ""}},
    }}
"""


def _hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(data)}"


def write_dist(site: Path, name: str, index: int, *, group: str | None) -> None:
    """One installed distribution with a package of a few modules; a plugin of ``group``."""
    package = name.replace("-", "_")
    info = f"{package}-1.0.{index}.dist-info"
    files = {
        f"{package}/__init__.py": MODULE.format(name=name, index=index).encode(),
        f"{package}/core.py": b"VALUE = %d\n" % index + b"# padding\n" * 200,
        f"{package}/util/__init__.py": b"",
        f"{package}/util/helpers.py": b"def helper():\n    return 1\n" * 50,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.{index}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/INSTALLER": b"pip\n",
    }
    if group is not None:
        files[f"{info}/entry_points.txt"] = f"[{group}]\n{name} = {package}:register\n".encode()
    rows = [f"{path},{_hash(data)}" for path, data in sorted(files.items())]
    files[f"{info}/RECORD"] = ("\n".join([*rows, f"{info}/RECORD,,"]) + "\n").encode()
    for path, data in files.items():
        target = site / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def build_site(site: Path, count: int, plugins: int, group: str) -> None:
    """``count`` distributions, ``plugins`` of them (spread evenly) in ``group``."""
    step = max(count // max(plugins, 1), 1)
    made = 0
    for index in range(count):
        is_plugin = made < plugins and index % step == 0
        made += is_plugin
        write_dist(site, f"bench-dist-{index:05d}", index, group=group if is_plugin else None)


def time_with_bytecode_caches() -> None:
    """Let timed processes use and write ``__pycache__``, as installed environments do.

    pip compiles bytecode at install time and Python caches it on first import. With
    ``PYTHONDONTWRITEBYTECODE`` set (some CI images set it), any module without a cache
    is compiled again in every timed process, and ratios would measure the compiler.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
