"""Match a run's distributions to wheel files: exact, silently rebuilt, or missing.

Typical usage::

    fingerprints, unreadable = fingerprint_paths([Path("wheelhouse")])
    matches = match_wheels(provenance, fingerprints)

The wheel, not the installed RECORD, is the reference: a wheel matches exactly when the
``record_digest`` computed from its contents equals the one the run recorded. The run's
distributions are its plugins' and, in a field with a dependency table (issue 17), every
dependency of their closures: reproducing a run means reproducing what its plugins ran on.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from insidellms_provenance._safe_io import FileRefusedError, read_regular
from insidellms_provenance.analyze._check import Violation
from insidellms_provenance.analyze._versions import (
    marker_holds,
    parse_version,
    specifier_contains,
)
from insidellms_provenance.analyze.export._common import NAMESPACE
from insidellms_provenance.errors import InvalidFieldError, ProvenanceError
from insidellms_provenance.field.schema import DistributionInfo, Provenance, Source
from insidellms_provenance.fingerprint._wheel import WheelFingerprint

if TYPE_CHECKING:
    from packaging.markers import Marker
    from packaging.pylock import Package, PackageArchive, Pylock
    from packaging.specifiers import SpecifierSet
    from packaging.tags import Tag

__all__ = [
    "LOCK_LABEL",
    "MATCH_TEXT",
    "UNPACKED_CHANGED",
    "WITHOUT_DISTRIBUTION",
    "MatchStatus",
    "WheelMatch",
    "dependency_owners",
    "lock_violations",
    "lockable_name",
    "match_wheels",
    "read_lock",
    "same_version",
    "without_distribution",
]

MatchStatus = Literal[
    "exact", "record_disagrees", "rebuilt", "no_candidate", "editable", "no_digest"
]

MATCH_TEXT: dict[str, str] = {
    "exact": "exact match",
    "record_disagrees": (
        "the wheel's RECORD lists the run's files, but its contents differ from its RECORD"
    ),
    "rebuilt": "same name and version, other content: a silent rebuild",
    "no_candidate": "no wheel of this name and version",
    "editable": "editable install: its files are a source tree, not a wheel",
    "no_digest": "the run has no record_digest for it (no RECORD)",
}


UNPACKED_CHANGED = (
    "an unpacked wheel whose files changed after it was unpacked: its RECORD lists the "
    "run's files, its contents are other content"
)
"""What ``record_disagrees`` means for an unpacked wheel in a cache (its RECORD is the wheel's)."""


@attrs.frozen(kw_only=True)
class WheelMatch:
    """One distribution of a run, the plugins it provides, and the wheels found for it.

    ``plugins`` are the entry points it provides; ``required_by`` the plugins whose
    dependency closure holds it (a dependency provides none; a plugin's distribution can
    be both). ``wheel`` is the matching wheel (``exact`` or ``record_disagrees``);
    ``candidates`` are the wheels of the same name and version whose contents differ.
    """

    plugins: tuple[str, ...]
    required_by: tuple[str, ...] = ()
    name: str
    normalized_name: str
    version: str
    record_digest: str | None
    source: Source | None
    status: MatchStatus
    wheel: WheelFingerprint | None = None
    candidates: tuple[WheelFingerprint, ...] = ()

    @property
    def exact(self) -> bool:
        """Whether a wheel reproduces this distribution byte for byte."""
        return self.status == "exact"

    @property
    def role(self) -> str:
        """Whose it is, in words: ``plugins: a, b``, ``dependency of: c``, or both."""
        parts = [f"plugins: {', '.join(self.plugins)}"] if self.plugins else []
        if self.required_by:
            parts.append(f"dependency of: {', '.join(self.required_by)}")
        return "; ".join(parts)

    @property
    def label(self) -> str:
        """The distribution as warnings name it: ``name version (role)``."""
        return f"{self.name} {self.version} ({self.role})"


def same_version(left: str, right: str) -> bool:
    """PEP 440 equality (``1.0 == 1.0.0``), or plain equality for invalid versions."""
    left_version, right_version = parse_version(left), parse_version(right)
    if left_version is None or right_version is None:
        return left == right
    return left_version == right_version


def match_wheels(
    provenance: Provenance, fingerprints: Sequence[WheelFingerprint], *, where: str = "field"
) -> list[WheelMatch]:
    """Every distribution of the run matched against ``fingerprints``.

    Plugin distributions come first, in the run's load order of their first plugin
    (several plugins of one distribution share one match); then the dependency table's
    distributions that no plugin provides, by name. A dependency table that contradicts
    the plugins is bad input (:func:`dependency_owners`; ``where`` names the field).
    """
    owners = dependency_owners(provenance, where=where)
    grouped: dict[tuple[str, str, str | None], list[str]] = {}
    first: dict[tuple[str, str, str | None], tuple[str, Source | None]] = {}
    for plugin in provenance["plugins"]:
        dist = plugin["distribution"]
        if dist is None:
            continue
        key = (dist["normalized_name"], dist["version"], dist["record_digest"])
        grouped.setdefault(key, []).append(plugin["entry_point"]["name"])
        first.setdefault(key, (dist["name"], plugin["source"]))
    required: dict[tuple[str, str, str | None], tuple[str, ...]] = {}
    for name, entry in sorted(provenance.get("dependencies", {}).items()):
        dist = entry["distribution"]
        key = (dist["normalized_name"], dist["version"], dist["record_digest"])
        required[key] = owners[name]
        if key not in grouped:
            grouped[key] = []
            first[key] = (dist["name"], entry["source"])
    matches = []
    for key, plugins in grouped.items():
        match = _match(key, first[key][0], first[key][1], tuple(plugins), fingerprints)
        needed = required.get(key)
        matches.append(attrs.evolve(match, required_by=needed) if needed else match)
    return matches


def dependency_owners(
    provenance: Provenance, *, where: str = "field"
) -> dict[str, tuple[str, ...]]:
    """For each dependency of the table, the plugins (entry point names) whose closure holds it.

    The field's reader checks the table's shape and the digest; this checks what the
    exports rely on, which a hand-edited (and resealed) field can break: every name a
    closure lists is in the table, every table entry is in some closure and is keyed by
    its own PEP 503 name, and an entry for a plugin's distribution describes that very
    distribution. Every problem is collected into one :class:`InvalidFieldError`.
    """
    from packaging.utils import canonicalize_name

    table = provenance.get("dependencies", {})
    owners: dict[str, list[str]] = {name: [] for name in table}
    issues: list[str] = []
    plugin_dists: dict[str, DistributionInfo] = {}
    for plugin in provenance["plugins"]:
        ep = plugin["entry_point"]["name"]
        dist = plugin["distribution"]
        if dist is not None:
            plugin_dists[dist["normalized_name"]] = dist
        for name in plugin.get("dependencies", []):
            if name in owners:
                owners[name].append(ep)
            else:
                issues.append(f"plugin {ep!r} depends on {name!r}, which is not in the table")
    for name, entry in table.items():
        dist = entry["distribution"]
        if name != canonicalize_name(name) or dist["normalized_name"] != name:
            issues.append(
                f"{name!r} is not the PEP 503 name of its distribution {dist['normalized_name']!r}"
            )
        if not owners[name]:
            issues.append(f"{name!r} is in no plugin's dependency closure")
        same = plugin_dists.get(dist["normalized_name"])
        if same is not None and (same["version"], same["record_digest"]) != (
            dist["version"],
            dist["record_digest"],
        ):
            issues.append(f"{name!r} is not the installed plugin distribution of that name")
    if issues:
        raise InvalidFieldError(
            f"{where}: provenance field is malformed: dependency table", tuple(issues)
        )
    return {name: tuple(sorted(set(plugins))) for name, plugins in owners.items()}


def lockable_name(wheel: WheelFingerprint, normalized_name: str, version: str) -> bool:
    """Whether the wheel's file name is a wheel name of this distribution (name and version).

    PEP 751 locks a wheel by its file name, which installers parse for its tags and check
    against the package's name and version: a copy saved under another name (or with its
    local version's ``+`` percent-encoded) cannot be locked, though its contents match.
    """
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

    if wheel.unpacked:
        return False
    try:
        name, parsed, _, _ = parse_wheel_filename(PurePosixPath(wheel.filename).name)
    except InvalidWheelFilename:
        return False
    return name == canonicalize_name(normalized_name) and same_version(str(parsed), version)


def _match(
    key: tuple[str, str, str | None],
    name: str,
    source: Source | None,
    plugins: tuple[str, ...],
    fingerprints: Iterable[WheelFingerprint],
) -> WheelMatch:
    normalized, version, digest = key
    found = WheelMatch(
        plugins=plugins,
        name=name,
        normalized_name=normalized,
        version=version,
        record_digest=digest,
        source=source,
        status="no_candidate",
    )
    if source is not None and source["editable"]:
        return attrs.evolve(found, status="editable")
    if digest is None:
        return attrs.evolve(found, status="no_digest")

    # A lock can name only an archive (it has a sha256) under a wheel name of this very
    # distribution: such a wheel is preferred to a misnamed copy, then to an unpacked one.
    def preference(wheel: WheelFingerprint) -> tuple[bool, bool]:
        return (wheel.unpacked, not lockable_name(wheel, normalized, version))

    exact = sorted(
        (f for f in fingerprints if f.distribution["record_digest"] == digest), key=preference
    )
    if exact:
        return attrs.evolve(found, status="exact", wheel=exact[0])
    listed = sorted((f for f in fingerprints if f.listed_digest == digest), key=preference)
    if listed:
        return attrs.evolve(found, status="record_disagrees", wheel=listed[0])
    candidates = tuple(
        f
        for f in fingerprints
        if f.distribution["normalized_name"] == normalized
        and same_version(str(f.distribution["version"]), version)
    )
    if candidates:
        return attrs.evolve(found, status="rebuilt", candidates=candidates)
    return found


def read_lock(path: Path) -> dict[str, Any]:
    """A ``pylock.toml`` as TOML, validated by ``packaging.pylock``; bad input raises."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # the same parser, published as ``tomli`` (a dependency on Python 3.10 only)
        import tomli as tomllib
    from packaging.pylock import Pylock, PylockUnsupportedVersionError, PylockValidationError

    data = _read_lock_bytes(path)
    try:
        value: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
        Pylock.from_dict(value)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ProvenanceError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:  # the parser recurses once per nested array or inline table
        raise ProvenanceError(f"{path}: not valid TOML: nested too deeply") from None
    except (PylockValidationError, PylockUnsupportedVersionError) as error:
        raise ProvenanceError(f"{path}: not a valid PEP 751 lock: {error}") from None
    return value


_MAX_LOCK_BYTES = 64 << 20


def _read_lock_bytes(path: Path) -> bytes:
    """A lock file's bytes: a regular file (a FIFO never blocks us), of a sane size."""
    try:
        return read_regular(path, limit=_MAX_LOCK_BYTES)
    except FileRefusedError as error:
        raise ProvenanceError(f"{path}: {error.reason}") from None


LOCK_LABEL = "(lock)"
"""The plugin column of a violation of the whole lock (an installer here refuses it)."""


@attrs.frozen(kw_only=True)
class _Installer:
    """What an installer would install the lock for: this interpreter (PEP 751's steps).

    ``markers`` overrides the default marker environment for package markers (no extras,
    the lock's default groups); ``python`` is this interpreter's full version; ``tags``
    the wheel tags it accepts. A specifier or marker that cannot be compared here (a
    version in it too long for ``int``, which ``packaging`` leaves to the comparison, or
    a marker's ``~=`` on a single number) makes the lock bad input, refused naming
    ``lock``, the file.
    """

    markers: dict[str, str | frozenset[str]]
    python: str
    tags: frozenset[Tag]
    lock: str

    def accepts_python(self, specifier: SpecifierSet | None, what: str) -> bool:
        """Whether ``what``, a ``requires-python`` specifier, holds here (pre-releases too)."""
        if specifier is None:
            return True
        return self._compared(specifier_contains(specifier, self.python), what)

    def accepts_environments(self, environments: Sequence[Marker] | None) -> bool:
        """Whether one of the lock's ``environments`` holds here (none given: any does)."""
        return environments is None or any(
            self._compared(marker_holds(marker, None, "requirement"), "environments")
            for marker in environments
        )

    def installs(self, package: Package) -> bool:
        """Whether the package entry's ``marker`` holds here (no marker: it always does)."""
        if package.marker is None:
            return True
        holds = marker_holds(package.marker, self.markers, "lock_file")
        return self._compared(holds, f"the marker of package {package.name!r}")

    def _compared(self, holds: bool | None, what: str) -> bool:
        if holds is None:
            raise ProvenanceError(
                f"{self.lock}: not a valid PEP 751 lock: {what} makes a comparison packaging "
                "cannot (a version of more digits than Python reads, or '~=' on a single number)"
            )
        return holds


def _this_interpreter(default_groups: Sequence[str] | None, lock: str) -> _Installer:
    """The environment ``check`` judges a lock for, as an installer run here would."""
    from packaging.markers import default_environment
    from packaging.tags import sys_tags

    return _Installer(
        markers={"extras": frozenset(), "dependency_groups": frozenset(default_groups or ())},
        python=default_environment()["python_full_version"].rstrip("+"),
        tags=frozenset(sys_tags()),
        lock=lock,
    )


WITHOUT_DISTRIBUTION: Final = "has no distribution in the run: its files were never identified"


def without_distribution(provenance: Provenance) -> list[str]:
    """Entry-point names of the plugins recorded without a distribution.

    No recording through ``importlib.metadata`` writes one, but the schema allows it and a
    resealed field can hold it. :func:`match_wheels` has nothing to match such a plugin
    by, so every consumer of the matches says so rather than leave it out: a lock, an
    SBOM or a check that passed without it would vouch for a plugin it never saw.
    """
    return [p["entry_point"]["name"] for p in provenance["plugins"] if p["distribution"] is None]


def lock_violations(
    provenance: Provenance, lock: Mapping[str, Any], lock_path: Path, *, where: str = "field"
) -> list[Violation]:
    """How the run's distributions (its plugins' and their dependencies) differ from the lock.

    The lock is judged as an installer run by this interpreter would use it (PEP 751):
    entries whose ``marker`` is false here are skipped, every other entry of a name is
    judged (several is an ambiguous lock), a ``requires-python`` that excludes this
    interpreter is refused. Names and versions must be exactly the locked ones (packages,
    and the lock's own ``[tool.insidellms-provenance] unpinned`` list). A locked wheel at
    hand (``path`` relative to the lock's directory lexically, as installers join it, or a
    ``file:`` URL), by ``[[packages.wheels]]`` or a wheel ``[packages.archive]``, must
    have the locked sha256 and give the run's ``record_digest``; a source an installer
    would build (sdist, directory, VCS, an archive that is not a wheel) cannot be proved
    to give the run's files, and is a violation too.
    """
    from packaging.pylock import Pylock, PylockValidationError

    try:
        pylock = Pylock.from_dict(lock)
    except PylockValidationError as error:
        raise ProvenanceError(f"{lock_path}: not a valid PEP 751 lock: {error}") from None
    here = _this_interpreter(pylock.default_groups, str(lock_path))
    violations = [
        Violation(plugin=LOCK_LABEL, rule="lock", message=message)
        for message in _lock_refused(pylock, here)
    ]
    raw = list(lock.get("packages", []))
    entries: dict[str, list[tuple[str | None, Package]]] = {}
    excluded: set[str] = set()
    for data, package in zip(raw, pylock.packages, strict=True):
        if here.installs(package):
            entries.setdefault(package.name, []).append((data.get("version"), package))
        else:
            excluded.add(package.name)
    tool = lock.get("tool", {}).get(NAMESPACE, {})
    unpinned: dict[str, list[str | None]] = {}
    for entry in tool.get("unpinned", []):
        unpinned.setdefault(str(entry["name"]), []).append(entry.get("version"))
    violations += [
        Violation(plugin=name, rule="lock", message=f"{name} {WITHOUT_DISTRIBUTION}")
        for name in without_distribution(provenance)
    ]
    seen: set[str] = set()
    judge = _EntryJudge(here=here, lock_dir=lock_path.parent)
    for match in match_wheels(provenance, (), where=where):
        seen.add(match.normalized_name)
        label = ", ".join(match.plugins or match.required_by)
        problems = _distribution_problems(
            match,
            entries.get(match.normalized_name, []),
            unpinned.get(match.normalized_name, []),
            excluded=match.normalized_name in excluded,
            judge=judge,
        )
        violations += [Violation(plugin=label, rule="lock", message=p) for p in problems]
    versions = [(n, v) for n, e in entries.items() for v, _ in e]
    versions += [(n, v) for n, vs in unpinned.items() for v in vs]
    extra = {(n, "(no version)" if v is None else str(v)) for n, v in versions if n not in seen}
    violations += [
        Violation(
            plugin=name, rule="lock", message=f"{name} {version} is locked but not in the run"
        )
        for name, version in sorted(extra)
    ]
    return violations


def _lock_refused(pylock: Pylock, here: _Installer) -> list[str]:
    """Why an installer here refuses the whole lock (``requires-python``, ``environments``)."""
    problems = []
    if not here.accepts_python(pylock.requires_python, "requires-python"):
        problems.append(
            f"the lock requires Python {pylock.requires_python}, this interpreter is "
            f"{here.python}: an installer here refuses it"
        )
    if not here.accepts_environments(pylock.environments):
        problems.append(
            "none of the lock's environments is this interpreter's: an installer here refuses it"
        )
    return problems


def _distribution_problems(
    match: WheelMatch,
    entries: Sequence[tuple[str | None, Package]],
    unpinned: Sequence[str | None],
    *,
    excluded: bool,
    judge: _EntryJudge,
) -> list[str]:
    """Why the entries of the lock that apply here do not install ``match``.

    An entry whose marker is false here cannot hide one that applies: every applicable
    entry is judged, and more than one is an ambiguity installers refuse.
    """
    what = "" if match.plugins else " (a dependency)"
    if not entries and not unpinned:
        if excluded:
            return [
                (
                    f"{match.name} {match.version}{what} is locked only for other environments "
                    "(no entry's marker holds for this interpreter): the lock does not install it"
                )
            ]
        return [f"{match.name} {match.version}{what} is not in the lock"]
    problems = []
    if len(entries) + len(unpinned) > 1:
        problems.append(
            f"{match.name}: {len(entries) + len(unpinned)} entries of the lock apply to this "
            "interpreter (an ambiguous lock, which installers refuse)"
        )
    problems += [p for version in unpinned if (p := _version_problem(match, version))]
    for version, package in entries:
        problem = _version_problem(match, version)
        problems += [problem] if problem else judge.problems(package, match)
    return problems


def _version_problem(match: WheelMatch, version: str | None) -> str:
    """Why a locked version is not the run's (PEP 440 equality); ``""`` if it is."""
    if version is None:
        return f"{match.name} is {match.version} in the run; the lock gives no version"
    if same_version(str(version), match.version):
        return ""
    return f"{match.name} is {match.version} in the run, {version} in the lock"


_BUILT = "an installer builds it, and what it builds cannot be proved to be the run's files"


@attrs.frozen(kw_only=True)
class _EntryJudge:
    """Judges one ``[[packages]]`` entry that applies here against the run's distribution."""

    here: _Installer
    lock_dir: Path

    def problems(self, package: Package, match: WheelMatch) -> list[str]:
        """Why installing this entry here would not give the run's files, if it would not."""
        label = f"{match.name} {match.version}"
        requires_python = f"requires-python of package {package.name!r}"
        if not self.here.accepts_python(package.requires_python, requires_python):
            return [
                (
                    f"{label}: the lock's entry requires Python {package.requires_python}, "
                    f"this interpreter is {self.here.python}: an installer here refuses the lock"
                )
            ]
        if package.vcs is not None:
            return [f"{label} is locked as a VCS checkout ({package.vcs.type}): {_BUILT}"]
        if package.directory is not None:
            return [f"{label} is locked as a source directory: {_BUILT}"]
        if package.archive is not None:
            return self._archive(package.archive, match)
        return self._wheels(package, match)

    def _wheels(self, package: Package, match: WheelMatch) -> list[str]:
        """Every locked wheel an installer here could pick (its tags fit) is judged.

        With none, an installer builds the sdist, or refuses the lock.
        """
        from packaging.utils import parse_wheel_filename

        wheels = [
            wheel
            for wheel in package.wheels or ()
            if not self.here.tags.isdisjoint(parse_wheel_filename(wheel.filename)[3])
        ]
        if wheels:
            return [p for w in wheels if (p := self._wheel(w.path, w.url, w.hashes, match))]
        if package.sdist is not None:
            return [f"{match.name} {match.version} is locked as a source distribution: {_BUILT}"]
        return [f"{match.name} {match.version}: no locked wheel installs on this interpreter"]

    def _archive(self, archive: PackageArchive, match: WheelMatch) -> list[str]:
        """A ``[packages.archive]``: a wheel is judged as a locked wheel; else it is built.

        Installers tell a wheel archive by its ``.whl`` suffix, as here; anything else (an
        sdist, a zip of a source tree, a subdirectory of one) they build.
        """
        name = PurePosixPath(archive.path or _url_path(archive.url)).name
        built = ""
        if not name.lower().endswith(".whl"):
            built = f"an archive that is not a wheel ({name or '?'})"
        elif archive.subdirectory is not None:
            built = "a subdirectory of an archive"
        if built:
            return [f"{match.name} {match.version} is locked as {built}: {_BUILT}"]
        problem = self._wheel(archive.path, archive.url, archive.hashes, match)
        return [problem] if problem else []

    def _wheel(
        self, path: str | None, url: str | None, hashes: Mapping[str, str], match: WheelMatch
    ) -> str:
        """Why a locked wheel at hand does not reproduce ``match``; ``""`` if it does.

        A wheel not at hand (a remote URL, nothing at the path) can only be compared by
        name and version, which the caller did.
        """
        from insidellms_provenance.fingerprint._wheel import InvalidWheelError, fingerprint_wheel

        shown = path if path is not None else str(url)
        local = _local_file(path, url, self.lock_dir)
        if local is None:
            return ""
        absent = _absent_or_unreadable(local)
        if absent is not None:
            return "" if absent == "" else f"locked wheel {shown}: {absent}"
        try:
            found = fingerprint_wheel(local)
        except InvalidWheelError as error:
            return f"locked wheel {shown}: {error}"
        expected = hashes.get("sha256")
        if expected is not None and found.digest != f"sha256:{expected}":
            return f"locked wheel {shown} is not the file the lock names (sha256 differs)"
        if found.distribution["record_digest"] != match.record_digest:
            return (
                f"{match.name} {match.version}: the run's files are not the locked wheel's "
                f"{found.filename} (record_digest differs: a silent rebuild)"
            )
        return ""


def _url_path(url: str | None) -> str:
    """The path of a URL (its last segment names the file), ``""`` without one."""
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(url or "").path)


def _local_file(path: str | None, url: str | None, lock_dir: Path) -> Path | None:
    """Where a locked file is on this machine, as an installer finds it; ``None`` if remote.

    A relative ``path`` is joined to the lock's directory lexically (``..`` removes the
    previous component, as uv does, not the parent of a symlink's target); a ``file:``
    URL of this host is its path.
    """
    import os
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    if path is not None:
        return Path(os.path.normpath(os.path.join(lock_dir, path)))
    parts = urlsplit(url or "")
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(parts.path))


def _absent_or_unreadable(path: Path) -> str | None:
    """``""`` when nothing is at ``path``, why it cannot be read, or ``None`` if something is.

    Only a missing file is "not at hand". Anything else there (a FIFO, a device, a
    directory, a symlink) is left to the wheel reader, which refuses it with the reason
    without blocking; a path the system cannot look up (too long, a loop of links, through
    a file, a NUL character) is unreadable, not silently skipped.
    """
    import os

    try:
        os.lstat(path)
    except FileNotFoundError:
        return ""
    except OSError as error:
        return f"cannot read: {error.strerror}"
    except ValueError:
        return "cannot read: the path holds a NUL character"
    return None
