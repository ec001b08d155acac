"""``verify``: integrity of installed files and reproducibility of a recorded run."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from golden import check_golden
from insidellms_provenance.analyze._verify import VerifyTarget, verify_targets
from insidellms_provenance.cli._verify import render
from plugin_catalog import GOOD
from test_cli import assert_one_line_error, cli

INFO = "demo_pkg-1.0.dist-info"
FILES = {
    "demo_pkg/__init__.py": b"def register():\n    return None\n",
    "demo_pkg/core.py": b"VALUE = 1\n",
    "demo_pkg/sub/__init__.py": b"",
    f"{INFO}/METADATA": b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n",
}


def _row(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def lay_out(site: Path, extra_rows: str = "") -> VerifyTarget:
    for path, data in FILES.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
    record = "".join(_row(p, d) for p, d in FILES.items()) + f"{INFO}/RECORD,,\n" + extra_rows
    (site / INFO / "RECORD").write_text(record)
    return target(site)


def target(site: Path) -> VerifyTarget:
    return VerifyTarget(
        name="demo-pkg",
        site_dir=site,
        dist_info=INFO,
        record_text=(site / INFO / "RECORD").read_text(),
        depth=0,
    )


def tamper(site: Path) -> None:
    (site / "demo_pkg/core.py").write_bytes(b"VALUE = 2\n")
    (site / "demo_pkg/sub/__init__.py").unlink()
    (site / "demo_pkg/injected.py").write_text("import os\n")
    (site / "demo_pkg/__init__.py").unlink()
    (site / "demo_pkg/__init__.py").symlink_to("/etc/passwd")
    os.mkfifo(site / "demo_pkg/pipe")
    (site / "demo_pkg/__pycache__").mkdir()
    (site / "demo_pkg/__pycache__/core.cpython-311.pyc").write_bytes(b"ok: explained")
    (site / "demo_pkg/__pycache__/ghost.cpython-311.pyc").write_bytes(b"unexplained")


ESCAPING = _row("../../../etc/passwd", b"x") + _row("/etc/shadow", b"x") + "demo_pkg/x.txt,,\n"


def test_clean_site_has_no_findings(tmp_path):
    assert verify_targets([lay_out(tmp_path)]) == []


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("json", "json"), ("markdown", "md")])
def test_tampered_site_golden(tmp_path, fmt, suffix):
    site_target = lay_out(tmp_path, ESCAPING)
    tamper(tmp_path)
    findings = verify_targets([site_target])
    output = render(fmt, "insidellms.plugins", 1, findings, None)
    check_golden(
        f"verify/tampered.{suffix}", output if isinstance(output, bytes) else output.encode()
    )


def test_tampered_site_findings(tmp_path):
    site_target = lay_out(tmp_path, ESCAPING)
    tamper(tmp_path)
    found = {(f.path, f.problem) for f in verify_targets([site_target])}
    assert found == {
        ("../../../etc/passwd", "refused: path escapes the install root"),
        ("/etc/shadow", "refused: absolute path"),
        ("demo_pkg/x.txt", "missing"),
        ("demo_pkg/core.py", "content does not match RECORD hash"),
        ("demo_pkg/sub/__init__.py", "missing"),
        ("demo_pkg/injected.py", "unexpected file: not listed in RECORD"),
        ("demo_pkg/__init__.py", "refused: symlink (not followed)"),
        ("demo_pkg/pipe", "unexpected file: not listed in RECORD"),
        (
            "demo_pkg/__pycache__/ghost.cpython-311.pyc",
            "unexpected bytecode: no listed source explains it",
        ),
    }


def test_fifo_listed_in_record_is_refused_not_opened(tmp_path):
    site_target = lay_out(tmp_path, _row("demo_pkg/fifo", b"x"))
    os.mkfifo(tmp_path / "demo_pkg/fifo")
    findings = verify_targets([target(tmp_path)])  # would block forever if opened
    assert [(f.path, f.problem) for f in findings] == [
        ("demo_pkg/fifo", "refused: special file (not opened)")
    ]
    del site_target


def test_unhashed_rows_other_than_record_and_bytecode_are_reported(tmp_path):
    lay_out(tmp_path, "demo_pkg/core.py,,\n")
    findings = verify_targets([target(tmp_path)])
    assert ("demo_pkg/core.py", "no hash in RECORD") in {(f.path, f.problem) for f in findings}


# ---- real installs ----------------------------------------------------------------


def verify_in(venv, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(venv.python), "-m", "insidellms_provenance", "verify", *args],
        capture_output=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_real_install_is_clean_even_after_python_wrote_bytecode(make_env, installer):
    venv = make_env(installer, GOOD)
    venv.load_plugins()  # as a host run does: Python writes __pycache__ files
    assert list(venv.site_packages.glob("alpha_plugin/__pycache__/*.pyc"))
    result = verify_in(venv)
    assert result.returncode == 0, result.stdout.decode()
    assert (
        b"integrity: re-hashed every RECORD-listed file of the 3 distributions providing "
        b"entry points of group insidellms.plugins: 0 problems"
    ) in result.stdout


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_real_tampering_is_reported_by_path(make_env, installer):
    venv = make_env(installer, GOOD, fresh=True)
    site = venv.site_packages
    (site / "alpha_plugin/models/echo.py").write_bytes(b"def echo(prompt):\n    return 'pwned'\n")
    (site / "alpha_plugin/probes/__init__.py").unlink()
    (site / "alpha_plugin/evil.py").write_text("import os\n")
    (site / "beta_plugin/__init__.py").unlink()
    (site / "beta_plugin/__init__.py").symlink_to("/etc/passwd")
    os.mkfifo(site / "gamma_plugin/hooks.py.fifo")
    record = site / "gamma_plugin-0.3.0.dist-info/RECORD"
    record.write_text(record.read_text() + _row("../../../../../etc/passwd", b"root"))
    result = verify_in(venv, "--format", "json")
    assert result.returncode == 1
    findings = {(f["path"], f["problem"]) for f in json.loads(result.stdout)["findings"]}
    assert findings == {
        ("alpha_plugin/models/echo.py", "content does not match RECORD hash"),
        ("alpha_plugin/probes/__init__.py", "missing"),
        ("alpha_plugin/evil.py", "unexpected file: not listed in RECORD"),
        # uv's symlink link mode links files into its cache's archive-vN trees; a link
        # anywhere else is refused for every installer (docs/verify.md).
        (
            "beta_plugin/__init__.py",
            "refused: symlink (not into uv's cache)"
            if installer == "uv"
            else "refused: symlink (not followed)",
        ),
        ("gamma_plugin/hooks.py.fifo", "unexpected file: not listed in RECORD"),
        ("../../../../../etc/passwd", "refused: path escapes the install root"),
    }


def test_all_checks_every_distribution(make_env):
    venv = make_env("uv", GOOD)
    result = verify_in(venv, "--all", "--format", "json")
    assert result.returncode == 0, result.stdout
    # the plugins, this package and its dependencies
    checked = json.loads(result.stdout)["checked"]
    assert checked >= 7
    text = verify_in(venv, "--all").stdout.decode()
    assert text.startswith(
        f"integrity: re-hashed every RECORD-listed file of all {checked} distributions "
        "installed: 0 problems"
    )


def test_reproducibility_against_a_recorded_run(make_env, tmp_path):
    venv = make_env("pip", GOOD, fresh=True)
    run = tmp_path / "prov.json"
    run.write_bytes(venv.record())
    same = verify_in(venv, str(run))
    assert same.returncode == 0, same.stdout
    assert b"reproducibility: this environment matches the run" in same.stdout
    metadata = venv.site_packages / "beta_plugin-2.1.0.dist-info/METADATA"
    metadata.write_text(metadata.read_text().replace("Version: 2.1.0", "Version: 2.1.1"))
    changed = verify_in(venv, str(run), "--format", "json")
    assert changed.returncode == 1
    value = json.loads(changed.stdout)
    assert value["findings"] == [
        {
            "distribution": "beta_plugin",
            "path": "beta_plugin-2.1.0.dist-info/METADATA",
            "problem": "content does not match RECORD hash",
        }
    ]
    assert [c["message"] for c in value["reproducibility"]["changes"]] == [
        "integrity verified -> modified: beta_plugin-2.1.0.dist-info/METADATA",
        "beta_plugin 2.1.0 -> 2.1.1 (patch upgrade)",
    ]


def test_verify_never_imports_plugin_code(make_env, tmp_path):
    venv = make_env("uv", ("noisy", *GOOD))
    result = verify_in(venv)
    assert b"hello from a noisy plugin" not in result.stdout + result.stderr


def test_bad_run_file_is_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert_one_line_error(cli("verify", str(bad)), "not valid JSON")


def test_verify_cli_in_this_environment_runs():
    result = subprocess.run(
        [sys.executable, "-m", "insidellms_provenance", "verify", "--group", "no.such.group"],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0
    assert (
        result.stdout
        == b"integrity: re-hashed every RECORD-listed file of the 0 distributions providing "
        b"entry points of group no.such.group: 0 problems\n"
    )


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("json", "json"), ("markdown", "md")])
def test_reproducibility_golden(fmt, suffix):
    from diff_fixtures import before_and_after
    from insidellms_provenance.analyze._diff import diff_fields

    before, after = before_and_after()
    report = diff_fields(before, after)
    output = render(fmt, "insidellms.plugins", 33, [], report)
    check_golden(
        f"verify/reproducibility.{suffix}", output if isinstance(output, bytes) else output.encode()
    )


def test_reproducibility_changes_are_diffs_change_objects():
    """One serializer: verify's changes are diff's, key for key, and valid against its schema."""
    from diff_fixtures import before_and_after
    from insidellms_provenance.analyze._change import Change
    from insidellms_provenance.analyze._diff import diff_fields
    from insidellms_provenance.cli._diff import render_json
    from jsonschema_tools import validate
    from test_cli_diff import DIFF_SCHEMA

    report = diff_fields(*before_and_after())
    verified = json.loads(render("json", "insidellms.plugins", 33, [], report))
    diffed = json.loads(render_json(report, "any", failed=True))
    changes = verified["reproducibility"]["changes"]
    assert changes == diffed["changes"]
    assert any(change["size"] for change in changes)
    schema = {**DIFF_SCHEMA["$defs"]["Change"], "$defs": DIFF_SCHEMA["$defs"]}
    assert [validate(change, schema) for change in changes] == [[]] * len(changes)
    assert set(DIFF_SCHEMA["$defs"]["Change"]["properties"]) == set(Change._fields)
    assert all(list(change) == sorted(Change._fields) for change in changes)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"METADATA": b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n"}, "demo-pkg"),
        (
            {"METADATA": b"Metadata-Version: 2.1\r\nname:  Demo_Pkg \r\n\r\nName: body\n"},
            "Demo_Pkg",
        ),
        ({"METADATA": b"Version: 1\nName: folded\n  part\nSummary: x\n"}, "folded part"),
        ({"METADATA": b"Version: 1.0\n\nName: only-in-body\n"}, None),
        ({"METADATA": b"Name:\nVersion: 1.0\n"}, None),
        ({"PKG-INFO": b"Metadata-Version: 1.0\nName: egg-style\n"}, "egg-style"),
        ({}, None),
    ],
)
def test_metadata_name_reads_the_header_block_only(tmp_path, files, expected):
    from insidellms_provenance.fingerprint._distribution import metadata_name

    info = tmp_path / "demo_pkg-1.0.dist-info"
    info.mkdir()
    for name, data in files.items():
        (info / name).write_bytes(data)
    assert metadata_name(str(info)) == expected


def test_metadata_name_does_not_open_a_fifo(tmp_path):
    from insidellms_provenance.analyze._verify import target_at
    from insidellms_provenance.fingerprint._distribution import metadata_name

    info = tmp_path / "demo_pkg-1.0.dist-info"
    info.mkdir()
    os.mkfifo(info / "METADATA")
    os.mkfifo(info / "RECORD")
    assert metadata_name(str(info)) is None
    described = target_at(str(info))
    assert described.record_text is None
    [finding] = verify_targets([described])
    assert finding.distribution == "demo_pkg"  # named from the directory, METADATA unread
    assert finding.problem.startswith("RECORD cannot be read: not a regular")


def test_matching_fingerprints_with_modified_files_is_not_a_contradiction():
    from insidellms_provenance.analyze._diff import DiffReport
    from insidellms_provenance.analyze._verify import Finding
    from insidellms_provenance.cli._verify import render

    same = DiffReport(group="g", before_digest="sha256:a", after_digest="sha256:a", changes=())
    modified = [
        Finding(distribution="d", path="d/x.py", problem="content does not match RECORD hash")
    ]
    text = render("text", "g", 1, modified, same)
    assert isinstance(text, str)
    assert "this environment matches the run" not in text
    assert text.splitlines()[-1] == (
        "reproducibility: the run's recorded plugins (versions, RECORD digests, manifests) "
        "match this environment's, but the files listed above differ from their RECORD, so "
        "this environment does not hold the bytes the run used"
    )
    markdown = render("markdown", "g", 1, modified, same)
    assert isinstance(markdown, str)
    assert "matches the run" not in markdown
    clean = render("text", "g", 1, [], same)
    assert isinstance(clean, str)
    assert clean.splitlines()[-1] == "reproducibility: this environment matches the run"


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        # RECORD and its signatures may go without a hash in the dist-info only.
        (f"{INFO}/RECORD.jws,,\n", None),
        ("demo_pkg/RECORD,,\n", "no hash in RECORD"),
        ("demo_pkg/RECORD.jws,,\n", "no hash in RECORD"),
        ("demo_pkg/RECORD.p7s,,\n", "no hash in RECORD"),
    ],
)
def test_hash_less_record_rows_outside_the_dist_info_are_reported(tmp_path, row, problem):
    lay_out(tmp_path, row)
    path = row.split(",")[0]
    (tmp_path / path).write_bytes(b"signature or anything")
    findings = {(f.path, f.problem) for f in verify_targets([target(tmp_path)])}
    assert findings == ({(path, problem)} if problem else set())


def test_a_row_with_the_right_hash_and_the_wrong_size_is_reported(tmp_path):
    data = FILES["demo_pkg/core.py"]
    row = _row("demo_pkg/core.py", data).replace(f",{len(data)}\n", f",{len(data) + 1}\n")
    lay_out(tmp_path)
    record = tmp_path / INFO / "RECORD"
    record.write_text(record.read_text().replace(_row("demo_pkg/core.py", data), row))
    findings = [(f.path, f.problem) for f in verify_targets([target(tmp_path)])]
    assert findings == [("demo_pkg/core.py", "size does not match RECORD")]


FIFO_OPEN = """
import os, sys
from insidellms_provenance.fingerprint._hashing import hash_file
print(hash_file(sys.argv[1], "sha256"))
"""


def test_a_fifo_swapped_in_after_the_check_is_not_waited_on(tmp_path):
    """``hash_file`` opens without blocking: a FIFO with no writer cannot hang ``verify``.

    A child process does the open; if it blocked (no ``O_NONBLOCK``), nothing would ever
    write to the FIFO and the timeout fails the test instead of hanging the suite.
    """
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = subprocess.run(
        [sys.executable, "-c", FIFO_OPEN, str(fifo)], capture_output=True, timeout=60, check=True
    )
    assert result.stdout == b"special file\n"


def _linked_like_uv(site: Path, cache: Path) -> None:
    """Every file of ``demo_pkg`` moved into ``cache`` and symlinked back, as uv links."""
    for path in FILES:
        if path.startswith("demo_pkg/"):
            kept = cache / path
            kept.parent.mkdir(parents=True, exist_ok=True)
            (site / path).rename(kept)
            (site / path).symlink_to(kept)


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_uv_symlink_install_is_read_through_its_links_only_for_uv(tmp_path, installer):
    site, cache = tmp_path / "site", tmp_path / "uv-cache" / "archive-v0" / "abc123"
    site.mkdir()
    lay_out(site)
    _linked_like_uv(site, cache)
    found = verify_targets([target(site)._replace(uv_links=installer == "uv")])
    if installer == "uv":
        assert found == []  # the same bytes as a copy
    else:
        assert {(f.path, f.problem) for f in found} == {
            (path, "refused: symlink (not followed)")
            for path in FILES
            if path.startswith("demo_pkg/")
        }
    # Edited in the cache: the link's target is what is checked.
    (cache / "demo_pkg/core.py").write_bytes(b"VALUE = 2\n")
    if installer == "uv":
        assert [
            (f.path, f.problem) for f in verify_targets([target(site)._replace(uv_links=True)])
        ] == [("demo_pkg/core.py", "content does not match RECORD hash")]


def test_uv_links_never_follow_a_directory_or_a_link_to_a_special_file(tmp_path):
    site, cache = tmp_path / "site", tmp_path / "uv-cache" / "archive-v0" / "abc123"
    site.mkdir()
    cache.mkdir(parents=True)
    lay_out(site)
    # A directory component that is a link: refused, even for uv.
    (site / "demo_pkg/sub").rename(tmp_path / "elsewhere")
    (site / "demo_pkg/sub").symlink_to(tmp_path / "elsewhere")
    # A link to a FIFO, even in uv's cache: refused, never opened (it would block).
    os.mkfifo(cache / "fifo")
    (site / "demo_pkg/core.py").unlink()
    (site / "demo_pkg/core.py").symlink_to(cache / "fifo")
    # A link to a regular file outside uv's cache (the /etc/passwd case): refused.
    (tmp_path / "outside.py").write_bytes(FILES["demo_pkg/__init__.py"])
    (site / "demo_pkg/__init__.py").unlink()
    (site / "demo_pkg/__init__.py").symlink_to(tmp_path / "outside.py")
    found = {(f.path, f.problem) for f in verify_targets([target(site)._replace(uv_links=True)])}
    assert found == {
        ("demo_pkg/sub/__init__.py", "refused: symlink in path (not followed)"),
        ("demo_pkg/core.py", "refused: symlink (not followed)"),
        ("demo_pkg/__init__.py", "refused: symlink (not into uv's cache)"),
        ("demo_pkg/sub", "unexpected file: not listed in RECORD"),
    }


# ---- how files are reached (directories kept open, listings shared with the walk) ----


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        # Rows naming a directory, not a file: at depth 3 they stay inside the prefix.
        ("..", "refused: special file (not opened)"),
        ("../..", "refused: special file (not opened)"),
        ("../", "refused: special file (not opened)"),
        (".", "refused: special file (not opened)"),
        ("demo_pkg", "refused: special file (not opened)"),
        ("demo_pkg/sub/", "refused: special file (not opened)"),
        ("../../../..", "refused: path escapes the install root"),
        ("demo_pkg/./core.py", "content does not match RECORD hash"),
    ],
)
def test_rows_naming_directories_are_refused_not_a_crash(tmp_path, row, problem):
    site = tmp_path / "lib" / "python3" / "site-packages"
    site.mkdir(parents=True)
    lay_out(site, _row(row, b"not this"))
    findings = verify_targets([target(site)._replace(depth=3)])
    assert [(f.path, f.problem) for f in findings] == [(row, problem)]


def test_a_named_distribution_found_by_directory_is_named_from_metadata(tmp_path):
    from insidellms_provenance.analyze._verify import target_at

    lay_out(tmp_path)
    assert verify_targets([target_at(str(tmp_path / INFO))]) == []
    (tmp_path / "demo_pkg/core.py").write_bytes(b"VALUE = 2\n")
    [finding] = verify_targets([target_at(str(tmp_path / INFO))])
    assert (finding.distribution, finding.path) == ("demo-pkg", "demo_pkg/core.py")


DEEP = """
import resource, sys
from pathlib import Path
from insidellms_provenance.analyze._verify import target_at, verify_targets
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (48, hard))
findings = verify_targets([target_at(sys.argv[1])])
print(sorted((f.path, f.problem) for f in findings))
"""


def test_deep_directories_stay_within_a_low_descriptor_limit(tmp_path):
    """Directories are kept open for later files, but never more than a few at once."""
    deep = "/".join(f"d{level}" for level in range(100))
    extra = {f"demo_pkg/{deep}/leaf.py": b"x = 1\n", f"demo_pkg/{deep}/other.py": b"y = 2\n"}
    for path, data in extra.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    lay_out(tmp_path, "".join(_row(path, data) for path, data in extra.items()))
    (tmp_path / f"demo_pkg/{deep}/other.py").write_bytes(b"y = 3\n")
    (tmp_path / f"demo_pkg/{deep}/injected.py").write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "-c", DEEP, str(tmp_path / INFO)],
        capture_output=True,
        timeout=120,
        check=True,
        text=True,
    )
    assert result.stdout.strip() == str(
        [
            (f"demo_pkg/{deep}/injected.py", "unexpected file: not listed in RECORD"),
            (f"demo_pkg/{deep}/other.py", "content does not match RECORD hash"),
        ]
    )


SWAPPED = """
import os, sys
from insidellms_provenance.fingerprint import _integrity as integrity
from insidellms_provenance.fingerprint._hashing import hash_fd
site, swap = sys.argv[1], sys.argv[2]
files = integrity._SiteFiles(site, ["demo_pkg"], uv_links=False)
assert files.listing("demo_pkg")["core.py"] == integrity._REGULAR
os.unlink(os.path.join(site, "demo_pkg/core.py"))
if swap == "fifo":
    os.mkfifo(os.path.join(site, "demo_pkg/core.py"))
