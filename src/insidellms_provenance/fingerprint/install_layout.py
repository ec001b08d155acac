"""Where a site directory sits in its environment, from the interpreter's install schemes."""

from __future__ import annotations

import functools
import os
import sysconfig
from pathlib import PurePath

__all__ = ["SiteLayout", "site_layout"]

_BASE = "/__base__"
_SCHEME_VARS = dict.fromkeys(
    ("base", "platbase", "userbase", "installed_base", "installed_platbase"), _BASE
)


@functools.cache
def _scheme_layouts() -> tuple[tuple[tuple[str, ...], str | None], ...]:
    """(site dir parts below the prefix, scripts dir below the prefix) for each scheme."""
    layouts = set()
    for scheme in sysconfig.get_scheme_names():
        paths = sysconfig.get_paths(scheme, vars=_SCHEME_VARS, expand=True)
        scripts = paths.get("scripts")
        scripts_rel = (
            PurePath(scripts).relative_to(_BASE).as_posix()
            if scripts and scripts.startswith(_BASE)
            else None
        )
        for key in ("purelib", "platlib"):
            site = paths.get(key, "")
            if site.startswith((_BASE + "/", _BASE + "\\")):
                layouts.add((PurePath(site).relative_to(_BASE).parts, scripts_rel))
    # Deepest first, so ``lib/python3.11/site-packages`` wins over ``lib/python``.
    return tuple(sorted(layouts, key=lambda layout: (-len(layout[0]), layout)))


class SiteLayout:
    """A site directory's depth below its prefix and the prefix's scripts directory."""

    __slots__ = ("depth", "scripts_dir")

    def __init__(self, depth: int, scripts_dir: str | None) -> None:
        self.depth = depth
        self.scripts_dir = scripts_dir


@functools.cache
def site_layout(site_dir: str) -> SiteLayout:
    """Match ``site_dir`` against the install schemes; unknown places get depth 0.

    Depth 0 means nothing in RECORD may climb out of the site directory itself, which
    is right for ``--target`` installs and plain directories on ``sys.path``.
    """
    parts = PurePath(os.path.normpath(site_dir)).parts
    for site_parts, scripts in _scheme_layouts():
        if len(parts) > len(site_parts) and parts[-len(site_parts) :] == site_parts:
            return SiteLayout(len(site_parts), scripts)
    return SiteLayout(0, None)
