"""The description cache: equal to computing, keyed on every input, never trusting others' files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from importlib import metadata
from pathlib import Path

import orjson
import pytest

from insidellms_provenance.fingerprint import _digest_cache as digest_cache
from insidellms_provenance.fingerprint._digest_cache import (
    SETTLED_NS,
    DescriptionCache,
    cache_directory,
    describe_cached,
    settled,
)
from insidellms_provenance.fingerprint._distribution import describe_distribution, metadata_facts
from insidellms_provenance.fingerprint._record_file import simple_canonical_rows
from wheelbuilder import WheelSpec, build_wheel


def big_spec(rows: int = 600, marker: bytes = b"") -> WheelSpec:
    files = {f"big/sub{i // 50}/module_{i:05d}.py": b"X = %d\n" % i + marker for i in range(rows)}
    return WheelSpec(name="big", version="1.0", files=files)


def unpack(site: Path, spec: WheelSpec) -> metadata.Distribution:
    with zipfile.ZipFile(build_wheel(spec, site.parent / "wheels")) as archive:
        archive.extractall(site)
    return metadata.PathDistribution(site / spec.dist_info)


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def big(tmp_path):
    return unpack(tmp_path / "site", big_spec())


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.json")) if cache.exists() else []


def test_a_hit_is_what_computing_gives(big, cache, monkeypatch):
    computed = describe_distribution(big, integrity=False)[0]
    assert describe_cached(big, editable=False, directory=cache) == computed
    assert len(entries(cache)) == 1

    def refuse(*_args, **_kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(digest_cache, "describe_distribution", refuse)
    assert describe_cached(big, editable=False, directory=cache) == computed


def test_a_hit_gives_the_walks_metadata_facts_unparsed(tmp_path, cache, monkeypatch):
    spec = big_spec(rows=3)
    spec = WheelSpec(
        name=spec.name,
        version=spec.version,
        files=spec.files,
        requires_dist=("lib-a>=1", 'lib-b; extra == "fast"'),
    )
    dist = unpack(tmp_path / "site", spec)
    expected = metadata_facts(dist.read_text("METADATA") or "")
    assert expected[2] == ["lib-a>=1", 'lib-b; extra == "fast"']
    first = DescriptionCache(cache)
    assert first.facts(dist) == expected
    first.describe(dist, editable=False)  # stores the entry
    assert len(entries(cache)) == 1

    def refuse(*_args, **_kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(digest_cache, "metadata_facts", refuse)
    monkeypatch.setattr(digest_cache, "describe_distribution", refuse)
    again = DescriptionCache(cache)
    assert again.facts(dist) == expected
    assert again.describe(dist, editable=False) == describe_cached(
        dist, editable=False, directory=cache
    )
    assert DescriptionCache(None).facts(dist) is None  # off: the walk reads METADATA itself


@pytest.mark.parametrize("change", ["record", "metadata"])
def test_every_input_is_in_the_key(big, cache, change):
    describe_cached(big, editable=False, directory=cache)
    info = Path(str(big.locate_file(""))) / "big-1.0.dist-info"
    if change == "record":
        text = (info / "RECORD").read_text()
        (info / "RECORD").write_text(text.replace("module_00007.py,sha256=", "module_00007.py,"))
    else:
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: big\nVersion: 1.1\nRequires-Dist: new\n"
        )
    fresh = describe_distribution(big, integrity=False)[0]
    assert describe_cached(big, editable=False, directory=cache) == fresh
    assert DescriptionCache(cache).facts(big) == metadata_facts((info / "METADATA").read_text())
    (entry,) = entries(cache)  # one entry per metadata directory, replaced
    assert orjson.loads(entry.read_bytes())["description"] == fresh


def test_editable_installs_are_described_but_not_stored(big, cache):
    fresh = describe_distribution(big, editable=True, integrity=False)[0]
    assert describe_cached(big, editable=True, directory=cache) == fresh
    assert fresh != describe_distribution(big, integrity=False)[0]
    assert entries(cache) == []


@pytest.mark.parametrize(
    "tamper",
    [
        "wrong-key",
        "not-json",
        "symlink",
        "group-writable",
        "fifo",
        "dev-zero",
        "huge",
        "facts-not-strings",
        "facts-missing",
        "description-keys",
    ],
)
def test_entries_we_cannot_trust_are_ignored(big, cache, tmp_path, tamper):
    describe_cached(big, editable=False, directory=cache)
    (entry,) = entries(cache)
    forged = orjson.loads(entry.read_bytes())
    forged["description"]["record_digest"] = "sha256:" + "0" * 64
    if tamper == "wrong-key":
        entry.write_bytes(orjson.dumps({**forged, "key": "0" * 64}))
    elif tamper == "not-json":
        entry.write_bytes(b"{")
    elif tamper == "symlink":
        elsewhere = tmp_path / "forged.json"
        elsewhere.write_bytes(orjson.dumps(forged))
        entry.unlink()
        entry.symlink_to(elsewhere)
    elif tamper == "fifo":  # nothing may hang
        entry.unlink()
        os.mkfifo(entry)
    elif tamper == "dev-zero":  # nor read forever
        entry.unlink()
        entry.symlink_to("/dev/zero")
    elif tamper == "huge":
        entry.write_bytes(orjson.dumps(forged) + b" " * (2 << 20))
    elif tamper.startswith("facts"):
        forged["facts"] = [1, "1.0", []] if tamper == "facts-not-strings" else None
        entry.write_bytes(orjson.dumps(forged))
    elif tamper == "description-keys":
        forged["description"]["extra"] = 1
        entry.write_bytes(orjson.dumps(forged))
    else:
        entry.write_bytes(orjson.dumps(forged))
        cache.chmod(0o777)
    cached = DescriptionCache(cache)
    assert cached.describe(big, editable=False) == describe_distribution(big, integrity=False)[0]
    assert cached.facts(big) == metadata_facts(big.read_text("METADATA") or "")


def test_records_that_climb_out_are_not_cached_and_small_ones_are(tmp_path, cache):
    small = unpack(tmp_path / "small", big_spec(rows=3))
    climbing = unpack(tmp_path / "climb", big_spec(rows=600))
    info = Path(str(climbing.locate_file(""))) / "big-1.0.dist-info"
    with (info / "RECORD").open("a") as record:
        record.write("../../bin/tool,,\n")
    for dist in (small, climbing):
        assert (
            describe_cached(dist, editable=False, directory=cache)
            == describe_distribution(dist, integrity=False)[0]
        )
    assert len(entries(cache)) == 1
    (entry,) = entries(cache)
    assert orjson.loads(entry.read_bytes())["facts"][:2] == ["big", "1.0"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"INSIDELLMS_PROVENANCE_CACHE": "off"}, None),
        ({"INSIDELLMS_PROVENANCE_CACHE": ""}, None),
        ({"INSIDELLMS_PROVENANCE_CACHE": "/c"}, Path("/c")),
        ({"XDG_CACHE_HOME": "/x"}, Path("/x/insidellms-provenance/descriptions")),
    ],
)
def test_cache_directory(environ, expected):
    assert cache_directory(environ) == expected


def test_without_a_directory_nothing_is_written(big, tmp_path):
    before = sorted(os.listdir(tmp_path))
    assert (
        describe_cached(big, editable=False, directory=None)
        == describe_distribution(big, integrity=False)[0]
    )
    assert sorted(os.listdir(tmp_path)) == before


def test_records_naming_target_scripts_are_not_cached(tmp_path, cache):
    dist = unpack(tmp_path / "target", big_spec(rows=600))
    info = Path(str(dist.locate_file(""))) / "big-1.0.dist-info"
    with (info / "RECORD").open("a") as record:
        record.write("bin/tool,,\n")
    described = describe_distribution(dist, integrity=False)[0]
    assert describe_cached(dist, editable=False, directory=cache) == described
    assert entries(cache) == []


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        pytest.param(None, False, id="clean"),
        pytest.param('"big/a,b.py",,\n', False, id="quoted-comma"),
        pytest.param("big/crlf.py,,\r\n", False, id="crlf"),
        pytest.param("big/bad.py,sha256=abc,1\n", True, id="bad-hash"),
        pytest.param("big/n\x00l.py,,\n", True, id="nul"),
        pytest.param("../../../../../../../../../../../../tool,,\n", True, id="climbs-out"),
    ],
)
def test_descriptions_without_integrity_read_records_as_with_it(tmp_path, record, problem):
    """Dependencies' RECORDs take the one-pass reading when simple: same digests and problems."""
    dist = unpack(tmp_path / "site", big_spec(rows=40))
    path = Path(str(dist.locate_file(""))) / "big-1.0.dist-info" / "RECORD"
    if record is not None:
        path.write_text(path.read_text() + record, newline="")
    simple = simple_canonical_rows(path.read_bytes().decode(), "big-1.0.dist-info")
    assert (simple is not None) is (record is None)  # the clean one takes the one-pass reading
    without, paths = describe_distribution(dist, integrity=False)
    with_integrity, full_paths = describe_distribution(dist, integrity=True)
    assert without == {**with_integrity, "integrity": None}
    assert paths == full_paths
    assert bool(without["problems"]) is problem


