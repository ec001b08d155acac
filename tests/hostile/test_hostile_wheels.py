"""Hostile wheels, wheel directories, lock files and export targets (issue 16's readers
and writers): the stated exit code and verdict, no traceback, no other file changed."""

from __future__ import annotations

from typing import Any

import pytest
from hostile_kit import Case, World, run_case, wheel_bytes, with_run

META = {"x-1.dist-info/METADATA": b"Name: x\nVersion: 1\n"}


def fingerprint(make_path: Any, *extra: str) -> Any:
    def make(world: World) -> list[str]:
        return ["fingerprint", *extra, str(make_path(world))]

    return make


def lock(content: Any) -> Any:
    def make(world: World, run: Any) -> list[str]:
        path = content(world) if callable(content) else world.write("pylock.toml", content)
        return ["check", str(run), "--lock", str(path)]

    return with_run(make)


FINGERPRINT = [
    Case("wheel-missing", fingerprint(lambda w: w.path("x-1-py3-none-any.whl")), 2, "no such"),
    Case("wheel-fifo", fingerprint(lambda w: w.fifo("d/x-1-py3-none-any.whl").parent), 1, "FIFO"),
    Case("wheel-dev-zero", fingerprint(lambda _w: "/dev/zero"), 1, "not a regular file"),
    Case(
        "wheel-symlink",
        fingerprint(
            lambda w: (
                w.link(
                    "d/y-1-py3-none-any.whl", w.write("x-1-py3-none-any.whl", wheel_bytes(META))
                ).parent
            )
        ),
        1,
        "symlink",
    ),
    Case(
        "wheel-not-zip",
        fingerprint(lambda w: w.write("x-1-py3-none-any.whl", b"PK\x03\x04 not really")),
        1,
        "not a readable wheel",
    ),
    Case(
        "wheel-two-dist-infos",
        fingerprint(
            lambda w: w.write(
                "x-1-py3-none-any.whl",
                wheel_bytes({**META, "y-1.dist-info/METADATA": b"Name: y\nVersion: 1\n"}),
            )
        ),
        1,
        "found 2",
    ),
    Case(
        "wheel-escaping-member",
        fingerprint(
            lambda w: w.write("x-1-py3-none-any.whl", wheel_bytes({**META, "../../evil": b"x"}))
        ),
        1,
        "escapes the install root",
    ),
    Case(
        "wheel-absolute-member",
        fingerprint(
            lambda w: w.write("x-1-py3-none-any.whl", wheel_bytes({**META, "/etc/evil": b"x"})),
            "--format",
            "json",
        ),
        1,
        "absolute path",
    ),
    Case(
        "wheel-bad-python",
        fingerprint(lambda w: w.write("x-1-py3-none-any.whl", wheel_bytes(META)), "--python", "3"),
        2,
        "X.Y",
    ),
]

VERIFY_AND_EXPORT = [
    Case("verify-wheels-no-run", lambda w: ["verify", "--wheels", str(w.site)], 2, "needs a RUN"),
    Case(
        "verify-wheels-not-dir",
        with_run(lambda w, run: ["verify", str(run), "--wheels", str(w.path("none"))]),
        2,
        "not a directory",
    ),
    Case(
        "verify-wheels-fifo-inside",
        with_run(
            lambda w, run: [
                "verify",
                str(run),
                "--wheels",
                str(w.fifo("d/a-1-py3-none-any.whl").parent),
            ]
        ),
        1,
        "unreadable wheel a-1-py3-none-any.whl",
    ),
    Case(
        "export-onto-the-run",
        with_run(
            lambda _w, run: [
                "export",
                str(run),
                "--format",
                "cyclonedx",
                "--output",
                str(run / "manifest.json"),
            ]
        ),
        2,
        "refusing to overwrite an input",
    ),
    Case(
        "export-lock-bad-name",
        with_run(
            lambda w, run: [
                "export",
                str(run),
                "--format",
                "pylock",
                "--output",
                w.output("lock.toml"),
            ]
        ),
        2,
        "pylock.toml",
    ),
    Case(
        "export-output-missing-dir",
        with_run(
            lambda w, run: [
                "export",
                str(run),
                "--format",
                "in-toto",
                "--output",
                str(w.path("no/dir/s.json")),
            ]
        ),
        2,
        "no/dir",
    ),
    Case(
        "export-lock-unpinned-warns",
        with_run(
            lambda w, run: [
                "export",
                str(run),
                "--format",
                "pylock",
                "--output",
                w.output("pylock.toml"),
            ]
        ),
        1,
        "content is not pinned",
    ),
    Case(
        "export-cyclonedx-ok",
        with_run(
            lambda w, run: [
                "export",
                str(run),
                "--format",
                "cyclonedx",
                "--output",
                w.output("bom.json"),
            ]
        ),
        0,
    ),
]

