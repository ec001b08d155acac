"""``demo``: the whole story, byte for byte, and where its files go."""

import pytest

from golden import check_golden
from test_cli import assert_one_line_error, cli


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    # DIR given relative to the working directory, as a user types it.
    parent = tmp_path_factory.mktemp("story")
    result = cli("demo", "demo", cwd=parent)
    return parent / "demo", result


def test_the_story_golden(story):
    directory, result = story
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    check_golden("demo/story.txt", result.stdout.replace(str(directory).encode(), b"DIR"))


def test_the_story_shows_what_it_promises(story):
    directory, result = story
    text = result.stdout.decode()
    assert "same version, different installed files" in text  # the silent rebuild
    assert "demo-echo-plugin 1.0.0 -> 1.1.0 (minor upgrade)" in text  # the upgrade
    assert "demo_echo_plugin/__init__.py  content does not match RECORD hash" in text
    assert "Next, on your own runs:" in text
    assert text.endswith(f"The example is kept in {directory}.\n")
    shown = cli("show", str(directory / "run1"))
    check_golden("demo/show.txt", shown.stdout)


def test_without_dir_the_temporary_directory_is_removed_and_said_so():
    result = cli("demo")
    assert result.returncode == 0, result.stderr
    last = result.stdout.decode().splitlines()[-1]
    prefix = "Removed the temporary directory "
    assert last.startswith(prefix)
    assert last.endswith(" (give DIR to keep the example).")
    from pathlib import Path

    assert not Path(last[len(prefix) : -len(" (give DIR to keep the example).")]).exists()


def test_a_non_empty_dir_is_refused(tmp_path):
    (tmp_path / "something").write_text("keep me")
    assert_one_line_error(cli("demo", str(tmp_path)), "not an empty directory")
    assert [p.name for p in tmp_path.iterdir()] == ["something"]
