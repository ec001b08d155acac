"""Find the entry points of a group, in the host's load order, and their distributions."""

from __future__ import annotations

import codecs
import itertools
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from importlib import machinery
from typing import TYPE_CHECKING, Final

from insidellms_provenance._safe_io import DIST_FILE_LIMIT, FileRefusedError, read_open_file
from insidellms_provenance.field import schema
from insidellms_provenance.field._names import normalized_name
from insidellms_provenance.fingerprint._dist_files import read_dist_text

if TYPE_CHECKING:
    # Imported where distributions or entry points are made: ``verify`` finds
    # distributions by listing directories and never needs it (≈ 15 ms to import).
    from importlib import metadata

__all__ = [
    "OWN_HOOK",
    "InstalledDistributions",
    "declares_group",
    "declaring_directories",
    "discover",
    "dist_info_name",
    "distribution_key",
    "entry_point_ref",
    "entry_points_of",
    "installed_copies",
    "metadata_directories",
    "normalized_name",
    "versions_key",
]


# This package's own hook (pyproject.toml), left out only when this package's own
# distribution declares it: the same entry point from any other distribution is a plugin.
OWN_HOOK: Final = ("!provenance", "insidellms_provenance.host.plugin:register")
"""This package's in-run hook: its (name, value) in ``insidellms.plugins`` (pyproject.toml)."""
_OWN_DISTRIBUTION: Final = "insidellms_provenance"  # importlib's key of that distribution
_INFO_SUFFIXES = (".dist-info", ".egg-info")
_ALL_INFO_SUFFIXES = itertools.repeat(_INFO_SUFFIXES)
_SEPARATORS = re.compile(r"[-_.]+")
# read_regular's flags: a FIFO cannot hang the open; read_open_file refuses it after.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
# An entry_points.txt larger than DIST_FILE_LIMIT is read in chunks of this many bytes.
_STREAM_CHUNK: Final = 1 << 20
# The characters str.splitlines() ends a line at ("\r\n" is one break).
_LINE_BREAKS: Final = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_Entries = Sequence[tuple[str, str]]
_NO_ENTRIES: _Entries = ()


def discover(group: str, *, include_own: bool = False) -> list[metadata.EntryPoint]:
    """Entry points of ``group``, sorted by (name, value) as insideLLMs loads them.

    The same entry points as ``importlib.metadata.entry_points(group=group)``: the first
    distribution of each normalized name on ``sys.path`` wins, as Python imports it.
    That function parses every distribution's ``entry_points.txt`` (with the rules of
    :func:`_group_entries`, whatever its size); a file that does not even contain the
    group's name cannot declare it, so only the others are parsed.

    Fast path: the ``*.dist-info``/``*.egg-info`` directories are found with one
    ``os.listdir`` per ``sys.path`` entry, in importlib's order and with its keys, and
    only the winners' ``entry_points.txt`` is read. It falls back to iterating
    ``importlib.metadata.distributions()`` when a ``sys.meta_path`` finder other than
    ``PathFinder`` finds distributions, or a ``sys.path`` entry is not a ``str``, exists
    but cannot be listed (a zip file), or is a directory named ``*.egg``. See benchmarks/.

    ``include_own`` keeps this package's own hook (what the host itself discovers): the
    entry point ``!provenance`` this package's own distribution declares. The same entry
    point declared by any other distribution is a plugin, and always kept.
    """
    found: list[metadata.EntryPoint] = []
    for dist, entries in _declaring(group):
        # This package's own in-run hook is not a plugin of the run: it registers nothing,
        # and listing it would change every recorded field whenever this package changes.
        if not include_own and _has_own_hook(entries, group):
            entries = _without_own_hook(entries, _normalized_name(dist))  # noqa: PLW2901
        found.extend(_entry_points(entries, group, dist))
    return sorted(found, key=lambda ep: (ep.name, ep.value))


