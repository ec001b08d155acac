"""Where a site directory sits in its environment, from the interpreter's install schemes."""

from __future__ import annotations

import functools
import os
import sys
import sysconfig

__all__ = ["SiteLayout", "climbing_root", "site_layout"]

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

    ``relocated_depth`` is non-zero only for a ``--target`` directory (depth 0): there,
    RECORD rows that climb exactly that many levels were written by pip for its
    temporary ``--home`` scheme and then moved into the directory itself (see
    :func:`site_layout`). ``root`` is the directory rows climb out of: the site
    directory resolved, as ``origin`` resolves a ``sys.path`` entry, so a link to a
    venv's ``site-packages`` climbs to that venv's ``bin/``, not to the link's parent.
    """

    __slots__ = ("depth", "relocated_depth", "root", "scripts_dir")

    def __init__(
        self, depth: int, scripts_dir: str | None, relocated_depth: int = 0, root: str = ""
    ) -> None:
        self.depth = depth
        self.scripts_dir = scripts_dir
        self.relocated_depth = relocated_depth
        self.root = root


@functools.cache
def site_layout(site_dir: str) -> SiteLayout:
    """Match ``site_dir``, resolved, against the install schemes; others are their own prefix.

    The ``sys.path`` entry itself is resolved (a link to a venv's ``site-packages`` is
    that ``site-packages``) before its trailing parts are matched against each scheme's
    site directory (``lib/python3.11/site-packages``). A match is that scheme's site
    directory only if the prefix it implies is one (:func:`_is_prefix`); a directory
    that matches no scheme, or whose implied prefix holds nothing but the way down to
    it, is taken for a ``--target`` directory (or a plain directory on ``sys.path``),
    which is its own prefix: nothing in RECORD may climb out of it, and its scripts are
    in its ``bin`` (``Scripts``) subdirectory, where both installers put them. uv writes
    RECORD rows relative to it (``bin/tool``); pip installs into a temporary ``--home``
    scheme, writes rows relative to that scheme's ``lib/python`` (``../../bin/tool``),
    then moves ``bin/``, ``share/`` and the rest into the target: such rows are read
    relative to the target.
    """
    root = os.path.realpath(site_dir)
    parts = _path_parts(root)
    for site_parts, scripts in _scheme_layouts():
        if len(parts) > len(site_parts) and parts[-len(site_parts) :] == site_parts:
            if _is_prefix(parts[: -len(site_parts)], site_parts):
                return SiteLayout(len(site_parts), scripts, root=root)
            break
    target = _target_layout()
    return SiteLayout(0, target.scripts_dir, target.relocated_depth, root=root)


def climbing_root(site_dir: str, depth: int) -> str:
    """The directory the integrity check climbs from for rows that leave ``site_dir``.

    ``site_dir`` itself where nothing may climb (``depth`` 0); otherwise the resolved
    directory :func:`site_layout` matched (:attr:`SiteLayout.root`): the check climbs by
    name, and a link's parent is not the directory the link's ``..`` leads to, which is
    where the digest reads a script from.
    """
    return site_layout(site_dir).root if depth else site_dir


def _is_prefix(prefix_parts: tuple[str, ...], site_parts: tuple[str, ...]) -> bool:
    """Whether the prefix a scheme-matching site directory implies is a real prefix.

    It is if it is one of the running interpreter's prefixes, or if it holds anything
    besides the way down to the site directory (``lib/``, ``lib/python3.11/``,
    ``site-packages/``): a venv's ``pyvenv.cfg`` and ``bin/``, a base prefix's standard
    library, the ``bin/`` or ``share/`` a ``--prefix`` or ``--user`` install put beside
    ``lib/``. ``pip install --target DIR`` writes nothing outside ``DIR``, so a target
    named like a site directory (an AWS Lambda layer's
    ``python/lib/python3.11/site-packages``) leaves its implied prefix holding only that
    path, and is read as the ``--target`` directory it is. A prefix whose files all lie
    in its site directory has no RECORD row that climbs out, so how it is read does not
    matter. A directory that cannot be listed counts as a prefix, as before.
    """
    prefix = os.path.join(*prefix_parts)
    if prefix in _interpreter_prefixes():
        return True
    directory = prefix
    for name in site_parts:
        if _entries_other_than(directory, name):
            return True
        directory = os.path.join(directory, name)
    return False


def _entries_other_than(directory: str, name: str) -> bool:
    """Whether ``directory`` holds an entry not named ``name`` (or cannot be listed)."""
    try:
        with os.scandir(directory) as entries:
            return any(entry.name != name for entry in entries)
    except OSError:
        return True


@functools.cache
def _interpreter_prefixes() -> frozenset[str]:
    """The running interpreter's prefixes, resolved."""
    prefixes = (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix)
    return frozenset(os.path.realpath(prefix) for prefix in prefixes)


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