def test_the_definition_does_not_depend_on_what_was_imported(tmp_path):
    """Modules imported only for some RECORDs (install_layout) still make the key."""
    code = (
        "import sys\n"
        "from insidellms_provenance.fingerprint import _digest_cache as digest_cache\n"
        "assert 'insidellms_provenance.fingerprint._install_layout' not in sys.modules\n"
        "print(digest_cache._definition().hex())\n"
    )
    alone = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    definition = digest_cache._definition()
    assert definition is not None
    assert alone.stdout.strip() == definition.hex()  # the same with every module imported


def later() -> int:
    """A clock at which every file the test wrote has settled (git's racy-timestamp rule)."""
    return time.time_ns() + 2 * SETTLED_NS


def info_dir(dist: metadata.Distribution) -> Path:
    return Path(str(dist._path))  # type: ignore[attr-defined]


def by_status(dist: metadata.Distribution) -> bool:
    """Whether this file system keeps a kernel change time, so status evidence is used."""
    return digest_cache.metadata_status(info_dir(dist)) is not None


def test_a_settled_hit_reads_nothing_but_the_entry(big, cache, monkeypatch):
    if not by_status(big):
        pytest.skip("the temporary directory's file system is checked by content only")
    computed = describe_distribution(big, integrity=False)[0]
    facts = metadata_facts(big.read_text("METADATA") or "")
    DescriptionCache(cache, clock=time.time_ns).describe(big, editable=False)
    # The install is seconds old at most: not settled when stored, so the first later
    # reading checks by content and records status evidence that has settled by then.
    DescriptionCache(cache, clock=later).describe(big, editable=False)

    def refuse(*_args, **_kwargs):
        raise AssertionError("read again")

    monkeypatch.setattr(digest_cache, "_snapshot", refuse)
    monkeypatch.setattr(digest_cache, "describe_distribution", refuse)
    monkeypatch.setattr(digest_cache, "metadata_facts", refuse)
    again = DescriptionCache(cache, clock=later)
    assert again.facts(big) == facts
    assert again.describe(big, editable=False) == computed


