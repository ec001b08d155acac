"""The ``!provenance`` entry point: hook into a host run without changing what it does.

insideLLMs loads plugins sorted by entry-point name, so ``!provenance`` runs first. Its
``register()`` wraps, at call time, the two host functions the contract names:
``insideLLMs.registry._call_plugin_register`` (to observe every later plugin's
registration) and ``insideLLMs.resources.atomic_write_text`` (to add the field to every
``manifest.json`` before it is written). The host is judged by that contract, not by its
version (``host._contract``): an untested version that keeps it is recorded, with one
warning; one that breaks it, or an error in our code, leaves the run alone with one
warning naming what is missing. Before it wraps anything, ``register()`` reads the
plugins' installed files (hashes, integrity, sources, closures): the host imports every
other plugin after it, so what the field says of them is what Python read.
"""

from __future__ import annotations

import importlib
import itertools
import os
import sys
import warnings
from _thread import get_ident
from collections.abc import Callable, Mapping
from types import BuiltinMethodType, MethodType
from typing import TYPE_CHECKING, Any, Final

from insidellms_provenance.field.schema import DEFAULT_GROUP, FIELD_KEY, MANIFEST_NAME
from insidellms_provenance.host._contract import contract_problems
from insidellms_provenance.host._observer import HOST_REGISTRIES, OBSERVER, RegisterCall

if TYPE_CHECKING:
    from insidellms_provenance.field.schema import Provenance

__all__ = [
    "HOOK_VARIABLE",
    "TESTED_HOST_VERSIONS",
    "ProvenanceHookWarning",
    "current_field",
    "hook_switched_off",
    "register",
]

TESTED_HOST_VERSIONS: Final = frozenset({"0.2.0"})
HOOK_VARIABLE: Final = "INSIDELLMS_PROVENANCE"
"""``off`` (or ``0``, ``false``, ``no``) turns the hook off; plugins still load."""
_MARK: Final = "__insidellms_provenance_wrapped__"


class ProvenanceHookWarning(RuntimeWarning):
    """The hook could not do its job; the run goes on unchanged."""


