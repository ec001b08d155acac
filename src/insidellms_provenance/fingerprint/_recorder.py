"""Fingerprint every entry point of a group in this environment: the ``record`` job."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from insidellms_provenance.field import schema
from insidellms_provenance.field._build import make_field
from insidellms_provenance.field.schema import (
    DEFAULT_GROUP,
    Conflict,
    Dependency,
    DistributionInfo,
    LoadOutcome,
    ManifestSummary,
    PluginObservation,
    Provenance,
    Source,
    UnsatisfiedRequirement,
)
from insidellms_provenance.fingerprint._discover import (
    discover,
    dist_info_name,
    entry_point_ref,
    installed_copies,
    versions_key,
)
from insidellms_provenance.fingerprint._dist_files import read_dist_text
from insidellms_provenance.fingerprint._loader import (
    call_plugin_manifest,
    imported_file,
    load_entry_point,
    plugins_disabled,
)
from insidellms_provenance.fingerprint._origin import check_origin, duplicate_versions

if TYPE_CHECKING:
    from insidellms_provenance.fingerprint._bytecode_verdicts import BytecodeVerdicts
    from insidellms_provenance.fingerprint._child import ImportResult
    from insidellms_provenance.fingerprint._closure_cache import Closures
    from insidellms_provenance.fingerprint._dependencies import DependencyTable
    from insidellms_provenance.fingerprint._plugin_cache import PluginDescriptions

__all__ = ["record", "record_field", "record_without_import"]

_Described = tuple[DistributionInfo, frozenset[str], Source]
# What describing a distribution and checking an origin need, imported at first use: a
# host run whose plugins' descriptions are proved unchanged (``_plugin_cache``) needs
# neither the RECORD reader nor the integrity check.


def record(
    group: str = DEFAULT_GROUP,
    *,
    environ: Mapping[str, str] = os.environ,
    isolated: bool = False,
) -> Provenance:
    """Import each entry point of ``group`` (never calling it) and fingerprint it.

    ``isolated`` imports the plugins in a child process
    (:mod:`~insidellms_provenance.fingerprint._isolation`), as the CLI does.
    """
    return record_field(group, environ=environ, isolated=isolated)


def record_field(  # noqa: PLR0913 - keyword-only: each caller passes what it has
    group: str = DEFAULT_GROUP,
    *,
    environ: Mapping[str, str] = os.environ,
    observations: Mapping[tuple[str, str], PluginObservation] | None = None,
    conflicts: Iterable[Conflict] = (),
    entry_points: list[metadata.EntryPoint] | None = None,
    isolated: bool = False,
    in_run: bool = False,
) -> Provenance:
    """:func:`record`, with what a host run observed.

    Inside a host run, ``observations`` (keyed by entry-point name and value, built by
    :func:`insidellms_provenance.field.schema.observation`) say how the host's own loading
    went; those plugins are not imported again, and their registrations and the run's
    ``conflicts`` are recorded. ``entry_points`` is what :func:`discover` returned for
    ``group``, when the caller already has it. ``isolated`` imports the plugins in a
    child process, so no plugin can end, hang or write into this one. ``in_run`` marks
    the field as observed in a host run; bytecode caches are then not compared with
    their sources, which costs more than a run may spend (``docs/performance.md``), and
    the field says so.
    """
    observations = observations or {}
    disabled = plugins_disabled(group, environ)
    described = _Descriptions(bytecode=not in_run, environ=environ)
    imported: dict[tuple[str, str], ImportResult] = {}
    if isolated and not disabled:
        # The child starts first: its interpreter starts while this one discovers.
        entry_points, imported = _import_while_describing(
            group, entry_points, observations, described, environ
        )
    elif entry_points is None:
        entry_points = discover(group)
    copies = installed_copies(ep.dist for ep in entry_points if ep.dist is not None)
    if in_run:
        described.remember([ep.dist for ep in entry_points if ep.dist is not None])
    dependencies = _Closures(environ, [ep.dist for ep in entry_points if ep.dist is not None])
    plugins = []
    for ep in entry_points:
        observed = observations.get((ep.name, ep.value))
        isolated_result = imported.get((ep.name, ep.value))
        if isolated_result is not None:
            load, manifest = isolated_result["load"], isolated_result["manifest"]
            module_file = isolated_result["module_file"]
        else:
            load, manifest = _load(ep, observed, disabled=disabled)
            module_file = imported_file(ep)
        info, source, origin = None, None, schema.origin(status="unknown")
        closure: tuple[list[str], list[UnsatisfiedRequirement]] = ([], [])
        dist = ep.dist
        if dist is not None:
            info, record_paths, source = described.get(dist)
            root = _editable_root(dist) if source["editable"] else None
            origin = check_origin(
                module_file,
                site_dir=Path(described.site(dist)),
                record_paths=record_paths,
                editable_root=root,
                versions=duplicate_versions(dist, copies.get(versions_key(dist), []), root),
            )
            closure = dependencies.closure(dist)
        plugins.append(
            schema.fingerprint(
                entry_point=entry_point_ref(ep),
                distribution=info,
                source=source,
                origin=origin,
                manifest=manifest,
                load=load,
                registered=observed["registered"] if observed else None,
                replaced=observed["replaced"] if observed else None,
                dependencies=closure[0],
                unsatisfied=closure[1],
            )
        )
    described.store()
    return make_field(group, plugins, conflicts, dependencies.table(), observed_in_run=in_run)


def record_without_import(group: str, recorded: Provenance) -> Provenance:
    """Entry points, distributions and sources as installed now, without importing.

    What only importing can tell (load, manifest, origin, registrations) is taken from
    ``recorded`` for the entry points it lists, and the defaults of a plugin that was
    never loaded for the others; ``recorded``'s conflicts and ``observed_in_run`` are
    kept. Integrity is checked now, bytecode caches included. Diffing the result
    with ``recorded`` shows what changed on disk since the run (``verify RUN``).
    """
    from insidellms_provenance.fingerprint._dependencies import DependencyTable

    old = {(p["entry_point"]["name"], p["entry_point"]["value"]): p for p in recorded["plugins"]}
    described = _Descriptions(bytecode=True)  # compiling every source: no verdicts kept
    # The dependency table is compared when the run has one; this never uses the
    # description cache: it re-reads every RECORD.
    dependencies = DependencyTable(None) if "dependencies" in recorded else None
    plugins = []
    for ep in discover(group):
        was = old.get((ep.name, ep.value))
        info, source = None, None
        closure: tuple[list[str] | None, list[UnsatisfiedRequirement] | None]
        closure = ([], []) if dependencies is not None else (None, None)
        if ep.dist is not None:
            info, _, source = described.get(ep.dist)
            if dependencies is not None:
                closure = dependencies.closure(ep.dist)
        plugins.append(
            schema.fingerprint(
                entry_point=entry_point_ref(ep),
                distribution=info,
                source=source,
                origin=was["origin"] if was else schema.origin(status="unknown"),
                manifest=was["manifest"] if was else schema.manifest_summary(status="missing"),
                load=was["load"] if was else schema.load_outcome(status="loaded"),
                registered=was["registered"] if was else None,
                replaced=was["replaced"] if was else None,
                dependencies=closure[0],
                unsatisfied=closure[1],
            )
        )
    table = dependencies.table if dependencies is not None else None
    return make_field(
        group, plugins, recorded["conflicts"], table, observed_in_run=recorded["observed_in_run"]
    )


def _import_while_describing(
    group: str,
    entry_points: list[metadata.EntryPoint] | None,
    observations: Mapping[tuple[str, str], PluginObservation],
    described: _Descriptions,
    environ: Mapping[str, str],
) -> tuple[list[metadata.EntryPoint], dict[tuple[str, str], ImportResult]]:
    """Discover, import the plugins not ``observations`` in a child, describe meanwhile.

    The child is started as early as it can be (:class:`~._isolation.Imports`): a new
    interpreter before discovery, so that it starts while this process lists
    ``sys.path``; a forked one once the entry points are known. It imports the plugins
    while this process reads and hashes the distributions' files: on two cores most of
    its time overlaps, and the results are the same as one step after the other. The
    child is stopped if anything here fails or is interrupted, and at once when there is
    nothing to import.
    """
    from insidellms_provenance.fingerprint._isolation import Imports

    imports = Imports()
    try:
        imports.start()
        if entry_points is None:
            entry_points = discover(group)
        pending = [ep for ep in entry_points if (ep.name, ep.value) not in observations]
        if not pending:
            return entry_points, {}
        imports.send(pending)
        for ep in entry_points:
            if ep.dist is not None:
                described.get(ep.dist)
        return entry_points, imports.results(pending, environ)
    finally:
        imports.stop()


class _Closures:
    """The run's dependency table, walked only once some plugin declares a requirement.

    A distribution whose METADATA has no ``Requires-Dist`` has an empty closure, and
    nothing unsatisfied: for it, the walker (and its requirement parser and description
    cache) is not even imported, which a host run with plugins like that would pay for
    nothing. Anything else (requirements, an ``.egg-info``, unreadable METADATA) goes to
    the walker, unless the closures of the run's plugins are stored and nothing they were
    read from has changed (:mod:`._closure_cache`).
    """

    def __init__(self, environ: Mapping[str, str], dists: list[metadata.Distribution]) -> None:
        self._environ = environ
        self._dists = dists
        self._started = False
        self._walked: DependencyTable | None = None
        self._stored: Closures | None = None
        self._plugin_dirs: list[str] | None = None
        self._checked_ns = 0

    def closure(
        self, dist: metadata.Distribution
    ) -> tuple[list[str], list[UnsatisfiedRequirement]]:
        if not _declares_requirements(dist):
            return [], []
        if not self._started:
            self._start()
        found = self._stored[0].get(_path_of(dist)) if self._stored is not None else None
        if found is not None:
            return found
        return self._walker().closure(dist)

    def table(self) -> dict[str, Dependency]:
        if self._stored is not None:
            return {**self._stored[1], **(self._walked.table if self._walked else {})}
        if self._walked is None:
            return {}
        self._store(self._walked)
        return self._walked.table

    def _start(self) -> None:
        """Look the run's closures up in the cache, before anything is walked."""
        import time

        from insidellms_provenance.fingerprint._digest_cache import cache_directory

        self._started = True
        self._checked_ns = time.time_ns()
        directory = cache_directory(self._environ)
        walked = {_path_of(dist) for dist in self._dists if _declares_requirements(dist)}
        if directory is None or "" in walked:
            return
        from insidellms_provenance.fingerprint._closure_cache import load_closures

        self._plugin_dirs = sorted(walked)
        self._stored = load_closures(directory, self._plugin_dirs)

    def _walker(self) -> DependencyTable:
        if self._walked is None:
            from insidellms_provenance.fingerprint._dependencies import DependencyTable
            from insidellms_provenance.fingerprint._digest_cache import cache_directory

            self._walked = DependencyTable(cache_directory(self._environ))
        return self._walked

    def _store(self, walked: DependencyTable) -> None:
        """Store the closures just walked, with what they were read from, if that proves them."""
        from insidellms_provenance.fingerprint._closure_cache import store_closures
        from insidellms_provenance.fingerprint._digest_cache import cache_directory

        directory = cache_directory(self._environ)
        read = walked.read_from()
        if directory is None or self._plugin_dirs is None or read is None:
            return

        by_plugin = {
            path: walked.closure(dist)
            for dist in self._dists
            if (path := _path_of(dist)) in self._plugin_dirs
        }
        if by_plugin.keys() == set(self._plugin_dirs):
            store_closures(
                directory,
                self._plugin_dirs,
                closures=(by_plugin, walked.table),
                listing=read[0],
                read=read[1],
                checked_ns=self._checked_ns,
            )


