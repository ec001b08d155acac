"""The child interpreter's side of isolation: import the plugins, report each step.

:mod:`~insidellms_provenance.fingerprint._isolation` starts the child and reads its
answer. What this module imports is what the child imports before the first plugin, so
it holds to the loader and what the loader needs: not ``importlib.metadata`` (≈ 25 ms;
entry points are rebuilt from their name, value and group, and loaded as importlib
loads them: :class:`~insidellms_provenance.fingerprint._loader.NamedEntryPoint`), nor
the parent's process machinery (``subprocess``, ``selectors``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, NoReturn

from insidellms_provenance.fingerprint._loader import (
    NamedEntryPoint,
    call_plugin_manifest,
    imported_file,
    load_entry_point,
)

if TYPE_CHECKING:
    from insidellms_provenance.fingerprint._isolation import ImportResult

__all__ = ["INTERRUPTED", "serve_child", "serve_imports"]

INTERRUPTED: Final = 130
"""The child's exit status after a ``KeyboardInterrupt``; the parent raises it again."""


def serve_child(work: Callable[[Callable[[dict[str, Any]], None]], None]) -> NoReturn:
    """Run ``work(send)``, then say the answer is complete, and end the process.

    Plugin writes to fd 1 or ``sys.__stdout__`` go to stderr; messages (JSON lines) go on
    a duplicate of the original stdout. ``KeyboardInterrupt`` ends the child with
    :data:`INTERRUPTED`, which the parent turns back into ``KeyboardInterrupt``.
    """
    report = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(message: dict[str, Any]) -> None:
        report.write(json.dumps(message).encode() + b"\n")

    try:
        work(send)
        send({"complete": True})
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            send({"interrupted": True})
        os._exit(INTERRUPTED)
    report.close()
    # Skip interpreter shutdown: plugin atexit handlers and threads are not our business.
    sys.stderr.flush()
    os._exit(0)


def serve_imports(spec: Mapping[str, Any]) -> NoReturn:
    """Import each entry point of ``spec["entry_points"]`` in order; report each step.

    A ``loaded`` message after the import and a ``done`` message with the
    :class:`~insidellms_provenance.fingerprint._isolation.ImportResult` after
    ``plugin_manifest()``: a plugin that ends the process leaves the parent with every
    step before it.
    """

    def work(send: Callable[[dict[str, Any]], None]) -> None:
        for name, value, group in spec["entry_points"]:
            ep = NamedEntryPoint(name, value, group)
            load = load_entry_point(ep)
            send({"loaded": load})
            manifest = call_plugin_manifest(ep, load)
            result: ImportResult = {
                "load": load,
                "manifest": manifest,
                "module_file": imported_file(ep),
            }
            send({"done": [name, value], "result": result})

    serve_child(work)
