"""Find the entry points of a group, in the host's load order, and their distributions."""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from importlib import machinery
from typing import TYPE_CHECKING

from insidellms_provenance._safe_io import DIST_FILE_LIMIT, FileRefusedError, read_open_file
from insidellms_provenance.field import schema
from insidellms_provenance.field._names import normalized_name
from insidellms_provenance.fingerprint._dist_files import read_dist_text

if TYPE_CHECKING:
    # Imported where distributions or entry points are made: ``verify`` finds
    # distributions by listing directories and never needs it (≈ 15 ms to import).
    from importlib import metadata

__all__ = [
    "InstalledDistributions",
    "declares_group",
    "declaring_directories",
    "discover",
    "dist_info_name",
    "entry_point_ref",
    "entry_points_of",
    "installed_copies",
    "metadata_directories",
    "normalized_name",
    "versions_key",
]


_OWN_PREFIX = "insidellms_provenance."
_INFO_SUFFIXES = (".dist-info", ".egg-info")
_ALL_INFO_SUFFIXES = itertools.repeat(_INFO_SUFFIXES)
_SEPARATORS = re.compile(r"[-_.]+")
# read_regular's flags: a FIFO cannot hang the open; read_open_file refuses it after.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)


def discover(group: str, *, include_own: bool = False) -> list[metadata.EntryPoint]:
    """Entry points of ``group``, sorted by (name, value) as insideLLMs loads them.

    The same entry points as ``importlib.metadata.entry_points(group=group)``: the first
    distribution of each normalized name on ``sys.path`` wins, as Python imports it.
    That function parses every distribution's ``entry_points.txt``; a file that does not
    even contain the group's name cannot declare it, so only the others are parsed.

    Fast path: the ``*.dist-info``/``*.egg-info`` directories are found with one
    ``os.listdir`` per ``sys.path`` entry, in importlib's order and with its keys, and
    only the winners' ``entry_points.txt`` is read. It falls back to iterating
    ``importlib.metadata.distributions()`` when a ``sys.meta_path`` finder other than
    ``PathFinder`` finds distributions, or a ``sys.path`` entry is not a ``str``, exists
    but cannot be listed (a zip file), or is a directory named ``*.egg``. See benchmarks/.

    ``include_own`` keeps this package's own hook (what the host itself discovers).
    """
    found: list[metadata.EntryPoint] = []
    for dist, text in _declaring(group):
        found.extend(entry_points_of(text, group, dist))
    # This package's own in-run hook is not a plugin of the run: it registers nothing,
    # and listing it would change every recorded field whenever this package changes.
    if not include_own:
        found = [ep for ep in found if not ep.value.startswith(_OWN_PREFIX)]
    return sorted(found, key=lambda ep: (ep.name, ep.value))


def entry_points_of(
    text: str, group: str, dist: metadata.Distribution | None = None
) -> list[metadata.EntryPoint]:
    """The entry points of ``group`` in ``entry_points.txt`` text, as importlib reads them.

    Parsed here, not by ``Distribution.entry_points``: importlib raises ``TypeError`` for
    a line without ``=`` and re-reads the file (which may meanwhile be a FIFO). A line
    without ``=`` becomes an entry point with an empty value, which then fails to load:
    a problem on that plugin, not the end of the command.
    """
    from importlib import metadata

    found = []
    for name, value in _group_entries(text, group):
        ep = metadata.EntryPoint(name=name, value=value, group=group)
        # ``_for`` attaches the distribution, as importlib does (private since 3.8, stable).
        found.append(ep._for(dist) if dist is not None else ep)  # type: ignore[attr-defined]  # noqa: SLF001
    return found


def _group_entries(text: str, group: str) -> list[tuple[str, str]]:
    """(name, value) of each entry point of ``group`` in ``entry_points.txt`` text."""
    found = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section != group:
            continue
        name, _, value = line.partition("=")
        found.append((name.strip(), value.strip()))
    return found


def metadata_directories() -> list[str] | None:
    """The winning ``*.dist-info``/``*.egg-info`` paths on ``sys.path``, in importlib's order.

    The distributions ``importlib.metadata.distributions()`` yields, de-duplicated as
    Python imports them (the first of each normalized name wins), found by listing each
    ``sys.path`` entry once. ``None`` where listings cannot reproduce importlib (see
    :func:`discover`): the caller then iterates ``importlib.metadata.distributions()``.
    """
    return _info_dirs()


