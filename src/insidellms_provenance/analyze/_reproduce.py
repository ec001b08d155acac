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
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from insidellms_provenance._safe_io import FileRefusedError, read_regular
from insidellms_provenance.analyze._check import Violation
from insidellms_provenance.analyze.export._common import NAMESPACE
from insidellms_provenance.errors import InvalidFieldError, ProvenanceError
from insidellms_provenance.field.schema import DistributionInfo, Provenance, Source
from insidellms_provenance.fingerprint._wheel import WheelFingerprint

__all__ = [
    "MATCH_TEXT",
    "UNPACKED_CHANGED",
    "MatchStatus",
    "WheelMatch",
    "dependency_owners",
    "lock_violations",
    "match_wheels",
    "read_lock",
    "same_version",
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
    from packaging.version import InvalidVersion, Version

    try:
        return Version(left) == Version(right)
    except InvalidVersion:
        return left == right


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
    # An archive is preferred to an unpacked wheel (a cache directory): it has a sha256.
    exact = sorted(
        (f for f in fingerprints if f.distribution["record_digest"] == digest),
        key=lambda f: f.unpacked,
    )
    if exact:
        return attrs.evolve(found, status="exact", wheel=exact[0])
    listed = sorted(
        (f for f in fingerprints if f.listed_digest == digest), key=lambda f: f.unpacked
    )
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


def lock_violations(
    provenance: Provenance, lock: Mapping[str, Any], lock_dir: Path, *, where: str = "field"
) -> list[Violation]:
    """How the run's distributions (its plugins' and their dependencies) differ from the lock.

    A dependency's violations are shown under the plugins whose closure holds it. Names
    and versions must be exactly the locked ones (packages, and the lock's own
    ``[tool.insidellms-provenance] unpinned`` list); where a locked wheel is at hand
    (``path`` relative to ``lock_dir``), its sha256 must be the locked one and its
    fingerprint the run's ``record_digest``.
    """
    from insidellms_provenance.fingerprint._wheel import fingerprint_wheel

    tool = lock.get("tool", {}).get(NAMESPACE, {})
    locked: dict[str, tuple[str | None, list[Mapping[str, Any]]]] = {
        str(entry["name"]): (entry.get("version"), []) for entry in tool.get("unpinned", [])
    }
    for package in lock.get("packages", []):
        locked[str(package["name"])] = (package.get("version"), list(package.get("wheels", [])))
    violations: list[Violation] = []
    seen: set[str] = set()
    for match in match_wheels(provenance, (), where=where):
        label = ", ".join(match.plugins or match.required_by)
        seen.add(match.normalized_name)
        if match.normalized_name not in locked:
            what = "" if match.plugins else " (a dependency)"
            message = f"{match.name} {match.version}{what} is not in the lock"
            violations.append(Violation(plugin=label, rule="lock", message=message))
            continue
        version, wheels = locked[match.normalized_name]
        if version is None or not same_version(str(version), match.version):
            message = f"{match.name} is {match.version} in the run, {version} in the lock"
            violations.append(Violation(plugin=label, rule="lock", message=message))
            continue
        for wheel in wheels:
            problem = _locked_wheel_problem(wheel, lock_dir, match, fingerprint_wheel)
            if problem is not None:
                violations.append(Violation(plugin=label, rule="lock", message=problem))
    violations += [
        Violation(
            plugin=name, rule="lock", message=f"{name} {version} is locked but not in the run"
        )
        for name, (version, _) in sorted(locked.items())
        if name not in seen
    ]
    return violations


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


def _locked_wheel_problem(
    wheel: Mapping[str, Any],
    lock_dir: Path,
    match: WheelMatch,
    fingerprint: Callable[[Path], WheelFingerprint],
) -> str | None:
    """Why a locked wheel at hand does not reproduce ``match``; ``None`` if it does."""
    from insidellms_provenance.fingerprint._wheel import InvalidWheelError

    path = wheel.get("path")
    if not isinstance(path, str):
        return None
    absent = _absent_or_unreadable(lock_dir / path)
    if absent is not None:  # not at hand: name and version are all that can be compared
        return None if absent == "" else f"locked wheel {path}: {absent}"
    try:
        found = fingerprint(lock_dir / path)
    except InvalidWheelError as error:
        return f"locked wheel {path}: {error}"
    expected = wheel.get("hashes", {}).get("sha256")
    if expected is not None and found.digest != f"sha256:{expected}":
        return f"locked wheel {path} is not the file the lock names (sha256 differs)"
    if found.distribution["record_digest"] != match.record_digest:
        return (
            f"{match.name} {match.version}: the run's files are not the locked wheel's "
            f"{found.filename} (record_digest differs: a silent rebuild)"
        )
    return None
