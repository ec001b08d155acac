"""Progress on stderr: shown on a terminal (count, rate, item), never otherwise or with -q."""

import os
import subprocess
import sys
import threading

import pytest

from test_audit import runs  # noqa: F401 - the fixture
from test_cli import cli


def run_with_terminal_stderr(*args: str, cwd=None) -> tuple[int, bytes, bytes]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe."""
    leader, follower = os.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "insidellms_provenance", *args],
            stdout=subprocess.PIPE,
            stderr=follower,
            cwd=cwd,
            check=False,
        )
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    return result.returncode, result.stdout, b"".join(chunks)


def test_audit_progress_on_a_terminal_only(runs):  # noqa: F811
    code, stdout, stderr = run_with_terminal_stderr("audit", "runs", "-o", "lines.jsonl", cwd=runs)
    assert code == 0
    assert b"\r\x1b[Kaudited 1 runs (" in stderr
    assert b"/s) runs/2026-11-01" in stderr
    assert stdout.startswith(b"audit: 6 run(s)")  # the summary, untouched by progress
    quiet = run_with_terminal_stderr("audit", "runs", "-o", "lines.jsonl", "--quiet", cwd=runs)
    assert quiet[2] == b""
    piped = cli("audit", "runs", "-o", "lines.jsonl", cwd=runs)
    assert piped.stderr == b""


@pytest.mark.parametrize("quiet", [False, True])
def test_verify_all_progress_on_a_terminal_only(quiet):
    args = ["verify", "--all", "--format", "json", *(["-q"] if quiet else [])]
    _, stdout, stderr = run_with_terminal_stderr(*args)
    assert stdout.startswith(b"{")
    if quiet:
        assert stderr == b""
    else:
        assert b"\r\x1b[Kverified " in stderr
        assert b" distributions (" in stderr
        assert stderr.endswith(b"\r\x1b[K")  # the line is erased before results
    assert cli(*args).stderr == b""
