"""What every export format shares: package URLs and the property namespace."""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

__all__ = ["NAMESPACE", "purl"]

NAMESPACE: Final = "insidellms-provenance"
"""The one namespace of our keys inside foreign formats (TOML tool tables, CycloneDX
property names, in-toto annotations)."""


def purl(normalized_name: str, version: str) -> str:
    """The package URL of a PyPI distribution (``pkg:pypi/<name>@<version>``).

    The purl specification's PyPI type wants the normalized name; the version is
    percent-encoded (a local version's ``+`` becomes ``%2B``).
    """
    return f"pkg:pypi/{quote(normalized_name, safe='')}@{quote(version, safe='')}"
