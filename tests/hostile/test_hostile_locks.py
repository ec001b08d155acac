"""Hostile PEP 751 locks for ``check RUN --lock``, and misnamed wheels for ``export --wheels``.

The run is recorded in a real uv-installed environment (``Alpha-Plugin 1.0.0`` from the
wheelhouse); the wheels are real, one of them a silent rebuild under the same name and
version. Every lock is valid PEP 751 (``packaging.pylock`` accepts it) and points an
installer at the rebuild, or at something whose bytes cannot be proved, in a way the
check once did not look at: an archive, a ``file:`` URL, a second entry of the name, a
marker, a path through a symlinked directory. Each case states its exit code and
verdict, and that no other file changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from hostile_kit import Case, Result, World, assert_outcome, run_case, run_cli

sys.path.insert(0, str(Path(__file__).parent.parent))

from plugin_catalog import catalog
from venvtools import UV_ENVIRONMENT, create_venv, install, uv_executable
from wheelbuilder import build_wheel

ALPHA = catalog()["alpha"]
WHEEL = ALPHA.filename  # alpha_plugin-1.0.0-py3-none-any.whl
REBUILT = "rebuilt/" + WHEEL
SILENT_REBUILD = "record_digest differs: a silent rebuild"
BUILT = "cannot be proved to be the run's files"


@pytest.fixture(scope="module")
def alpha_run(make_env: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A run recorded where uv installed alpha; its wheel, and a silent rebuild of it."""
    env = make_env("uv", ("alpha",))
    root = tmp_path_factory.mktemp("alpha-run")
    (root / "run.json").write_bytes(env.record())
    good = build_wheel(ALPHA, root / "good")
    rebuilt = build_wheel(ALPHA.with_changed_byte("alpha_plugin/__init__.py"), root / "rebuilt")
    return {"run": root / "run.json", "good": good, "rebuilt": rebuilt}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def entry(source: str, *, version: str | None = "1.0.0", head: str = "") -> str:
    """One ``[[packages]]`` entry of alpha: ``head`` adds keys, ``source`` its source tables."""
    line = f'version = "{version}"\n' if version is not None else ""
    return f'[[packages]]\nname = "alpha-plugin"\n{line}{head}{source}'


def wheels(where: str, sha: str) -> str:
    """A ``[[packages.wheels]]`` table; ``where`` is its ``path = ...`` or ``url = ...``."""
    return f'[[packages.wheels]]\nname = "{WHEEL}"\n{where}\nhashes = {{sha256 = "{sha}"}}\n'


def archive(where: str, sha: str) -> str:
    return f'[packages.archive]\n{where}\nhashes = {{sha256 = "{sha}"}}\n'


def check_lock(*entries: Any, lock: str = "lock/pylock.toml", top: str = "") -> Any:
    """``check RUN --lock``: the run and both wheels copied into the world, then the lock.

    Each entry is text, or a function of the world and the wheels (paths in the world).
    """

    def make(world: World) -> list[str]:
        paths = world.fields["paths"]
        run = world.write("run.json", paths["run"].read_bytes())
        good = world.write(f"wheels/{WHEEL}", paths["good"].read_bytes())
        rebuilt = world.write(f"wheels/{REBUILT}", paths["rebuilt"].read_bytes())
        found = {"good": good, "rebuilt": rebuilt}
        text = "".join(e(world, found) if callable(e) else e for e in entries)
        head = f'lock-version = "1.0"\ncreated-by = "x"\n{top}'
        return ["check", str(run), "--no-load", "--lock", str(world.write(lock, head + text))]

    return make


def rebuilt_wheel_at(where: str, kind: Any = wheels, **options: Any) -> Any:
    """An entry of the rebuilt wheel, its correct sha256; ``where`` formats with ``{root}``."""

    def make(world: World, found: dict[str, Path]) -> str:
        location = where.format(root=world.root)
        return entry(kind(location, sha256(found["rebuilt"])), **options)

    return make