def distribution_key(ep: metadata.EntryPoint) -> str:
    """The key ``importlib`` gives the distribution declaring ``ep`` ("" for none).

    Distributions of different names may declare the same entry point (one project
    installed as ``foo`` and ``foo-headless``); :func:`discover` keeps them in
    ``importlib``'s order, as the host loads them, which is the file system's listing
    order: another file system, another order. What is recorded of them is chosen by
    this key instead (``_recorder``), the same on every machine.
    """
    dist = getattr(ep, "dist", None)
    return _normalized_name(dist) if dist is not None else ""


def entry_points_of(
    text: str, group: str, dist: metadata.Distribution | None = None
) -> list[metadata.EntryPoint]:
    """The entry points of ``group`` in ``entry_points.txt`` text, as importlib reads them.

    Parsed here, not by ``Distribution.entry_points``: importlib raises ``TypeError`` for
    a line without ``=`` and re-reads the file (which may meanwhile be a FIFO). A line
    without ``=`` becomes an entry point with an empty value, which then fails to load:
    a problem on that plugin, not the end of the command.
    """
    return _entry_points(_group_entries(text.splitlines(), group), group, dist)


def _entry_points(
    entries: _Entries, group: str, dist: metadata.Distribution | None
) -> list[metadata.EntryPoint]:
    """``EntryPoint`` objects of ``group`` for (name, value) pairs, attached to ``dist``."""
    from importlib import metadata

    found = []
    for name, value in entries:
        ep = metadata.EntryPoint(name=name, value=value, group=group)
        # ``_for`` attaches the distribution, as importlib does (private since 3.8, stable).
        found.append(ep._for(dist) if dist is not None else ep)  # type: ignore[attr-defined]  # noqa: SLF001
    return found


def _group_entries(lines: Iterable[str], group: str) -> _Entries:
    """(name, value) of each entry point of ``group`` in ``entry_points.txt``'s lines.

    importlib's rules (``Sectioned`` and ``Pair.parse``, the same in Python 3.10 to
    3.13): each line stripped; empty lines and lines starting with ``#`` (only ``#``)
    skipped; a line starting with ``[`` and ending with ``]`` names the section
    ``line.strip("[]")`` (so ``[[group]]`` is the group, ``[ group ]`` is not); any
    other line is ``name = value``, split at the first ``=`` and both stripped, in
    order, duplicates kept. Lines before the first section belong to no group.
    """
    found = []
    section = None
    for raw in lines:
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        if line[0] == "[" and line[-1] == "]":
            section = line.strip("[]")
            continue
        if section != group:
            continue
        name, _, value = line.partition("=")
        found.append((name.strip(), value.strip()))
    return found


def _has_own_hook(entries: _Entries, group: str) -> bool:
    """Whether ``entries`` of ``group`` hold this package's hook (from whichever distribution)."""
    return group == schema.DEFAULT_GROUP and OWN_HOOK in entries


