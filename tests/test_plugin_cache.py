"""The plugins' in-run descriptions: served only while every status says nothing changed.

Each case records in a host run's way (``in_run``) with the cache, changes the installed
files, and records again: the field must be exactly the one recorded without the cache
in the same state, so the cache can never hide a change.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import orjson
import pytest

from dependency_catalog import unpack
from insidellms_provenance.field._build import field_bytes
from insidellms_provenance.fingerprint import _plugin_cache as plugin_cache
from insidellms_provenance.fingerprint import _recorder as recorder
from insidellms_provenance.fingerprint._cache_directory import SETTLED_NS, file_status
from insidellms_provenance.fingerprint._discover import discover
from plugin_catalog import GROUP
from wheelbuilder import WheelSpec

SOURCE = b"def register():\n    return None\n\n\ndef plugin_manifest():\n    return None\n"


def plugin(name: str) -> WheelSpec:
    package = name.replace("-", "_")
    return WheelSpec(
        name=name,
        version="1.0.0",
        files={
            f"{package}/__init__.py": SOURCE,
            f"{package}/helpers.py": b"VALUE = 1\n",
            f"{package}/sub/__init__.py": b"",
        },
        entry_points={GROUP: {package: f"{package}:register"}},
    )


@pytest.fixture
def installed(site: Path) -> Path:
    unpack(site, plugin("cached-one"), plugin("cached-two"))
    for name in ("cached_one", "cached_two"):
        sys.modules.pop(name, None)
    if file_status(str(site / "cached_one" / "__init__.py")) is None:
        pytest.skip("the temporary directory's file system is checked by content only")
    return site


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return {"INSIDELLMS_PROVENANCE_CACHE": str(tmp_path / "cache")}


def settled_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file the test wrote has settled by the time the plugins are described."""
    real = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real() + 2 * SETTLED_NS)


def record(environ: dict[str, str]) -> bytes:
    """The field a host run records (plugins imported here, no bytecode check)."""
    field = recorder.record_field(
        GROUP, environ=environ, entry_points=discover(GROUP), observations={}, in_run=True
    )
    return field_bytes(field)


def uncached() -> bytes:
    return record({"INSIDELLMS_PROVENANCE_CACHE": "off"})


def entries(environ: dict[str, str]) -> list[Path]:
    directory = Path(environ["INSIDELLMS_PROVENANCE_CACHE"])
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


def refuse_describing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("described again")

    monkeypatch.setattr(recorder._Descriptions, "_describe", refuse)


def test_a_settled_run_is_served_without_describing(installed, environ, monkeypatch):
    settled_clock(monkeypatch)
    first = record(environ)
    assert len(entries(environ)) == 1
    stored = orjson.loads(entries(environ)[0].read_bytes())["plugins"]
    assert len(stored) == 2
    assert first == uncached()
    with monkeypatch.context() as patch:
        refuse_describing(patch)
        assert record(environ) == first


def edit_in_place(site: Path) -> None:
    """Same size, same inode, modification time put back: only the change time tells."""
    path = site / "cached_one" / "helpers.py"
    before = path.stat()
    with path.open("r+b") as file:
        file.write(b"VALUE = 2\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_ino == before.st_ino


def swap_bytecode(site: Path) -> None:
    """A cache in ``__pycache__`` replaced by another file (a rename)."""
    cache = site / "cached_one" / "__pycache__"
    cache.mkdir(exist_ok=True)
    tag = sys.implementation.cache_tag
    target = cache / f"helpers.{tag}.pyc"
    target.write_bytes(b"one")
    staged = cache / "staged"
    staged.write_bytes(b"two")
    staged.replace(target)


def add_file(site: Path) -> None:
    (site / "cached_one" / "sub" / "extra.py").write_bytes(b"")


def add_orphan_bytecode(site: Path) -> None:
    cache = site / "cached_two" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / f"gone.{sys.implementation.cache_tag}.pyc").write_bytes(b"")


def remove_file(site: Path) -> None:
    (site / "cached_two" / "helpers.py").unlink()


