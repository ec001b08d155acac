"""Our side of the proposed explicit host hooks, without any wrapping."""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

from insidellms_provenance.host import plugin
from insidellms_provenance.host._observer import OBSERVER


class Registry:
    def __init__(self, keys):
        self.keys = list(keys)

    def list(self):
        return list(self.keys)


def test_explicit_hooks_are_used_instead_of_wrapping(monkeypatch):
    listeners, contributors = [], {}
    registry = types.ModuleType("insideLLMs.registry")
    original = lambda fn: fn()  # noqa: E731
    registry._call_plugin_register = original
    registry.model_registry = Registry(["dummy"])
    registry.probe_registry = Registry([])
    registry.dataset_registry = Registry([])
    registry.add_plugin_load_listener = listeners.append
    registry.add_manifest_contributor = contributors.__setitem__
    host = types.ModuleType("insideLLMs")
    host.__version__ = "0.2.0"
    monkeypatch.setitem(sys.modules, "insideLLMs", host)
    monkeypatch.setitem(sys.modules, "insideLLMs.registry", registry)
    monkeypatch.setattr(OBSERVER, "observations", {})
    monkeypatch.setattr(OBSERVER, "conflicts", [])
    monkeypatch.setattr(OBSERVER, "owners", {})
    monkeypatch.setattr(OBSERVER, "builtins", set())
    plugin.register()
    assert registry._call_plugin_register is original  # nothing wrapped
    assert list(contributors) == ["plugin_provenance"]
    (listener,) = listeners
    listener(
        SimpleNamespace(
            name="p", value="p:register", error=None, calls=[("models", "dummy", True, True)]
        )
    )
    observed = OBSERVER.observations[("p", "p:register")]
    assert observed["load"]["status"] == "loaded"
    assert observed["replaced"]["models"] == ["dummy"]
    assert OBSERVER.conflicts[0]["outcome"] == "overwritten"
