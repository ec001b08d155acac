"""``audit`` reuses what it worked out for a plugin identical to the last run's, exactly."""

from __future__ import annotations

import copy
import json

import pytest

from diff_fixtures import GROUP, plugin
from insidellms_provenance.analyze._audit import AuditSummary, audit_runs, find_runs
from insidellms_provenance.field._build import field_digest, make_field

FIELD = make_field(GROUP, [plugin("alpha"), plugin("beta")])


def write_run(directory, field, text=None):
    directory.mkdir(parents=True)
    manifest = {"schema_version": "1.0.1", "custom": {"plugin_provenance": field}}
    (directory / "manifest.json").write_text(text or json.dumps(manifest))


def audit(root):
    summary = AuditSummary()
    data = b"".join(audit_runs(find_runs([root]), summary))
    return [json.loads(line) for line in data.splitlines()], summary


def sealed(field):
    field["digest"] = field_digest(field)
    return field


def without_run(line):
    return {key: item for key, item in line.items() if key not in ("run", "run_key")}


def test_identical_plugins_give_the_lines_a_first_reading_gives(tmp_path):
    later = copy.deepcopy(FIELD)
    later["plugins"][1]["manifest"]["determinism"]["notes"] = "changed"  # one of two
    later = sealed(later)
    write_run(tmp_path / "fleet/r1", FIELD)
    write_run(tmp_path / "fleet/r2", later)
    write_run(tmp_path / "alone/r2", later)
    fleet, summary = audit(tmp_path / "fleet")
    alone, _ = audit(tmp_path / "alone")
    assert [line["problem"] for line in fleet] == [None] * 4
    assert [without_run(line) for line in fleet[2:]] == [without_run(line) for line in alone]
    assert fleet[0]["fingerprint"] == fleet[2]["fingerprint"]
    assert fleet[1]["fingerprint"] != fleet[3]["fingerprint"]
    assert summary.first_change == {"beta": (str(tmp_path / "fleet/r2"), "1.0.0")}


def editable_zero(field):
    field["plugins"][1]["source"]["editable"] = 0  # equal to False, but not a bool
    return sealed(field), None


def url_nan(field):
    # Python's json writes NaN, and orjson writes it as null: the field's digest is that
    # of the field with null, so only the value itself tells the two apart.
    text = json.dumps({"custom": {"plugin_provenance": field}})
    return field, text.replace('"url": null', '"url": NaN', 1)


@pytest.mark.parametrize("mutate", [editable_zero, url_nan])
def test_a_plugin_equal_but_not_identical_to_the_last_runs_is_validated(tmp_path, mutate):
    second, text = mutate(copy.deepcopy(FIELD))
    write_run(tmp_path / "runs/r1", FIELD)
    write_run(tmp_path / "runs/r2", second, text)
    lines, summary = audit(tmp_path / "runs")
    assert [line["problem"] for line in lines[:2]] == [None, None]
    assert lines[2]["run"].endswith("r2")
    assert "malformed" in lines[2]["problem"]
    assert summary.without_count == 1


def test_a_changed_plugin_is_audited_afresh(tmp_path):
    second = copy.deepcopy(FIELD)
    second["plugins"][1]["source"]["editable"] = True
    write_run(tmp_path / "runs/r1", FIELD)
    write_run(tmp_path / "runs/r2", sealed(second))
    lines, summary = audit(tmp_path / "runs")
    assert [line["problem"] for line in lines] == [None] * 4
    assert lines[1]["fingerprint"] != lines[3]["fingerprint"]
    assert summary.first_change == {"beta": (str(tmp_path / "runs/r2"), "1.0.0")}


@pytest.mark.parametrize("how", ["itself", "hard link"])
def test_output_onto_an_audited_manifest_is_refused(tmp_path, how):
    import os

    from test_cli import cli

    write_run(tmp_path / "runs/r1", FIELD)
    manifest = tmp_path / "runs/r1/manifest.json"
    before = manifest.read_bytes()
    output = manifest
    if how == "hard link":
        output = tmp_path / "out.jsonl"
        os.link(manifest, output)
    result = cli("audit", str(tmp_path / "runs"), "-o", str(output))
    assert result.returncode == 2
    assert b"is one of the audited manifests" in result.stderr
    assert manifest.read_bytes() == before


@pytest.mark.parametrize("mutate", [editable_zero, url_nan])
def test_a_run_identical_to_the_last_keeps_what_the_next_is_checked_against(tmp_path, mutate):
    # r2's whole list is r1's (matched in one comparison, nothing re-audited); r3 is
    # still checked against it plugin by plugin.
    third, text = mutate(copy.deepcopy(FIELD))
    write_run(tmp_path / "runs/r1", FIELD)
    write_run(tmp_path / "runs/r2", FIELD)
    write_run(tmp_path / "runs/r3", third, text)
    write_run(tmp_path / "alone/r2", FIELD)
    lines, summary = audit(tmp_path / "runs")
    alone, _ = audit(tmp_path / "alone")
    assert [line["problem"] for line in lines[:4]] == [None] * 4
    assert [without_run(line) for line in lines[2:4]] == [without_run(line) for line in alone]
    assert "malformed" in lines[4]["problem"]
    assert summary.with_provenance == 2
    assert summary.without_count == 1
