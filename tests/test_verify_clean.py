"""``proved_clean``: it proves only what the integrity check would also find clean.

Each row lays out one distribution (a package with a subpackage, a top-level module
and a script that climbs out of the site directory, as real installs have), changes
one thing, and holds the fast path's answer beside the whole check's findings: proved
clean must mean no finding, and the plain clean cases must be proved (else the fast
path does nothing).
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from insidellms_provenance.analyze import _verify as verify_module
from insidellms_provenance.analyze._verify import VerifyTarget, target_at, verify_targets
from insidellms_provenance.analyze._verify_clean import proved_clean

INFO = "demo_pkg-1.0.dist-info"
TAG = sys.implementation.cache_tag
FILES = {
    "demo_pkg/__init__.py": b"def register():\n    return None\n",
    "demo_pkg/core.py": b"VALUE = 1\n",
    "demo_pkg/sub/__init__.py": b"",
    "demo_pkg/sub/data.txt": b"data\n",
    "demo_top.py": b"TOP = 1\n",
    f"{INFO}/METADATA": b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n",
    f"{INFO}/entry_points.txt": b"[insidellms.plugins]\ndemo = demo_pkg:register\n",
    "../../../bin/demo": b"#!/bin/sh\n",
}


def _row(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def _site(prefix: Path) -> Path:
    """A venv's site directory (3 levels below its prefix, as ``site_layout`` finds)."""
    return prefix / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def lay_out(prefix: Path, extra_rows: str = "") -> Path:
    site = _site(prefix)
    for path, data in FILES.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
    rows = "".join(_row(path, data) for path, data in FILES.items())
    (site / INFO / "RECORD").write_text(rows + f"{INFO}/RECORD,,\n" + extra_rows)
    return site


def _target(site: Path) -> VerifyTarget:
    return VerifyTarget(
        name="demo-pkg",
        site_dir=site,
        dist_info=INFO,
        record_text=(site / INFO / "RECORD").read_text(),
        depth=3,
    )


def _append(site: Path, rows: str) -> None:
    record = site / INFO / "RECORD"
    record.write_text(record.read_text() + rows)


def _replace_with_link(path: Path) -> None:
    kept = path.with_name(path.name + ".kept")
    path.rename(kept)
    path.symlink_to(kept.name)


def _deep(site: Path) -> None:
    deep = "/".join(f"d{level}" for level in range(20))
    (site / "demo_pkg" / deep).mkdir(parents=True)
    (site / "demo_pkg" / deep / "leaf.py").write_bytes(b"x = 1\n")
    _append(site, _row(f"demo_pkg/{deep}/leaf.py", b"x = 1\n"))


def _cache_of(source: str) -> str:
    directory, _, name = source.rpartition("/")
    stem = name.removesuffix(".py")
    return (
        f"{directory}/__pycache__/{stem}.{TAG}.pyc"
        if directory
        else f"__pycache__/{stem}.{TAG}.pyc"
    )


def _bad_cache(site: Path, source: str) -> None:
    """A cache Python would load for ``source`` (matching stamp) holding other code."""
    import importlib.util
    import marshal

    path = site / source
    stat = path.stat()
    header = importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
    header += int(stat.st_mtime).to_bytes(4, "little") + (stat.st_size & 0xFFFFFFFF).to_bytes(
        4, "little"
    )
    cache = site / _cache_of(source)
    cache.parent.mkdir(exist_ok=True)
    cache.write_bytes(header + marshal.dumps(compile("EVIL = 1\n", str(path), "exec")))


def _large(site: Path, *, changed: bool) -> None:
    """A listed file larger than one read (read by ``hash_fd``), as recorded or not."""
    data = b"0123456789abcdef" * (1 << 17)  # 2 MiB
    (site / "demo_pkg/large.bin").write_bytes(data[:-1] + b"!" if changed else data)
    _append(site, _row("demo_pkg/large.bin", data))