def _without_own_hook(entries: _Entries, distribution_key: str) -> _Entries:
    """``entries`` without this package's hook, if this package's distribution declares them.

    ``distribution_key`` is the declaring distribution's importlib key (which is also
    how the host's ``entry_points()`` tells distributions apart).
    """
    if distribution_key != _OWN_DISTRIBUTION:
        return entries
    return [entry for entry in entries if entry != OWN_HOOK]


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
    ``entry_points.txt`` is read only as a regular file, whatever its size.
    """
    entries = _read_entries(os.path.join(info_dir, "entry_points.txt"), group)
    return bool(entries) and _declares_entries(entries, group, info_dir)  # most declare none


def _declares(text: str | None, group: str, info_dir: str) -> bool:
    """Whether ``info_dir``'s ``entry_points.txt`` text declares a plugin of ``group``.

    A plugin: any entry point of the group but this package's own hook declared by this
    package's own distribution.
    """
    if not text or group not in text:
        return False
    return _declares_entries(_group_entries(text.splitlines(), group), group, info_dir)


def _declares_entries(entries: _Entries, group: str, info_dir: str) -> bool:
    """Whether ``entries`` of ``group``, declared in ``info_dir``, hold a plugin."""
    if _has_own_hook(entries, group):
        return bool(_without_own_hook(entries, _directory_key(info_dir)))
    return bool(entries)


def _directory_key(info_dir: str) -> str:
    """The importlib key of the distribution whose metadata directory is ``info_dir``."""
    entry, child = os.path.split(info_dir.rstrip("/") or info_dir)
    name = os.path.splitext(child)[0].partition("-")[0]
    return _unique_key(entry, child, _normalize(name))


def _declaring(group: str) -> Iterator[tuple[metadata.Distribution, _Entries]]:
    """The winning distributions declaring entry points of ``group``, with them, in order."""
    from importlib import metadata
    from pathlib import Path

    info_dirs = _info_dirs()
    if info_dirs is None:
        seen: set[str] = set()
        for dist in metadata.distributions():
            key = _normalized_name(dist)
            if key not in seen:
                seen.add(key)
                directory = getattr(dist, "_path", None)  # private since Python 3.8
                if isinstance(directory, Path):  # a directory, read as the fast path reads it
                    entries = _read_entries(os.path.join(directory, "entry_points.txt"), group)
                else:  # a zip file's, or a custom finder's: importlib's own reading
                    text = read_dist_text(dist, "entry_points.txt")
                    entries = _group_entries(text.splitlines(), group) if text else _NO_ENTRIES
                if entries:
                    yield dist, entries
        return
    for directory in info_dirs:
        # A listed name: no "/" at its end.
        entries = _read_entries(directory + "/entry_points.txt", group)
        if entries:
            # The path importlib makes: the sys.path entry joined with the child's name.
            yield metadata.PathDistribution(Path(directory)), entries


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


def _read_entries(path: str, group: str) -> _Entries:
    """The entry points of ``group`` in the ``entry_points.txt`` at ``path``, as importlib's.

    ``read_regular``'s reading, without its exceptions for a missing file: most
    distributions have no ``entry_points.txt``, and discovery asks each of them. No
    entries if the file is missing or unreadable (importlib then finds none either), special (a
    FIFO would block importlib) or not UTF-8 (importlib raises). A file larger than
    ``DIST_FILE_LIMIT`` is read whole by importlib, so here too: in chunks, keeping
    only the group's entries (see :func:`_streamed_lines`).
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return _NO_ENTRIES
    try:
        try:
            text = read_open_file(fd, limit=DIST_FILE_LIMIT).decode("utf-8")
        except FileRefusedError:
            if not _is_large_regular(fd):
                return _NO_ENTRIES
            os.lseek(fd, 0, os.SEEK_SET)
            return _group_entries(_streamed_lines(fd), group)
        if group not in text:  # the group's section names it: most files are done here
            return _NO_ENTRIES
        return _group_entries(text.splitlines(), group)
    except (OSError, UnicodeDecodeError):
        return _NO_ENTRIES
    finally:
        os.close(fd)


def _is_large_regular(fd: int) -> bool:
    """Whether ``fd`` is a regular file larger than ``DIST_FILE_LIMIT`` (so its read ends)."""
    import stat

    status = os.fstat(fd)
    return stat.S_ISREG(status.st_mode) and status.st_size > DIST_FILE_LIMIT


def _streamed_lines(fd: int, chunk: int = _STREAM_CHUNK) -> Iterator[str]:
    """The lines of an open file's UTF-8 text as ``str.splitlines`` makes them, in chunks.

    Each line keeps its line break (stripped by the parser); only the line being read
    is held, so memory stays bounded by the longest line, not the file. Raises
    ``UnicodeDecodeError`` where decoding the whole file would.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    pieces: list[str] = []  # the line being read: unfinished, or ended by a "\r"
    while True:
        data = os.read(fd, chunk)
        text = decoder.decode(data, final=not data)
        if pieces and pieces[-1][-1] == "\r":  # "\r\n" is one break, whichever chunk
            if text[:1] == "\n":
                pieces.append("\n")
                text = text[1:]
            yield "".join(pieces)
            pieces = []
        if not data:
            if pieces:
                yield "".join(pieces)
            return
        lines = text.splitlines(keepends=True)
        last = lines.pop() if lines else ""
        for line in lines:
            yield "".join((*pieces, line)) if pieces else line
            pieces = []
        if last:
            pieces.append(last)
            if last[-1] in _LINE_BREAKS and last[-1] != "\r":
                yield "".join(pieces)
                pieces = []


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