def replace_directory(site: Path) -> None:
    """The package directory swapped for a copy: same names, same bytes, new inodes."""
    package = site / "cached_one"
    shutil.copytree(package, site / "copy")
    shutil.rmtree(package)
    (site / "copy").rename(package)


def symlink_file(site: Path) -> None:
    path = site / "cached_one" / "helpers.py"
    beside = site / "elsewhere.py"
    beside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(beside)


def edit_metadata(site: Path) -> None:
    path = site / "cached_two-1.0.0.dist-info" / "METADATA"
    path.write_bytes(path.read_bytes().replace(b"Version: 1.0.0", b"Version: 1.0.1"))


def chmod_file(site: Path) -> None:
    (site / "cached_one" / "helpers.py").chmod(0o600)


CHANGES = [
    edit_in_place,
    swap_bytecode,
    add_file,
    add_orphan_bytecode,
    remove_file,
    replace_directory,
    symlink_file,
    edit_metadata,
    chmod_file,
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.__name__)
def test_every_change_gives_the_field_recorded_without_the_cache(
    installed, environ, monkeypatch, change
):
    settled_clock(monkeypatch)
    before = record(environ)
    assert entries(environ)
    change(installed)
    after = record(environ)
    assert after == uncached()
    if change not in (swap_bytecode, chmod_file, replace_directory):
        # In a run bytecode is not compared, a mode is not content, and a copy has the
        # same bytes: these leave the field as it was; every other one changes it.
        assert after != before
    statuses = {p["distribution"]["integrity"]["status"] for p in orjson.loads(after)["plugins"]}
    if statuses == {"verified"}:
        # What was stored for the new state serves the same field; anything not
        # verified is described afresh in every run, never stored.
        with monkeypatch.context() as patch:
            refuse_describing(patch)
            assert record(environ) == after


def test_an_edit_in_place_is_seen_as_modified(installed, environ, monkeypatch):
    settled_clock(monkeypatch)
    record(environ)
    edit_in_place(installed)
    field = orjson.loads(record(environ))
    integrity = {
        p["distribution"]["name"]: p["distribution"]["integrity"] for p in field["plugins"]
    }
    assert integrity["cached-one"]["status"] == "modified"
    assert integrity["cached-one"]["paths"] == ["cached_one/helpers.py"]
    assert integrity["cached-two"]["status"] == "verified"


def test_files_changed_just_before_are_never_stored(installed, environ):
    """Without the settled clock every file is younger than the racy-timestamp window."""
    first = record(environ)
    assert entries(environ) == []
    assert first == uncached()


def test_an_edit_of_our_own_code_names_another_entry(installed, environ, monkeypatch, tmp_path):
    """The entry is named by the status of the code's sources: an edit is a new name."""
    code = tmp_path / "code.py"
    code.write_bytes(b"")
    sources = [*plugin_cache._sources(), str(code)]
    monkeypatch.setattr(plugin_cache, "_sources", lambda: iter(sources))
    settled_clock(monkeypatch)
    record(environ)
    [entry] = entries(environ)
    code.write_bytes(b"# edited")
    with monkeypatch.context() as patch:
        refuse_describing(patch)
        with pytest.raises(AssertionError, match="described again"):
            record(environ)
    record(environ)
    assert len(entries(environ)) == 2
    assert entry in entries(environ)


def test_nothing_is_stored_outside_a_run(installed, environ, monkeypatch):
    settled_clock(monkeypatch)
    recorder.record_field(GROUP, environ=environ)
    assert entries(environ) == []


def test_a_tampered_entry_is_not_served(installed, environ, monkeypatch):
    """An entry whose evidence no longer matches (here: edited) describes afresh."""
    settled_clock(monkeypatch)
    first = record(environ)
    [entry] = entries(environ)
    value = orjson.loads(entry.read_bytes())
    for stored in value["plugins"].values():
        stored["description"]["version"] = "9.9"
        stored["evidence"][1][0][2] += 1  # an inode that is not there
    entry.write_bytes(orjson.dumps(value))
    assert record(environ) == first
