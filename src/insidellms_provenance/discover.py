"""Find the entry points of a group, in the host's load order, and their distributions."""

from __future__ import annotations

import os
import re
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
    "versions_key",
]


_OWN_PREFIX = "insidellms_provenance."


def discover(group: str) -> list[metadata.EntryPoint]:
    """Entry points of ``group``, sorted by (name, value) as insideLLMs loads them.

    The same entry points as ``importlib.metadata.entry_points(group=group)``: the first
    distribution of each normalized name on ``sys.path`` wins, as Python imports it.
    That function parses every distribution's ``entry_points.txt``; a file that does not
    even contain the group's name cannot declare it, so only the others are parsed,
    which makes discovery in large environments markedly cheaper (see benchmarks/).
    """
    found: list[metadata.EntryPoint] = []
    seen: set[str] = set()
    for dist in metadata.distributions():
        key = _normalized_name(dist)
        if key in seen:
            continue
        seen.add(key)
        text = dist.read_text("entry_points.txt")
        if text and group in text:
            found.extend(dist.entry_points.select(group=group))
    # This package's own in-run hook is not a plugin of the run: it registers nothing,
    # and listing it would change every recorded field whenever this package changes.
    found = [ep for ep in found if not ep.value.startswith(_OWN_PREFIX)]
    return sorted(found, key=lambda ep: (ep.name, ep.value))


def _normalized_name(dist: metadata.Distribution) -> str:
    """The key ``importlib.metadata`` de-duplicates distributions by."""
    # Private but present since Python 3.10 on every Distribution; entry_points()
    # uses exactly this attribute for its own de-duplication.
    name = getattr(dist, "_normalized_name", None)
    if isinstance(name, str):
        return name
    return re.sub(r"[-_.]+", "_", dist.name or "").lower()


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


def installed_versions(
    dists: Iterable[metadata.Distribution], paths: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """Versions of every copy of ``dists`` found on ``paths``, by ``*.dist-info`` name.

    Reads only directory names (``name-version.dist-info``), so it costs one directory
    listing per path entry; more than one version means more than one copy is installed.
    Keys are the distributions' ``dist_info_name`` stems, normalized.
    """
    wanted = {_dir_key(name) for dist in dists if (name := dist_info_name(dist))}
    found: dict[str, list[str]] = defaultdict(list)
    for entry in sys.path if paths is None else paths:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in sorted(names):
            if name.endswith((".dist-info", ".egg-info")) and (key := _dir_key(name)) in wanted:
                found[key].append(name.rpartition(".")[0].partition("-")[2].partition("-")[0])
    return dict(found)


def versions_key(dist: metadata.Distribution) -> str:
    """The key of ``dist`` in the result of :func:`installed_versions`."""
    name = dist_info_name(dist)
    return _dir_key(name) if name else ""


def _dir_key(dir_name: str) -> str:
    """``Foo.Bar-1.0.dist-info`` → ``foo-bar``: the PEP 503 form of the name part."""
    stem = dir_name.rpartition(".")[0].partition("-")[0]
    return re.sub(r"[-_.]+", "-", stem).lower()
