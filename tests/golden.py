"""Byte-exact comparison with files under ``golden/``; ``REGEN_GOLDEN=1`` rewrites them."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def check_golden(relative: str | Path, actual: bytes) -> None:
    """Assert ``actual`` equals ``golden/relative``; rewrite it instead when regenerating.

    Regenerate deliberately (``REGEN_GOLDEN=1 python -m pytest``), then review the diff:
    never to make a failing test pass.
    """
    path = GOLDEN / relative
    if os.environ.get("REGEN_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
        return
    assert path.exists(), f"missing golden file {path}; create it with REGEN_GOLDEN=1"
    expected = path.read_bytes()
    if actual != expected:
        raise AssertionError(
            f"output differs from {path}:\n--- expected\n{expected.decode(errors='replace')}\n"
            f"--- actual\n{actual.decode(errors='replace')}"
        )
