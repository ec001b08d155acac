"""Hostile output paths: every command's ``--output`` refuses what a rename must not replace.

A symlink, FIFO, device, socket or directory at the path, an input of the command (by
device and inode), a path ending in ``/`` and a path the system cannot resolve are one
line on stderr, exit 2, and nothing changed. The in-toto subject digest is of the bytes
the field was read from.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import Case, Result, World, host_manifest, run_case, with_run

LONG_NAME = "a" * 300  # longer than NAME_MAX on every common file system
WHEEL = "x-1-py3-none-any.whl"


def wheel_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x-1.dist-info/METADATA", "Name: x\nVersion: 1\n")
    return buffer.getvalue()


def device(world: World, relative: str) -> Path:
    """A character device like /dev/null, made in the world (never the real one)."""
    path = world.path(relative)
    try:
        os.mknod(path, 0o666 | 0o020000, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return path


def export(output: Any, fmt: str = "in-toto", *extra: str) -> Any:
    """``export run --format FMT --output OUTPUT(world)`` on a genuine run."""

    def build(world: World, run: Path) -> list[str]:
        target = output(world) if callable(output) else output
        return ["export", str(run), "--format", fmt, *extra, "--output", str(target)]

    return with_run(build)


def audit(output: Any) -> Any:
    """``audit runs --output OUTPUT(world)`` on one genuine run."""

    def build(world: World) -> list[str]:
        world.run_dir("runs/a", host_manifest(world.field()))
        target = output(world) if callable(output) else output
        return ["audit", str(world.path("runs")), "--output", str(target)]

    return build


def _symlinked_manifest(world: World) -> list[str]:
    """A run whose manifest.json links to a file of another name: that file is an input."""
    world.write("store/data.json", json.dumps(host_manifest(world.field())))
    world.link("runs/a/manifest.json", "../../store/data.json")
    return ["audit", str(world.path("runs")), "--output", str(world.path("store/data.json"))]


def _onto_a_wheel(link: bool) -> Any:
    """``export --wheels wheels --output`` one of those wheels (or a symlinked wheel's target)."""

    def build(world: World, run: Path) -> list[str]:
        if link:
            target = world.write(f"elsewhere/{WHEEL}", wheel_bytes())
            world.link(f"wheels/{WHEEL}", target)
        else:
            target = world.write(f"wheels/{WHEEL}", wheel_bytes())
        wheels = ["--wheels", str(world.path("wheels"))]
        return ["export", str(run), "--format", "cyclonedx", *wheels, "--output", str(target)]

    return with_run(build)


_wheels_too_long = with_run(
    lambda _world, run: ["export", str(run), "--format", "in-toto", "--wheels", LONG_NAME]
)


def _loop(world: World) -> Path:
    return world.link("loop", "loop")


def _replaced(name: str) -> Any:
    def check(world: World, result: Result) -> None:
        assert json.loads(world.path(name).read_bytes())
        assert not world.path(name).is_symlink()

    return check


def _two_lines(name: str) -> Any:
    def check(world: World, result: Result) -> None:
        assert len(world.path(name).read_bytes().splitlines()) == 2

    return check


def _written_through_linked_dir(world: World) -> Path:
    world.path("real").mkdir()
    world.link("linked", "real")
    world.outputs.add(world.path("real/lines.jsonl"))
    return world.path("linked/lines.jsonl")


REFUSED = [
    Case("export-output-fifo", export(lambda w: w.fifo("out")), 2, "out: is a FIFO"),
    Case("export-output-device", export(lambda w: device(w, "null")), 2, "null: is a device"),
    Case(
        "export-output-symlink",
        export(lambda w: w.link("out.json", w.write("target.json", b"keep"))),
        2,
        "out.json: is a symlink",
    ),
    Case(
        "export-output-symlink-to-fd",
        export(lambda w: w.link("stdout", "/proc/self/fd/1")),
        2,
        "stdout: is a symlink",
    ),
    Case("export-output-dangling-symlink", export(lambda w: w.link("o", "gone")), 2, "symlink"),
    Case("export-output-directory", export(lambda w: w.site), 2, "is a directory"),
    Case("export-output-trailing-slash", export(lambda w: f"{w.root}/newdir/"), 2, "ends with"),
    Case("export-output-too-long", export(LONG_NAME), 2, "File name too long"),
    Case("export-output-empty", export(""), 2, "empty output path"),
    Case("export-output-self-loop", export(_loop), 2, "loop: is a symlink"),
    Case("export-output-through-loop", export(lambda w: _loop(w) / "x"), 2, "symbolic links"),
    Case(
        "export-output-below-a-file",
        export(lambda w: w.path("run/manifest.json/x")),
        2,
        "Not a directory",
    ),
    Case("export-onto-a-wheel", _onto_a_wheel(link=False), 2, "refusing to overwrite an input"),
    Case("export-onto-a-linked-wheel", _onto_a_wheel(link=True), 2, "overwrite an input"),
    Case("export-wheels-too-long", _wheels_too_long, 2, "File name too long"),
    Case(
        "export-missing-dir-before-warnings",
        export(lambda w: w.path("nodir/pylock.toml"), "pylock"),
        2,
        "nodir/pylock.toml: cannot write in",
        absent=("warning",),
    ),
    Case("audit-output-fifo", audit(lambda w: w.fifo("out")), 2, "out: is a FIFO"),
    Case("audit-output-device", audit(lambda w: device(w, "null")), 2, "null: is a device"),
    Case(
        "audit-output-symlink",
        audit(lambda w: w.link("out.jsonl", w.write("target.jsonl", b"keep"))),
        2,
        "out.jsonl: is a symlink",
    ),
    Case("audit-output-trailing-slash", audit(lambda w: f"{w.root}/newdir/"), 2, "ends with"),
    Case("audit-output-too-long", audit(LONG_NAME), 2, "File name too long"),
    Case("audit-output-empty", audit(""), 2, "empty output path"),
    Case("audit-output-through-loop", audit(lambda w: _loop(w) / "x"), 2, "symbolic links"),
    Case("audit-output-symlinked-manifest", _symlinked_manifest, 2, "audited manifests"),
    Case("record-output-fifo", lambda w: ["record", "--output", str(w.fifo("f"))], 2, "FIFO"),
    Case(
        "record-output-trailing-slash",
        lambda w: ["record", "--output", f"{w.root}/newdir/"],
        2,
        "ends with",
    ),
]

WRITTEN = [
    Case(
        "export-output-replaces-a-regular-file",
        export(lambda w: (w.write("out.json", b"old"), w.output("out.json"))[1]),
        0,
        check=_replaced("out.json"),
    ),
    Case(
        "audit-output-through-a-linked-directory",
        audit(_written_through_linked_dir),
        0,
        "1 run(s)",
        check=_two_lines("real/lines.jsonl"),
    ),
]

CASES = REFUSED + WRITTEN


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_output_path(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)


def test_in_toto_subject_is_the_bytes_read(
    tmp_path: Path, genuine: Any, monkeypatch: pytest.MonkeyPatch, capsysbinary: Any
) -> None:
    """A manifest swapped after the field was read does not change the subject digest.

    The swap is simulated by making any second read of the manifest return other bytes.
    """
    from insidellms_provenance.cli._main import main

    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(host_manifest(genuine)))
    original = manifest.read_bytes()
    read_bytes = Path.read_bytes

    def swapped(path: Path) -> bytes:
        return b"swapped" if path == manifest else read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", swapped)
    assert main(["export", str(manifest), "--format", "in-toto"]) == 0
    statement = json.loads(capsysbinary.readouterr().out)
    digest = statement["subject"][0]["digest"]["sha256"]
    assert digest == hashlib.sha256(original).hexdigest()
