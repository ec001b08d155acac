"""A wheel that ships its own bytecode caches, installed by pip and by uv in every mode.

The wheel ``pyc-plug 1.0`` ships, beside its source, this interpreter's cache of it
(``pyc_plug/__pycache__/__init__.<tag>.pyc``, compiled from that very source, as a build
from a dirty tree leaves it), a cache without a source, and another interpreter's cache.
pip and ``uv pip install --compile-bytecode`` compile over the first (pip's RECORD then
lists it twice, with the wheel's hash and without one); plain uv, copying or linking,
leaves it. A cache of a listed source is judged against that source, never by a RECORD
hash an installer may have made stale; the other two are rewritten by no installer, and
their RECORD hash stands (``docs/verify.md``, "Caches a wheel ships").

Each case installs the same wheel four ways into fresh venvs and states the exit code,
the verdict, that the ``record --output`` bytes are the same for every installer, and
that no file of the venv changed.
"""

from __future__ import annotations

import importlib.util
import json
import marshal
import py_compile
import re
import struct
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hostile_kit import snapshot

from venvtools import Venv, create_venv, install
from wheelbuilder import WheelSpec, build_wheel

GROUP = "insidellms.plugins"
SOURCE = b"def register():\n    return None\n"
OTHER_CODE = "def register():\n    return 'other code'\n"
TAG = sys.implementation.cache_tag
# A cache tag no interpreter running this suite has: never loaded, never compiled here.
OTHER_TAG = f"cpython-3{sys.version_info.minor + 1}"
OWN_CACHE = f"pyc_plug/__pycache__/__init__.{TAG}.pyc"
SOURCELESS_CACHE = f"pyc_plug/__pycache__/gone.{TAG}.pyc"
OTHER_TAG_CACHE = f"pyc_plug/__pycache__/__init__.{OTHER_TAG}.pyc"
# How each venv is installed: installer, extra options, extra environment.
MODES: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {
    "pip": ("pip", (), {}),
    "uv-copy": ("uv", (), {}),
    "uv-compile": ("uv", ("--compile-bytecode",), {}),
    "uv-symlink": ("uv", (), {"UV_LINK_MODE": "symlink"}),
}
QUIET = {"PYTHONDONTWRITEBYTECODE": "1"}


def shipped_cache(directory: Path, source: bytes = SOURCE) -> bytes:
    """This interpreter's cache of ``source``, compiled as a build backend's tree has it."""
    path = directory / "__init__.py"
    path.write_bytes(source)
    return Path(py_compile.compile(str(path), doraise=True)).read_bytes()


def pyc_plug_envs(
    root: Path,
    wheelhouse: Path,
    modes: Iterable[str] = MODES,
    *,
    source: bytes = SOURCE,
    caches: Iterable[str] = (OWN_CACHE, SOURCELESS_CACHE, OTHER_TAG_CACHE),
    more: Iterable[WheelSpec] = (),
) -> dict[str, Venv]:
    """The project and ``pyc-plug`` (``source`` and ``caches``) installed in each of ``modes``.

    Each cache shipped is ``source``'s, compiled by this interpreter; ``more`` wheels are
    built beside it and installed too.
    """
    links = root / "links"
    cache = shipped_cache(root, source)
    files = {"pyc_plug/__init__.py": source, **dict.fromkeys(caches, cache)}
    spec = WheelSpec(
        name="pyc-plug",
        version="1.0",
        files=files,
        entry_points={GROUP: {"pyc": "pyc_plug:register"}},
    )
    for wheel in (spec, *more):
        build_wheel(wheel, links)
    envs = {}
    for mode in modes:
        installer, extra, env = MODES[mode]
        venv = create_venv(root / mode, installer)
        install(
            venv,
            "insidellms-provenance",
            *(wheel.name for wheel in (spec, *more)),
            find_links=links,
            extra=("--find-links", str(wheelhouse), *extra),
            env=env,
        )
        envs[mode] = venv
    return envs


def own_cache_was_recompiled(venv: Venv) -> bool:
    """Whether the installer listed its own compile of the shipped cache (pip's RECORD)."""
    record = (venv.site_packages / "pyc_plug-1.0.dist-info" / "RECORD").read_text()
    return record.count(OWN_CACHE + ",") == 2


def record_and_verify(venv: Venv, output: Path) -> tuple[bytes, Any]:
    """``record --output`` then ``verify`` of it, in ``venv``: the field's bytes, verify's run.

    Asserts that neither changed any file of the venv.
    """
    before = snapshot(venv.root, set())
    recorded = venv.run("-m", "insidellms_provenance", "record", "--output", str(output), env=QUIET)
    assert recorded.returncode == 0, recorded.stderr.decode()
    verified = venv.run("-m", "insidellms_provenance", "verify", str(output), env=QUIET)
    assert b"Traceback" not in verified.stderr, verified.stderr.decode()
    assert snapshot(venv.root, set()) == before, "record or verify changed a file of the venv"
    return output.read_bytes(), verified


