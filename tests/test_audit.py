"""``audit``: many runs, streamed JSON lines, a bounded summary."""

from __future__ import annotations

import json
import os
import stat

import pytest

from diff_fixtures import before_and_after
from golden import check_golden
from insidellms_provenance._demo import write_demo_run
from insidellms_provenance.analyze._audit import EXAMPLES, AuditSummary, audit_runs, find_runs
from insidellms_provenance.field._build import field_bytes
from privileges import extended_attributes, give_acl_and_attribute_or_skip
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
    assert {line["run"] for line in lines if line["problem"] is None} == {
        "runs/2026-11-01",
        "runs/2026-11-02",
        "runs/2026-11-03",
        "runs/nested/deeper/2026-11-04",
    }
    assert {line["run"] for line in lines if line["problem"] is not None} == {
        "runs/corrupt",
        "runs/no-provenance",
    }
    assert b"audit: 6 run(s), 4 with plugin provenance, 2 without" in result.stderr


_RUN_NAMES = (
    "2026-11-01",
    "2026-11-02",
    "2026-11-03",
    "corrupt",
    "nested/deeper/2026-11-04",
    "no-provenance",
)


@pytest.mark.parametrize(
    ("root", "cwd", "prefix"),
    [
        ("runs", "", "runs/"),
        ("./runs//", "", "runs/"),
        ("runs/./nested/..", "", "runs/nested/../"),
        (".", "runs", ""),
        ("./", "runs", ""),
    ],
)
def test_run_names_are_spelt_as_paths_spell_them(runs, root, cwd, prefix):
    # A run's name is its directory as pathlib spells it, however the root was written
    # (the walk starts from the root so spelt; pathlib leaves a leading "./" off).
    expected = [prefix + name for name in _RUN_NAMES]
    result = cli("audit", root, cwd=runs / cwd)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted({line["run"] for line in lines}) == expected


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
    lines = [json.loads(line) for line in other.stdout.splitlines()]
    assert len(lines) == 6  # one line per run, each saying why it has no provenance
    assert all(line["entry_point"] is None and line["problem"] for line in lines)
    assert b"audit: 6 run(s), 0 with plugin provenance, 6 without" in other.stderr
    assert b"(recorded for group 'insidellms.plugins', not 'pytest11')" in other.stderr


def _write_run(directory, plugins):
    """A host-style manifest.json holding a field with ``plugins``."""
    from insidellms_provenance.field._build import make_field

    field = make_field("insidellms.plugins", plugins)
    directory.mkdir(parents=True)
    manifest = {"run_id": directory.name, "custom": {"plugin_provenance": field}}
    (directory / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=2))


def _acme(version: str, content: str = "a"):
    from diff_fixtures import digest, plugin, with_dist

    return with_dist(
        plugin("acme"),
        name="acme-evals",
        normalized_name="acme-evals",
        version=version,
        record_digest=digest(content),
    )