@pytest.mark.parametrize("filename", ["RECORD", "METADATA"])
def test_a_same_size_rewrite_with_its_mtime_restored_is_seen(big, cache, filename):
    """The change time moves with any write, whatever the size and mtime say."""
    original = DescriptionCache(cache).describe(big, editable=False)
    DescriptionCache(cache, clock=later).describe(big, editable=False)  # settled evidence
    path = info_dir(big) / filename
    before = path.stat()
    old = path.read_bytes()
    new = (
        old.replace(b"module_00007.py,sha256=", b"module_00008.py,sha256=", 1)
        if filename == "RECORD"
        else old.replace(b"Version: 1.0", b"Version: 2.0", 1)
    )
    assert new != old
    assert len(new) == len(old)
    path.write_bytes(new)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    assert after.st_ctime_ns != before.st_ctime_ns
    cached = DescriptionCache(cache, clock=later)
    assert cached.facts(big) == metadata_facts(big.read_text("METADATA") or "")
    described = cached.describe(big, editable=False)
    assert described == describe_distribution(big, integrity=False)[0]
    assert described != original


@pytest.mark.parametrize(("settled_by", "served"), [(0, False), (2 * SETTLED_NS, True)])
def test_status_evidence_counts_only_once_settled(big, cache, settled_by, served):
    """An entry whose status matches but was recorded within a tick of a change is re-read.

    The entry is forged to stand for bytes that changed within the same timestamp tick
    (same status, other content): only evidence older than the settling time is trusted.
    """
    if not by_status(big):
        pytest.skip("the temporary directory's file system is checked by content only")
    describe_cached(big, editable=False, directory=cache)
    (entry,) = entries(cache)
    forged = orjson.loads(entry.read_bytes())
    evidence = digest_cache.metadata_status(info_dir(big))
    assert evidence is not None
    forged |= {
        "content": "0" * 64,
        "evidence": evidence,
        "checked_ns": max(status[5] for status in evidence) + settled_by,
    }
    forged["description"]["record_digest"] = "sha256:" + "0" * 64
    entry.write_bytes(orjson.dumps(forged))
    described = DescriptionCache(cache, clock=later).describe(big, editable=False)
    assert (described == forged["description"]) is served
    if not served:
        assert described == describe_distribution(big, integrity=False)[0]


