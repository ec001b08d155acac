"""Walk a plugin's ``Requires-Dist`` through the installed environment: its dependency closure.

Typical usage::

    walker = DependencyWalker(InstalledDistributions())
    closure = walker.closure(plugin_dist)
    closure.names, closure.unsatisfied, closure.distributions

Markers are evaluated for the running interpreter; the extras a requirement names are
followed (``libb[fast]`` adds the requirements ``libb`` declares for ``fast``), and only
those. Each requirement is checked against what is installed, as ``pip check`` does:
a missing distribution or an installed version outside the specifier is *unsatisfied*
and recorded, with the distribution that declares it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import Dependency, UnsatisfiedReason, UnsatisfiedRequirement
from insidellms_provenance.fingerprint._digest_cache import DescriptionCache
from insidellms_provenance.fingerprint._discover import (
    InstalledDistributions,
    dist_info_name,
    normalized_name,
)
from insidellms_provenance.fingerprint._dist_files import read_dist_text
from insidellms_provenance.fingerprint._distribution import MetadataFacts, metadata_facts
from insidellms_provenance.fingerprint._requirements import (
    InvalidRequirementError,
    Requirement,
    marker_applies,
    parse_requirement,
    version_satisfies,
)
from insidellms_provenance.fingerprint._source import describe_source

__all__ = ["Closure", "DependencyTable", "DependencyWalker"]


class Closure(NamedTuple):
    """A plugin's installed dependencies and the requirements that are not met.

    ``distributions`` maps each dependency's PEP 503 name to its installed distribution;
    ``unsatisfied`` holds the requirements the environment does not meet, sorted.
    """

    distributions: dict[str, metadata.Distribution]
    unsatisfied: list[UnsatisfiedRequirement]

    @property
    def names(self) -> list[str]:
        """The dependencies' PEP 503 names, sorted."""
        return sorted(self.distributions)


class _Node(NamedTuple):
    name: str
    version: str
    requirements: list[Requirement | str]  # a str is a value that could not be parsed


# The requirements of a node that apply and are installed, and those that are not met.
_Edges = tuple[
    list[tuple[Requirement, metadata.Distribution]],
    dict[tuple[str, str, str], UnsatisfiedRequirement],
]


class DependencyTable:
    """Closures of a run's plugins and the table that describes each dependency once.

    ``cache`` is the description cache's directory (:mod:`.digest_cache`), or ``None``:
    each dependency's ``Requires-Dist`` and description come from one entry there.
    """

    def __init__(self, cache: Path | None) -> None:
        self._cache = DescriptionCache(cache)
        self._walker: DependencyWalker | None = None
        self._closures: dict[str, Closure] = {}
        self._roots: dict[str, metadata.Distribution] = {}
        self.table: dict[str, Dependency] = {}

    def closure(
        self, dist: metadata.Distribution
    ) -> tuple[list[str], list[UnsatisfiedRequirement]]:
        """The names in ``dist``'s closure and its unsatisfied requirements; fills the table."""
        if self._walker is None:
            self._walker = DependencyWalker(InstalledDistributions(), facts=self._cache.facts)
        key = f"{dist.locate_file('')}/{dist_info_name(dist)}"
        if key not in self._closures:
            self._closures[key] = self._walker.closure(dist)
            self._roots[key] = dist
        closure = self._closures[key]
        for name, found in closure.distributions.items():
            if name not in self.table:
                self.table[name] = self._describe(found)
        return closure.names, closure.unsatisfied

    def read_from(self) -> tuple[dict[str, str], list[metadata.Distribution]] | None:
        """What the closures so far were read from, if only metadata directories decide them.

        The installed listing (each name's metadata directory) and every distribution
        whose METADATA, RECORD or ``direct_url.json`` was read: the plugins and their
        dependencies. ``None`` when something else was read: a dependency described
        outside the description cache (editable, ``.egg-info``, a RECORD whose digest
        reads scripts), or an environment importlib lists otherwise.
        """
        listing = self._walker.listing() if self._walker is not None else None
        if listing is None or not self._cache.complete:
            return None
        found = {str(getattr(dist, "_path", "")): dist for dist in self._roots.values()}
        for closure in self._closures.values():
            for dist in closure.distributions.values():
                found[str(getattr(dist, "_path", ""))] = dist
        return listing, list(found.values())

    def _describe(self, dist: metadata.Distribution) -> Dependency:
        found = describe_source(dist)
        info = self._cache.describe(dist, editable=found["editable"])
        return schema.dependency(distribution=info, source=found)


