"""Fingerprint every entry point of a group in this environment: the ``record`` job."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable, Mapping
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
    RegistryKeys,
    Source,
    UnsatisfiedRequirement,
)
from insidellms_provenance.fingerprint._discover import (
    discover,
    dist_info_name,
    distribution_key,
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

__all__ = ["Installed", "read_installed", "record", "record_field", "record_without_import"]

_Described = tuple[DistributionInfo, frozenset[str], Source]
_OnDisk = tuple[Path, Path | None, list[str], tuple[list[str], list[UnsatisfiedRequirement]]]
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


def read_installed(
    entry_points: list[metadata.EntryPoint], *, environ: Mapping[str, str] = os.environ
) -> Installed:
    """What a host run's field says of its plugins on disk, read before they are imported.

    The hook calls this in its ``register()``, which the host calls before it imports
    any other plugin, and hands the result to :func:`record_field` (``on_disk``) when
    the field is made: a plugin that rewrites its own files at import is recorded as
    Python read it. Descriptions the plugin cache can keep are stored now, so a process
    that never writes a manifest still spares the next one the hashing.
    """
    described = _Descriptions(bytecode=False, environ=environ)
    installed = Installed(entry_points, described=described, environ=environ, in_run=True)
    described.store()
    return installed


def record_field(  # noqa: PLR0913 - keyword-only: each caller passes what it has
    group: str = DEFAULT_GROUP,
    *,
    environ: Mapping[str, str] = os.environ,
    observations: Mapping[tuple[str, str], PluginObservation] | None = None,
    conflicts: Iterable[Conflict] = (),
    entry_points: list[metadata.EntryPoint] | None = None,
    isolated: bool = False,
    in_run: bool = False,
    on_disk: Installed | None = None,
    imported_before: Iterable[tuple[str, str]] = (),
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
    the field says so. Every installed file the field describes is read before any
    plugin is imported: outside a host run by this function (here or in the child); in
    a host run by the hook's ``register()`` (:func:`read_installed`), whose result is
    ``on_disk``. What is recorded is what Python read, not what plugin code left
    behind. A host run's field made without ``on_disk`` reads the files after the
    plugins' imports. ``imported_before`` names the entry points the host imported
    before ``on_disk`` was read (they sort before the hook's): what was read of their
    distributions may not be what ran, and the field says so.
    """
    observations, conflicts = _without_secrets(observations or {}, list(conflicts))
    disabled = plugins_disabled(group, environ)
    described = (
        on_disk.described
        if on_disk is not None
        else _Descriptions(bytecode=not in_run, environ=environ)
    )
    read = functools.partial(Installed, described=described, environ=environ, in_run=in_run)
    imported: dict[tuple[str, str], ImportResult] | None = None
    if isolated and not disabled:
        entry_points, on_disk, imported = _describe_then_import(
            group, entry_points, observations, read, environ
        )
    else:
        entry_points = discover(group) if entry_points is None else entry_points
        # Read before _load imports anything in this process, unless in a host run the
        # hook did not: its plugins ran already, and reading first would only make the
        # caches Python writes at import look like changes to the next run.
        if on_disk is None and not in_run:
            on_disk = read(entry_points)
    entry_points, also_declared = _one_per_entry_point(entry_points)
    outcomes = [
        _outcome(ep, observations.get((ep.name, ep.value)), imported, disabled=disabled)
        for ep in entry_points
    ]
    if on_disk is None or not on_disk.covers(entry_points):
        # A distribution the early reading did not know is read now; those it read
        # keep their descriptions (``described`` holds them).
        on_disk = read(entry_points)
    early = set(imported_before)
    read_late = [ep.dist for ep in entry_points if (ep.name, ep.value) in early]
    plugins = []
    for ep, (load, manifest, module_file) in zip(entry_points, outcomes, strict=True):
        observed = observations.get((ep.name, ep.value))
        origin = schema.origin(status="unknown")
        info, source = None, None
        closure: tuple[list[str], list[UnsatisfiedRequirement]] = ([], [])
        dist = ep.dist
        if dist is not None:
            info, record_paths, source = described.get(dist)
            if dist in read_late:
                info = _unproved(info, _READ_LATE)
            others = also_declared.get((ep.name, ep.value))
            if others:
                info = _unproved(info, _declared_by_others(others))
            site, root, versions, closure = on_disk.of(dist)
            origin = check_origin(
                module_file,
                site_dir=site,
                record_paths=record_paths,
                editable_root=root,
                versions=versions,
            )
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
    table = on_disk.dependencies.table()
    return make_field(group, plugins, conflicts, table, observed_in_run=in_run)