else:
    os.symlink("/etc/passwd", os.path.join(site, "demo_pkg/core.py"))
opened = files.open("demo_pkg/core.py")
print(hash_fd(opened, "sha256") if isinstance(opened, int) else opened)
files.close()
"""


@pytest.mark.parametrize(
    ("swap", "expected"), [("fifo", "special file"), ("symlink", "refused: symlink (not followed)")]
)
def test_a_file_swapped_after_its_directory_was_listed_is_still_refused(tmp_path, swap, expected):
    """A name listed as a regular file is opened without a ``stat``: what is opened then
    is checked again (``O_NOFOLLOW``, ``O_NONBLOCK``, ``fstat``), so a FIFO swapped in is
    not waited on (the child would time out) and a symlink is not followed."""
    lay_out(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", SWAPPED, str(tmp_path), swap],
        capture_output=True,
        timeout=60,
        check=True,
        text=True,
    )
    assert result.stdout.strip() == expected


# ---- verify without --all: entry points read where each directory is described ----


def _lay_out_dist(site: Path, package: str, entry_points: str | None) -> str:
    info = f"{package}-1.0.dist-info"
    files = {
        f"{package}/__init__.py": b"def register():\n    return None\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n".encode(),
    }
    if entry_points is not None:
        files[f"{info}/entry_points.txt"] = entry_points.encode()
    for path, data in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
    record = "".join(_row(p, d) for p, d in files.items()) + f"{info}/RECORD,,\n"
    (site / info / "RECORD").write_text(record)
    return str(site / info)


# Run in a fresh interpreter, where this test decides what threads there are: the pool's
# workers are forked only from a process with one thread, and started afresh otherwise.
POOL_WITH_THREADS = """
import concurrent.futures, json, sys, threading, warnings
warnings.simplefilter("error", DeprecationWarning)  # Python 3.12+: fork with threads
from insidellms_provenance.analyze import _verify
_verify._DESCRIBED_HERE_MAX = 0  # every distribution goes to the pool
methods = []
original = concurrent.futures.ProcessPoolExecutor.__init__
def recording(self, *args, **kwargs):
    methods.append(kwargs["mp_context"].get_start_method())
    original(self, *args, **kwargs)