def _tampered(plugin):
    from diff_fixtures import with_dist
    from insidellms_provenance.field import schema

    paths = ["acme/__init__.py"]
    modified = schema.integrity(status="modified", paths=paths, bytecode="checked")
    return with_dist(plugin, integrity=modified)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Runs named so that plain string order is wrong (r10 before r2)."""
    from diff_fixtures import plugin

    root = tmp_path_factory.mktemp("fleet")
    layout = {
        "r1": [_acme("1.4.2"), plugin("other")],
        "r2": [_acme("1.4.2"), plugin("other")],
        "r3": [_acme("1.4.2", content="f"), plugin("other")],  # same version, new files
        "r10": [_acme("1.10.0"), plugin("other")],
        "r11": [_acme("2.0.0"), plugin("other")],
        "team-b/r2": [_acme("1.10.0")],
        # Its installed files no longer matched RECORD: unverified, whatever else it says.
        "team-b/r3": [_tampered(_acme("1.10.0"))],
        "team-b/r9": [],
    }
    for name, plugins in layout.items():
        _write_run(root / "runs" / name, plugins)
    (root / "runs" / "broken").mkdir()
    (root / "runs" / "broken" / "manifest.json").write_text("{")
    return root


def _lines(output: bytes) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_runs_are_in_natural_order_and_first_change_follows_it(fleet):
    result = cli("audit", "runs", cwd=fleet)
    assert result.returncode == 0, result.stderr
    order = list(dict.fromkeys(line["run"] for line in _lines(result.stdout)))
    assert order == [
        "runs/broken",
        "runs/r1",
        "runs/r2",
        "runs/r3",
        "runs/r10",
        "runs/r11",
        "runs/team-b/r2",
        "runs/team-b/r3",
        "runs/team-b/r9",
    ]
    assert b"  acme: runs/r3 (now 1.4.2)\n" in result.stderr  # not r10, which sorts first as text


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("r2", "r" + "2".rjust(20, "0")),
        ("r10", "r" + "10".rjust(20, "0")),
        (
            "2026-11-01",
            "2026".rjust(20, "0") + "-" + "11".rjust(20, "0") + "-" + "1".rjust(20, "0"),
        ),
        ("run", "run"),
    ],
)
def test_run_key_orders_numbers_naturally(name, key):
    from insidellms_provenance.analyze._audit import run_key

    assert run_key(name) == key


def test_every_run_has_a_line(fleet):
    lines = _lines(cli("audit", "runs", cwd=fleet).stdout)
    by_run = {line["run"]: line for line in lines if line["entry_point"] is None}
    assert "not valid JSON" in by_run["runs/broken"]["problem"]
    assert by_run["runs/team-b/r9"]["problem"] is None  # a field with no plugins
    assert by_run["runs/team-b/r9"]["run_digest"].startswith("sha256:")
    assert all(set(line) == set(lines[0]) for line in lines)  # one set of columns


def test_three_shards_are_the_whole_audit(fleet):
    whole = cli("audit", "runs", cwd=fleet)
    shards = [cli("audit", "runs", "--shard", f"{i}/3", cwd=fleet) for i in (1, 2, 3)]
    assert all(shard.returncode == 0 for shard in shards)
    whole_lines = whole.stdout.splitlines()
    shard_lines = [line for shard in shards for line in shard.stdout.splitlines()]
    assert sorted(shard_lines) == sorted(whole_lines)  # a partition: no line twice
    assert len(set(whole_lines)) == len(whole_lines)
    assert all(shard.stdout for shard in shards)  # this tree spreads over all three


def test_shards_depend_on_the_relative_path_only(fleet, tmp_path):
    import shutil

    moved = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(fleet / "runs", moved)
    here = cli("audit", "runs", "--shard", "2/3", cwd=fleet)
    there = cli("audit", str(moved), "--shard", "2/3")
    runs_here = {json.loads(line)["run"].removeprefix("runs/") for line in here.stdout.splitlines()}
    runs_there = {
        json.loads(line)["run"].removeprefix(str(moved) + "/") for line in there.stdout.splitlines()
    }
    assert runs_here == runs_there


@pytest.mark.parametrize(
    ("relative", "shards", "shard"),
    [("r1", 3, 3), ("r10", 3, 3), ("team-b/r2", 3, 2), ("r1", 1, 1), ("2026/11/01/run-7", 8, 4)],
)
def test_shard_of_is_a_fixed_function_of_the_path(relative, shards, shard):
    # The documented rule, recomputed here: sha256 of the UTF-8 relative path, first 8
    # bytes big-endian, modulo N, plus one. Pinned values catch any change of the rule.
    import hashlib

    from insidellms_provenance.analyze._audit import shard_of

    expected = int.from_bytes(hashlib.sha256(relative.encode()).digest()[:8], "big") % shards + 1
    assert shard_of(relative, shards) == expected == shard


@pytest.mark.parametrize("bad", ["0/3", "4/3", "1", "a/b", "1/0", "1/-3", "1/3/5"])
def test_bad_shard_is_exit_2(fleet, bad):
    assert_one_line_error(cli("audit", "runs", "--shard", bad, cwd=fleet), "expected I/N")


# The queries docs/audit.md shows, run on a real audit's lines.
OLDER_THAN = """
SELECT DISTINCT run, run_key, version
FROM read_json_auto(?)
WHERE distribution = 'acme-evals' AND release < [1, 10]
ORDER BY run_key, run
"""
CONTENT_WITHOUT_VERSION = """
SELECT run, entry_point, version
FROM (
    SELECT run, run_key, entry_point, version, record_digest,
           lag(version) OVER w AS previous_version,
           lag(record_digest) OVER w AS previous_digest
    FROM read_json_auto(?)
    WHERE entry_point IS NOT NULL
    WINDOW w AS (PARTITION BY "group", entry_point ORDER BY run_key, run)
)
WHERE version = previous_version AND record_digest <> previous_digest
ORDER BY run_key, run
"""
SUMMARY = """
SELECT count(DISTINCT run),
       count(DISTINCT run) FILTER (WHERE problem IS NULL),
       count(DISTINCT run) FILTER (WHERE problem IS NOT NULL)
