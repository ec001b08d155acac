"""Import entry points and call ``plugin_manifest()``: the one place plugin code runs.

Everything a plugin raises is caught here and turned into data, so a broken plugin is
recorded, never fatal. Plugin output to stdout is sent to stderr so it cannot corrupt
the JSON that ``record`` prints.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import DEFAULT_GROUP, LoadOutcome, ManifestSummary
from insidellms_provenance.fingerprint.plugin_manifest import summarize_manifest

__all__ = [
    "HOST_DISABLE_VARIABLE",
    "call_plugin_manifest",
    "describe_error",
    "load_entry_point",
    "plugins_disabled",
]

HOST_DISABLE_VARIABLE = "INSIDELLMS_DISABLE_PLUGINS"
"""The host's own switch: ``1``, ``true`` or ``yes`` and it loads no plugin at all."""


def plugins_disabled(group: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the host would skip plugin loading (its loader compares case-sensitively)."""
    return group == DEFAULT_GROUP and environ.get(HOST_DISABLE_VARIABLE, "") in ("1", "true", "yes")


def load_entry_point(ep: metadata.EntryPoint) -> LoadOutcome:
    """Import the entry point's object as the host does, without calling it.

    In the host's group a non-callable object is ``skipped``, as insideLLMs skips it;
    other groups (pytest11, console_scripts...) may point at anything.
    """
    try:
        with contextlib.redirect_stdout(sys.stderr):
            loaded = ep.load()
    except Exception as error:  # noqa: BLE001 - foreign plugin code: record, don't crash
        error_type, message = describe_error(error)
        return schema.load_outcome(status="failed", error_type=error_type, error_message=message)
    if ep.group == DEFAULT_GROUP and not callable(loaded):
        return schema.load_outcome(status="skipped", error_message="entry point is not callable")
    return schema.load_outcome(status="loaded")


def call_plugin_manifest(ep: metadata.EntryPoint, outcome: LoadOutcome) -> ManifestSummary:
    """Call the entry point's ``plugin_manifest()``, if it has one.

    Looks in the entry point's module, then in its parent packages, nearest first:
    ``pkg.hooks:register`` finds ``pkg.plugin_manifest``.
    """
    if outcome["status"] == "disabled" or ep.module not in sys.modules:
        # A module whose import raised is removed from sys.modules; one whose
        # registration failed inside a host run is still there and still declares.
        return schema.manifest_summary(status="error", problems=("module failed to import",))
    function = _find_manifest_function(ep.module)
    if function is None:
        return schema.manifest_summary(status="missing")
    if not callable(function):
        return schema.manifest_summary(
            status="invalid", problems=("plugin_manifest is not callable",)
        )
    try:
        with contextlib.redirect_stdout(sys.stderr):
            value = function()
    except Exception as error:  # noqa: BLE001 - foreign plugin code: record, don't crash
        error_type, message = describe_error(error)
        return schema.manifest_summary(status="error", problems=(f"{error_type}: {message}",))
    return summarize_manifest(value)


def _find_manifest_function(module_name: str) -> object | None:
    parts = module_name.split(".")
    for end in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:end]))
        function: object | None = getattr(module, "plugin_manifest", None)
        if function is not None:
            return function
    return None


def describe_error(error: BaseException) -> tuple[str, str]:
    """Exception type and the first line of its message, with local paths hidden."""
    error_type = type(error).__qualname__
    module = type(error).__module__
    if module not in ("builtins", "__main__"):
        error_type = f"{module}.{error_type}"
    text = str(error).strip().splitlines()
    return error_type, _hide_paths(text[0] if text else "")


def _hide_paths(text: str) -> str:
    """Replace this machine's prefix and home directory so messages stay portable."""
    replacements = [
        (sys.prefix, "{prefix}"),
        (sys.base_prefix, "{base_prefix}"),
        (str(Path.home()), "~"),
    ]
    for path, marker in sorted(replacements, key=lambda item: -len(item[0])):
        if len(path) > 1:
            text = text.replace(path, marker)
    return text
