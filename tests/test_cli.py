"""The CLI in a real subprocess: exit codes, one-line errors, files left untouched."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from golden import check_golden
from insidellms_provenance._demo import write_demo_run
from insidellms_provenance.field import schema
from insidellms_provenance.field._build import field_bytes, field_digest, make_field

GOLDEN_FIELD = Path(__file__).parent.parent / "golden" / "record" / "field.json"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "insidellms_provenance", *args],
        capture_output=True,
        check=False,
        cwd=cwd,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[bytes], fragment: str) -> None:
    assert result.returncode == 2
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("insidellms-provenance: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr.decode()


def small_field() -> bytes:
    plugin = schema.fingerprint(
        entry_point=schema.entry_point(group="insidellms.plugins", name="x", value="x:register"),
        distribution=None,
        source=None,
        origin=schema.origin(status="unknown"),
        manifest=schema.manifest_summary(status="missing"),
        load=schema.load_outcome(status="loaded"),
    )
    return field_bytes(make_field("insidellms.plugins", [plugin])) + b"\n"


def malformed_field_with_valid_digest() -> bytes:
    field = json.loads(small_field())
    field["plugins"][0]["load"]["status"] = "teleported"
    field["plugins"][0]["origin"]["status"] = 7
    field["digest"] = field_digest(field)
    return json.dumps(field).encode()


def test_a_process_freezes_what_is_left_before_it_exits(tmp_path):
    """``python -m`` and the console script run :func:`process_main`: main's exit code,
    then every object left frozen out of the collector Python's shutdown runs."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    target = "insidellms_provenance.cli._main:process_main"
    assert pyproject["project"]["scripts"] == {"insidellms-provenance": target}
    run = tmp_path / "field.json"
    run.write_bytes(small_field())
    # atexit functions run after __main__ raises SystemExit: what is frozen by then.
    observe = (
        "import atexit, gc, runpy\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
        "runpy.run_module('insidellms_provenance', run_name='__main__')\n"
    )
    for args, code in (([str(run), str(run)], 0), ([str(run), str(tmp_path / "gone")], 2)):
        result = subprocess.run(
            [sys.executable, "-c", observe, "diff", *args], capture_output=True, check=False
        )
        assert (result.returncode, result.stdout.splitlines()[-1]) == (code, b"frozen True")
    # main() itself leaves the collector as it was: the tests call it many times a
    # process (diff disables it while it compares).
    import gc

    from insidellms_provenance.cli._main import main

    before = gc.get_freeze_count()
    assert gc.isenabled()
    assert main(["diff", str(run), str(run)]) == 0
    assert main(["diff", str(run), str(tmp_path / "gone")]) == 2
    assert (gc.get_freeze_count(), gc.isenabled()) == (before, True)


def test_help_and_version():
    assert cli("--help").returncode == 0
    assert cli("--version").stdout.decode().startswith("insidellms-provenance 0.1.0")
    for command in ("record", "embed", "show", "demo"):
        assert cli(command, "--help").returncode == 0


# Every command, written out: a command added to the CLI must be added here too.
COMMAND_NAMES = (
    "record",
    "embed",
    "show",
    "diff",
    "verify",
    "check",
    "audit",
    "doctor",
    "list",
    "demo",
    "fingerprint",
    "export",
)


@pytest.mark.parametrize("command", COMMAND_NAMES)
def test_every_command_help_states_its_exit_codes(command):
    from insidellms_provenance.cli._main import COMMANDS

    assert command in COMMANDS
    result = cli(command, "--help")
    assert result.returncode == 0
    text = result.stdout.decode()
    exit_codes = text[text.index("\nexit codes:\n") :]
    assert "0 " in exit_codes
    assert "2 bad input" in exit_codes or "2 insideLLMs" in exit_codes
    assert "docs/" not in text  # installed users have no docs/
    assert "RFC" not in text


def test_every_command_is_in_the_help_test():
    from insidellms_provenance.cli._main import COMMANDS

    assert set(COMMANDS) == set(COMMAND_NAMES)


@pytest.mark.parametrize(
    ("command", "rules"),
    [
        (
            "diff",
            [
                "critical high medium low",
                "major minor patch pre-release post dev local",
                "downgrade",
                "determinism-downgrade",
                "-low = low only",
            ],
        ),
        (
            "check",
            [
                "--strict-plugins",
                "--require-determinism",
                "--insidellms-version",
                "--allow DIST",
                "--deny DIST",
                "[tool.insidellms-provenance]",
            ],
        ),
        ("doctor", ["INSIDELLMS_PROVENANCE=off", "INSIDELLMS_DISABLE_PLUGINS=1"]),
        ("list", ["INSIDELLMS_PROVENANCE=off", "INSIDELLMS_DISABLE_PLUGINS=1"]),
    ],
)
def test_help_states_selectors_rules_and_switches_in_full(command, rules):
    text = cli(command, "--help").stdout.decode()
    for rule in rules:
        assert rule in text


