"""Registries and entry-point plugin loading, as the contract describes them."""

import inspect
import os
import warnings
from importlib import metadata


class Registry:
    def __init__(self, kind):
        self.kind = kind
        self._items = {}

    def register(self, name, factory, *, overwrite=False):
        if name in self._items and not overwrite:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = factory

    def list(self):
        return sorted(self._items)


model_registry = Registry("model")
probe_registry = Registry("probe")
dataset_registry = Registry("dataset")
_builtins_done = False


def _call_plugin_register(fn):
    if not inspect.signature(fn).parameters:
        return fn()
    return fn(
        model_registry=model_registry,
        probe_registry=probe_registry,
        dataset_registry=dataset_registry,
    )


def load_entrypoint_plugins(group="insidellms.plugins", enabled=None):
    if os.environ.get("INSIDELLMS_DISABLE_PLUGINS", "") in ("1", "true", "yes"):
        return {}
    loaded = {}
    for ep in sorted(metadata.entry_points(group=group), key=lambda ep: (ep.name, ep.value)):
        if enabled is not None and ep.name not in enabled:
            continue
        try:
            fn = ep.load()
            if not callable(fn):
                warnings.warn(f"Plugin {ep.name!r} ({ep.value}) is not callable", RuntimeWarning)
                continue
            _call_plugin_register(fn)
        except Exception as error:  # the host turns every failure into a warning
            warnings.warn(
                f"Failed to load plugin {ep.name!r} ({ep.value}): {error}", RuntimeWarning
            )
            continue
        loaded[ep.name] = ep.value
    return loaded


def ensure_builtins_registered():
    global _builtins_done
    if _builtins_done:
        return
    _builtins_done = True
    model_registry.register("dummy", object)
    probe_registry.register("logic", object)
    dataset_registry.register("sample", object)
    load_entrypoint_plugins()