def good_wheel(**options: Any) -> Any:
    def make(_world: World, found: dict[str, Path]) -> str:
        return entry(wheels(f'path = "../wheels/{WHEEL}"', sha256(found["good"])), **options)

    return make


def symlinked_lock_dir(world: World) -> None:
    """``lockdir -> real/deep/locks``: ``lockdir/../wheels`` is ``wheels`` lexically only."""
    (world.root / "real" / "deep" / "locks").mkdir(parents=True)
    world.link("lockdir", world.root / "real" / "deep" / "locks")


def through_link(*entries: Any) -> Any:
    build = check_lock(*entries, lock="lockdir/pylock.toml")

    def make(world: World) -> list[str]:
        symlinked_lock_dir(world)
        # The lock names wheels/, where an installer joining lexically finds the rebuild.
        return build(world)

    return make


def one_violation(fragment: str, *absent: str) -> Any:
    def check(_world: World, result: Result) -> None:
        assert "1 violation" in result.out, result.out
        assert fragment in result.out, result.out
        for text in absent:
            assert text not in result.out, result.out

    return check


PROVABLE = [
    Case(
        "archive-path-to-rebuilt-wheel",
        check_lock(rebuilt_wheel_at(f'path = "../wheels/{REBUILT}"', archive)),
        1,
        SILENT_REBUILD,
        check=one_violation(SILENT_REBUILD),
    ),
    Case(
        "archive-file-url-to-rebuilt-wheel",
        check_lock(rebuilt_wheel_at(f'url = "file://{{root}}/wheels/{REBUILT}"', archive)),
        1,
        SILENT_REBUILD,
        check=one_violation(SILENT_REBUILD),
    ),
    Case(
        "wheel-file-url-to-rebuilt-wheel",
        check_lock(rebuilt_wheel_at(f'url = "file://{{root}}/wheels/{REBUILT}"')),
        1,
        SILENT_REBUILD,
        check=one_violation(SILENT_REBUILD),
    ),
    Case(
        "wheel-file-localhost-url-to-rebuilt-wheel",
        check_lock(rebuilt_wheel_at(f'url = "file://localhost{{root}}/wheels/{REBUILT}"')),
        1,
        SILENT_REBUILD,
        check=one_violation(SILENT_REBUILD),
    ),
    Case(
        # uv joins ``lockdir/../wheels`` lexically: it installs wheels/, the rebuild.
        "lock-in-symlinked-dir-dotdot-path",
        through_link(rebuilt_wheel_at(f'path = "../wheels/{REBUILT}"')),
        1,
        SILENT_REBUILD,
        check=one_violation(SILENT_REBUILD),
    ),
]

UNPROVABLE = [
    Case(
        "archive-sdist",
        check_lock(entry(archive('path = "../wheels/alpha_plugin-1.0.0.tar.gz"', "0" * 64))),
        1,
        "an archive that is not a wheel (alpha_plugin-1.0.0.tar.gz)",
        check=one_violation(BUILT),
    ),
    Case(
        "archive-remote-sdist",
        check_lock(entry(archive('url = "https://example.invalid/a-1.0.0.tar.gz"', "0" * 64))),
        1,
        BUILT,
        check=one_violation(BUILT),
    ),
    Case(
        "archive-wheel-subdirectory",
        check_lock(entry(archive(f'path = "../wheels/{WHEEL}"\nsubdirectory = "x"', "0" * 64))),
        1,
        "a subdirectory of an archive",
        check=one_violation(BUILT),
    ),
    Case(
        "sdist-only",
        check_lock(
            entry(
                '[packages.sdist]\npath = "alpha_plugin-1.0.0.tar.gz"\n'
                f'hashes = {{sha256 = "{"0" * 64}"}}\n'
            )
        ),
        1,
        "locked as a source distribution",
        check=one_violation(BUILT),
    ),
    Case(
        "directory",
        check_lock(entry('[packages.directory]\npath = "../wheels"\n')),
        1,
        "locked as a source directory",
        check=one_violation(BUILT),
    ),
    Case(
        "vcs",
        check_lock(
            entry(
                '[packages.vcs]\ntype = "git"\nurl = "https://example.invalid/a.git"\n'
                f'commit-id = "{"a" * 40}"\n'
            )
        ),
        1,
        "locked as a VCS checkout (git)",
        check=one_violation(BUILT),
    ),
    Case(
        "wheel-for-another-platform-only",
        check_lock(
            entry(
                '[[packages.wheels]]\nname = "alpha_plugin-1.0.0-cp27-cp27m-win32.whl"\n'
                f'path = "absent.whl"\nhashes = {{sha256 = "{"0" * 64}"}}\n'
            )
        ),
        1,
        "no locked wheel installs on this interpreter",
        check=one_violation("no locked wheel installs"),
    ),
]