def problems(stdout: bytes) -> list[str]:
    """``verify``'s findings for ``pyc-plug``: path and problem, without the name shown.

    (uv's symlink mode links METADATA too, which ``verify`` does not read to name it.)
    """
    found = []
    for line in stdout.decode().splitlines():
        columns = re.split(r"\s{2,}", line)
        if len(columns) == 3 and columns[0] in {"pyc-plug", "pyc_plug"}:
            found.append(f"{columns[1]}  {columns[2]}")
    return sorted(found)


def integrity(field: bytes) -> dict[str, Any]:
    (plugin,) = [p for p in json.loads(field)["plugins"] if p["entry_point"]["name"] == "pyc"]
    found: dict[str, Any] = plugin["distribution"]["integrity"]
    return found


def writable(path: Path) -> Path:
    """``path`` as a file of its own: uv's symlink mode links it into uv's cache."""
    if path.is_symlink():
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
    return path


def plant_other_code(source: Path, cache: Path) -> None:
    """Other code than ``source``'s in ``cache``, behind a header Python accepts for it."""
    info = source.stat()  # through uv's link, as the import system stats it
    header = importlib.util.MAGIC_NUMBER + struct.pack(
        "<III", 0, int(info.st_mtime) & 0xFFFFFFFF, info.st_size & 0xFFFFFFFF
    )
    code = compile(OTHER_CODE, str(source), "exec")
    writable(cache).write_bytes(header + marshal.dumps(code))


def test_a_shipped_cache_gives_every_installer_the_same_field(wheelhouse, tmp_path):
    envs = pyc_plug_envs(tmp_path, wheelhouse)
    # The installers did differ: pip and uv --compile-bytecode compiled over the cache.
    recompiled = {mode for mode, venv in envs.items() if own_cache_was_recompiled(venv)}
    assert recompiled == {"pip"}
    assert (envs["uv-compile"].site_packages / OWN_CACHE).read_bytes() != (
        envs["uv-copy"].site_packages / OWN_CACHE
    ).read_bytes()
    assert (envs["uv-symlink"].site_packages / OWN_CACHE).is_symlink()
    fields = {}
    for mode, venv in envs.items():
        fields[mode], verified = record_and_verify(venv, tmp_path / f"{mode}.json")
        assert verified.returncode == 0, verified.stdout.decode()
        assert b": 0 problems" in verified.stdout, verified.stdout.decode()
    assert integrity(fields["pip"]) == {"bytecode": "checked", "paths": [], "status": "verified"}
    assert len(set(fields.values())) == 1, {mode: integrity(f) for mode, f in fields.items()}


def test_other_code_in_a_shipped_cache_is_judged_against_its_source(wheelhouse, tmp_path):
    envs = pyc_plug_envs(tmp_path, wheelhouse)
    fields = {}
    for mode, venv in envs.items():
        site = venv.site_packages
        plant_other_code(site / "pyc_plug" / "__init__.py", site / OWN_CACHE)
        fields[mode], verified = record_and_verify(venv, tmp_path / f"{mode}.json")
        assert verified.returncode == 1, verified.stdout.decode()
        assert problems(verified.stdout) == [f"{OWN_CACHE}  bytecode does not match its source"]
    assert integrity(fields["pip"]) == {
        "bytecode": "checked",
        "paths": [OWN_CACHE],
        "status": "modified",
    }
    assert len(set(fields.values())) == 1, {mode: integrity(f) for mode, f in fields.items()}


def test_a_sourceless_or_other_interpreters_shipped_cache_keeps_its_record_hash(
    wheelhouse, tmp_path
):
    envs = pyc_plug_envs(tmp_path, wheelhouse)
    fields = {}
    for mode, venv in envs.items():
        for relative in (SOURCELESS_CACHE, OTHER_TAG_CACHE):
            cache = writable(venv.site_packages / relative)
            cache.write_bytes(
                cache.read_bytes()[:16] + marshal.dumps(compile(OTHER_CODE, "x", "exec"))
            )
        fields[mode], verified = record_and_verify(venv, tmp_path / f"{mode}.json")
        assert verified.returncode == 1, verified.stdout.decode()
        assert problems(verified.stdout) == [
            f"{relative}  content does not match RECORD hash"
            for relative in sorted([SOURCELESS_CACHE, OTHER_TAG_CACHE])
        ], mode
    assert integrity(fields["pip"]) == {
        "bytecode": "checked",
        "paths": sorted([SOURCELESS_CACHE, OTHER_TAG_CACHE]),
        "status": "modified",
    }
    assert len(set(fields.values())) == 1, {mode: integrity(f) for mode, f in fields.items()}