FROM read_json_auto(?)
"""
FIRST_CHANGE = """
SELECT entry_point, min_by(run, run_key) AS first_run
FROM (SELECT run, run_key, entry_point, fingerprint,
             lag(fingerprint) OVER (PARTITION BY entry_point ORDER BY run_key, run) AS previous
      FROM read_json_auto(?) WHERE entry_point IS NOT NULL)
WHERE previous IS NOT NULL AND previous <> fingerprint
GROUP BY entry_point
ORDER BY entry_point
"""
NON_DETERMINISTIC = """
SELECT count(DISTINCT run) FROM read_json_auto(?)
WHERE entry_point IS NOT NULL
  AND (determinism IS NULL OR determinism = 'non_deterministic')
"""
UNVERIFIED = """
SELECT count(DISTINCT run) FROM read_json_auto(?)
WHERE entry_point IS NOT NULL
  AND (manifest_status <> 'ok' OR load_status <> 'loaded' OR origin_status <> 'ok'
       OR len(distribution_problems) > 0 OR record_digest IS NULL
       OR integrity IS DISTINCT FROM 'verified')
"""
VERSIONS = """
SELECT distribution, version, count(DISTINCT run)
FROM read_json_auto(?)
WHERE entry_point IS NOT NULL
GROUP BY ALL
ORDER BY ALL
"""


@pytest.mark.parametrize("sharded", [False, True])
def test_duckdb_answers_the_fleet_questions(fleet, tmp_path, sharded):
    duckdb = pytest.importorskip("duckdb")
    lines = tmp_path / "lines.jsonl"
    if sharded:  # three map steps, their lines concatenated
        parts = [cli("audit", "runs", "--shard", f"{i}/3", cwd=fleet).stdout for i in (1, 2, 3)]
        lines.write_bytes(b"".join(parts))
        summary = cli("audit", "runs", cwd=fleet).stderr.decode()
    else:
        result = cli("audit", "runs", "--output", str(lines), cwd=fleet)
        summary = result.stdout.decode()
    connection = duckdb.connect()
    older = connection.execute(OLDER_THAN, [str(lines)]).fetchall()
    # 1.4.2 is older than 1.10; as strings it would not be, and 1.10.0 would be.
    assert [(run, version) for run, _, version in older] == [
        ("runs/r1", "1.4.2"),
        ("runs/r2", "1.4.2"),
        ("runs/r3", "1.4.2"),
    ]
    rebuilt = connection.execute(CONTENT_WITHOUT_VERSION, [str(lines)]).fetchall()
    assert rebuilt == [("runs/r3", "acme", "1.4.2")]
    runs, with_provenance, without = connection.execute(SUMMARY, [str(lines)]).fetchone()
    assert summary.startswith(
        f"audit: {runs} run(s), {with_provenance} with plugin provenance, {without} without\n"
    )
    for distribution, version, count in connection.execute(VERSIONS, [str(lines)]).fetchall():
        assert f"  {distribution} {version}: {count}\n" in summary
    for entry_point, first_run in connection.execute(FIRST_CHANGE, [str(lines)]).fetchall():
        assert f"  {entry_point}: {first_run} (now " in summary
    assert connection.execute(FIRST_CHANGE, [str(lines)]).fetchall()
    (count,) = connection.execute(NON_DETERMINISTIC, [str(lines)]).fetchone()
    assert f"runs with non-deterministic or undeclared plugins: {count}\n" in summary
    (count,) = connection.execute(UNVERIFIED, [str(lines)]).fetchone()
    assert count == 1  # team-b/r3
    assert "not verified against RECORD): " + str(count) + "\n" in summary


def test_every_runs_problem_names_the_plugin_at_fault_by_its_own_index(tmp_path):
    """Runs after the first validate only the plugins they do not share with the run
    before: a bad plugin at index 2 is still ``field.plugins[2]`` in each of them."""
    from diff_fixtures import plugin
    from insidellms_provenance._canonical import canonical_digest
    from insidellms_provenance.field._build import digested_part, make_field

    for number, bad in enumerate([None, "bogus-1", "bogus-2", None, "bogus-2", "bogus-3"]):
        field = make_field("insidellms.plugins", [plugin(name) for name in "abcd"])
        if bad is not None:
            field["plugins"][2]["load"]["status"] = bad
            field["digest"] = canonical_digest(digested_part(field))
        directory = tmp_path / "runs" / f"r{number}"
        directory.mkdir(parents=True)
        manifest = {"run_id": directory.name, "custom": {"plugin_provenance": field}}
        (directory / "manifest.json").write_text(json.dumps(manifest))
    result = cli("audit", "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    problems = {line["run"]: line["problem"] for line in _lines(result.stdout)}
    for number in (1, 2, 4, 5):
        problem = problems[f"runs/r{number}"]
        assert "provenance field is malformed: field.plugins[2].load.status: " in problem
        assert "plugins[0]" not in problem
    assert problems["runs/r0"] is None
    assert problems["runs/r3"] is None


def test_a_run_path_not_utf8_or_holding_a_newline_is_written_and_kept_to_its_line(tmp_path):
    """One odd directory name neither stops the audit nor forges a line of the summary."""
    import os

    root = tmp_path / "fleet"
    _write_run(root / "r1", [_acme("1.0")])
    _write_run(root / os.fsdecode(b"r2\xff"), [_acme("1.1")])  # not UTF-8
    _write_run(root / "r2\\xff", [_acme("1.2")])  # a backslash, then "xff": not the same run
    forged = root / "r3\naudit: 99 run(s), 99 with plugin provenance, 0 without"
    forged.mkdir()
    (forged / "manifest.json").write_text("{}")  # without provenance: named in the summary
    result = cli("audit", "fleet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    runs = {row["run"]: row for row in rows}
    assert sorted(runs) == sorted(
        ["fleet/r1", "fleet/r2\\xff", "fleet/r2\\\\xff", f"fleet/{forged.name}"]
    )
    assert runs["fleet/r2\\xff"]["version"] == "1.1"
    assert runs["fleet/r2\\\\xff"]["version"] == "1.2"
    assert len({row["run_key"] for row in runs.values()}) == 4
    lines = result.stderr.decode().splitlines()
    assert lines[0] == "audit: 4 run(s), 3 with plugin provenance, 1 without"
    assert not any(line.startswith("audit: 99") for line in lines)
    assert "  fleet/r3\\u000aaudit: 99 run(s), 99 with plugin provenance, 0 without (" in lines[2]


# Pairs of run directory names that the summary once wrote alike: a character that the
# terminal escape writes as \xNN, and the byte of that value that is not UTF-8. Each
# pair's text must differ (the summary's one rule, analyze._audit._as_text).
_LOOK_ALIKE_NAMES = [
    pytest.param("r-\u009b", b"r-\x9b", id="CSI-character-vs-byte-0x9b"),
    pytest.param("r-\u0080", b"r-\x80", id="C1-first-vs-byte-0x80"),
    pytest.param("r-\u00ad", b"r-\xad", id="soft-hyphen-vs-byte-0xad"),
    pytest.param("r-\n", b"r-\\n", id="newline-vs-backslash-n"),
    pytest.param("r-\u009b", b"r-\\x9b", id="CSI-character-vs-backslash-x9b"),
]


@pytest.mark.parametrize(("character_name", "byte_name"), _LOOK_ALIKE_NAMES)
def test_the_summary_writes_two_run_paths_as_two_names(tmp_path, character_name, byte_name):
    import os

    for name in (character_name, os.fsdecode(byte_name)):
        run = tmp_path / "fleet" / name
        run.mkdir(parents=True)
        (run / "manifest.json").write_text("{}")  # without provenance: listed by path
    result = cli("audit", "fleet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.decode().splitlines()
    listed = [line for line in lines if line.startswith("  fleet/")]
    assert len(listed) == 2, lines
    assert listed[0] != listed[1], lines
    assert all(line.isprintable() for line in lines), lines


def test_output_keeps_the_acl_and_extended_attributes_of_the_file_it_replaces(runs):
    lines = runs / "lines.jsonl"
    lines.write_bytes(b"old\n")
    give_acl_and_attribute_or_skip(lines)
    before = extended_attributes(lines)
    result = cli("audit", "runs", "--output", str(lines), cwd=runs)
    assert result.returncode == 0, result.stderr
    assert lines.read_bytes() != b"old\n"
    assert extended_attributes(lines) == before


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root may give a file away"
)
def test_output_as_root_keeps_the_owner_and_group_of_the_file_it_replaces(runs):
    lines = runs / "lines.jsonl"
    lines.write_bytes(b"old\n")
    os.chown(lines, 12345, 23456)
    lines.chmod(0o2664)  # a set-id bit too: a change of owner would clear it
    result = cli("audit", "runs", "--output", str(lines), cwd=runs)
    assert result.returncode == 0, result.stderr
    info = lines.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, 23456, 0o2664)
    assert lines.read_bytes() != b"old\n"
