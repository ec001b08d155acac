"""``audit``/``export --output``: a replaced file keeps its permission bits, a new one the umask's.

The lines name runs, plugins and versions; a user who keeps them private (a ``0600``
file, ``umask 077``) must not find them world-readable after an audit. A replaced file
keeps its mode, whatever the umask; a new file gets ``0o666 & ~umask``, as the shell or
``open(path, "w")`` would make it. Each row: exit 0, the mode, and no other file changed.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from test_cli import GOLDEN_FIELD


def _snapshot(root: Path, skip: Path) -> dict[str, tuple[int, bytes]]:
    """Every file below ``root`` but ``skip``: its mode and bytes."""
    return {
        str(path): (path.stat().st_mode, path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file() and path != skip
    }


def _audit(tmp_path: Path, umask: int, *command: str) -> subprocess.CompletedProcess[bytes]:
    command = command or ("audit", "runs")
    return subprocess.run(
        [sys.executable, "-m", "insidellms_provenance", *command, "--output", "out.jsonl"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        preexec_fn=lambda: os.umask(umask),  # the umask under test
    )


@pytest.mark.parametrize(
    ("existing", "umask", "mode"),
    [
        (0o600, 0o022, 0o600),  # a private file stays private (was widened to 0644)
        (0o640, 0o077, 0o640),  # the replaced file's bits, not the umask's
        (0o664, 0o077, 0o664),
        (None, 0o077, 0o600),  # new, under a private umask (was 0644)
        (None, 0o022, 0o644),
        (None, 0o002, 0o664),  # new, group-writable as the umask allows (was 0644)
    ],
    ids=lambda value: "new" if value is None else f"{value:04o}",
)
def test_audit_output_mode(tmp_path: Path, existing: int | None, umask: int, mode: int) -> None:
    field = json.loads(GOLDEN_FIELD.read_bytes())
    run = tmp_path / "runs" / "a"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"custom": {"plugin_provenance": field}}))
    output = tmp_path / "out.jsonl"
    if existing is not None:
        output.write_bytes(b"old\n")
        output.chmod(existing)
    before = _snapshot(tmp_path, output)
    result = _audit(tmp_path, umask)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert json.loads(output.read_bytes().splitlines()[0])["run"] == "runs/a"
    assert stat.S_IMODE(output.stat().st_mode) == mode
    assert _snapshot(tmp_path, output) == before  # nothing else changed


@pytest.mark.parametrize(("umask", "mode"), [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664)])
def test_a_new_export_follows_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    # export (and record) write through runfile._embed.atomic_write, which made every new
    # file 0644 whatever the umask.
    output = tmp_path / "out.jsonl"
    (tmp_path / "run.json").write_bytes(GOLDEN_FIELD.read_bytes())
    before = _snapshot(tmp_path, output)
    result = _audit(tmp_path, umask, "export", "run.json", "--format", "cyclonedx")
    assert result.returncode in (0, 1), result.stderr  # 1: warnings about what is not pinned
    assert b"Traceback" not in result.stderr
    assert json.loads(output.read_bytes())["bomFormat"] == "CycloneDX"
    assert stat.S_IMODE(output.stat().st_mode) == mode
    assert _snapshot(tmp_path, output) == before
