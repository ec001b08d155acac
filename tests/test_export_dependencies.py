"""Dependencies in ``export``, ``verify RUN --wheels`` and ``check --lock`` (issue 17).

Goldens of a run with a dependency chain in every format, the v1 goldens that must not
move, validation by each standard's own tools, and the offline round trip with real pip
and uv: a lock that dropped the dependencies would not reproduce the run.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from golden import GOLDEN, check_golden
from plugin_catalog import catalog
from wheelbuilder import build_wheel

V1_FIELD = GOLDEN / "v1" / "field.json"

FORMATS = {"pylock": "pylock.toml", "cyclonedx": "bom.cdx.json", "in-toto": "statement.json"}


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "insidellms_provenance", *args],
        capture_output=True,
        check=False,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def catalog_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The catalog's wheels, except: beta silently rebuilt, noisy absent (as test_export)."""
    directory = tmp_path_factory.mktemp("v1-export") / "wheels"
    for name, spec in catalog().items():
        if name == "noisy":
            continue
        rebuilt = spec.with_changed_byte("beta_plugin/__init__.py") if name == "beta" else spec
        build_wheel(rebuilt, directory, zipfile.ZIP_STORED)
    return directory


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_v1_field_exports_as_before(catalog_wheels, fmt):
    """A v1 field has no dependency table: its exports are those of 0.1.0's fields."""
    output = catalog_wheels.parent / FORMATS[fmt]
    result = cli(
        "export",
        str(V1_FIELD),
        "--format",
        fmt,
        "--wheels",
        str(catalog_wheels),
        "--output",
        str(output),
    )
    assert result.returncode == 1, result.stderr
    check_golden(f"export/v1-{FORMATS[fmt]}", output.read_bytes())