def _unproved(info: DistributionInfo, problem: str) -> DistributionInfo:
    """``info`` with ``problem``: its files' reading does not prove what ran.

    A ``verified`` integrity becomes ``unverifiable`` (what was found ``modified`` stays
    so), so that ``check`` fails closed. Two causes: the host imported the plugin before
    its files were read (:data:`_READ_LATE`: its code may have rewritten them by then,
    back to RECORD's hashes, say), and an entry point several distributions declare
    (:func:`_one_per_entry_point`).
    """
    unproved = info.copy()
    unproved["problems"] = [*info["problems"], problem]
    integrity = info["integrity"]
    if integrity is not None and integrity["status"] == "verified":
        unproved["integrity"] = schema.integrity(
            status="unverifiable", paths=integrity["paths"], bytecode=integrity["bytecode"]
        )
    return unproved


def _one_per_entry_point(
    entry_points: list[metadata.EntryPoint],
) -> tuple[list[metadata.EntryPoint], dict[tuple[str, str], list[str]]]:
    """Each (name, value) once, and the other distributions that declare it too.

    The field lists an entry point once (every reader refuses a list with one twice).
    Distributions of different names may declare the same one (a project installed as
    ``foo`` and as ``foo-headless``); the host then loads it once for each. The one kept
    is the one whose distribution is first by name (:func:`~._discover.distribution_key`,
    the same on every machine, where the host's order among them is the file system's);
    the others are named on it (:func:`_declared_by_others`).
    A line an ``entry_points.txt`` repeats is one entry point. The others are given by
    their distribution's name in ``importlib``'s key (a name from no METADATA).
    """
    kept: dict[tuple[str, str], metadata.EntryPoint] = {}
    for ep in entry_points:
        first = kept.setdefault((ep.name, ep.value), ep)
        if distribution_key(ep) < distribution_key(first):
            kept[(ep.name, ep.value)] = ep
    if len(kept) == len(entry_points):
        return entry_points, {}
    others: dict[tuple[str, str], list[str]] = {}
    for ep in entry_points:
        first, key = kept[(ep.name, ep.value)], distribution_key(ep)
        if ep is not first and key != distribution_key(first):
            others.setdefault((ep.name, ep.value), []).append(key)
    return [ep for ep in entry_points if kept[(ep.name, ep.value)] is ep], others


def _declared_by_others(names: list[str]) -> str:
    """The problem of an entry point the distributions ``names`` declare too."""
    from insidellms_provenance.field._names import normalized_name

    named = ", ".join(sorted({normalized_name(name) for name in names}))
    return (
        f"the same entry point is declared by {named} too: the host loads it once for "
        "each, and only this distribution's files are recorded"
    )


_READ_LATE = (
    "the host imported it before its files were read (its entry point sorts before the "
    "hook's '!provenance'): they may not be what ran"
)


def _without_secrets(
    observations: Mapping[tuple[str, str], PluginObservation], conflicts: list[Conflict]
) -> tuple[Mapping[tuple[str, str], PluginObservation], list[Conflict]]:
    """The registry keys a host run observed, redacted as manifest values are.

    A plugin chooses its keys, and a key that names a path or a URL with a token would
    reach the field through ``registered``, ``replaced`` and ``conflicts``. The usual
    keys (``org/model``) never reach the redactor's patterns (:func:`~._redact.redactor`).
    """
    keys = [c["key"] for c in conflicts]
    for seen in observations.values():
        for found in (seen["registered"], seen["replaced"]):
            if found is not None:
                keys += [*found["models"], *found["probes"], *found["datasets"]]
    if not keys:
        return observations, conflicts
    from insidellms_provenance.fingerprint._redact import redactor

    clean = redactor("\n".join(keys))
    if clean is None:
        return observations, conflicts

    def cleaned(found: RegistryKeys | None) -> RegistryKeys | None:
        if found is None:
            return None
        return schema.registry_keys(
            models=map(clean, found["models"]),
            probes=map(clean, found["probes"]),
            datasets=map(clean, found["datasets"]),
        )

    return (
        {
            ep: schema.observation(
                load=seen["load"],
                registered=cleaned(seen["registered"]),
                replaced=cleaned(seen["replaced"]),
            )
            for ep, seen in observations.items()
        },
        [{**c, "key": clean(c["key"])} for c in conflicts],
    )


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


