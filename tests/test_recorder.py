"""The recorder's own decisions: which plugins need the dependency walker."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from insidellms_provenance.fingerprint._recorder import _Closures


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
