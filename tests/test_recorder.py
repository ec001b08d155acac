"""The recorder's own decisions: which plugins need the dependency walker."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from insidellms_provenance.fingerprint._recorder import _Closures, _one_per_entry_point


@pytest.mark.parametrize(
    ("text", "walked"),
    [
        ("Metadata-Version: 2.1\nName: a\nVersion: 1\n", False),
        ("Metadata-Version: 2.1\nName: a\nVersion: 1\n\nRequires-Dist: in the body\n", False),
        ("Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: missing-dep\n", True),
        ("Metadata-Version: 2.1\nName: a\nVersion: 1\nrequires-dist: missing-dep\n", True),
        ("Metadata-Version: 2.1\nName: a\nVersion: 1\nREQUIRES-DIST: missing-dep\n", True),
    ],
)
def test_only_a_requires_dist_header_takes_a_plugin_to_the_walker(
    tmp_path: Path, text: str, *, walked: bool
) -> None:
    info = tmp_path / "a-1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(text)
    dist = metadata.PathDistribution(info)
    closures = _Closures({"INSIDELLMS_PROVENANCE_CACHE": "off"}, [dist])
    dependencies, unsatisfied = closures.closure(dist)
    assert dependencies == []
    assert (closures._walked is not None) is walked
    assert len(unsatisfied) == (1 if walked else 0)


def test_one_entry_point_of_several_distributions_is_kept_whatever_their_order(
    tmp_path: Path,
) -> None:
    """The file system's listing order decides importlib's; the field's choice is by name."""
    declared = []
    for name in ("foo_zz", "foo", "foo_headless"):
        info = tmp_path / f"{name}-1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1\n")
        dist = metadata.PathDistribution(info)
        ep = metadata.EntryPoint(name="foo", value="foo:register", group="g")
        declared.append(ep._for(dist))  # type: ignore[attr-defined]
    other = metadata.EntryPoint(name="bar", value="bar:register", group="g")
    outcomes = set()
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        entry_points = [declared[i] for i in order] + [other]
        kept, others = _one_per_entry_point(entry_points)
        assert kept[-1] is other
        outcomes.add((kept[0].dist._path.name, tuple(sorted(others[("foo", "foo:register")]))))
    assert outcomes == {("foo-1.dist-info", ("foo_headless", "foo_zz"))}