@pytest.mark.parametrize(
    ("ctimes", "checked", "now", "expected"),
    [
        pytest.param([0, 0, 0], SETTLED_NS, SETTLED_NS, True, id="settled"),
        pytest.param([0, 0, 1], SETTLED_NS, SETTLED_NS, False, id="one-within-the-tick"),
        pytest.param([5, 5, 5], 5, 10 * SETTLED_NS, False, id="read-in-the-same-tick"),
        pytest.param([0, 0, 0], 2 * SETTLED_NS, SETTLED_NS, False, id="clock-set-back"),
    ],
)
def test_settled(ctimes, checked, now, expected):
    evidence = [[0o100644, 1, 2, 3, 0, ctime] for ctime in ctimes]
    assert settled(evidence, checked, now) is expected


def test_only_linux_file_systems_with_a_kernel_change_time_give_evidence(tmp_path):
    assert digest_cache._keeps_change_time(-2) is False  # no such device
    device = os.stat(tmp_path).st_dev
    mounts = Path("/proc/self/mountinfo")
    if sys.platform != "linux" or not mounts.exists():
        assert digest_cache._keeps_change_time(device) is False
        return
    kinds = {
        os.makedev(*map(int, line.split(" ")[2].split(":"))): line.partition(" - ")[2].split()[0]
        for line in mounts.read_text().splitlines()
    }
    expected = kinds.get(device) in {"ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs"}
    if kinds.get(device) in digest_cache._CHANGE_TIME_FILE_SYSTEMS:
        assert digest_cache._keeps_change_time(device) is True
    elif expected is False:
        assert digest_cache._keeps_change_time(device) is False


def test_the_suite_never_points_the_tool_at_the_users_cache(private_user_cache, tmp_path):
    """The guard every test runs under (conftest): the tool, in-process or run by
    ``Venv.run``, caches in this session's directory, and a run aimed at the user's own
    cache is refused before it starts."""
    from venvtools import Venv

    chosen = cache_directory()
    assert chosen is not None
    assert chosen.is_relative_to(private_user_cache)
    users = Path(os.path.expanduser("~"), ".cache")
    with pytest.raises(AssertionError, match="the tool would cache in the user's"):
        Venv(tmp_path, "pip").run("-c", "", env={"XDG_CACHE_HOME": str(users)})
