"""Plugins with real dependency chains: plugin -> lib-a -> lib-b[fast] -> lib-c.

Also installed, and never in a closure: ``lib-never`` (behind a false marker) and
``lib-d`` (behind an extra nobody names).
"""

from __future__ import annotations

import zipfile
from typing import TYPE_CHECKING

from plugin_catalog import GROUP
from wheelbuilder import WheelSpec, build_wheel

if TYPE_CHECKING:
    from pathlib import Path

CHAIN_PLUGINS = ("chain-plugin", "chain-other")


def _library(name: str, version: str, *requires: str, extras: tuple[str, ...] = ()) -> WheelSpec:
    package = name.replace("-", "_")
    return WheelSpec(
        name=name,
        version=version,
        files={f"{package}/__init__.py": f"VERSION = {version!r}\n".encode()},
        requires_dist=requires,
        provides_extra=extras,
    )


def _plugin(name: str, *requires: str) -> WheelSpec:
    package = name.replace("-", "_")
    return WheelSpec(
        name=name,
        version="1.0.0",
        files={f"{package}/__init__.py": b"def register():\n    return None\n"},
        entry_points={GROUP: {package: f"{package}:register"}},
        requires_dist=requires,
    )


def dependency_catalog() -> dict[str, WheelSpec]:
    """Every wheel of the chains, by ``name-version``."""
    specs = [
        _plugin("chain-plugin", "lib-a>=1.0"),
        _plugin("chain-other", "lib-c>=1", 'lib-a; python_version < "3"'),
        _library("lib-a", "1.0.0", "lib-b[fast]>=2", 'lib-never; python_version < "3"'),
        _library(
            "lib-b",
            "2.0.0",
            'lib-c; extra == "fast"',
            'lib-d; extra == "slow"',
            extras=("fast", "slow"),
        ),
        _library(
            "lib-b",
            "2.1.0",
            'lib-c; extra == "fast"',
            'lib-d; extra == "slow"',
            extras=("fast", "slow"),
        ),
        _library("lib-b", "1.0.0", 'lib-c; extra == "fast"', extras=("fast",)),
        _library("lib-c", "1.0.0"),
        _library("lib-d", "1.0.0"),
        _library("lib-never", "1.0.0"),
    ]
    return {f"{spec.name}-{spec.version}": spec for spec in specs}


# What a closure of the plugins above is, when everything is installed.
CLOSURES = {"chain-plugin": ["lib-a", "lib-b", "lib-c"], "chain-other": ["lib-c"]}


def unpack(site: Path, *specs: WheelSpec) -> None:
    """A pure wheel unpacked into a directory is that wheel installed there."""
    wheels = site.parent / "wheels"
    for spec in specs:
        with zipfile.ZipFile(build_wheel(spec, wheels)) as archive:
            archive.extractall(site)
