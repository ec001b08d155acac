"""Run a command without the privileges that let root ignore file permissions.

Root reads a mode-000 file and writes into a mode-500 directory (the capabilities
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH). Tests of permission errors drop those two
capabilities with util-linux's ``setpriv`` when they run as root (as CI does), so they
test the real kernel refusal instead of skipping. Files given an access control list
and an extended attribute show what a rewrite keeps of them.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

__all__ = ["extended_attributes", "give_acl_and_attribute_or_skip", "unprivileged"]


def unprivileged(*command: str) -> list[str]:
    """``command``, prefixed so that it runs without permission-bypassing capabilities."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return list(command)
    setpriv = shutil.which("setpriv")
    if setpriv is None:  # pragma: no cover - util-linux is on every CI machine we use
        pytest.fail("running as root needs util-linux's setpriv to drop CAP_DAC_OVERRIDE")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, "--bounding-set", drop, "--inh-caps", drop, "--", *command]


def _acl_granting_read(uid: int) -> bytes:
    """A POSIX access ACL as the kernel stores it (``system.posix_acl_access``).

    rw- for the owner; r-- for user ``uid``, the group and the mask; nothing for others.
    """
    undefined = 0xFFFFFFFF
    entries = [(0x01, 6, undefined), (0x02, 4, uid), (0x04, 4, undefined)]
    entries += [(0x10, 4, undefined), (0x20, 0, undefined)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *entry) for entry in entries)


def extended_attributes(path: Path) -> dict[str, bytes]:
    """Every extended attribute of ``path`` (its ACL among them), by name."""
    return {name: os.getxattr(path, name) for name in sorted(os.listxattr(path))}


def give_acl_and_attribute_or_skip(path: Path) -> None:
    """Set a user attribute and an ACL on ``path``, or skip where the file system has none."""
    if not hasattr(os, "setxattr"):
        pytest.skip("extended attributes are Linux's")
    try:
        os.setxattr(path, "user.origin", b"run-42")
        path.chmod(0o640)
        os.setxattr(path, "system.posix_acl_access", _acl_granting_read(12345))
    except OSError as error:
        pytest.skip(f"no user attributes or ACLs here ({error.strerror})")
