"""Run a command without the privileges that let root ignore file permissions.

Root reads a mode-000 file and writes into a mode-500 directory (the capabilities
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH). Tests of permission errors drop those two
capabilities with util-linux's ``setpriv`` when they run as root (as CI does), so they
test the real kernel refusal instead of skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["unprivileged"]


def unprivileged(*command: str) -> list[str]:
    """``command``, prefixed so that it runs without permission-bypassing capabilities."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return list(command)
    setpriv = shutil.which("setpriv")
    if setpriv is None:  # pragma: no cover - util-linux is on every CI machine we use
        pytest.fail("running as root needs util-linux's setpriv to drop CAP_DAC_OVERRIDE")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, "--bounding-set", drop, "--inh-caps", drop, "--", *command]