def test_usage_errors_exit_2_with_one_line():
    assert_one_line_error(cli(), "required: COMMAND (see 'insidellms-provenance --help')")
    assert_one_line_error(cli("frobnicate"), "invalid choice: 'frobnicate'")
    assert_one_line_error(cli("show"), "show: the following arguments are required: RUN")
    # Help still prints the usage, on stdout, exit 0.
    result = cli("show", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(b"usage: insidellms-provenance show ")


def test_embed_golden_and_idempotent(tmp_path):
    run = tmp_path / "run"
    write_demo_run(run)
    original = json.loads((run / "manifest.json").read_text())
    result = cli("embed", str(run), "--from", str(GOLDEN_FIELD))
    assert result.returncode == 0, result.stderr
    embedded = (run / "manifest.json").read_bytes()
    check_golden("embed/manifest.json", embedded)
    value = json.loads(embedded)
    field = value["custom"].pop("plugin_provenance")
    assert value == original
    assert field == json.loads(GOLDEN_FIELD.read_bytes())
    again = cli("embed", str(run / "manifest.json"), "--from", str(GOLDEN_FIELD))
    assert again.returncode == 0
    assert b"already up to date" in again.stderr
    assert (run / "manifest.json").read_bytes() == embedded


def test_show_reads_run_dir_manifest_and_record_file_alike(tmp_path):
    run = tmp_path / "run"
    write_demo_run(run)
    assert cli("embed", str(run), "--from", str(GOLDEN_FIELD)).returncode == 0
    outputs = {cli("show", str(path)).stdout for path in (run, run / "manifest.json", GOLDEN_FIELD)}
    assert len(outputs) == 1
    assert cli("show", "--format", "json", str(run)).stdout == GOLDEN_FIELD.read_bytes()


BAD_FILES = [
    ("missing", None, "no such file"),
    ("empty", b"", "file is empty"),
    ("truncated", GOLDEN_FIELD.read_bytes()[:200], "not valid JSON"),
    ("not json", b"plugins: yes\n", "not valid JSON"),
    ("array", b"[]", "expected a JSON object"),
    ("no field", b'{"custom": {}}', "no plugin provenance (custom.plugin_provenance)"),
    (
        "unknown schema",
        GOLDEN_FIELD.read_bytes().replace(b"plugins/v2", b"plugins/v99"),
        "unknown provenance schema 'insidellms-provenance/plugins/v99'",
    ),
    (
        "digest mismatch",
        GOLDEN_FIELD.read_bytes().replace(b'"version":"2.1.0"', b'"version":"2.1.1"'),
        "provenance digest does not match its content",
    ),
    ("malformed field", None, "provenance field is malformed"),
    ("binary", b"\xff\xfe\x00garbage", "not valid JSON"),
]


@pytest.mark.parametrize(("name", "content", "fragment"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_show_bad_input_is_one_line_and_exit_2(tmp_path, name, content, fragment):
    path = tmp_path / "manifest.json"
    if name == "malformed field":
        content = malformed_field_with_valid_digest()
    if content is not None:
        path.write_bytes(content)
    assert_one_line_error(cli("show", str(path)), fragment)


@pytest.mark.parametrize(
    ("name", "content", "fragment"), BAD_FILES[:5], ids=[b[0] for b in BAD_FILES[:5]]
)
def test_embed_bad_manifest_is_one_line_exit_2_and_untouched(tmp_path, name, content, fragment):
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_bytes(content)
    result = cli("embed", str(tmp_path), "--from", str(GOLDEN_FIELD))
    assert_one_line_error(result, fragment)
    assert (path.read_bytes() if path.exists() else None) == content
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        ["manifest.json"] if content is not None else []
    )


def test_embed_from_a_bad_record_file_is_exit_2(tmp_path):
    run = tmp_path / "run"
    write_demo_run(run)
    before = (run / "manifest.json").read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"schema": "insidellms-provenance/plugins/v1", "plugins": 3}')
    assert_one_line_error(cli("embed", str(run), "--from", str(bad)), "malformed")
    assert (run / "manifest.json").read_bytes() == before


def test_record_output_into_missing_directory_is_exit_2(tmp_path):
    result = cli("record", "--group", "no.such.group", "--output", str(tmp_path / "no" / "f.json"))
    assert_one_line_error(result, "cannot write in")


def test_record_of_an_empty_group(tmp_path):
    result = cli("record", "--group", "no.such.group")
    assert result.returncode == 0
    field = json.loads(result.stdout)
    assert field["plugins"] == []
    assert field["group"] == "no.such.group"
    # The digest of every other key's canonical JSON, recomputable by anyone:
    sealed = b'{"conflicts":[],"dependencies":{},"group":"no.such.group",'
    sealed += b'"observed_in_run":false,"plugins":[],"schema":"insidellms-provenance/plugins/v2"}'
    assert field["digest"] == "sha256:" + hashlib.sha256(sealed).hexdigest()


@pytest.mark.parametrize("command", [["show"], ["diff", str(GOLDEN_FIELD)], ["check"], ["verify"]])
def test_a_reader_given_group_refuses_a_run_of_another(command):
    # check RUN and verify RUN checked the run's own group whatever --group said.
    name, *before = command
    other = cli(name, *before, str(GOLDEN_FIELD), "--group", "pytest11")
    assert_one_line_error(other, "recorded for group 'insidellms.plugins', not 'pytest11'")
    same = cli(name, *before, str(GOLDEN_FIELD), "--group", "insidellms.plugins")
    assert same.returncode in (0, 1), same.stderr
    assert same.stdout == cli(name, *before, str(GOLDEN_FIELD)).stdout


def test_an_os_error_no_reader_expected_is_one_line_not_a_traceback(monkeypatch, capsys):
    """The last guard in ``main``: a path the system refuses where no reader looked."""
    import errno

    from insidellms_provenance.cli import _show
    from insidellms_provenance.cli._main import main

    def refused(_arguments: object) -> int:
        raise OSError(errno.ENAMETOOLONG, "File name too long", "runs/\nforged")

    monkeypatch.setattr(_show, "run", refused)
    assert main(["show", "whatever"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "insidellms-provenance: error: runs/\\nforged: File name too long\n"