@pytest.mark.parametrize("mode", ["pip", "uv-copy"])
def test_a_deleted_shipped_cache_is_not_missing(wheelhouse, tmp_path, mode):
    """Python compiles the source when its cache is gone: no installed code is missing."""
    venv = pyc_plug_envs(tmp_path, wheelhouse, [mode], caches=[OWN_CACHE])[mode]
    (venv.site_packages / OWN_CACHE).unlink()
    field, verified = record_and_verify(venv, tmp_path / "run.json")
    assert verified.returncode == 0, verified.stdout.decode()
    assert integrity(field) == {"bytecode": "checked", "paths": [], "status": "verified"}


# A plugin the fake host's registry can call, and a run that carries the in-run field.
HOSTED_SOURCE = (
    b"def register(*, model_registry, probe_registry, dataset_registry):\n    return None\n"
)
RUN = "import sys, insideLLMs\ninsideLLMs.run({'questions': ['a']}, sys.argv[1])\n"


def test_the_in_run_field_is_the_same_for_every_installer(wheelhouse, tmp_path):
    """Inside a host run caches are not compared (``not_checked``): nor judged by hash."""
    from test_host import host_spec

    modes = ["pip", "uv-copy", "uv-compile"]
    envs = pyc_plug_envs(
        tmp_path, wheelhouse, modes, source=HOSTED_SOURCE, caches=[OWN_CACHE], more=[host_spec()]
    )
    fields = {}
    for mode, venv in envs.items():
        before = snapshot(venv.root, set())
        ran = venv.run("-c", RUN, str(tmp_path / f"run-{mode}"), env=QUIET)
        assert ran.returncode == 0, ran.stderr.decode()
        assert snapshot(venv.root, set()) == before, "the run changed a file of the venv"
        manifest = json.loads((tmp_path / f"run-{mode}" / "manifest.json").read_bytes())
        field = manifest["custom"]["plugin_provenance"]
        fields[mode] = json.dumps(field, sort_keys=True).encode()
    assert integrity(fields["pip"]) == {
        "bytecode": "not_checked",
        "paths": [],
        "status": "verified",
    }
    assert len(set(fields.values())) == 1, {mode: integrity(f) for mode, f in fields.items()}


@pytest.mark.parametrize(
    ("path", "judged_by_code"),
    [
        (f"pkg/__pycache__/m.{TAG}.pyc", True),
        (f"pkg/__pycache__/m.{TAG}.opt-1.pyc", True),
        (f"pkg/__pycache__/m.{TAG}.opt-2.pyc", True),
        (f"__pycache__/top.{TAG}.pyc", True),  # a top-level module's
        (f"pkg/__pycache__/m.{OTHER_TAG}.pyc", False),  # another interpreter's
        (f"pkg/__pycache__/gone.{TAG}.pyc", False),  # no listed source
        (f"pkg/__pycache__/unhashed.{TAG}.pyc", False),  # its source has no hash
        (f"pkg/__pycache__/m.{TAG}.opt-3.pyc", False),  # no level Python imports at
        (f"pkg/__pycache__/.{TAG}.pyc", False),
        (f"pkg/__pycache__/sub/m.{TAG}.pyc", False),
        (f"pkg/m.{TAG}.pyc", False),  # beside the sources: not a cache
    ],
)
def test_which_shipped_rows_the_bytecode_check_judges(path, judged_by_code):
    from insidellms_provenance.fingerprint._integrity import Finding, _without_recompiled_caches
    from insidellms_provenance.fingerprint._record_file import Hash, RecordEntry

    def hashed(row: str) -> RecordEntry:
        return RecordEntry(row, Hash.of(row.encode()), None)

    sources = ["pkg/__init__.py", "pkg/m.py", "top.py"]
    entries = [*map(hashed, sources), RecordEntry("pkg/unhashed.py", None, None), hashed(path)]
    normalized = [entry.path for entry in entries]
    for problem in ("content does not match RECORD hash", "size does not match RECORD", "missing"):
        kept = _without_recompiled_caches([Finding(path, problem)], entries, normalized)
        assert kept == ([] if judged_by_code else [Finding(path, problem)])
    refused = [Finding(path, "refused: symlink (not followed)")]
    assert _without_recompiled_caches(refused, entries, normalized) == refused
