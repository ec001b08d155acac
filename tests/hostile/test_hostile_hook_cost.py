"""The in-host hook's own work grows with the plugins, not with their square.

Against the fake host (``tests/fakehost``), with real wheels installed by real uv: one
distribution declares hundreds of entry points, each a function of its own, as a plugin
can (its ``entry_points.txt`` is plugin-chosen). Finding which entry point the host is
calling took a look at every earlier one, for each: the run's cost grew with the square
of the plugins (4,000 of them: 3.4 s against 0.28 s without the hook). Work is counted,
not timed: comparisons of objects, and listings of a registry's keys. The run ends as
without the hook, every plugin booked on its own entry point, and no file outside the
run directory changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import changed_outside, fake_host_venv

from wheelbuilder import WheelSpec

GROUP = "insidellms.plugins"
COUNT = 300
# Counts the hook's comparisons of the host's function with each entry point's object.
RUN = """
import json, sys
import insidellms_provenance.host.plugin as hook
compared = [0]
original = hook._same_callable
def counting(target, function):
    compared[0] += 1
    return original(target, function)
hook._same_callable = counting
import insideLLMs
insideLLMs.run({'questions': ['a']}, sys.argv[1])
print(json.dumps(compared[0]))
"""


@pytest.fixture(scope="module")
def many_run(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("hook-cost")
    code = "".join(f"def r{i}():\n    return None\n" for i in range(COUNT))
    entry_points = {f"p{i:04d}": f"many:r{i}" for i in range(COUNT)}
    files = {"many/__init__.py": code.encode()}
    many = WheelSpec(name="many", version="1.0", files=files, entry_points={GROUP: entry_points})
    venv = fake_host_venv(root, wheelhouse, [many])
    quiet = {"PYTHONDONTWRITEBYTECODE": "1"}
    result, changed = changed_outside(
        root, root / "run", lambda: venv.run("-c", RUN, str(root / "run"), env=quiet)
    )
    return {"result": result, "root": root, "changed": changed}


def test_each_plugin_is_found_without_looking_at_every_earlier_one(many_run):
    result = many_run["result"]
    assert result.returncode == 0, result.stderr
    assert b"ProvenanceHookWarning" not in result.stderr
    assert many_run["changed"] == []
    compared = json.loads(result.stdout.splitlines()[-1])
    # One look a plugin in the host's order; looking at every earlier one was
    # COUNT * (COUNT + 1) / 2 (45,150).
    assert compared <= 2 * COUNT, compared
    manifest = json.loads((many_run["root"] / "run" / "manifest.json").read_bytes())
    plugins = manifest["custom"]["plugin_provenance"]["plugins"]
    assert [p["entry_point"]["name"] for p in plugins] == [f"p{i:04d}" for i in range(COUNT)]
    assert {p["load"]["status"] for p in plugins} == {"loaded"}


class _Registry:
    """A registry of the contract's shape that counts the listings of its keys."""

    def __init__(self, keys: int) -> None:
        self.keys = [f"k{i}" for i in range(keys)]
        self.listed = 0

    def register(self, name: str, factory: object, *, overwrite: bool = False) -> None:
        del factory
        if name in self.keys and not overwrite:
            raise ValueError(f"{name!r} is already registered")
        self.keys.append(name)

    def list(self) -> list[str]:
        self.listed += 1
        return list(self.keys)


def test_a_plugin_that_registers_nothing_lists_no_registry():
    """A registry of many keys is listed once per plugin that registers, not per plugin."""
    from insidellms_provenance.host.plugin import _spy

    registries = {"models": _Registry(1000), "probes": _Registry(10)}
    calls: list[Any] = []
    spies = _spy(registries, calls)  # a plugin that registers nothing
    assert [registry.listed for registry in registries.values()] == [0, 0]
    for registry, _spy_function, _own in spies:
        del registry.register
    spies = _spy(registries, calls)  # one that registers two models
    registries["models"].register("new", object)
    registries["models"].register("k1", object, overwrite=True)
    assert [registry.listed for registry in registries.values()] == [1, 0]
    assert calls == [("models", "new", False, False), ("models", "k1", True, True)]