def declaring_directories(group: str) -> list[str] | None:
    """Metadata directories of the distributions :func:`discover` finds entry points in.

    Without creating ``Distribution`` objects: ``entry_points.txt`` is read only for the
    distributions whose file names the group, and parsed by :func:`entry_points_of`, as
    :func:`discover` parses it. ``None`` where :func:`metadata_directories` is None.
    """
    info_dirs = _info_dirs()
    if info_dirs is None:
        return None
    return [directory for directory in info_dirs if declares_group(directory, group)]


def declares_group(info_dir: str, group: str) -> bool:
    """Whether metadata directory ``info_dir`` declares an entry point of ``group``.

    As :func:`discover` finds them (this package's own hook left out); its
    ``entry_points.txt`` is read only as a regular file.
    """
    return _declares(_read_text(os.path.join(info_dir, "entry_points.txt")), group)


def _declares(text: str | None, group: str) -> bool:
    """Whether ``entry_points.txt`` text declares an entry point of ``group`` not our own."""
    if not text or group not in text:
        return False
    return any(not value.startswith(_OWN_PREFIX) for _, value in _group_entries(text, group))


def _declaring(group: str) -> Iterator[tuple[metadata.Distribution, str]]:
    """The winning distributions whose ``entry_points.txt`` contains ``group``, in order."""
    from importlib import metadata
    from pathlib import Path

    info_dirs = _info_dirs()
    if info_dirs is None:
        seen: set[str] = set()
        for dist in metadata.distributions():
            key = _normalized_name(dist)
            if key not in seen:
                seen.add(key)
                text = read_dist_text(dist, "entry_points.txt")
                if text and group in text:
                    yield dist, text
        return
    for directory in info_dirs:
        text = _read_text(directory + "/entry_points.txt")  # a listed name: no "/" at its end
        if text and group in text:
            # The path importlib makes: the sys.path entry joined with the child's name.
            yield metadata.PathDistribution(Path(directory)), text


class InstalledDistributions:
    """Every importable distribution by PEP 503 name: the first of each on ``sys.path``.

    The distribution ``importlib.metadata.distribution(name)`` finds, with the fast
    path of :func:`discover` (directory listings; ``importlib.metadata.distributions()``
    where listings cannot reproduce it). Distribution objects are made on first use.
    """

    __slots__ = ("_directories", "_listed", "_made")

    def __init__(self) -> None:
        from importlib import metadata

        self._made: dict[str, metadata.Distribution] = {}
        self._directories: dict[str, str] = {}
        info_dirs = _info_dirs()
        self._listed = info_dirs is not None
        if info_dirs is None:
            for dist in metadata.distributions():
                self._made.setdefault(normalized_name(_normalized_name(dist)), dist)
            return
        for directory in info_dirs:
            self._directories.setdefault(_dir_key(os.path.basename(directory)), directory)

    def listing(self) -> dict[str, str] | None:
        """Each PEP 503 name's metadata directory, or ``None`` without directory listings."""
        return dict(self._directories) if self._listed else None

    def get(self, name: str) -> metadata.Distribution | None:
        """The distribution of PEP 503 ``name``, or ``None`` if none is installed."""
        dist = self._made.get(name)
        if dist is None and name in self._directories:
            from importlib import metadata
            from pathlib import Path

            dist = metadata.PathDistribution(Path(self._directories[name]))
            self._made[name] = dist
        return dist


def _info_dirs() -> list[str] | None:
    """The winning metadata directories on ``sys.path``, in importlib's order.

    ``None`` where that order or those keys cannot be had from directory listings alone.
    """
    finders = [finder for finder in sys.meta_path if getattr(finder, "find_distributions", None)]
    if finders != [machinery.PathFinder]:
        return None
    winners: list[str] = []
    seen: set[str] = set()
    for entry in sys.path:
        if not isinstance(entry, str):
            return None
        try:
            children = os.listdir(entry or ".")
        except FileNotFoundError:
            continue  # neither a directory nor a zip file: importlib finds nothing there
        except (OSError, ValueError):
            return None  # a zip file, or a path importlib may still open as one
        if os.path.basename(entry).lower().endswith(".egg"):
            return None  # importlib also finds an egg's EGG-INFO directory
        prefix = os.path.join(entry, "")  # + child is os.path.join(entry, child): no "/" in it
        for child, lookup_key in _lookup_order(children):
            # Most names: "name-version.dist-info", ASCII: their key is the lookup key.
            if child.isascii() and child.endswith(_INFO_SUFFIXES) and child[0] not in "-.":
                key = lookup_key
            else:
                key = _unique_key(entry, child, lookup_key)
            if key not in seen:
                seen.add(key)
                winners.append(prefix + child)
    return winners