# uv takes the first entry whose marker holds: the rebuild; the second never applies.
TWO_ENTRIES = (
    rebuilt_wheel_at(f'path = "../wheels/{REBUILT}"', head="marker = \"python_version >= '3'\"\n"),
    good_wheel(head="marker = \"python_version < '3'\"\n"),
)

ENTRIES = [
    Case(
        "two-entries-marker-picks-rebuilt",
        check_lock(*TWO_ENTRIES),
        1,
        SILENT_REBUILD,
        check=one_violation(SILENT_REBUILD),
    ),
    Case(
        "two-entries-both-apply",
        check_lock(good_wheel(), entry(archive(f'url = "https://x.invalid/{WHEEL}"', "0" * 64))),
        1,
        "2 entries of the lock apply to this interpreter",
        check=one_violation("ambiguous"),
    ),
    Case(
        "first-entry-other-version-applies",
        check_lock(
            entry(archive(f'url = "https://x.invalid/{WHEEL}"', "0" * 64), version="2.0"),
            good_wheel(),
        ),
        1,
        "Alpha-Plugin is 1.0.0 in the run, 2.0 in the lock",
    ),
    Case(
        # uv installs everything but alpha: the lock does not install the plugin.
        "only-entry-excluded-by-marker",
        check_lock(good_wheel(head="marker = \"python_version < '3'\"\n")),
        1,
        "locked only for other environments",
        check=one_violation("the lock does not install it"),
    ),
    Case(
        "entry-requires-other-python",
        check_lock(good_wheel(head='requires-python = "<3"\n')),
        1,
        "the lock's entry requires Python <3",
        check=one_violation("an installer here refuses the lock"),
    ),
    Case(
        "lock-requires-other-python",
        check_lock(good_wheel(), top='requires-python = "<3"\n'),
        1,
        "(lock)",
        check=one_violation("the lock requires Python <3"),
    ),
    Case(
        "lock-environments-exclude-this-one",
        check_lock(good_wheel(), top="environments = [\"python_version < '3'\"]\n"),
        1,
        "none of the lock's environments",
        check=one_violation("an installer here refuses it"),
    ),
    Case(
        "entry-without-version",
        check_lock(entry(archive(f'url = "https://x.invalid/{WHEEL}"', "0" * 64), version=None)),
        1,
        "Alpha-Plugin is 1.0.0 in the run; the lock gives no version",
        check=one_violation("no version", "None"),
    ),
]

LOCK_CASES = PROVABLE + UNPROVABLE + ENTRIES


@pytest.mark.parametrize("case", LOCK_CASES, ids=[case.id for case in LOCK_CASES])
def test_hostile_lock_entries(case: Case, world: World, alpha_run: dict[str, Path]) -> None:
    world.fields = {"paths": alpha_run}  # type: ignore[dict-item]
    run_case(case, world)


# --- export --wheels DIR: a misnamed exact copy never breaks the export.


