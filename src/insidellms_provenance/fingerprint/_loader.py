"""Import entry points and call ``plugin_manifest()``: the one place plugin code runs.

Everything a plugin raises is caught here and turned into data, so a broken plugin is
recorded, never fatal: every ``BaseException`` (``SystemExit``, ``GeneratorExit``...)
but ``KeyboardInterrupt``, which still interrupts. Plugin output to stdout, through
``sys.stdout`` or file descriptor 1, is sent to stderr so it cannot corrupt the JSON
that ``record`` prints.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Final, cast

from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import DEFAULT_GROUP, LoadOutcome, ManifestSummary
from insidellms_provenance.fingerprint._plugin_manifest import summarize_manifest

if TYPE_CHECKING:
    from importlib import metadata
    from importlib.machinery import ModuleSpec
    from typing import TypeAlias

    # What the loader is given: an entry point found by discovery, or one rebuilt from
    # its three strings in the child that imports plugins.
    LoadableEntryPoint: TypeAlias = "metadata.EntryPoint | NamedEntryPoint"

__all__ = [
    "HOST_DISABLE_VARIABLE",
    "NamedEntryPoint",
    "call_plugin_manifest",
    "describe_error",
    "entry_point_attribute",
    "entry_point_module",
    "host_loader_disabled",
    "imported_file",
    "load_entry_point",
    "module_chain",
    "plugin_output_to_stderr",
    "plugins_disabled",
]

HOST_DISABLE_VARIABLE = "INSIDELLMS_DISABLE_PLUGINS"
"""The host's own switch: ``1``, ``true`` or ``yes`` and it loads no plugin at all."""