def _declares_requirements(dist: metadata.Distribution) -> bool:
    """Whether ``dist`` may have a closure: ``Requires-Dist``, or METADATA that cannot say.

    Without the header's name anywhere in the text (names compare ASCII-case-
    insensitively) there is nothing to parse the headers for.
    """
    text = read_dist_text(dist, "METADATA")
    if text is None:
        return True
    if "requires-dist" not in text.lower():
        return False
    from insidellms_provenance.fingerprint._distribution import metadata_headers

    return bool(metadata_headers(text).get_all("Requires-Dist"))


def _editable_root(dist: metadata.Distribution) -> Path | None:
    from insidellms_provenance.fingerprint._source import editable_root

    return editable_root(dist)


def _path_of(dist: metadata.Distribution) -> str:
    """The metadata directory of ``dist``, or ``""`` if it is not one on disk."""
    path = getattr(dist, "_path", None)
    return str(path) if isinstance(path, Path) else ""


class _Descriptions:
    """Each distribution's description, RECORD paths and source, made once per recording.

    ``bytecode`` compares bytecode caches with their sources; ``environ`` (``record``,
    not ``verify``) then lets matches found before on the same bytes stand
    (:mod:`~insidellms_provenance.fingerprint._bytecode_verdicts`), where the
    description cache is on. In a host run (:meth:`remember`), the plugins' descriptions
    proved unchanged by status since an earlier run are served from
    :mod:`~insidellms_provenance.fingerprint._plugin_cache`, and new ones are kept there.
    """

    __slots__ = ("_bytecode", "_environ", "_made", "_remembered", "_sites", "_verdicts")

    def __init__(self, *, bytecode: bool, environ: Mapping[str, str] | None = None) -> None:
        self._bytecode = bytecode
        self._environ = environ
        self._made: dict[str, _Described] = {}
        self._sites: dict[metadata.Distribution, str] = {}
        self._verdicts: BytecodeVerdicts | None = None
        self._remembered: PluginDescriptions | None = None
        if bytecode and environ is not None:
            from insidellms_provenance.fingerprint._bytecode_verdicts import (
                BytecodeVerdicts,
                verdicts_directory,
            )

            self._verdicts = BytecodeVerdicts(verdicts_directory(environ))

    def remember(self, dists: list[metadata.Distribution]) -> None:
        """Serve and keep the descriptions of ``dists`` (a host run's plugins; no bytecode)."""
        from insidellms_provenance.fingerprint._cache_directory import cache_directory

        directory = cache_directory(self._environ) if self._environ is not None else None
        if self._bytecode or directory is None:
            return
        from insidellms_provenance.fingerprint._plugin_cache import PluginDescriptions

        self._remembered = PluginDescriptions(
            directory, [str(getattr(dist, "_path", "")) for dist in dists]
        )

    def site(self, dist: metadata.Distribution) -> str:
        """``str(dist.locate_file(""))``, worked out once per distribution."""
        site = self._sites.get(dist)
        if site is None:
            site = self._sites[dist] = str(dist.locate_file(""))
        return site

    def get(self, dist: metadata.Distribution) -> _Described:
        site = self.site(dist)
        key = f"{site}/{dist_info_name(dist)}"
        if key not in self._made:
            remembered = self._remembered
            found = remembered.get(dist, site) if remembered is not None else None
            if found is None:
                checked_ns = time.time_ns()
                found = self._describe(dist)
                if remembered is not None:
                    remembered.add(dist, site, found, checked_ns)
            self._made[key] = found
        return self._made[key]

    def store(self) -> None:
        """Keep what was described for the next run (:meth:`remember`)."""
        if self._remembered is not None:
            self._remembered.store()

    def _describe(self, dist: metadata.Distribution) -> _Described:
        from insidellms_provenance.fingerprint._distribution import describe_distribution
        from insidellms_provenance.fingerprint._source import describe_source

        source = describe_source(dist)
        found = describe_distribution(
            dist, editable=source["editable"], bytecode=self._bytecode, verdicts=self._verdicts
        )
        return (*found, source)


def _load(
    ep: metadata.EntryPoint, observed: PluginObservation | None, *, disabled: bool
) -> tuple[LoadOutcome, ManifestSummary]:
    """How loading went (observed in a host run, or by importing now) and the manifest."""
    if observed is not None:
        return observed["load"], call_plugin_manifest(ep, observed["load"])
    if disabled:
        return schema.load_outcome(status="disabled"), schema.manifest_summary(
            status="missing", problems=("plugins are disabled",)
        )
    load = load_entry_point(ep)
    return load, call_plugin_manifest(ep, load)