def _describe_then_import(
    group: str,
    entry_points: list[metadata.EntryPoint] | None,
    observations: Mapping[tuple[str, str], PluginObservation],
    read: Callable[[list[metadata.EntryPoint]], Installed],
    environ: Mapping[str, str],
) -> tuple[list[metadata.EntryPoint], Installed, dict[tuple[str, str], ImportResult]]:
    """Discover, read every installed file the field speaks of, then import in a child.

    The field's ``integrity`` says whether the bytes that ran are the ones RECORD lists,
    so every plugin distribution is hashed (bytecode caches checked) before the first
    plugin byte runs: a plugin that rewrites its own files, or deletes its own cache,
    when imported is recorded as it was when Python read it, never as it left it. Only
    the interpreter's start-up overlaps this process's work (:class:`~._isolation.Imports`
    starts a new interpreter before discovery where it cannot fork; a forked child
    starts at :meth:`~._isolation.Imports.send`). The child is stopped if anything here
    fails or is interrupted, and at once when there is nothing to import.
    """
    from insidellms_provenance.fingerprint._isolation import Imports

    imports = Imports()
    try:
        imports.start()
        if entry_points is None:
            entry_points = discover(group)
        installed = read(entry_points)
        pending = [ep for ep in entry_points if (ep.name, ep.value) not in observations]
        if not pending:
            return entry_points, installed, {}
        imports.send(pending)
        return entry_points, installed, imports.results(pending, environ)
    finally:
        imports.stop()


def _outcome(
    ep: metadata.EntryPoint,
    observed: PluginObservation | None,
    imported: Mapping[tuple[str, str], ImportResult] | None,
    *,
    disabled: bool,
) -> tuple[LoadOutcome, ManifestSummary, str | None]:
    """How loading ``ep`` went, its manifest, and the file its module came from.

    ``imported`` holds the child's answers when the plugins were imported in one
    (``None`` otherwise). An entry point the child gave no answer for is ``failed``:
    importing it here instead would run plugin code in this very process, which the
    child exists to prevent (a plugin that ends the process would end the command).
    """
    if imported is not None and observed is None:
        found = imported.get((ep.name, ep.value))
        if found is None:
            return _no_answer()
        return found["load"], found["manifest"], found["module_file"]
    load, manifest = _load(ep, observed, disabled=disabled)
    return load, manifest, imported_file(ep)


def _no_answer() -> tuple[LoadOutcome, ManifestSummary, None]:
    """The outcome of an entry point the importing child never reported on."""
    reason = "no answer from the importing child"
    return (
        schema.load_outcome(status="failed", error_type="NoAnswer", error_message=reason),
        schema.manifest_summary(status="error", problems=(reason,)),
        None,
    )


class Installed:
    """What the field says of each plugin distribution on disk, read in one step.

    Descriptions (files hashed, bytecode caches checked outside a host run), editable
    roots, the versions of duplicate installs and dependency closures. This step comes
    before any plugin is imported (in a host run, in the hook's ``register()``), so
    none of it is read after plugin code could have changed it; afterwards only the
    origin check looks at the disk (it resolves the imported module's path).
    """

    __slots__ = ("_of", "dependencies", "described")

    def __init__(
        self,
        entry_points: list[metadata.EntryPoint],
        *,
        described: _Descriptions,
        environ: Mapping[str, str],
        in_run: bool,
    ) -> None:
        self.described = described
        dists = list({id(ep.dist): ep.dist for ep in entry_points if ep.dist is not None}.values())
        if in_run:
            described.remember(dists)
        for dist in dists:
            described.get(dist)
        copies = installed_copies(dists)
        self.dependencies = _Closures(environ, dists)
        self._of: dict[int, _OnDisk] = {}
        for dist in dists:
            root = _editable_root(dist) if described.get(dist)[2]["editable"] else None
            self._of[id(dist)] = (
                Path(described.site(dist)),
                root,
                duplicate_versions(dist, copies.get(versions_key(dist), []), root),
                self.dependencies.closure(dist),
            )

    def of(self, dist: metadata.Distribution) -> _OnDisk:
        """Site directory, editable root, duplicate versions and closure of ``dist``."""
        return self._of[id(dist)]

    def covers(self, entry_points: list[metadata.EntryPoint]) -> bool:
        """Whether every distribution of ``entry_points`` was read in this step."""
        return all(ep.dist is None or id(ep.dist) in self._of for ep in entry_points)


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

    __slots__ = ("_bytecode", "_environ", "_fresh", "_made", "_remembered", "_sites", "_verdicts")

    def __init__(self, *, bytecode: bool, environ: Mapping[str, str] | None = None) -> None:
        self._bytecode = bytecode
        self._environ = environ
        self._made: dict[str, _Described] = {}
        self._sites: dict[metadata.Distribution, str] = {}
        self._verdicts: BytecodeVerdicts | None = None
        self._remembered: PluginDescriptions | None = None
        self._fresh = False  # described afresh since the last store()
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
                    self._fresh = True
            self._made[key] = found
        return self._made[key]

    def store(self) -> None:
        """Keep what was described afresh since the last call, for the next run."""
        if self._remembered is not None and self._fresh:
            self._fresh = False
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
