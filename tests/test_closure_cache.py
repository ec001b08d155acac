"""The run's closures cache: served only while the listing and every status say nothing changed."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import orjson
import pytest

from dependency_catalog import dependency_catalog, unpack
from insidellms_provenance.fingerprint import _closure_cache as closure_cache
from insidellms_provenance.fingerprint import _recorder as recorder
from insidellms_provenance.fingerprint._digest_cache import SETTLED_NS, metadata_status
from insidellms_provenance.fingerprint._discover import InstalledDistributions

PLUGINS = ("chain-plugin", "chain-other")


@pytest.fixture
def environ(tmp_path):
    return {"INSIDELLMS_PROVENANCE_CACHE": str(tmp_path / "cache")}


def install(site: Path, *names: str) -> None:
    catalog = dependency_catalog()
    unpack(site, *(catalog[name] for name in names))


def settled_clock(monkeypatch) -> None:
    """Every file the test wrote has settled by the time the closures are walked."""
    real = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real() + 2 * SETTLED_NS)


def record(environ) -> tuple[dict[str, object], recorder._Closures]:
    """Each plugin's closure and the table, as ``record_field`` gets them, made comparable."""
    installed = InstalledDistributions()
    dists = [installed.get(name) for name in PLUGINS]
    closures = recorder._Closures(environ, dists)
    found = {name: closures.closure(dist) for name, dist in zip(PLUGINS, dists, strict=True)}
    table = dict(sorted(closures.table().items()))
    return orjson.loads(orjson.dumps({"closures": found, "table": table})), closures


EVERYTHING = ("chain-plugin-1.0.0", "chain-other-1.0.0", "lib-a-1.0.0", "lib-b-2.0.0")
EVERYTHING += ("lib-c-1.0.0", "lib-d-1.0.0", "lib-never-1.0.0")


def by_status(site: Path) -> bool:
    return metadata_status(next(site.glob("lib_a-*.dist-info"))) is not None


def test_a_settled_run_is_served_without_walking(site, environ, monkeypatch):
    install(site, *EVERYTHING)
    if not by_status(site):
        pytest.skip("the temporary directory's file system is checked by content only")
    settled_clock(monkeypatch)
    walked, first = record(environ)
    assert first._stored is None
    assert walked["closures"]["chain-plugin"][0] == ["lib-a", "lib-b", "lib-c"]

    def refuse(*_args, **_kwargs):
        raise AssertionError("walked again")

    monkeypatch.setattr(recorder._Closures, "_walker", refuse)
    served, again = record(environ)
    assert again._stored is not None
    assert served == walked


def change_version(site: Path, name: str, new: bytes) -> None:
    """Rewrite METADATA's version in place: same size, same inode, mtime restored."""
    path = next(site.glob(f"{name}-*.dist-info")) / "METADATA"
    before = path.stat()
    text = path.read_bytes()
    changed = text.replace(b"Version: 1.0.0", b"Version: " + new, 1)
    assert len(changed) == len(text)
    assert changed != text
    path.write_bytes(changed)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_ctime_ns != before.st_ctime_ns


@pytest.mark.parametrize(
    "change",
    [
        "same-size-rewrite",
        "uninstalled",
        "installed",
        "walked-while-unsettled",
        "broken-entry",
        "group-writable-cache",
    ],
)
def test_anything_the_closures_were_read_from_changing_makes_them_walked(
    site, environ, monkeypatch, change
):
    install(site, *(name for name in EVERYTHING if not name.startswith("lib-c")))
    if not by_status(site):
        pytest.skip("the temporary directory's file system is checked by content only")
    if change != "walked-while-unsettled":
        settled_clock(monkeypatch)
    before, _ = record(environ)
    assert before["closures"]["chain-other"][1][0]["reason"] == "missing"  # lib-c
    if change == "same-size-rewrite":
        change_version(site, "lib_a", b"1.0.9")
    elif change == "uninstalled":
        shutil.rmtree(next(site.glob("lib_a-*.dist-info")))
    elif change == "installed":
        install(site, "lib-c-1.0.0")
    elif change == "broken-entry":
        for entry in Path(environ["INSIDELLMS_PROVENANCE_CACHE"]).glob("*.json"):
            value = orjson.loads(entry.read_bytes())
            if "closures" in value:
                value["closures"] = {path: [["x"]] for path in value["closures"]}
                entry.write_bytes(orjson.dumps(value))
    elif change == "group-writable-cache":
        Path(environ["INSIDELLMS_PROVENANCE_CACHE"]).chmod(0o770)
    after, closures = record(environ)
    assert closures._stored is None
    assert closures._walked is not None
    monkeypatch.setenv("INSIDELLMS_PROVENANCE_CACHE", "off")
    uncached, _ = record({"INSIDELLMS_PROVENANCE_CACHE": "off"})
    assert after == uncached
    if change in ("walked-while-unsettled", "broken-entry", "group-writable-cache"):
        assert after == before
    else:
        assert after != before


def test_an_editable_dependency_is_never_stored(site, environ, monkeypatch):
    install(site, *EVERYTHING)
    info = next(site.glob("lib_c-*.dist-info"))
    source = site.parent / "lib-c-source"
    source.mkdir()
    (info / "direct_url.json").write_text(
        json.dumps({"url": source.as_uri(), "dir_info": {"editable": True}})
    )
    settled_clock(monkeypatch)
    record(environ)
    entries = [
        orjson.loads(path.read_bytes())
        for path in Path(environ["INSIDELLMS_PROVENANCE_CACHE"]).glob("*.json")
    ]
    assert not any("closures" in entry for entry in entries)


def test_the_key_covers_the_interpreter_and_the_plugins(site):
    install(site, *EVERYTHING)
    installed = InstalledDistributions()
    paths = [str(installed.get(name)._path) for name in PLUGINS]  # type: ignore[union-attr]
    assert closure_cache._entry_name(paths) == closure_cache._entry_name(paths[::-1])
    assert closure_cache._entry_name(paths)[0] != closure_cache._entry_name(paths[:1])[0]


def test_the_code_is_named_by_its_sources_status_or_else_by_their_content(monkeypatch):
    paths = ["/site/plugin-1.0.dist-info"]
    name, code = closure_cache._entry_name(paths)
    if not code:
        pytest.skip("the package's file system is checked by content only")
    assert len(code) == len(closure_cache._DEFINING_MODULES)
    real = closure_cache.file_status
    edited = "_requirements.py"

    def touched(path, **kwargs):
        status = real(path, **kwargs)
        return [*status[:5], status[5] + 1] if path.endswith(edited) and status else status

    monkeypatch.setattr(closure_cache, "file_status", touched)
    assert closure_cache._entry_name(paths)[0] != name  # an edit moves the change time
    monkeypatch.setattr(
        closure_cache,
        "file_status",
        lambda path, **kw: None if path.endswith(edited) else real(path, **kw),
    )
    by_content = closure_cache._entry_name(paths)
    assert by_content[0] not in (None, name)
    assert by_content[1] == []