def export(*copies: str, good: bool = True) -> Any:
    """``export --format pylock`` into ``lock/``: DIR holds the wheel and misnamed copies."""

    def make(world: World) -> list[str]:
        paths = world.fields["paths"]
        run = world.write("run.json", paths["run"].read_bytes())
        data = paths["good"].read_bytes()
        for name in copies + ((WHEEL,) if good else ()):
            world.write(f"wheels/{name}", data)
        output = world.output("lock/pylock.toml")
        world.path("lock").mkdir()
        return ["export", str(run), "--format", "pylock", "--wheels", str(world.path("wheels")),
                "--output", output]  # fmt: skip

    return make


def locked_as(where: str) -> Any:
    """The written lock pins alpha as ``where`` (a wheel path), or lists it ``unpinned``."""

    def check(world: World, _result: Result) -> None:
        value = tomllib.loads(world.path("lock/pylock.toml").read_text())
        if where == "unpinned":
            tool = value["tool"]["insidellms-provenance"]
            assert [u["name"] for u in tool["unpinned"]] == ["alpha-plugin"], value
            assert value["packages"] == [], value
        else:
            assert value["packages"][0]["wheels"][0]["path"] == where, value

    return check


EXPORTS = [
    Case(
        "export-misnamed-copy-beside-the-wheel",
        export("aaa_saved_copy-1.0.0-py3-none-any.whl"),
        0,
        absent=("warning", "error"),
        check=locked_as(f"../wheels/{WHEEL}"),
    ),
    Case(
        "export-percent-encoded-copy-beside-the-wheel",
        export("alpha_plugin-1.0.0%2Babc-py3-none-any.whl"),
        0,
        absent=("warning", "error"),
        check=locked_as(f"../wheels/{WHEEL}"),
    ),
    Case(
        "export-only-a-misnamed-copy",
        export("aaa_saved_copy-1.0.0-py3-none-any.whl", good=False),
        1,
        "its file name is not a wheel name of alpha-plugin 1.0.0",
        check=locked_as("unpinned"),
    ),
]


@pytest.mark.parametrize("case", EXPORTS, ids=[case.id for case in EXPORTS])
def test_hostile_export_misnamed_wheels(
    case: Case, world: World, alpha_run: dict[str, Path]
) -> None:
    world.fields = {"paths": alpha_run}  # type: ignore[dict-item]
    run_case(case, world)


def test_verify_wheels_names_the_wheel_export_locks(
    world: World, alpha_run: dict[str, Path]
) -> None:
    """``verify --wheels`` reports the same choice: the validly named wheel, exit 0."""
    world.fields = {"paths": alpha_run}  # type: ignore[dict-item]
    build = export("alpha_plugin-1.0.0%2Babc-py3-none-any.whl")
    args = build(world)
    case = Case("verify", lambda _w: ["verify", args[1], "--wheels", args[5]], 0, f"{WHEEL}: exact")
    run_case(case, world)


# --- The installer agrees: what check --lock now fails, uv installs as the rebuild.


def test_uv_installs_what_check_lock_judges(
    world: World, alpha_run: dict[str, Path], wheelhouse: Path
) -> None:
    """The two-entry lock, installed by real uv, gives the rebuilt files: check said so."""
    world.fields = {"paths": alpha_run}  # type: ignore[dict-item]
    args = check_lock(*TWO_ENTRIES)(world)
    lock = Path(args[-1])
    assert_outcome(run_cli(world, args), 1, SILENT_REBUILD)
    venv = create_venv(world.root / "fresh", "uv")
    install(venv, "insidellms-provenance", find_links=wheelhouse)
    command = [uv_executable(), "pip", "install", "--quiet", "--offline", "--python"]
    installed = subprocess.run(
        [*command, str(venv.python), "-r", str(lock)],
        capture_output=True,
        check=False,
        env={**os.environ, **UV_ENVIRONMENT},
    )
    assert installed.returncode == 0, installed.stderr
    verified = venv.run("-m", "insidellms_provenance", "verify", args[1])
    assert verified.returncode == 1, verified.stdout
    assert b"same version, different installed files" in verified.stdout
    shutil.rmtree(venv.root)
