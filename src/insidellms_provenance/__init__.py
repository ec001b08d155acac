"""Record, diff and verify exactly which plugin code produced an LLM evaluation run.

Importing the package is cheap: everything is loaded on first use.
"""

from __future__ import annotations

__all__ = ["__version__", "canonical_json", "record"]

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from insidellms_provenance._canonical import canonical_json
    from insidellms_provenance.fingerprint._recorder import record

_LAZY = {
    "canonical_json": "insidellms_provenance._canonical",
    "record": "insidellms_provenance.fingerprint._recorder",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - module attribute protocol
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