UNPACKED = {
    "archive-v0/abc/x-1.dist-info/METADATA": b"Name: x\nVersion: 1\n",
    "archive-v0/abc/x-1.dist-info/WHEEL": b"Wheel-Version: 1.0\n",
}


def cache(make_hostile: Any, *extra: str) -> Any:
    """``verify RUN --wheels cache`` on a uv-like cache with one hostile unpacked wheel."""

    def make(world: World, run: Any) -> list[str]:
        for relative, data in UNPACKED.items():
            world.write(f"cache/{relative}", data)
        make_hostile(world)
        return ["verify", str(run), "--wheels", str(world.path("cache")), *extra]

    return with_run(make)


CACHE_FOLDERS = [
    Case(
        "cache-symlinked-dir-not-followed",
        with_run(
            lambda w, run: [
                "verify",
                str(run),
                "--wheels",
                str(
                    w.link(
                        "cache/wheels/ab",
                        w.write("elsewhere/x-1-py3-none-any.whl", wheel_bytes(META)).parent,
                    ).parent.parent
                ),
            ]
        ),
        1,
        "against 0 wheel(s)",
        absent=("x-1-py3-none-any.whl",),
    ),
    Case(
        "cache-unpacked-fifo-member",
        cache(lambda w: w.fifo("cache/archive-v0/abc/x/mod.py")),
        1,
        "unreadable wheel archive-v0/abc/: x/mod.py: not a regular file",
    ),
    Case(
        "cache-unpacked-symlink-member",
        cache(lambda w: w.link("cache/archive-v0/abc/x/mod.py", "/etc/passwd"), "--format", "json"),
        1,
        "x/mod.py: a symlink (not followed)",
    ),
    Case(
        "cache-unpacked-symlinked-dist-info",
        with_run(
            lambda w, run: [
                "verify",
                str(run),
                "--wheels",
                str(
                    w.link(
                        "cache/archive-v0/abc/x-1.dist-info",
                        w.write("elsewhere/x-1.dist-info/WHEEL", b"Wheel-Version: 1.0\n").parent,
                    ).parent.parent.parent
                ),
            ]
        ),
        1,
        "against 0 wheel(s)",
    ),
    Case(
        "fingerprint-unpacked-fifo-member",
        fingerprint(
            lambda w: (
                (
                    w.write("t/x-1.dist-info/WHEEL", b"Wheel-Version: 1.0\n"),
                    w.fifo("t/x/mod.py"),
                )[1].parent.parent
            )
        ),
        1,
        "not a regular file",
    ),
]

LOCKS = [
    Case("lock-fifo", lock(lambda w: w.fifo("pylock.toml")), 2, "not a regular file"),
    Case("lock-dev-zero", lock(lambda _w: "/dev/zero"), 2, "not a regular file"),
    Case("lock-missing", lock(lambda w: w.path("pylock.toml")), 2, "no such file"),
    Case("lock-not-toml", lock("[["), 2, "not valid TOML"),
    Case("lock-not-utf8", lock(b"\xff\xfe"), 2, "not valid TOML"),
    Case(
        "lock-future-version",
        lock('lock-version = "2.0"\ncreated-by = "x"\npackages = []\n'),
        2,
        "PEP 751",
    ),
    Case("lock-no-packages", lock('lock-version = "1.0"\ncreated-by = "x"\n'), 2, "PEP 751"),
    Case(
        "lock-empty-but-valid",
        lock('lock-version = "1.0"\ncreated-by = "x"\npackages = []\n'),
        1,
        "is not in the lock",
    ),
]

CASES = FINGERPRINT + VERIFY_AND_EXPORT + CACHE_FOLDERS + LOCKS


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_wheels_locks_and_exports(case: Case, world: World, genuine: Any) -> None:
    world.fields = {"genuine": genuine}
    run_case(case, world)