def plugins_disabled(group: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the host would skip plugin loading (its loader compares case-sensitively)."""
    return group == DEFAULT_GROUP and environ.get(HOST_DISABLE_VARIABLE, "") in ("1", "true", "yes")


class host_loader_disabled:  # noqa: N801 - a context manager, named as one
    """Keep insideLLMs' plugin loader from running while we import a plugin.

    A plugin that imports ``insideLLMs`` at module level sets off the host's whole
    loader, which calls every plugin's ``register()``; ``record``, ``embed`` and
    ``check`` promise never to. The host's loader returns at once when
    ``INSIDELLMS_DISABLE_PLUGINS`` is ``1``, so it is set for the import, then restored.
    Inside a host run the loader has already run, so this changes nothing there. A
    class, not a generator: it runs for every plugin of every host run.
    """

    __slots__ = ("_previous",)

    def __enter__(self) -> None:
        self._previous = os.environ.get(HOST_DISABLE_VARIABLE)
        os.environ[HOST_DISABLE_VARIABLE] = "1"

    def __exit__(self, *_exception: object) -> None:
        if self._previous is None:
            os.environ.pop(HOST_DISABLE_VARIABLE, None)
        else:
            os.environ[HOST_DISABLE_VARIABLE] = self._previous


def load_entry_point(ep: LoadableEntryPoint) -> LoadOutcome:
    """Import the entry point's object as the host does, without calling it.

    In the host's group a non-callable object is ``skipped``, as insideLLMs skips it;
    other groups (pytest11, console_scripts...) may point at anything.
    """
    module_name = entry_point_module(ep)
    if module_name is None:
        message = f"entry point value {ep.value!r} is not a valid object reference"
        return schema.load_outcome(status="failed", error_type="ValueError", error_message=message)
    _remember_where_found(module_name)
    try:
        with plugin_output_to_stderr(), host_loader_disabled():
            loaded = ep.load()
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - foreign plugin code: record, don't crash
        error_type, message = describe_error(error)
        return schema.load_outcome(status="failed", error_type=error_type, error_message=message)
    if ep.group == DEFAULT_GROUP and not callable(loaded):
        return schema.load_outcome(status="skipped", error_message="entry point is not callable")
    return schema.load_outcome(status="loaded")


def call_plugin_manifest(ep: LoadableEntryPoint, outcome: LoadOutcome) -> ManifestSummary:
    """Call the entry point's ``plugin_manifest()``, if it has one.

    Looks in the entry point's module, then in its parent packages, nearest first:
    ``pkg.hooks:register`` finds ``pkg.plugin_manifest``.
    """
    function = _manifest_function(ep, outcome)
    if not callable(function):
        return function
    with plugin_output_to_stderr():  # once for both: each redirection costs system calls
        try:
            with host_loader_disabled():
                value = function()
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - foreign plugin code: record it
            error_type, message = describe_error(error)
            problem = f"{error_type}: {message}"
            return schema.manifest_summary(status="error", problems=(problem,))
        try:
            return summarize_manifest(value)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - a hostile mapping runs code when read
            error_type, _ = describe_error(error)
            problem = f"the returned value could not be read ({error_type})"
            return schema.manifest_summary(status="invalid", problems=(problem,))


def _manifest_function(
    ep: LoadableEntryPoint, outcome: LoadOutcome
) -> Callable[[], object] | ManifestSummary:
    """The entry point's ``plugin_manifest``, or the summary of why there is none to call.

    Looking it up may run plugin code (a module's ``__getattr__``, such as a lazy
    loader's): what that raises is the manifest's error, never the caller's.
    """
    module_name = entry_point_module(ep)
    if outcome["status"] == "disabled" or module_name is None or module_name not in sys.modules:
        # A module whose import raised is removed from sys.modules; one whose
        # registration failed inside a host run is still there and still declares.
        return schema.manifest_summary(status="error", problems=("module failed to import",))
    try:
        function = _find_manifest_function(module_name)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - a module's __getattr__ is plugin code
        error_type, message = describe_error(error)
        problem = f"looking up plugin_manifest raised {error_type}: {message}"
        return schema.manifest_summary(status="error", problems=(problem,))
    if function is None:
        return schema.manifest_summary(status="missing")
    if not callable(function):
        return schema.manifest_summary(
            status="invalid", problems=("plugin_manifest is not callable",)
        )
    return function


# importlib's EntryPoint.pattern: ``module`` or ``module:attr.attr`` with optional extras.
_REFERENCE: Final = re.compile(
    r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$"
)


class NamedEntryPoint:
    """An entry point rebuilt from its name, value and group; :meth:`load` is importlib's.

    The child that imports plugins receives entry points as strings: building
    ``importlib.metadata.EntryPoint`` objects would import ``importlib.metadata``
    (≈ 25 ms, with ``email``, ``zipfile`` and ``pathlib``) before the first plugin, in
    every ``record``. ``tests/test_loader.py`` holds both equal, pattern included.
    """

    __slots__ = ("group", "name", "value")

    def __init__(self, name: str, value: str, group: str) -> None:
        self.name = name
        self.value = value
        self.group = group

    def load(self) -> object:
        """Import the module and walk the attributes, as ``EntryPoint.load`` does."""
        match = _REFERENCE.match(self.value)
        if match is None:
            # EntryPoint.load fails the same way: on ``None.group``.
            raise AttributeError("'NoneType' object has no attribute 'group'")
        module = importlib.import_module(match.group("module"))
        attributes = filter(None, (match.group("attr") or "").split("."))
        return functools.reduce(getattr, attributes, module)


def entry_point_module(ep: LoadableEntryPoint) -> str | None:
    """The module an entry point names, or ``None`` for a value that names none.

    ``EntryPoint.module`` raises ``AttributeError`` on such values (``not a ref!!``).
    """
    match = _REFERENCE.match(ep.value)
    return match.group("module") if match else None


def imported_file(ep: LoadableEntryPoint) -> str | None:
    """The file the entry point's module was imported from in this process, if any.

    Not the module's ``__file__``, which its own code may set to anything (a shadowing
    copy to the installed file's path): the file the import system's finders found for
    the first module of the chain whose code runs (``pkg`` for ``pkg.sub:obj``; below
    a namespace package, the first regular package or module). Found just before
    :func:`load_entry_point` imported it, when it did; for a module imported before
    (by the host, or by another plugin's code), found again now, by name.
    """
    module_name = entry_point_module(ep)
    if module_name is None or module_name not in sys.modules:
        return None
    for name in module_chain(module_name):
        if name in _FOUND_BEFORE_IMPORT:
            return _FOUND_BEFORE_IMPORT[name]
    found = _first_code_module(module_name)
    return found[1] if found is not None else None


# Where the first module of an entry point's chain that runs code was found, by that
# module's name, looked up just before load_entry_point first imported it here (so
# before any of its code ran). What this process imported, as sys.modules is.
_FOUND_BEFORE_IMPORT: dict[str, str | None] = {}


def _remember_where_found(module_name: str) -> None:
    """Note where the import about to happen will find ``module_name``'s first code."""
    found = _first_code_module(module_name)
    if found is not None and found[0] not in sys.modules:
        _FOUND_BEFORE_IMPORT.setdefault(*found)


def module_chain(module_name: str) -> Iterator[str]:
    """``a``, ``a.b``, ``a.b.c`` for ``a.b.c``: the modules importing it imports, in order.

    Made one at a time: the callers stop at the first module that runs code, and a
    name of thousands of parts (an entry point's value is plugin-chosen text) would
    otherwise make all its prefixes, quadratic in its length, before the first is used.
    """
    end = module_name.find(".")
    while end != -1:
        yield module_name[:end]
        end = module_name.find(".", end + 1)
    yield module_name


def _first_code_module(module_name: str) -> tuple[str, str | None] | None:
    """The first module of ``module_name``'s chain that runs code, and its file.

    As the finders of ``sys.meta_path`` (editable installs' included) find it now, by
    name: ``sys.modules`` and the module's own attributes play no part. A namespace
    package runs no code: its search locations lead to the next name. ``None`` when
    nothing is found, a finder fails (the import will fail alike), or the name is no
    module name; the file is ``None`` for a module without one (built-in).
    """
    path: list[str] | None = None
    try:
        for name in module_chain(module_name):
            spec = _find_spec(name, path) if name.rpartition(".")[2] else None
            if spec is None:
                return None
            if spec.has_location or spec.submodule_search_locations is None:
                return name, spec.origin if spec.has_location else None
            path = list(spec.submodule_search_locations)
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - finders a .pth installed are foreign code
        return None
    return None


def _find_spec(name: str, path: list[str] | None) -> ModuleSpec | None:
    """The spec the first finder of ``sys.meta_path`` gives, as the import system asks."""
    for finder in list(sys.meta_path):
        find_spec = getattr(finder, "find_spec", None)
        spec = find_spec(name, path, None) if find_spec is not None else None
        if spec is not None:
            return cast("ModuleSpec", spec)
    return None


def entry_point_attribute(ep: LoadableEntryPoint) -> str | None:
    """The attribute path an entry point names in its module (``EntryPoint.attr``).

    ``None`` for a value that names no attribute, or none at all (where ``attr`` raises).
    """
    match = _REFERENCE.match(ep.value)
    return match.group("attr") if match else None


class plugin_output_to_stderr:  # noqa: N801 - a context manager, named as one
    """While plugin code runs, its writes to stdout (``sys.stdout`` or fd 1) go to stderr.

    A class, not a generator with ``contextlib.redirect_stdout`` inside: it runs for
    every plugin of every host run.
    """

    __slots__ = ("_saved", "_stdout")

    def __enter__(self) -> None:
        sys.stdout.flush()
        self._saved: int | None = None
        try:
            self._saved = os.dup(1)
            os.dup2(2, 1)
        except (OSError, ValueError):
            pass
        self._stdout = sys.stdout
        sys.stdout = sys.stderr

    def __exit__(self, *_exception: object) -> None:
        sys.stdout = self._stdout
        saved = self._saved
        if saved is not None:
            try:
                sys.stderr.flush()
                os.dup2(saved, 1)
            except (OSError, ValueError):
                pass
            os.close(saved)


def _find_manifest_function(module_name: str) -> object | None:
    parts = module_name.split(".")
    for end in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:end]))
        function: object | None = getattr(module, "plugin_manifest", None)
        if function is not None:
            return function
    return None


def describe_error(error: BaseException) -> tuple[str, str]:
    """Exception type and the first line of its message, redacted (no paths, no names).

    Never raises, whatever the exception's ``__str__`` does.
    """
    error_type = str(type(error).__qualname__)
    module = str(type(error).__module__)
    if module not in ("builtins", "__main__"):
        error_type = f"{module}.{error_type}"
    try:
        text = str(error).strip().splitlines()
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - a plugin's __str__ is plugin code too
        text = ["<the exception's message could not be read>"]
    from insidellms_provenance.fingerprint._redact import redact  # only for an error

    return redact(error_type), redact(text[0] if text else "")
