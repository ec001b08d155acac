"""A one-line progress report on a terminal's stderr: count, rate and current item.

Shown only when stderr is a terminal and ``--quiet`` is not given; at most ten updates a
second, so reporting costs nothing next to the work. Never used on the recording path.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from insidellms_provenance.cli._render import safe_line

__all__ = ["Progress"]

_INTERVAL = 0.1  # seconds between redraws


class Progress:
    """``verb count[/total] unit (rate/s) item`` redrawn in place; cleared by ``close``."""

    def __init__(
        self, verb: str, unit: str, *, enabled: bool, stream: TextIO | None = None
    ) -> None:
        self.verb = verb
        self.unit = unit
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.shown = 0.0

    @classmethod
    def for_terminal(cls, verb: str, unit: str, *, quiet: bool) -> Progress:
        """Enabled when stderr is a terminal and the user did not ask for quiet."""
        return cls(verb, unit, enabled=not quiet and sys.stderr.isatty())

    def update(self, count: int, item: str, total: int | None = None) -> None:
        """Redraw with ``count`` done (of ``total``), ``item`` the one just done."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.shown < _INTERVAL and (total is None or count < total):
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-9)
        done = f"{count}/{total}" if total is not None else str(count)
        # The item is a run's path or a distribution's name: it may not move the cursor.
        line = f"{self.verb} {done} {self.unit} ({count / elapsed:,.0f}/s) {safe_line(item)}"
        width = shutil.get_terminal_size().columns - 1
        if len(line) > width:
            line = line[: max(width - 1, 0)] + "…"
        self.stream.write(f"\r\x1b[K{line}")
        self.stream.flush()

    def close(self) -> None:
        """Erase the line, so that results and errors start on a clean line."""
        if self.enabled and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