def _rewrite(site: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in RECORD (``old`` must be there)."""
    record = site / INFO / "RECORD"
    text = record.read_text()
    assert old in text
    record.write_bytes(text.replace(old, new).encode())


def _row_fields(path: str, hash_field: str | None = None, size: str | None = None) -> Change:
    """Rewrite ``path``'s row with another hash field or size field, as written."""
    data = FILES[path]
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    fields = (
        path,
        f"sha256={digest}" if hash_field is None else hash_field,
        str(len(data)) if size is None else size,
    )
    return lambda site: _rewrite(site, _row(path, data), ",".join(fields) + "\n")


def _extra_file(site: Path, name: str, row: str) -> None:
    (site / "demo_pkg/sub" / name).write_bytes(b"extra\n")
    _append(site, row)


def _sha384_row(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha384(data).digest()).rstrip(b"=").decode()
    return f"{path},sha384={digest},{len(data)}\n"


def _not_canonical(path: str) -> Change:
    """``path``'s row with a sha256 value whose unused bits are set (not canonical base64)."""
    data = FILES[path]
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    # The last of 43 characters holds 2 unused bits; "/" in the urlsafe alphabet is "_".
    bad = digest[:-1] + ("B" if digest[-1] == "A" else chr(ord(digest[-1]) | 1))
    if bad == digest:
        bad = digest[:-1] + "B"
    return _row_fields(path, hash_field=f"sha256={bad}")


Change = Callable[[Path], object]
CHANGES: list[tuple[str, Change, bool, bool]] = [
    # (name, change, proved clean, has findings)
    ("clean", lambda _site: None, True, False),
    ("empty directory in the package", lambda site: (site / "demo_pkg/empty").mkdir(), True, False),
    (
        "content changed",
        lambda site: (site / "demo_pkg/core.py").write_bytes(b"VALUE = 2\n"),
        False,
        True,
    ),
    ("size wrong in RECORD", lambda site: _append(site, "demo_pkg/core.py,,99\n"), False, True),
    ("file missing", lambda site: (site / "demo_pkg/sub/data.txt").unlink(), False, True),
    ("unexpected file", lambda site: (site / "demo_pkg/evil.py").write_text("x"), False, True),
    (
        "unexpected file below",
        lambda site: (site / "demo_pkg/sub/evil.py").write_text("x"),
        False,
        True,
    ),
    ("unexpected in metadata", lambda site: (site / INFO / "EXTRA").write_text("x"), False, True),
    (
        "unexpected directory with a file",
        lambda site: ((site / "demo_pkg/new").mkdir(), (site / "demo_pkg/new/x.py").write_text("")),
        False,
        True,
    ),
    (
        "listed file is a symlink",
        lambda site: _replace_with_link(site / "demo_pkg/core.py"),
        False,
        True,
    ),
    (
        "listed directory is a symlink",
        lambda site: _replace_with_link(site / "demo_pkg/sub"),
        False,
        True,
    ),
    ("unexpected FIFO", lambda site: os.mkfifo(site / "demo_pkg/pipe"), False, True),
    (
        "listed file is a FIFO",
        lambda site: ((site / "demo_pkg/core.py").unlink(), os.mkfifo(site / "demo_pkg/core.py")),
        False,
        True,
    ),
    ("matching bytecode cache", lambda site: _compile(site, "demo_pkg/core.py"), False, False),
    (
        "unexplained bytecode",
        lambda site: (
            (site / "demo_pkg/__pycache__").mkdir(),
            (site / f"demo_pkg/__pycache__/ghost.{TAG}.pyc").write_bytes(b"x"),
        ),
        False,
        True,
    ),
    ("cache of another code", lambda site: _bad_cache(site, "demo_pkg/core.py"), False, True),
    (
        "top-level module changed",
        lambda site: (site / "demo_top.py").write_bytes(b"TOP = 2\n"),
        False,
        True,
    ),
    (
        "top-level module's cache of another code",
        lambda site: _bad_cache(site, "demo_top.py"),
        False,
        True,
    ),
    ("top-level module's matching cache", lambda site: _compile(site, "demo_top.py"), True, False),
    (
        "script changed",
        lambda site: (site / "../../../bin/demo").write_bytes(b"#!/bin/evil\n"),
        False,
        True,
    ),
    ("script missing", lambda site: (site / "../../../bin/demo").unlink(), False, True),
    (
        "row escaping the prefix",
        lambda site: _append(site, _row("../../../../etc/passwd", b"x")),
        False,
        True,
    ),
    ("absolute row", lambda site: _append(site, _row("/etc/passwd", b"x")), False, True),
    (
        "a row listed twice, once wrong",
        lambda site: _append(site, _row("demo_pkg/core.py", b"other")),
        False,
        True,
    ),
    (
        "a row listed twice, both right",
        lambda site: _append(site, _row("demo_pkg/core.py", FILES["demo_pkg/core.py"])),
        False,
        False,
    ),
    ("row without a hash", lambda site: _append(site, "demo_pkg/sub/data.txt,,\n"), False, True),
    (
        "row with a dot component",
        lambda site: _append(site, _row("demo_pkg/./core.py", b"x")),
        False,
        True,
    ),
    ("row naming a directory", lambda site: _append(site, _row("demo_pkg/sub", b"x")), False, True),
    ("row that is not CSV", lambda site: _append(site, "just one field\n"), False, True),
    (
        "row of a missing directory",
        lambda site: _append(site, _row("demo_pkg/gone/x.py", b"x")),
        False,
        True,
    ),
    ("namespace part missing", lambda site: _append(site, _row("ns/part/x.py", b"x")), False, True),
    ("deeper than the fast walk goes", _deep, False, False),
    ("a large file", lambda site: _large(site, changed=False), True, False),
    ("a large file changed", lambda site: _large(site, changed=True), False, True),
    # RECORD's fields are compared as written: anything but the very fields a file's
    # bytes make, or a field parse_record rejects, is left to the check.
    (
        "rows of two and four fields",
        lambda site: _append(site, "demo_pkg/core.py,sha256=x\n10,demo_pkg/a.py,sha256=y,5\n"),
        False,
        True,
    ),
    (
        "another algorithm",
        lambda site: _extra_file(site, "x.txt", _sha384_row("demo_pkg/sub/x.txt", b"extra\n")),
        False,
        False,
    ),
    ("hash field in capitals", _row_fields("demo_pkg/core.py", hash_field="SHA256=x"), False, True),
    ("size with a leading zero", _row_fields("demo_pkg/core.py", size="010"), False, False),
    ("size not a number", _row_fields("demo_pkg/core.py", size="1x"), False, True),
    ("size of Unicode digits", _row_fields("demo_pkg/core.py", size="\u0661\u0660"), False, True),
    (
        "hash-less RECORD row with a size not a number",
        lambda site: _rewrite(site, f"{INFO}/RECORD,,\n", f"{INFO}/RECORD,,x\n"),
        False,
        True,
    ),
    ("top-level module's value not canonical", _not_canonical("demo_top.py"), False, True),
    ("top-level module's size not a number", _row_fields("demo_top.py", size="1x"), False, True),
    (
        "script's hash in another algorithm",
        _row_fields("../../../bin/demo", hash_field="md5=x"),
        False,
        True,
    ),
    ("an empty line", lambda site: _append(site, "\n"), True, False),
    (
        "CR LF line ends (pip)",
        lambda site: (site / INFO / "RECORD").write_bytes(
            (site / INFO / "RECORD").read_bytes().replace(b"\n", b"\r\n")
        ),
        True,
        False,
    ),
    (
        "a quoted row",
        lambda site: _extra_file(
            site, "q.txt", '"' + _row("demo_pkg/sub/q.txt", b"extra\n").replace(",", '",', 1)
        ),
        True,
        False,
    ),
]


def _compile(site: Path, source: str) -> None:
    import py_compile

    py_compile.compile(str(site / source), cfile=str(site / _cache_of(source)), doraise=True)


@pytest.mark.parametrize(
    ("change", "proved", "has_findings"),
    [row[1:] for row in CHANGES],
    ids=[row[0] for row in CHANGES],
)
def test_proved_clean_means_the_check_finds_nothing(
    tmp_path: Path, change: Change, proved: bool, has_findings: bool
) -> None:
    site = lay_out(tmp_path)
    change(site)
    target = _target(site)
    site_fd = os.open(site, os.O_RDONLY)
    try:
        answer = proved_clean(target, site_fd, uv_links=False)
        whole = verify_module._verify_one(target)  # without site_fd: the check alone
    finally:
        os.close(site_fd)
    assert (answer, bool(whole)) == (proved, has_findings), whole
    # What verify reports is the check's.
    assert verify_targets([target]) == sorted(whole, key=lambda finding: finding.sort_key)


def test_a_missing_record_is_left_to_the_check(tmp_path: Path) -> None:
    site = lay_out(tmp_path)
    (site / INFO / "RECORD").unlink()
    target = target_at(str(site / INFO))
    site_fd = os.open(site, os.O_RDONLY)
    try:
        assert not proved_clean(target, site_fd, uv_links=False)
    finally:
        os.close(site_fd)
    [finding] = verify_targets([target])
    assert (finding.path, finding.problem) == (f"{INFO}/RECORD", "RECORD is missing")


def test_a_clean_distribution_is_not_checked_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = lay_out(tmp_path)

    def not_expected(*_args: object, **_kwargs: object) -> list[object]:
        raise AssertionError("the whole check ran for a distribution proved clean")

    monkeypatch.setattr(verify_module, "check_files", not_expected)
    assert verify_targets([_target(site)]) == []


def test_real_installs_are_proved_clean(make_env) -> None:  # type: ignore[no-untyped-def]
    """Wheels installed by real uv (pip compiles bytecode caches, which the check compares)."""
    venv = make_env("uv", fresh=True)  # no other test has imported its plugins
    site = venv.site_packages
    infos = sorted(str(path) for path in site.glob("*_plugin-*.dist-info"))
    assert infos
    site_fd = os.open(site, os.O_RDONLY)
    try:
        for info in infos:
            assert proved_clean(target_at(info), site_fd, uv_links=False), info
    finally:
        os.close(site_fd)


def test_rows_moved_into_a_target_directory_are_left_to_the_check(tmp_path: Path) -> None:
    """In a ``--target`` directory, ``../../pkg/x.py`` names ``pkg/x.py`` (pip moved it):
    such a package is walked by the check for unexpected files, so it is not proved here."""
    site = tmp_path / "target"
    files = {
        "demo_moved/__init__.py": b"",
        f"{INFO}/METADATA": FILES[f"{INFO}/METADATA"],
    }
    for path, data in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
    rows = _row("../../demo_moved/__init__.py", b"") + _row(
        f"{INFO}/METADATA", files[f"{INFO}/METADATA"]
    )
    (site / INFO / "RECORD").write_text(rows + f"{INFO}/RECORD,,\n")
    (site / "demo_moved/evil.py").write_text("import os\n")
    target = _target(site)._replace(depth=0, relocated_depth=2)
    site_fd = os.open(site, os.O_RDONLY)
    try:
        assert not proved_clean(target, site_fd, uv_links=False)
    finally:
        os.close(site_fd)
    assert [(f.path, f.problem) for f in verify_targets([target])] == [
        ("demo_moved/evil.py", "unexpected file: not listed in RECORD")
    ]


def _entry_points_as(site: Path, kind: str) -> None:
    path = site / INFO / "entry_points.txt"
    declaring = FILES[f"{INFO}/entry_points.txt"]
    path.unlink()
    if kind == "regular":
        path.write_bytes(declaring)
    elif kind == "other group":
        path.write_bytes(b"[console_scripts]\ndemo = demo_pkg:main\n")
    elif kind == "symlink":
        (site / "elsewhere.txt").write_bytes(declaring)
        path.symlink_to(site / "elsewhere.txt")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "not UTF-8":
        path.write_bytes(declaring + b"\xff\n")
    elif kind == "directory":
        path.mkdir()


@pytest.mark.parametrize(
    "kind", ["regular", "other group", "missing", "symlink", "fifo", "not UTF-8", "directory"]
)
def test_the_group_is_decided_as_discovery_decides_it(tmp_path: Path, kind: str) -> None:
    """``entry_points.txt`` read once for the group and the walk: the same decision as
    ``declares_group`` (which follows a symlink), bytes kept only from a regular file."""
    from insidellms_provenance.fingerprint._discover import declares_group

    site = lay_out(tmp_path)
    _entry_points_as(site, kind)
    info = str(site / INFO)
    declared, read = verify_module._declares_here(info, "insidellms.plugins")
    assert declared == declares_group(info, "insidellms.plugins")
    assert declared == (kind in {"regular", "symlink"})
    assert (read is not None) == (kind in {"regular", "other group"})
    checked, findings = verify_module.verify_checked([info], group="insidellms.plugins")
    assert checked == declared
    if kind == "symlink":  # verified, and its symlink is a finding
        assert [(f.path, f.problem) for f in findings] == [
            (f"{INFO}/entry_points.txt", "refused: symlink (not followed)")
        ]
    else:
        assert findings == []


def _record_as(kind: str) -> Callable[[Path], None]:
    def make(info: Path) -> None:
        record = info / "RECORD"
        if kind == "utf-8":
            record.write_text("d\u00e9mo/x.py,,\n", encoding="utf-8")
        elif kind == "latin-1":
            record.write_bytes("d\u00e9mo/x.py,,\n".encode("latin-1"))
        elif kind == "symlink":
            (info / "RECORD.real").write_text("demo/x.py,,\n")
            record.symlink_to("RECORD.real")
        elif kind == "dangling symlink":
            record.symlink_to("nowhere")
        elif kind == "fifo":
            os.mkfifo(record)
        elif kind == "directory":
            record.mkdir()
        elif kind == "too large":
            from insidellms_provenance._safe_io import RECORD_FILE_LIMIT

            record.write_bytes(b"x" * (RECORD_FILE_LIMIT + 1))
        elif kind == "plain":
            record.write_text("demo/x.py,,\n")

    return make


@pytest.mark.parametrize(
    "kind",
    [
        "plain",
        "missing",
        "utf-8",
        "latin-1",
        "symlink",
        "dangling symlink",
        "fifo",
        "directory",
        "too large",
    ],
)
def test_record_is_described_as_read_info_text_reads_it(tmp_path: Path, kind: str) -> None:
    """``target_at`` reads a plain RECORD in one go, and words anything else as ever."""
    from insidellms_provenance.fingerprint._dist_files import read_info_text

    info = tmp_path / INFO
    info.mkdir()
    _record_as(kind)(info)
    problems: list[str] = []
    text = read_info_text(str(info), "RECORD", problems)
    target = target_at(str(info))
    assert (target.record_text, target.record_problem) == (text, problems[0] if problems else None)
