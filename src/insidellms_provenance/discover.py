"""Find the entry points of a group, in the host's load order, and their distributions."""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from collections.abc import Iterable
from importlib import metadata

from insidellms_provenance.model import EntryPointRef

__all__ = [
    "discover",
    "dist_info_name",
    "entry_point_ref",
    "installed_versions",
]


def discover(group: str) -> list[metadata.EntryPoint]:
    """Entry points of ``group``, sorted by (name, value) as insideLLMs loads them.

    ``importlib.metadata`` keeps only the first distribution of each name on ``sys.path``,
    which is the one Python imports.
    """
    return sorted(metadata.entry_points(group=group), key=lambda ep: (ep.name, ep.value))


def entry_point_ref(ep: metadata.EntryPoint) -> EntryPointRef:
    """The recorded form of an entry point."""
    return EntryPointRef(group=ep.group, name=ep.name, value=ep.value)


def dist_info_name(dist: metadata.Distribution) -> str | None:
    """The ``*.dist-info`` directory name of an installed distribution, if it has one."""
    # PathDistribution keeps its directory in a private attribute since Python 3.8;
    # there is no public accessor for the directory name.
    path = getattr(dist, "_path", None)
    name = getattr(path, "name", None)
    return name if isinstance(name, str) else None


def installed_versions(paths: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Versions of every distribution found on ``paths``, by normalized name, in path order.

    Reads only directory names (``name-version.dist-info``), so it costs one directory
    listing per path entry; more than one version means more than one copy is installed.
    """
    from packaging.utils import canonicalize_name

    found: dict[str, list[str]] = defaultdict(list)
    for entry in sys.path if paths is None else paths:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in sorted(names):
            stem, dot, suffix = name.rpartition(".")
            if not dot or suffix not in ("dist-info", "egg-info"):
                continue
            dist_name, _, version = stem.partition("-")
            found[canonicalize_name(dist_name)].append(version.partition("-")[0])
    return dict(found)
