"""Matching a run's distributions to wheels, and the lock entry each match becomes."""

from __future__ import annotations

from pathlib import Path

import pytest

from insidellms_provenance.analyze._reproduce import match_wheels, same_version
from insidellms_provenance.analyze.export._common import purl
from insidellms_provenance.analyze.export._intoto import resolved_dependencies
from insidellms_provenance.analyze.export._pylock import build_lock, lock_text
from insidellms_provenance.field import schema
from insidellms_provenance.field._build import make_field
from insidellms_provenance.fingerprint._wheel import WheelFingerprint

DIGEST = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64


def plugin(
    name: str = "demo-plugin",
    version: str = "1.0",
    digest: str | None = DIGEST,
    source: schema.Source | None = None,
    ep: str = "demo",
) -> schema.PluginFingerprint:
    return schema.fingerprint(
        entry_point=schema.entry_point(group="insidellms.plugins", name=ep, value=f"{ep}:register"),
        distribution=schema.distribution(
            name=name, normalized_name=name.lower(), version=version, record_digest=digest
        ),
        source=source or schema.source(kind="index"),
        origin=schema.origin(status="ok"),
        manifest=schema.manifest_summary(status="missing"),
        load=schema.load_outcome(status="loaded"),
    )


def wheel(
    name: str = "demo-plugin", version: str = "1.0", digest: str = DIGEST, listed: str | None = None
) -> WheelFingerprint:
    return WheelFingerprint(
        filename=f"{name.replace('-', '_')}-{version}-py3-none-any.whl",
        digest="sha256:" + "a" * 64,
        distribution=schema.distribution(
            name=name, normalized_name=name, version=version, record_digest=digest
        ),
        listed_digest=listed if listed is not None else digest,
        record_problems=() if listed is None else ("RECORD hash of 'x' does not match",),
        python=None,
    )


GIT = schema.source(kind="vcs", url="https://example.invalid/demo.git", vcs="git", commit="c" * 40)
EDITABLE = schema.source(kind="directory", local_name="demo", editable=True)


@pytest.mark.parametrize(
    ("recorded", "wheels", "status"),
    [
        (plugin(), [wheel()], "exact"),
        (plugin(), [wheel(version="1.0.0", digest=OTHER)], "rebuilt"),
        (plugin(), [wheel(version="2.0", digest=OTHER)], "no_candidate"),
        (plugin(), [wheel(name="other", digest=OTHER)], "no_candidate"),
        (plugin(), [], "no_candidate"),
        (plugin(), [wheel(digest=OTHER, listed=DIGEST)], "record_disagrees"),
        (plugin(), [wheel(digest=OTHER), wheel(digest=DIGEST)], "exact"),
        (plugin(digest=None), [wheel()], "no_digest"),
        (plugin(source=EDITABLE), [wheel()], "editable"),
        (plugin(source=GIT), [], "no_candidate"),
    ],
)
def test_match_status(recorded, wheels, status):
    (match,) = match_wheels(make_field("insidellms.plugins", [recorded]), wheels)
    assert match.status == status
    assert match.exact == (status == "exact")


def test_plugins_of_one_distribution_share_one_match():
    field = make_field("insidellms.plugins", [plugin(ep="a"), plugin(ep="b")])
    (match,) = match_wheels(field, [wheel()])
    assert match.plugins == ("a", "b")


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [("1.0", "1.0.0", True), ("1.0", "1.1", False), ("not a version", "not a version", True)],
)
def test_same_version(left, right, same):
    assert same_version(left, right) is same


@pytest.mark.parametrize(
    ("recorded", "wheels", "key", "warning"),
    [
        (plugin(), [wheel()], "wheels", ""),
        (plugin(source=GIT), [], "vcs", "pinned by VCS commit; the built content is not pinned"),
        (plugin(source=GIT), [wheel()], "wheels", ""),
        (plugin(source=EDITABLE), [wheel()], "directory", "editable install"),
        (plugin(), [], None, "installed from index, no matching wheel: content is not pinned"),
        (plugin(), [wheel(digest=OTHER)], None, "other content: a silent rebuild"),
    ],
)
def test_each_source_becomes_a_valid_lock_entry(tmp_path, recorded, wheels, key, warning):
    field = make_field("insidellms.plugins", [recorded])
    matches = match_wheels(field, wheels)
    lock = build_lock(field, matches, wheels_dir=tmp_path / "wheels", lock_dir=tmp_path)
    lock_text(lock.value)  # validated by packaging.pylock
    if key is None:
        assert lock.value["packages"] == []
        assert warning in lock.value["tool"]["insidellms-provenance"]["unpinned"][0]["reason"]
    else:
        (package,) = lock.value["packages"]
        assert key in package
        assert package["tool"]["insidellms-provenance"]["record-digest"] == DIGEST
    assert all(warning in w for w in lock.warnings)
    assert lock.exact == (key == "wheels")


def test_vcs_dependency_carries_its_git_commit():
    field = make_field("insidellms.plugins", [plugin(source=GIT)])
    (descriptor,) = resolved_dependencies(match_wheels(field, []), with_wheels=False)
    assert descriptor["digest"] == {"gitCommit": "c" * 40}
    assert descriptor["downloadLocation"] == "https://example.invalid/demo.git"
    assert "match" not in descriptor["annotations"]["insidellms-provenance"]


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("demo-plugin", "1.0", "pkg:pypi/demo-plugin@1.0"),
        ("x", "1.0+local", "pkg:pypi/x@1.0%2Blocal"),
    ],
)
def test_purl(name, version, expected):
    assert purl(name, version) == expected


def test_wheel_paths_in_the_lock_are_relative_to_the_lock(tmp_path):
    field = make_field("insidellms.plugins", [plugin()])
    lock = build_lock(
        field,
        match_wheels(field, [wheel()]),
        wheels_dir=tmp_path / "a" / "w",
        lock_dir=tmp_path / "b",
    )
    assert (
        lock.value["packages"][0]["wheels"][0]["path"] == "../a/w/demo_plugin-1.0-py3-none-any.whl"
    )
    assert Path(lock.value["packages"][0]["wheels"][0]["path"]).parts[0] == ".."
