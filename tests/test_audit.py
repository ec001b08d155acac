"""``audit``: many runs, streamed JSON lines, a bounded summary."""

from __future__ import annotations

import json

import pytest

from diff_fixtures import before_and_after
from golden import check_golden
from insidellms_provenance.analyze.audit import EXAMPLES, AuditSummary, audit_runs, find_runs
from insidellms_provenance.demo import write_demo_run
from insidellms_provenance.field.build import field_bytes
from test_cli import GOLDEN_FIELD, assert_one_line_error, cli


@pytest.fixture
def runs(tmp_path):
    before, after = before_and_after()
    (tmp_path / "fields").mkdir()
    fields = {"before": before, "after": after}
    for name, provenance in fields.items():
        (tmp_path / "fields" / f"{name}.json").write_bytes(field_bytes(provenance))
    layout = [
        ("runs/2026-11-01", "before"),
        ("runs/2026-11-02", "before"),
        ("runs/2026-11-03", "after"),
        ("runs/nested/deeper/2026-11-04", "golden"),
    ]
    for directory, field in layout:
        write_demo_run(tmp_path / directory)
        source = GOLDEN_FIELD if field == "golden" else tmp_path / "fields" / f"{field}.json"
        assert cli("embed", str(tmp_path / directory), "--from", str(source)).returncode == 0
    write_demo_run(tmp_path / "runs/no-provenance")
    (tmp_path / "runs/corrupt").mkdir()
    (tmp_path / "runs/corrupt/manifest.json").write_text('{"custom": {"plugin_prov')
    return tmp_path


def test_golden_lines_and_summary(runs, tmp_path):
    result = cli("audit", "runs", "--output", "lines.jsonl", cwd=runs)
    assert result.returncode == 0, result.stderr
    check_golden("audit/runs.jsonl", (runs / "lines.jsonl").read_bytes())
    check_golden("audit/summary.txt", result.stdout)


def test_lines_on_stdout_summary_on_stderr(runs):
    result = cli("audit", "runs", cwd=runs)
    assert result.returncode == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["run"] for line in lines} == {
        "runs/2026-11-01",
        "runs/2026-11-02",
        "runs/2026-11-03",
        "runs/nested/deeper/2026-11-04",
    }
    assert b"audit: 6 run(s), 4 with plugin provenance, 2 without" in result.stderr


def test_first_change_is_reported(runs):
    summary = AuditSummary()
    list(audit_runs(find_runs([runs / "runs"]), summary))
    assert summary.first_change["content"][0].endswith("runs/2026-11-03")
    assert "unchanged" not in summary.first_change


def test_summary_memory_is_bounded(tmp_path):
    summary = AuditSummary()
    for index in range(EXAMPLES * 5):
        summary.note_missing(f"run-{index}", "no provenance")
    assert summary.without_count == EXAMPLES * 5
    assert len(summary.without) == EXAMPLES
    assert f"... and {EXAMPLES * 4} more" in summary.render()


def test_missing_root_is_exit_2(tmp_path):
    assert_one_line_error(cli("audit", str(tmp_path / "nope")), "not a directory")


def test_group_selects_fields_of_that_group(runs):
    every = cli("audit", "runs", cwd=runs)
    same = cli("audit", "runs", "--group", "insidellms.plugins", cwd=runs)
    assert same.returncode == 0, same.stderr
    assert same.stdout == every.stdout
    other = cli("audit", "runs", "--group", "pytest11", cwd=runs)
    assert other.returncode == 0, other.stderr
    assert other.stdout == b""
    assert b"audit: 6 run(s), 0 with plugin provenance, 6 without" in other.stderr
    assert b"(recorded for group 'insidellms.plugins', not 'pytest11')" in other.stderr
