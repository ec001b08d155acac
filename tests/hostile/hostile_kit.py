"""The hostile-input harness: build a world on disk, run the CLI in it, check what held.

A :class:`World` is a temporary directory holding everything one case needs: run
directories, hand-made installed distributions in ``site/`` (on ``PYTHONPATH``), policy
files, output targets. :func:`run_case` snapshots the world, runs the CLI as a
subprocess with a hard timeout, and asserts the exit code, the expected text, the absence
of a traceback, one stderr line on exit 2, and that every file but the intended outputs is
byte-identical afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

GROUP = "insidellms.plugins"
TIMEOUT = 60  # seconds; a hang fails the case, never CI
PLUGIN_TIMEOUT = "5"  # the CLI's per-plugin import timeout inside the harness


def wheel_bytes(members: dict[str, bytes]) -> bytes:
    """A zip archive of ``members`` (archive path to bytes): a wheel, or a broken one."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


@attrs.define
class Result:
    code: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")


@attrs.define
class World:
    """One case's files; ``outputs`` are the paths the command may change."""

    root: Path
    outputs: set[Path] = attrs.field(factory=set)
    env: dict[str, str] = attrs.field(factory=dict)
    fields: dict[str, dict[str, Any]] = attrs.field(factory=dict)

    def field(self, name: str = "genuine") -> dict[str, Any]:
        """A deep copy of a genuine recording, to mutate."""
        value: dict[str, Any] = copy.deepcopy(self.fields[name])
        return value

    @property
    def site(self) -> Path:
        path = self.root / "site"
        path.mkdir(exist_ok=True)
        return path

    def path(self, relative: str) -> Path:
        return self.root / relative

    def write(self, relative: str, data: bytes | str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def fifo(self, relative: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        return path

    def link(self, relative: str, target: str | Path) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
        return path

    def output(self, relative: str) -> str:
        """Mark ``relative`` as an intended output; return it for the argument list."""
        self.outputs.add(self.root / relative)
        return str(self.root / relative)

    def dist(
        self,
        name: str,
        version: str = "1.0",
        *,
        files: dict[str, bytes] | None = None,
        entry_points: str | bytes | None = None,
        metadata: bytes | None = None,
        direct_url: bytes | None = None,
        record: bytes | None = None,
        extra_rows: str = "",
    ) -> Path:
        """A hand-made installed distribution in ``site/``, with a correct RECORD by default.

        Any of its ``*.dist-info`` files may be replaced by bytes; ``None`` means the
        normal content (``direct_url.json``: absent).
        """
        info = f"{name.replace('-', '_')}-{version}.dist-info"
        members = dict(files or {})
        members[f"{info}/METADATA"] = (
            metadata
            if metadata is not None
            else f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        )
        if entry_points is not None:
            text = entry_points.encode() if isinstance(entry_points, str) else entry_points
            members[f"{info}/entry_points.txt"] = text
        if direct_url is not None:
            members[f"{info}/direct_url.json"] = direct_url
        for relative, data in members.items():
            self.write(f"site/{relative}", data)
        if record is None:
            rows = "".join(
                f"{p},{record_hash(b)},{len(b)}\n"
                for p, b in sorted(members.items())
                if not p.endswith("direct_url.json")
            )
            record = (rows + extra_rows + f"{info}/RECORD,,\n").encode()
        self.write(f"site/{info}/RECORD", record)
        return self.site / info

    def plugin(
        self,
        package: str,
        body: str = "def register():\n    return None\n",
        *,
        name: str | None = None,
        ep_name: str | None = None,
        group: str = GROUP,
        **dist_options: Any,
    ) -> Path:
        """A plugin distribution: one package whose ``__init__`` is ``body``."""
        entry = f"[{group}]\n{ep_name or package} = {package}:register\n"
        return self.dist(
            name or package.replace("_", "-"),
            files={f"{package}/__init__.py": body.encode()},
            entry_points=dist_options.pop("entry_points", entry),
            **dist_options,
        )

    def run_dir(self, relative: str, manifest: bytes | str | dict[str, Any]) -> Path:
        """A run directory with ``manifest.json`` (bytes, text, or a value to serialize)."""
        if isinstance(manifest, dict):
            manifest = json.dumps(manifest, sort_keys=True, indent=2)
        self.write(f"{relative}/manifest.json", manifest)
        return self.root / relative


def install_fake_host(world: World) -> None:
    """Install the fake insideLLMs (tests/fakehost): importing it loads the plugins."""
    root = Path(__file__).resolve().parent.parent / "fakehost"
    files = {
        path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*.py"))
    }
    world.dist("insideLLMs", "0.2.0", files=files)


def host_manifest(field: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A manifest in the host's shape, with the field under ``custom`` when given."""
    custom: dict[str, Any] = {"status_counts": {"success": 5}, "timeout_count": 0}
    if field is not None:
        custom["plugin_provenance"] = field
    return {"schema_version": "1.0.1", "run_id": "abc123", "custom": custom, **extra}


def with_run(make_args: Callable[[World, Path], Iterable[str]]) -> Callable[[World], list[str]]:
    """A genuine run directory, then the command's arguments built from it."""

    def make(world: World) -> list[str]:
        run = world.run_dir("run", host_manifest(world.field()))
        return list(make_args(world, run))

    return make


def reseal(field: dict[str, Any]) -> dict[str, Any]:
    """Recompute a mutated field's digest, as an attacker who knows the rule would."""
    from insidellms_provenance._canonical import canonical_digest
    from insidellms_provenance.errors import NotCanonicalizableError
    from insidellms_provenance.field._build import digested_part

    # The digest covers every key but itself (schema v2). A mutation no digest can cover
    # (a value that is not JSON) stays as it is: the reader must refuse it so.
    with contextlib.suppress(NotCanonicalizableError):
        field["digest"] = canonical_digest(digested_part(field))
    return field


def snapshot(root: Path, skip: set[Path]) -> dict[str, tuple[object, ...]]:
    """Every entry below ``root`` (without following links or opening special files)."""
    found: dict[str, tuple[object, ...]] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory, name)
            if path in skip:
                continue
            try:
                info = os.lstat(path)
            except OSError as error:  # a path longer than PATH_MAX: its existence is noted
                found[str(path)] = ("unreachable", error.errno)
                continue
            kind = stat.S_IFMT(info.st_mode)
            if stat.S_ISREG(info.st_mode):
                found[str(path)] = (kind, info.st_mode, path.read_bytes())
            elif stat.S_ISLNK(info.st_mode):
                found[str(path)] = (kind, os.readlink(path))
            else:
                found[str(path)] = (kind, info.st_mode)
    return found


def cli_env(world: World) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(world.root / "home"),
        "PYTHONPATH": str(world.site),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LC_ALL": "C.UTF-8",
        "INSIDELLMS_PROVENANCE_PLUGIN_TIMEOUT": PLUGIN_TIMEOUT,
        **world.env,
    }


def start_cli(
    world: World, *args: str, preexec: Callable[[], None] | None = None
) -> subprocess.Popen[bytes]:
    """Start the CLI in ``world``: its own session, no stdin, output captured.

    ``preexec`` runs in the child before exec: resource limits, signal dispositions.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "insidellms_provenance", *args],
        cwd=world.root,
        env=cli_env(world),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=preexec,  # noqa: PLW1509 - limits or signal dispositions, before exec
    )


def run_cli(
    world: World,
    args: list[str],
    *,
    preexec: Callable[[], None] | None = None,
    timeout: float = TIMEOUT,
) -> Result:
    """Run the CLI in ``world``; a run over ``timeout`` is killed and fails the test."""
    process = start_cli(world, *args, preexec=preexec)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"{args} hung: killed after {timeout} s") from None
    return Result(process.returncode, stdout, stderr)


@attrs.frozen
class Case:
    """One hostile input: how to build it, and what must happen."""

    id: str
    build: Callable[[World], list[str]]
    code: int
    expect: str = ""
    absent: tuple[str, ...] = ()
    check: Callable[[World, Result], None] | None = None


def run_case(case: Case, world: World) -> Result:
    """Build, snapshot, run, and assert everything the harness promises."""
    args = case.build(world)
    (world.root / "home").mkdir(exist_ok=True)
    assert world.site.is_dir()
    before = snapshot(world.root, world.outputs)
    result = run_cli(world, args)
    assert_outcome(result, case.code, case.expect, case.absent)
    after = snapshot(world.root, world.outputs)
    changed = sorted(
        path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
    )
    assert not changed, f"files changed outside the intended output: {changed}"
    if case.check is not None:
        case.check(world, result)
    return result


def assert_outcome(
    result: Result, code: int, expect: str = "", absent: tuple[str, ...] = ()
) -> None:
    context = (
        f"exit {result.code}\n--- stdout\n{result.out[:3000]}\n--- stderr\n{result.err[:3000]}"
    )
    assert "Traceback" not in result.err, context
    assert result.code == code, context
    if code == 2:
        lines = result.err.splitlines()
        assert len(lines) == 1, context
        assert lines[0].startswith("insidellms-provenance: error: "), context
        assert result.stdout == b"", context
    if expect:
        assert expect in result.out + result.err, f"{expect!r} not found\n{context}"
    for fragment in absent:
        assert fragment not in result.out + result.err, f"{fragment!r} found\n{context}"


FAKE_HOST = Path(__file__).parent.parent / "fakehost"


def fake_host_venv(root: Path, wheelhouse: Path, plugins: Iterable[Any]) -> Any:
    """A uv venv in ``root`` of the fake host, this package and ``plugins`` (``WheelSpec``s).

    Each is a real wheel built in ``root/links`` and installed by real uv.
    """
    from venvtools import create_venv, install
    from wheelbuilder import WheelSpec, build_wheel

    links = root / "links"
    host = {p.relative_to(FAKE_HOST).as_posix(): p.read_bytes() for p in FAKE_HOST.rglob("*.py")}
    build_wheel(WheelSpec(name="insideLLMs", version="0.2.0", files=host), links)
    names = []
    for spec in plugins:
        build_wheel(spec, links)
        names.append(spec.name)
    venv = create_venv(root / "venv", "uv")
    install(
        venv,
        "insideLLMs",
        "insidellms-provenance",
        *names,
        find_links=links,
        extra=("--find-links", str(wheelhouse)),
    )
    return venv


def changed_outside(root: Path, inside: Path, action: Callable[[], Any]) -> tuple[Any, list[str]]:
    """What ``action()`` returned, and the files below ``root`` it changed outside ``inside``."""
    before = snapshot(root, set())
    result = action()
    after = snapshot(root, set())
    changed = sorted(
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path) and not path.startswith(str(inside))
    )
    return result, changed