concurrent.futures.ProcessPoolExecutor.__init__ = recording
release = threading.Event()
if sys.argv[1] == "thread":
    threading.Thread(target=release.wait).start()
checked, findings = _verify.verify_checked(sys.argv[2:])
release.set()
print(json.dumps([methods, checked, sorted((f.distribution, f.path) for f in findings)]))
"""


@pytest.mark.skipif(sys.platform != "linux" or (os.cpu_count() or 1) < 2, reason="Linux pool")
def test_the_pool_forks_only_from_a_process_with_one_thread(tmp_path):
    directories = [
        _lay_out_dist(tmp_path, f"plugin_{index}", f"[g]\nx = plugin_{index}:register\n")
        for index in range(3)
    ]
    (tmp_path / "plugin_1" / "__init__.py").write_bytes(b"edited\n")
    results = {}
    for threads in ("alone", "thread"):
        run = subprocess.run(
            [sys.executable, "-c", POOL_WITH_THREADS, threads, *directories],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert run.stderr == ""
        results[threads] = json.loads(run.stdout)
    assert results["alone"][0] == ["fork"]
    assert results["thread"][0] == ["spawn"]
    expected = [3, [["plugin_1", "plugin_1/__init__.py"]]]
    assert results["alone"][1:] == results["thread"][1:] == expected


@pytest.mark.parametrize("in_the_pool", [False, True], ids=["described-here", "in-the-pool"])
def test_only_directories_declaring_the_group_are_verified_and_counted(
    tmp_path, monkeypatch, in_the_pool
):
    """With a group, a directory is verified only if its entry_points.txt declares the group,
    whether it is described here or by the pool's workers. own_d's value names this
    package's module, but own_d is not this package's distribution: it is a plugin."""
    from insidellms_provenance.analyze import _verify

    directories = [
        _lay_out_dist(tmp_path, "plugin_a", "[g]\na = plugin_a:register\n"),
        _lay_out_dist(tmp_path, "plugin_b", "[other]\nb = plugin_b:register\n[g]\nb = x:y\n"),
        _lay_out_dist(tmp_path, "other_c", "[other]\nc = other_c:register\n"),
        _lay_out_dist(tmp_path, "own_d", "[g]\nd = insidellms_provenance.host.plugin:hook\n"),
        _lay_out_dist(tmp_path, "plain_e", None),
    ]
    for package in ("plugin_b", "other_c", "plain_e"):
        (tmp_path / package / "__init__.py").write_bytes(b"edited\n")
    if in_the_pool:
        monkeypatch.setattr(_verify, "_DESCRIBED_HERE_MAX", 0)
    checked, findings = _verify.verify_checked(directories, group="g")
    assert checked == 3
    assert [(f.distribution, f.path, f.problem) for f in findings] == [
        ("plugin_b", "plugin_b/__init__.py", "content does not match RECORD hash")
    ]
    # Without a group, every directory is verified.
    checked, findings = _verify.verify_checked(directories)
    assert checked == len(directories)
    assert {f.distribution for f in findings} == {"plugin_b", "other_c", "plain_e"}
