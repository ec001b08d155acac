import contextlib
import io
import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diff_fixtures import before_and_after
from golden import check_golden
from insidellms_provenance._demo import write_demo_run
from insidellms_provenance.field._build import field_bytes
from jsonschema_tools import validate
from test_cli import GOLDEN_FIELD, assert_one_line_error, cli

DIFF_SCHEMA = json.loads(
    (GOLDEN_FIELD.parent.parent.parent / "docs" / "diff-report.schema.json").read_text()
)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pair")
    before, after = before_and_after()
    (directory / "before.json").write_bytes(field_bytes(before) + b"\n")
    (directory / "after.json").write_bytes(field_bytes(after) + b"\n")
    return directory / "before.json", directory / "after.json"


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("json", "json"), ("markdown", "md")])
def test_golden_changes(pair, fmt, suffix):
    result = cli("diff", str(pair[0]), str(pair[1]), "--format", fmt)
    assert result.returncode == 1, result.stderr
    check_golden(f"diff/changes.{suffix}", result.stdout)


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("json", "json"), ("markdown", "md")])
def test_golden_identical(pair, fmt, suffix):
    result = cli("diff", str(pair[0]), str(pair[0]), "--format", fmt)
    assert result.returncode == 0, result.stderr
    check_golden(f"diff/identical.{suffix}", result.stdout)


@pytest.mark.parametrize("name", ["changes", "identical"])
def test_json_output_matches_its_schema(name):
    value = json.loads((GOLDEN_FIELD.parent.parent / "diff" / f"{name}.json").read_bytes())
    assert validate(value, DIFF_SCHEMA) == []


def test_sides_may_be_run_dirs_manifests_or_record_files(pair, tmp_path):
    run = tmp_path / "run"
    write_demo_run(run)
    assert cli("embed", str(run), "--from", str(pair[0])).returncode == 0
    expected = cli("diff", str(pair[0]), str(pair[1])).stdout
    for side in (run, run / "manifest.json"):
        assert cli("diff", str(side), str(pair[1])).stdout == expected


@pytest.mark.parametrize(
    ("policy", "code"),
    [
        ("any", 1),
        ("content", 1),
        ("retargeted,added", 1),
        ("any,-content,-integrity,-dependency,-high", 0),
        ("any,-content,-integrity,-high", 1),  # a dependency rebuilt under its version is critical
        ("any,-content,-dependency,-high", 1),  # a plugin's files no longer match RECORD
        ("any,-low", 1),  # the fixture's critical change is never dropped by -low
        ("-medium", 1),  # a leading dash after a space is the option's value
        ("-high,-content,-integrity,-dependency", 0),
    ],
)
def test_fail_on_sets_the_exit_code(pair, policy, code):
    spaced = cli("diff", str(pair[0]), str(pair[1]), "--fail-on", policy)
    joined = cli("diff", str(pair[0]), str(pair[1]), f"--fail-on={policy}")
    assert (spaced.returncode, spaced.stdout) == (joined.returncode, joined.stdout)
    assert spaced.returncode == code, spaced.stderr
    verdict = "FAILED" if code else "passed"
    assert spaced.stdout.decode().splitlines()[-1].startswith(f"--fail-on {policy}: {verdict} (")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--fail-on", "maj"], "maj"),
        (["--fail-on", "-critical"], "excludes every change"),
    ],
)
def test_bad_policies_are_exit_2(pair, arguments, message):
    assert_one_line_error(cli("diff", str(pair[0]), str(pair[1]), *arguments), message)


def test_a_missing_policy_is_a_usage_error_not_the_next_option(pair):
    result = cli("diff", str(pair[0]), str(pair[1]), "--fail-on", "--format", "json")
    assert result.returncode == 2
    assert "--fail-on: expected one argument" in result.stderr.decode()


@pytest.mark.parametrize(
    ("policy", "verdict"),
    [
        ("any", "--fail-on any: FAILED ({} of {} changes selected; exit 1)"),
        (
            "-high,-content,-integrity,-dependency",
            (
                "--fail-on -high,-content,-integrity,-dependency: passed "
                "(0 of {} changes selected; exit 0)"
            ),
        ),
    ],
)
def test_text_and_markdown_end_with_the_verdict(pair, policy, verdict):
    report = json.loads(cli("diff", str(pair[0]), str(pair[1]), "--format", "json").stdout)
    total = len(report["changes"])
    expected = verdict.format(total, total) if "{} of {}" in verdict else verdict.format(total)
    text = cli("diff", str(pair[0]), str(pair[1]), "--fail-on", policy).stdout.decode()
    assert text.splitlines()[-1] == expected
    markdown = cli("diff", str(pair[0]), str(pair[1]), "--fail-on", policy, "--format", "markdown")
    assert markdown.stdout.decode().splitlines()[-1] == f"**Verdict:** `{expected}`"
    same = cli("diff", str(pair[0]), str(pair[0]), "--fail-on", policy).stdout.decode()
    assert same.splitlines()[-1] == f"--fail-on {policy}: passed (nothing changed; exit 0)"


def test_colour_only_when_asked_or_on_a_terminal(pair):
    plain = cli("diff", str(pair[0]), str(pair[1])).stdout
    assert b"\x1b[" not in plain
    coloured = cli("diff", str(pair[0]), str(pair[1]), "--color", "always").stdout
    assert b"\x1b[1;31mcritical" in coloured