class DependencyWalker:
    """Compute dependency closures over one environment, reading each distribution once.

    ``facts`` gives a dependency's METADATA facts from elsewhere (the description
    cache), or ``None`` to have them read from its METADATA.
    """

    def __init__(
        self,
        installed: InstalledDistributions,
        *,
        facts: Callable[[metadata.Distribution], MetadataFacts | None] | None = None,
    ) -> None:
        self._installed = installed
        self._facts = facts
        self._nodes: dict[str, _Node] = {}
        self._edges: dict[tuple[str, frozenset[str]], _Edges] = {}

    def listing(self) -> dict[str, str] | None:
        """The installed listing the walk resolves names in (``InstalledDistributions``)."""
        return self._installed.listing()

    def closure(self, dist: metadata.Distribution) -> Closure:
        """The transitive dependencies of ``dist``, following the extras requirements name."""
        root = self._node_of(dist)
        found: dict[str, metadata.Distribution] = {}
        unsatisfied: dict[tuple[str, str, str], UnsatisfiedRequirement] = {}
        followed: dict[str, frozenset[str]] = {root.name: frozenset()}
        pending: list[tuple[_Node, frozenset[str]]] = [(root, frozenset())]
        while pending:
            node, extras = pending.pop()
            edges, notes = self._edges_of(node, extras)
            unsatisfied.update(notes)
            for requirement, target in edges:
                if requirement.name != root.name:
                    found[requirement.name] = target
                wanted = followed.get(requirement.name, frozenset()) | requirement.extras
                if requirement.name in followed and wanted == followed[requirement.name]:
                    continue
                followed[requirement.name] = wanted
                pending.append((self._node(requirement.name, target), wanted))
        ordered = sorted(unsatisfied.items(), key=lambda item: item[0])
        return Closure(dict(sorted(found.items())), [value for _, value in ordered])

    def _edges_of(self, node: _Node, extras: frozenset[str]) -> _Edges:
        """:meth:`_applicable` of ``node`` with ``extras``, worked out once per walker.

        Plugins share most of their closures; each shared edge is judged once.
        """
        key = (node.name, extras)
        if key not in self._edges:
            notes: dict[tuple[str, str, str], UnsatisfiedRequirement] = {}
            self._edges[key] = (list(self._applicable(node, extras, notes)), notes)
        return self._edges[key]

    def _applicable(
        self,
        node: _Node,
        extras: frozenset[str],
        unsatisfied: dict[tuple[str, str, str], UnsatisfiedRequirement],
    ) -> Iterator[tuple[Requirement, metadata.Distribution]]:
        """The requirements of ``node`` that apply and are installed; records the rest."""
        for requirement in node.requirements:
            if isinstance(requirement, str):
                self._note(unsatisfied, node.name, requirement, None, None, "invalid")
                continue
            text = requirement.text
            try:
                if not marker_applies(requirement, extras):
                    continue
            except InvalidRequirementError:
                self._note(unsatisfied, node.name, text, requirement.name, None, "invalid")
                continue
            target = self._installed.get(requirement.name)
            if target is None:
                self._note(unsatisfied, node.name, text, requirement.name, None, "missing")
                continue
            version = self._node(requirement.name, target).version
            if requirement.specifier and not version_satisfies(version, requirement.specifier):
                self._note(unsatisfied, node.name, text, requirement.name, version, "version")
            yield requirement, target

    @staticmethod
    def _note(  # noqa: PLR0913, PLR0917 - one row's fields
        unsatisfied: dict[tuple[str, str, str], UnsatisfiedRequirement],
        required_by: str,
        /,
        text: str,
        name: str | None,
        installed: str | None,
        reason: UnsatisfiedReason,
    ) -> None:
        unsatisfied[(required_by, name or "", text)] = schema.unsatisfied_requirement(
            requirement=text, required_by=required_by, name=name, installed=installed, reason=reason
        )

    def _node_of(self, dist: metadata.Distribution) -> _Node:
        node = _read_node(dist)
        return self._nodes.setdefault(node.name, node)

    def _node(self, name: str, dist: metadata.Distribution) -> _Node:
        if name not in self._nodes:
            facts = self._facts(dist) if self._facts is not None else None
            node = _read_node(dist) if facts is None else _node_from(facts)
            self._nodes[name] = node._replace(name=name)
        return self._nodes[name]


def _read_node(dist: metadata.Distribution) -> _Node:
    """PEP 503 name, version and parsed ``Requires-Dist`` of ``dist`` (never raises).

    Files are read with ``read_dist_text`` (regular files only, bounded): a FIFO or a
    huge file planted in a dependency's metadata cannot hang or exhaust a recording.
    """
    text = read_dist_text(dist, "METADATA")
    egg_info = text is None
    if egg_info:
        text = read_dist_text(dist, "PKG-INFO")
    name, version, values = metadata_facts(text or "")
    if egg_info:
        values = [*values, *_egg_requires(read_dist_text(dist, "requires.txt") or "")]
    return _node_from((name, version, values))


def _node_from(facts: MetadataFacts) -> _Node:
    name, version, values = facts
    return _Node(normalized_name(name), version, [_parse(value) for value in values])


def _egg_requires(text: str) -> Iterator[str]:
    """``requires.txt`` of an ``.egg-info`` as ``Requires-Dist`` values, as importlib reads it.

    ``[extra]``, ``[extra:marker]`` and ``[:marker]`` sections become markers.
    """
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        extra, _, marker = section.partition(":")
        if extra and marker:
            marker = f"({marker})"
        conditions = [marker, f'extra == "{extra}"' if extra else ""]
        condition = " and ".join(c for c in conditions if c)
        yield f"{line}; {condition}" if condition else line


def _parse(value: str) -> Requirement | str:
    try:
        return parse_requirement(value)
    except InvalidRequirementError:
        return value.strip()