def _lookup_order(children: list[str]) -> list[tuple[str, str]]:
    """Metadata directories among ``children`` with their key, as importlib's ``Lookup``.

    ``Lookup`` groups them by key, each group where its first member is listed.
    """
    # The few metadata directories among many names, picked out in C (as installed_copies).
    lows = list(map(str.lower, children))
    paired = zip(children, lows, strict=True)
    infos = list(itertools.compress(paired, map(str.endswith, lows, _ALL_INFO_SUFFIXES)))
    keys = [_normalize(low.rpartition(".")[0].partition("-")[0]) for _, low in infos]
    if len(set(keys)) == len(keys):  # one directory a key (most sites): in listing order
        return [(child, key) for (child, _), key in zip(infos, keys, strict=True)]
    groups: dict[str, list[str]] = {}
    for (child, _), key in zip(infos, keys, strict=True):
        groups.setdefault(key, []).append(child)
    return [(child, key) for key, group in groups.items() for child in group]


def _unique_key(entry: str, child: str, lookup_key: str) -> str:
    """The key importlib de-duplicates ``child`` by: ``PathDistribution._normalized_name``."""
    stem, extension = os.path.splitext(child)
    name = stem.partition("-")[0]
    if extension in _INFO_SUFFIXES and name:
        # Lowercasing the whole name first gives the same key, except in rare non-ASCII
        # cases (a Greek final sigma).
        return lookup_key if child.isascii() else _normalize(name)
    # Any other stem ("Foo.DIST-INFO"): importlib reads the Name in the metadata.
    from importlib import metadata
    from pathlib import Path

    return _normalized_name(metadata.PathDistribution(Path(entry, child)))


def _normalize(name: str) -> str:
    """``importlib.metadata.Prepared.normalize``: PEP 503 with underscores."""
    if "-" not in name and "." not in name and "__" not in name:
        return name.lower()  # every run of separators is one "_" already (most names)
    return _SEPARATORS.sub("_", name).lower()


def _read_text(path: str) -> str | None:
    """The text of ``path``; ``None`` if it is missing, special, too large or not UTF-8.

    ``read_regular``'s reading, without its exceptions for a missing file: most
    distributions have no ``entry_points.txt``, and discovery asks each of them.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        return read_open_file(fd, limit=DIST_FILE_LIMIT).decode("utf-8")
    except (FileRefusedError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)


def _normalized_name(dist: metadata.Distribution) -> str:
    """The key ``importlib.metadata`` de-duplicates distributions by."""
    # Private but present since Python 3.10 on every Distribution; entry_points()
    # uses exactly this attribute for its own de-duplication.
    name = getattr(dist, "_normalized_name", None)
    if isinstance(name, str):
        return name
    return re.sub(r"[-_.]+", "_", dist.name or "").lower()


def entry_point_ref(ep: metadata.EntryPoint) -> schema.EntryPointRef:
    """The recorded form of an entry point."""
    return schema.entry_point(group=ep.group, name=ep.name, value=ep.value)


def dist_info_name(dist: metadata.Distribution) -> str | None:
    """The ``*.dist-info`` directory name of an installed distribution, if it has one."""
    # PathDistribution keeps its directory in a private attribute since Python 3.8;
    # there is no public accessor for the directory name.
    path = getattr(dist, "_path", None)
    name = getattr(path, "name", None)
    return name if isinstance(name, str) else None


def installed_copies(
    dists: Iterable[metadata.Distribution], paths: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """The metadata directory of every copy of ``dists`` found on ``paths``.

    Copies are found by directory name (one listing per path entry). More than one
    copy means more than one install (``_origin.duplicate_versions`` reads their versions). Keys
    are the distributions' ``dist_info_name`` stems, normalized.
    """
    wanted = {_dir_key(name) for dist in dists if (name := dist_info_name(dist))}
    found: dict[str, list[str]] = defaultdict(list)
    for entry in sys.path if paths is None else paths:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        # Metadata directories are a few names among many (the standard library's
        # directory lists hundreds): picked out in C, then looked at one by one.
        infos = itertools.compress(names, map(str.endswith, names, _ALL_INFO_SUFFIXES))
        copies = [(name, key) for name in infos if (key := _dir_key(name)) in wanted]
        for name, key in sorted(copies):
            found[key].append(os.path.join(entry or ".", name))
    return dict(found)


def versions_key(dist: metadata.Distribution) -> str:
    """The key of ``dist`` in the result of :func:`installed_copies`."""
    name = dist_info_name(dist)
    return _dir_key(name) if name else ""


def _dir_key(dir_name: str) -> str:
    """``Foo.Bar-1.0.dist-info`` → ``foo-bar``: the PEP 503 form of the name part."""
    return normalized_name(dir_name.rpartition(".")[0].partition("-")[0])