def hook_switched_off(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``INSIDELLMS_PROVENANCE`` is ``off``, ``0``, ``false`` or ``no`` (any case)."""
    return environ.get(HOOK_VARIABLE, "").lower() in ("off", "0", "false", "no")


def register() -> None:
    """Install the hook; never raises into the host."""
    try:
        _install()
    except Exception as error:  # noqa: BLE001 - nothing of ours may fail a run
        _warn(f"hook not installed ({_described(error)})", about="hook")


def _described(error: BaseException) -> str:
    """``Type: message`` of an error, never raising (its ``__str__`` may be plugin code)."""
    from insidellms_provenance.fingerprint._loader import describe_error

    return ": ".join(describe_error(error))


def _warn(message: str, *, about: str) -> None:
    """Warn that the hook could not do a part of its job, once per run for each part.

    The parts (``hook``, ``plugin``, ``manifest``) fail independently, and the last one
    says the run has no field at all: a warning about another never hides it.
    """
    text = f"{message}; run 'insidellms-provenance embed RUN_DIR' after the run instead"
    _warn_once(text, about=about, stacklevel=4)


def _warn_once(text: str, *, about: str, stacklevel: int) -> None:
    """Issue ``text`` as a :class:`ProvenanceHookWarning` unless ``about`` was warned of.

    ``stacklevel`` counts from this function, as :func:`warnings.warn` does.
    """
    if about not in OBSERVER.warned:
        OBSERVER.warned.add(about)
        warnings.warn(
            f"insidellms-provenance: {text}", ProvenanceHookWarning, stacklevel=stacklevel
        )


def _install() -> None:
    if hook_switched_off():
        return
    host = sys.modules.get("insideLLMs")
    version = getattr(host, "__version__", None)
    registry = sys.modules.get("insideLLMs.registry")
    if _install_via_host_hooks(registry):
        _note_untested(version)
        return
    # The host imports its public writer lazily, at the first write; import it now so
    # the wrapper is in place before that (observed on insideLLMs 0.2.0).
    try:
        resources: Any = importlib.import_module("insideLLMs.resources")
    except ImportError:
        resources = None
    problems = contract_problems(registry, resources)
    if problems:
        _warn(
            f"insideLLMs {version} does not keep the plugin contract this hook relies on "
            f"({'; '.join(problems)}), so this run records no plugin provenance",
            about="hook",
        )
        return
    _note_untested(version)
    host_registry: Any = registry
    host_resources: Any = resources
    registries = {kind: getattr(host_registry, name) for kind, name in HOST_REGISTRIES.items()}
    if getattr(host_registry._call_plugin_register, _MARK, False):
        return
    _read_installed()
    OBSERVER.seed_builtins({kind: list(reg.list()) for kind, reg in registries.items()})
    host_registry._call_plugin_register = _observing(
        host_registry._call_plugin_register, registries
    )
    host_resources.atomic_write_text = _embedding(host_resources.atomic_write_text)


def _note_untested(version: object) -> None:
    """Warn once that the host's version is untested, when its contract is intact."""
    if version not in TESTED_HOST_VERSIONS:
        text = (
            f"insideLLMs {version} is not a tested version; the plugin contract this hook "
            "relies on is intact, so provenance is recorded"
        )
        _warn_once(text, about="version", stacklevel=5)


def _install_via_host_hooks(registry: Any) -> bool:
    """Use the explicit hooks proposed in docs/host-hook-proposal.md, if the host has them.

    ``registry.add_plugin_load_listener(listener)`` reports each plugin load as an event
    with ``name``, ``value``, ``error`` (or ``None``) and the ``calls`` it made, each
    ``(kind, key, overwrite, existed)``; ``registry.add_manifest_contributor(key, fn)``
    puts ``fn()`` at ``manifest["custom"][key]`` before the host serializes it.
    """
    listen = getattr(registry, "add_plugin_load_listener", None)
    contribute = getattr(registry, "add_manifest_contributor", None)
    if not (callable(listen) and callable(contribute)):
        return False

    def listener(event: Any) -> None:
        try:
            calls = [(str(k), str(n), bool(o), bool(e)) for k, n, o, e in event.calls]
            OBSERVER.note((event.name, event.value), calls, event.error)
        except Exception as problem:  # noqa: BLE001 - never let our bookkeeping alter the run
            _warn(f"could not observe a plugin ({type(problem).__name__})", about="plugin")

    _read_installed()
    registries = {kind: getattr(registry, name, None) for kind, name in HOST_REGISTRIES.items()}
    OBSERVER.seed_builtins(
        {kind: list(reg.list()) for kind, reg in registries.items() if reg is not None}
    )
    listen(listener)
    contribute(FIELD_KEY, current_field)
    return True


def _read_installed() -> None:
    """Read the plugins' files once per run, before the host imports any other plugin.

    The one moment our code runs before plugin code: a plugin that rewrites its own
    files when imported would otherwise be recorded as it left them. Bytecode caches
    the host's imports write afterwards are never seen (a run does not compare caches).
    An error here leaves the host unwrapped (:func:`register` warns once).
    """
    if OBSERVER.on_disk is None:
        from insidellms_provenance.fingerprint._recorder import read_installed

        OBSERVER.on_disk = read_installed(_entry_points())


def _entry_points() -> list[Any]:
    """The group's entry points, discovered once per run: the host's list does not change."""
    if OBSERVER.entry_points is None:
        from insidellms_provenance.fingerprint._discover import discover

        OBSERVER.entry_points = discover(DEFAULT_GROUP)
    return OBSERVER.entry_points


def _imported_before_the_hook() -> list[tuple[str, str]]:
    """The entry points the host imported before this hook's ``register()``.

    The host loads its plugins sorted by (name, value): any name may sort before
    ``!provenance`` (``!a``, or an empty one), and such a plugin ran before the hook
    read the files.
    """
    from insidellms_provenance.fingerprint._discover import OWN_HOOK

    return [(ep.name, ep.value) for ep in _entry_points() if (ep.name, ep.value) < OWN_HOOK]


def _entry_point_of(function: object) -> tuple[str, str] | None:
    """The (name, value) of the group's entry point whose object is ``function``.

    Each entry point's object is looked up now (a module may rebind it), by the module
    and attribute path its value names, worked out once per run. Of two entry points
    naming one object (an old name kept beside a new one), the host calls the first in
    its order first: the first not yet observed is the one being called. The host calls
    them in that order, so the search starts after the last one found
    (``OBSERVER.cursor``): each call then looks at the entry points the host skipped
    since (those that failed to load), not at all of them, and a group of thousands
    costs each plugin what one costs. An object found nowhere after it is looked for
    before it, for a host that calls out of order.
    """
    if OBSERVER.targets is None:
        from insidellms_provenance.fingerprint._loader import (
            entry_point_attribute,
            entry_point_module,
        )

        OBSERVER.targets = [
            (entry_point_module(ep) or "", (entry_point_attribute(ep) or "").split("."), ep)
            for ep in _entry_points()
        ]
    targets = OBSERVER.targets
    start = OBSERVER.cursor
    for index in itertools.chain(range(start, len(targets)), range(start)):
        module_name, parts, ep = targets[index]
        target: Any = sys.modules.get(module_name)
        if target is None:
            continue  # not imported: not the one being called
        for part in parts:
            target = getattr(target, part, None) if part else target
        if _same_callable(target, function) and (ep.name, ep.value) not in OBSERVER.observations:
            OBSERVER.cursor = index + 1
            return ep.name, ep.value
    return None


def _same_callable(target: object, function: object) -> bool:
    """Whether ``target`` is ``function``, or the same method bound to the same object.

    Each lookup of a method (``pkg:Plugin.register``, a classmethod) makes a new bound
    method, so the host's object and ours are two objects binding the same two. They are
    compared by identity: ``==`` would run a plugin's ``__eq__``.
    """
    if target is function:
        return True
    kind = type(function)
    if kind is not type(target) or kind not in (MethodType, BuiltinMethodType):
        return False
    same = getattr(target, "__self__", None) is getattr(function, "__self__", None)
    if kind is MethodType:
        return same and getattr(target, "__func__", None) is getattr(function, "__func__", None)
    return same and getattr(target, "__name__", None) == getattr(function, "__name__", None)


def _observing(original: Callable[..., Any], registries: dict[str, Any]) -> Callable[..., Any]:
    def call_plugin_register(fn: Any) -> Any:
        try:
            entry_point = _entry_point_of(fn)
            calls: list[RegisterCall] = []
            spies = _spy(registries, calls) if entry_point is not None else []
        except KeyboardInterrupt:
            raise
        except BaseException:  # noqa: BLE001 - a module's __getattr__ is plugin code
            return original(fn)  # observation is optional, the call is not
        try:
            result = original(fn)
        except BaseException as error:
            _finish(spies, entry_point, calls, error)
            raise
        _finish(spies, entry_point, calls, None)
        return result

    setattr(call_plugin_register, _MARK, True)
    return call_plugin_register


# A registry with no ``register`` of its own on the instance (the usual case).
_NONE_OWN: Final = object()


def _spy(registries: dict[str, Any], calls: list[RegisterCall]) -> list[tuple[Any, Any, Any]]:
    """Shadow each registry's ``register`` on the instance to see the plugin's calls.

    Only calls from the thread calling the plugin's ``register()`` are its own: a thread
    an earlier plugin started may register meanwhile, and is not booked on this one.
    Returns, per registry, the spy and what the instance had of its own before it.
    """
    spies = []
    thread = get_ident()
    for kind, registry in registries.items():
        original = registry.register
        # The keys before the plugin's first registration, listed then: a plugin that
        # registers nothing (most) never lists a registry that may hold thousands.
        existing: list[set[str]] = []

        def spy(
            name: str,
            *args: Any,
            _kind: str = kind,
            _registry: Any = registry,
            _original: Any = original,
            _existing: list[set[str]] = existing,
            **kwargs: Any,
        ) -> Any:
            if get_ident() != thread:
                return _original(name, *args, **kwargs)
            if not _existing:
                _existing.append(set(_registry.list()))
            keys = _existing[0]
            calls.append((_kind, name, bool(kwargs.get("overwrite", False)), name in keys))
            result = _original(name, *args, **kwargs)
            keys.add(name)
            return result

        own = vars(registry).get("register", _NONE_OWN)
        registry.register = spy
        spies.append((registry, spy, own))
    return spies


def _finish(
    spies: list[tuple[Any, Any, Any]],
    entry_point: tuple[str, str] | None,
    calls: list[RegisterCall],
    error: BaseException | None,
) -> None:
    """Take the spies away, as the registries were, and note what the plugin did.

    A ``register`` the plugin put on the instance in place of the spy is the plugin's
    doing and stays, as it would without the hook.
    """
    try:
        for registry, spy, own in spies:
            if vars(registry).get("register") is spy:
                if own is _NONE_OWN:
                    del registry.register
                else:
                    registry.register = own
        if entry_point is not None:
            OBSERVER.note(entry_point, calls, error)
    except Exception as problem:  # noqa: BLE001 - never let our bookkeeping alter the run
        _warn(f"could not observe a plugin ({type(problem).__name__})", about="plugin")


def _embedding(original: Callable[..., Any]) -> Callable[..., Any]:
    def atomic_write_text(path: Any, text: Any, *args: Any, **kwargs: Any) -> Any:
        new_text = text
        try:
            if os.path.basename(os.fspath(path)) == MANIFEST_NAME and isinstance(text, str):
                from insidellms_provenance.runfile._embed import embed_text

                new_text, _ = embed_text(text, current_field(), where=MANIFEST_NAME)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - fall back to the host's own text
            # Plugin code runs while the field is made (plugin_manifest()); nothing it
            # raises, SystemExit included, may stop the host writing its manifest.
            _warn(f"manifest not annotated ({_described(error)})", about="manifest")
            new_text = text
        return original(path, new_text, *args, **kwargs)

    setattr(atomic_write_text, _MARK, True)
    return atomic_write_text


def current_field() -> Provenance:
    """The field for this run, computed once: plugins do not change during a run."""
    if OBSERVER.field is None:
        from insidellms_provenance.fingerprint._recorder import record_field

        OBSERVER.field = record_field(
            DEFAULT_GROUP,
            observations=OBSERVER.observations,
            conflicts=OBSERVER.conflicts,
            entry_points=_entry_points(),
            in_run=True,
            on_disk=OBSERVER.on_disk,
            imported_before=_imported_before_the_hook(),
        )
    return OBSERVER.field