def test_no_color_wins_on_a_terminal(pair, tmp_path):
    script = tmp_path / "run_on_pty.py"
    script.write_text(
        "import os, pty, sys\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        "    os.execvp(sys.executable, [sys.executable, '-m', 'insidellms_provenance', 'diff', *sys.argv[1:]])\n"
        "out = b''\n"
        "while True:\n"
        "    try:\n"
        "        chunk = os.read(fd, 65536)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not chunk:\n"
        "        break\n"
        "    out += chunk\n"
        "sys.stdout.buffer.write(out)\n"
    )
    import os
    import subprocess
    import sys

    args = [sys.executable, str(script), str(pair[0]), str(pair[1])]
    on_tty = subprocess.run(
        args, capture_output=True, check=False, env={**os.environ, "NO_COLOR": ""}
    )
    assert b"\x1b[" in on_tty.stdout
    no_color = subprocess.run(
        args, capture_output=True, check=False, env={**os.environ, "NO_COLOR": "1"}
    )
    assert b"\x1b[" not in no_color.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "no such file"),
        (b"{", "not valid JSON"),
        (b'{"custom": {"status_counts": {}}}', "no plugin provenance"),
        (
            GOLDEN_FIELD.read_bytes().replace(b"plugins/v2", b"plugins/v0"),
            "unknown provenance schema",
        ),
        (GOLDEN_FIELD.read_bytes().replace(b'"2.1.0"', b'"2.1.1"'), "digest does not match"),
    ],
)
def test_bad_sides_are_exit_2(pair, tmp_path, content, fragment):
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_bytes(content)
    assert_one_line_error(cli("diff", str(pair[0]), str(bad)), fragment)
    assert_one_line_error(cli("diff", str(bad), str(pair[0])), fragment)


def test_group_mismatch_is_exit_2(pair):
    assert_one_line_error(
        cli("diff", str(pair[0]), str(pair[1]), "--group", "pytest11"), "not 'pytest11'"
    )


def test_a_v1_field_diffs_against_v2_of_the_same_plugins_without_changes():
    """Fields written by 0.1.0 keep diffing: clean RECORDs keep their record_digest."""
    v1 = GOLDEN_FIELD.parent.parent / "v1" / "field.json"
    result = cli("diff", str(v1), str(GOLDEN_FIELD))
    assert result.returncode == 0, result.stdout
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "group insidellms.plugins: 0 changes in 0 plugins"
    assert lines[3:] == ["", "--fail-on any: passed (nothing changed; exit 0)"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "./",
        "a",
        "a/",
        "./a/./b/",
        "a//b",
        "/",
        "//",
        "///",
        "//a/b",
        "///a",
        "../a/..",
        "a b/c",
    ],
)
def test_diff_paths_are_written_as_pathlib_writes_them(text, tmp_path):
    from pathlib import Path

    from insidellms_provenance.cli._diff import path_text
    from insidellms_provenance.runfile._read import manifest_path

    assert path_text(text) == str(Path(text))
    # A run directory's manifest is named as Path's "/" names it.
    assert manifest_path(path_text(text)) == str(manifest_path(Path(text)))


_WORDS = st.sampled_from(
    [
        "a",
        "runs/b",
        "x=y",
        "",
        "-",
        "-x",
        "--",
        "--format",
        "--format=json",
        "--format=",
        "--form",
        "json",
        "markdown",
        "yaml",
        "--group",
        "--group=g",
        "--fail-on",
        "--fail-on=-low",
        "--fail-on=any,-patch",
        "high",
        "--color",
        "--color=never",
        "always",
        "-h",
        "--help",
        "--version",
    ]
)


@settings(max_examples=400)
@given(words=st.lists(_WORDS, max_size=7))
def test_plain_command_lines_are_read_as_argparse_reads_them(words):
    # diff reads plain command lines without argparse; what it accepts, it must read
    # exactly as argparse does, and what argparse refuses, it must leave to argparse.
    from insidellms_provenance.cli._main import _plain_arguments, build_parser

    line = ["diff", *words]
    plain = _plain_arguments(line)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            parsed = build_parser(line).parse_args(line)
    except SystemExit:
        parsed = None
    if plain is not None:
        assert parsed is not None, line
        assert vars(plain) == vars(parsed), line


def test_plain_command_lines_are_read_without_argparse():
    script = (
        "import sys\n"
        "from insidellms_provenance.cli._main import _plain_arguments\n"
        "arguments = _plain_arguments(['diff', 'a', 'b', '--format', 'json', '--fail-on=-low'])\n"
        "assert arguments.format == 'json' and arguments.fail_on == '-low', arguments\n"
        "assert 'argparse' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_terminal_safe_escapes_what_its_pattern_names_and_nothing_else():
    # Printable text is returned without the pattern (diff --format json never compiles
    # it); every character the pattern names is unprintable, so the answer is the same.
    import re

    from insidellms_provenance.cli._render import _UNSAFE, terminal_safe

    pattern = re.compile(_UNSAFE)
    for point in [*range(0x3000), *range(0xFE00, 0x10000), 0x1F600, 0xE0001, 0x10FFFF]:
        text = f"a{chr(point)}\nb"
        assert terminal_safe(text) == pattern.sub(lambda m: ascii(m.group(0))[1:-1], text)
    assert terminal_safe("\x1b[2J\u202eevil\n") == "\\x1b[2J\\u202eevil\n"
