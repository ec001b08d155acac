"""Where a site directory sits in its environment, from the interpreter's install schemes."""

from __future__ import annotations

import functools
import os
import sysconfig

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
            "/".join(_below_base(scripts)) or "." if scripts and scripts.startswith(_BASE) else None
        )
        for key in ("purelib", "platlib"):
            site = paths.get(key, "")
            if site.startswith((_BASE + "/", _BASE + "\\")):
                layouts.add((_below_base(site), scripts_rel))
    # Deepest first, so ``lib/python3.11/site-packages`` wins over ``lib/python``.
    return tuple(sorted(layouts, key=lambda layout: (-len(layout[0]), layout)))


class SiteLayout:
    """A site directory's depth below its prefix and the prefix's scripts directory.

    ``relocated_depth`` is non-zero only for a directory that matches no scheme (a
    ``--target`` directory): there, RECORD rows that climb exactly that many levels
    were written by pip for its temporary ``--home`` scheme and then moved into the
    directory itself (see :func:`site_layout`).
    """

    __slots__ = ("depth", "relocated_depth", "scripts_dir")

    def __init__(self, depth: int, scripts_dir: str | None, relocated_depth: int = 0) -> None:
        self.depth = depth
        self.scripts_dir = scripts_dir
        self.relocated_depth = relocated_depth


@functools.cache
def site_layout(site_dir: str) -> SiteLayout:
    """Match ``site_dir`` against the install schemes; unknown places are their own prefix.

    A directory that matches no scheme is taken for a ``--target`` directory (or a
    plain directory on ``sys.path``), which is its own prefix: nothing in RECORD may
    climb out of it, and its scripts are in its ``bin`` (``Scripts``) subdirectory, where
    both installers put them. uv writes RECORD rows relative to it (``bin/tool``); pip
    installs into a temporary ``--home`` scheme, writes rows relative to that scheme's
    ``lib/python`` (``../../bin/tool``), then moves ``bin/``, ``share/`` and the rest into
    the target: such rows are read relative to the target.
    """
    parts = _path_parts(os.path.normpath(site_dir))
    for site_parts, scripts in _scheme_layouts():
        if len(parts) > len(site_parts) and parts[-len(site_parts) :] == site_parts:
            return SiteLayout(len(site_parts), scripts)
    return _target_layout()


@functools.cache
def _target_layout() -> SiteLayout:
    """The layout pip's ``--target`` leaves, from the ``--home`` scheme it installs to."""
    scheme = "nt" if os.name == "nt" else "posix_home"
    paths = sysconfig.get_paths(scheme, vars=_SCHEME_VARS, expand=True)
    home_lib = _below_base(paths["purelib"])
    scripts = "/".join(_below_base(paths["scripts"])) or "."
    return SiteLayout(0, scripts, relocated_depth=len(home_lib))


def _path_parts(path: str) -> tuple[str, ...]:
    """``pathlib.PurePath(path).parts``, written out for POSIX paths.

    ``verify`` reads every site's layout and imports nothing else of ``pathlib``, whose
    import (with ``urllib.parse`` and ``ipaddress``) is about 4 ms of its CPU time. On
    Windows ``PurePath`` itself splits the path. A property test holds both equal.
    """
    if os.name == "nt":
        from pathlib import PurePath

        return PurePath(path).parts
    if path.startswith("//") and not path.startswith("///"):
        root, rest = "//", path[2:]  # POSIX leaves two leading slashes to the system
    elif path.startswith("/"):
        root, rest = "/", path
    else:
        root, rest = "", path
    parts = tuple(part for part in rest.split("/") if part and part != ".")
    return (root, *parts) if root else parts


def _below_base(path: str) -> tuple[str, ...]:
    """The parts of ``path`` below ``_BASE`` (``PurePath.relative_to``); ``ValueError`` if not."""
    parts, base = _path_parts(path), _path_parts(_BASE)
    if parts[: len(base)] != base:
        raise ValueError(f"{path!r} is not below {_BASE!r}")
    return parts[len(base) :]
