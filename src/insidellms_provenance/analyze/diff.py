"""Compare two provenance fields: what changed, per plugin, and how much it matters.

Typical usage::

    report = diff_fields(before_value, after_value)

The ``--fail-on`` gate over a report lives in ``analyze.fail_on``.

Works on checked raw field values (see ``field.check_field``): plugins whose JSON is
equal on both sides are skipped without being structured, so very large fields with few
changes are compared at close to the cost of parsing them. Never imports plugin code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, NamedTuple

from insidellms_provenance.field.schema import (
    REGISTRY_KINDS,
    Conflict,
    DistributionInfo,
    ManifestSummary,
    PluginFingerprint,
    RegistryKeys,
    Source,
)

__all__ = [
    "CHANGE_KINDS",
    "SEVERITIES",
    "VERSION_SIZES",
    "Change",
    "DiffReport",
    "classify_version_change",
    "diff_fields",
    "version_severity",
]

SEVERITIES: Final = ("critical", "high", "medium", "low")

# Every kind of change, with what it means; docs/diff.md explains each with an example.
CHANGE_KINDS: Final = {
    "content": "same version, different installed code, data or scripts (code_digest)",
    "rebuilt": "same version and code, different packaging metadata (record_digest only)",
    "added": "a plugin entry point appeared",
    "removed": "a plugin entry point disappeared",
    "retargeted": "an entry point name now points at another object",
    "version": "the distribution's version changed",
    "distribution": "the distribution's name or RECORD/METADATA problems changed",
    "source": "where the distribution came from changed",
    "manifest": "plugin_manifest() appeared, disappeared, became invalid, or changed",
    "capabilities": "declared models, probes or datasets were added or removed",
    "compatibility": "the declared insideLLMs specifier or sdk_version changed",
    "determinism-downgrade": "the determinism class moved towards non_deterministic",
    "determinism-upgrade": "the determinism class moved towards deterministic",
    "load": "the load outcome changed",
    "origin": "the module's origin changed (shadowed, duplicate installs)",
    "registrations": "what the plugin registered in a host run changed",
    "conflict": "two plugins registering the same key appeared or disappeared",
    "dependency": "a distribution in the plugin's dependency closure changed, came or went, "
    "or a requirement became unsatisfied or satisfied",
    "group": "the entry-point group changed (of the whole field or of one entry point)",
    "other": "recorded values changed that no other kind describes",
}

# Sizes of a version change, biggest first (``classify_version_change``).
VERSION_SIZES: Final = ("major", "minor", "patch", "pre-release", "post", "dev", "local")


class Change(NamedTuple):
    """One change to one plugin (or to the run, for conflicts)."""

    plugin: str
    kind: str
    severity: str
    message: str
    before: str | None = None
    after: str | None = None
    size: str | None = None
    direction: str | None = None
    # What this change explains: the lines a version upgrade implies (the manifest's
    # own version, a new archive location), shown under it instead of beside it.
    implied: tuple[str, ...] = ()

    @property
    def sort_key(self) -> tuple[int, str, str]:
        """Most severe first, then by kind and message."""
        return (SEVERITIES.index(self.severity), self.kind, self.message)


class DiffReport(NamedTuple):
    """Both digests, the group, and every change, grouped by plugin, most severe first."""

    group: str
    before_digest: str
    after_digest: str
    changes: tuple[Change, ...]

    @property
    def identical(self) -> bool:
        """Whether the two fields record exactly the same plugin provenance."""
        return self.before_digest == self.after_digest and not self.changes


def diff_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> DiffReport:
    """Every change from the ``before`` field to the ``after`` field."""
    changes: list[Change] = []
    old_group, new_group = str(before.get("group", "")), str(after.get("group", ""))
    if old_group != new_group:
        changes.append(
            Change(
                plugin="-",
                kind="group",
                severity="high",
                message=f"group {old_group} -> {new_group}: the runs recorded different groups",
                before=old_group,
                after=new_group,
            )
        )
    if before["digest"] != after["digest"]:
        from insidellms_provenance.analyze.dependency_diff import dependency_changes

        changes += _diff_plugins(before["plugins"], after["plugins"])
        changes += dependency_changes(before, after)
    changes += _diff_conflicts(before.get("conflicts", []), after.get("conflicts", []))
    if not changes and (before["digest"] != after["digest"] or before != after):
        # Nothing a kind describes, yet the recorded content differs: say so, never hide it.
        changes.append(
            Change(
                plugin="-",
                kind="other",
                severity="low",
                message="recorded content differs outside the compared keys",
                before=str(before["digest"]),
                after=str(after["digest"]),
            )
        )
    return DiffReport(
        group=str(after.get("group", before.get("group", ""))),
        before_digest=before["digest"],
        after_digest=after["digest"],
        changes=_order(changes),
    )


def _order(changes: list[Change]) -> tuple[Change, ...]:
    """Group by plugin (plugins with the most severe change first), severity within."""
    by_plugin: dict[str, list[Change]] = {}
    for change in changes:
        by_plugin.setdefault(change.plugin, []).append(change)
    groups = sorted(
        (sorted(group, key=lambda c: c.sort_key) for group in by_plugin.values()),
        key=lambda group: (group[0].sort_key[0], group[0].plugin),
    )
    return tuple(change for group in groups for change in group)


def _structure(value: object) -> PluginFingerprint:
    """Validate a plugin entry whose JSON differs between the sides (equal ones are skipped)."""
    from insidellms_provenance.field.read import read_plugin

    return read_plugin(value, where="a provenance field")


def _own(plugin: Mapping[str, Any]) -> dict[str, Any]:
    """A plugin entry without its closure (``dependency_diff`` reports that part)."""
    return {key: value for key, value in plugin.items() if key not in _CLOSURE_KEYS}


_CLOSURE_KEYS: Final = frozenset({"dependencies", "unsatisfied"})


def _diff_plugins(before: list[Any], after: list[Any]) -> list[Change]:
    old = {(p["entry_point"]["name"], p["entry_point"]["value"]): p for p in before}
    new = {(p["entry_point"]["name"], p["entry_point"]["value"]): p for p in after}
    changes: list[Change] = []
    for key in sorted(old.keys() & new.keys()):
        if old[key] != new[key] and _own(old[key]) != _own(new[key]):
            changes += _diff_plugin(_structure(old[key]), _structure(new[key])) or [
                Change(
                    plugin=key[0],
                    kind="other",
                    severity="low",
                    message="recorded values changed outside the compared keys",
                )
            ]
    gone = {key[0]: key for key in old.keys() - new.keys()}
    came = {key[0]: key for key in new.keys() - old.keys()}
    for name in sorted(gone.keys() & came.keys()):
        was, now = _structure(old[gone.pop(name)]), _structure(new[came.pop(name)])
        changes.append(
            Change(
                plugin=name,
                kind="retargeted",
                severity="medium",
                message=f"entry point now points at {now['entry_point']['value']} "
                f"(was {was['entry_point']['value']})",
                before=was["entry_point"]["value"],
                after=now["entry_point"]["value"],
            )
        )
        changes += _diff_plugin(was, now)
    for key in gone.values():
        changes.append(_presence(_structure(old[key]), "removed", "high"))
    for key in came.values():
        changes.append(_presence(_structure(new[key]), "added", "medium"))
    return changes


def _presence(plugin: PluginFingerprint, kind: str, severity: str) -> Change:
    dist = plugin["distribution"]
    what = f"{dist['name']} {dist['version']}" if dist else "no distribution"
    return Change(
        plugin=plugin["entry_point"]["name"],
        kind=kind,
        severity=severity,
        message=f"{kind} ({what}, {plugin['entry_point']['value']})",
        before=what if kind == "removed" else None,
        after=what if kind == "added" else None,
    )


def _diff_plugin(was: PluginFingerprint, now: PluginFingerprint) -> list[Change]:
    name = now["entry_point"]["name"]
    group_change = []
    old_group, new_group = was["entry_point"]["group"], now["entry_point"]["group"]
    if old_group != new_group:
        group_change.append(
            Change(
                plugin=name,
                kind="group",
                severity="high",
                message=f"entry point group {old_group} -> {new_group}",
                before=old_group,
                after=new_group,
            )
        )
    distribution = _diff_distribution(name, was["distribution"], now["distribution"])
    upgrade = next((c for c in distribution if c.kind == "version"), None)
    # Lines the version change explains are collected here and grouped under it.
    implied: list[str] | None = [] if upgrade is not None else None
    changes = [
        *_diff_source(name, was["source"], now["source"], implied),
        *_diff_manifest(name, was["manifest"], now["manifest"], implied),
    ]
    if upgrade is not None and implied:
        grouped = upgrade._replace(implied=tuple(implied))
        distribution = [grouped if c is upgrade else c for c in distribution]
    return [
        *group_change,
        *distribution,
        *changes,
        *_diff_load(name, was, now),
        *_diff_origin(name, was, now),
        *_diff_registrations(name, was, now),
    ]


def classify_version_change(before: str, after: str) -> tuple[str, str]:
    """Direction and size of a version change, by ``packaging.version`` rules.

    Direction is ``upgrade``, ``downgrade`` or ``changed`` (equal versions spelt
    differently, or unparsable); size is ``major`` ... ``local``, or ``unparsable``.
    """
    from packaging.version import InvalidVersion, Version

    try:
        old, new = Version(before), Version(after)
    except InvalidVersion:
        return "changed", "unparsable"
    direction = "upgrade" if new > old else "downgrade" if new < old else "changed"
    width = max(len(old.release), len(new.release), 3)
    old_release = old.release + (0,) * (width - len(old.release))
    new_release = new.release + (0,) * (width - len(new.release))
    if old.epoch != new.epoch or old_release[0] != new_release[0]:
        size = "major"
    elif old_release[1] != new_release[1]:
        size = "minor"
    elif old_release != new_release:
        size = "patch"
    elif old.pre != new.pre:
        size = "pre-release"
    elif old.post != new.post:
        size = "post"
    elif old.dev != new.dev:
        size = "dev"
    else:
        size = "local"
    return direction, size


def version_severity(size: str, direction: str) -> str:
    """High for major, unparsable and downgrades; medium for minor; low otherwise."""
    if size in ("major", "unparsable") or direction == "downgrade":
        return "high"
    return "medium" if size == "minor" else "low"


def _diff_distribution(
    name: str, was: DistributionInfo | None, now: DistributionInfo | None
) -> list[Change]:
    if was is None or now is None:
        if was == now:
            return []
        return [
            Change(
                plugin=name,
                kind="distribution",
                severity="medium",
                message="distribution " + ("appeared" if was is None else "disappeared"),
            )
        ]
    changes = []
    renamed = was["name"] != now["name"]
    if renamed or was["normalized_name"] != now["normalized_name"]:
        changes.append(
            Change(
                plugin=name,
                kind="distribution",
                severity="high",
                message=f"now provided by {now['name']} (was {was['name']})"
                if renamed
                else f"normalized name {was['normalized_name']} -> {now['normalized_name']}",
                before=was["name"] if renamed else was["normalized_name"],
                after=now["name"] if renamed else now["normalized_name"],
            )
        )
    if was["version"] != now["version"]:
        direction, size = classify_version_change(was["version"], now["version"])
        severity = version_severity(size, direction)
        changes.append(
            Change(
                plugin=name,
                kind="version",
                severity=severity,
                message=f"{now['name']} {was['version']} -> {now['version']} ({size} {direction})",
                before=was["version"],
                after=now["version"],
                size=size,
                direction=direction,
            )
        )
    elif was["record_digest"] != now["record_digest"]:
        changes.append(_content_change(name, was, now))
    changes.extend(
        Change(
            plugin=name,
            kind="distribution",
            severity="medium",
            message=f"new problem: {problem}",
            after=problem,
        )
        for problem in sorted(set(now["problems"]) - set(was["problems"]))
    )
    changes.extend(
        Change(
            plugin=name,
            kind="distribution",
            severity="low",
            message=f"problem gone: {problem}",
            before=problem,
        )
        for problem in sorted(set(was["problems"]) - set(now["problems"]))
    )
    return changes


def _content_change(name: str, was: DistributionInfo, now: DistributionInfo) -> Change:
    """Same version, different ``record_digest``: a code change, or only metadata.

    Only when both sides carry an equal ``code_digest`` (fields of schema v2) is the
    change known to leave every file outside the metadata directory as it was.
    """
    old_code, new_code = was.get("code_digest"), now.get("code_digest")
    if old_code is not None and old_code == new_code:
        return Change(
            plugin=name,
            kind="rebuilt",
            severity="medium",
            message=f"{now['name']} {now['version']}: same version and code, different "
            "packaging metadata - rebuilt distribution",
            before=was["record_digest"],
            after=now["record_digest"],
        )
    return Change(
        plugin=name,
        kind="content",
        severity="critical",
        message=f"{now['name']} {now['version']}: same version, different installed "
        "files - rebuilt or tampered distribution",
        before=was["record_digest"],
        after=now["record_digest"],
    )


def _short(text: str | None) -> str:
    """Digests and commits abbreviated for messages; full values stay in before/after."""
    if text is None:
        return "-"
    if text.startswith("sha256:"):
        return text[:19]
    if len(text) == 40 and all(c in "0123456789abcdef" for c in text):
        return text[:12]
    return text


def _describe_source(source: Source | None) -> str:
    if source is None:
        return "unknown"
    where = source["url"] or source["local_name"]
    return f"{source['kind']} {where}" if where else source["kind"]


def _diff_source(
    name: str, was: Source | None, now: Source | None, implied: list[str] | None
) -> list[Change]:
    """Source changes; with ``implied`` (a version changed), what the upgrade explains.

    A new location of the same kind (the new version's archive) is implied by an
    upgrade. New code in an editable install under the same version is the same fact as
    a rebuilt wheel under the same version, so it is ``content``, critical.
    """
    if was == now:
        return []
    if was is None or now is None:
        return [
            Change(
                plugin=name,
                kind="source",
                severity="medium",
                message=f"source {_describe_source(was)} -> {_describe_source(now)}",
            )
        ]
    pairs = [
        ("kind and location", _describe_source(was), _describe_source(now)),
        ("VCS", was["vcs"], now["vcs"]),
        ("VCS commit", was["commit"], now["commit"]),
        ("requested revision", was["requested_revision"], now["requested_revision"]),
        ("editable", str(was["editable"]).lower(), str(now["editable"]).lower()),
        ("editable source", was["editable_digest"], now["editable_digest"]),
    ]
    changes = []
    explained = False
    for label, old, new in pairs:
        if old == new:
            continue
        message = f"{label}: {_short(old)} -> {_short(new)}"
        same_kind = was["kind"] == now["kind"]
        if implied is not None and same_kind and label in ("kind and location", "editable source"):
            implied.append(message)
            explained = True
            continue
        both_editable = was["editable"] and now["editable"]
        if label == "editable source" and both_editable and implied is None:
            message = (
                f"same version, different editable source files: {_short(old)} -> {_short(new)}"
            )
            changes.append(
                Change(
                    plugin=name,
                    kind="content",
                    severity="critical",
                    message=message,
                    before=old,
                    after=new,
                )
            )
            continue
        changes.append(
            Change(
                plugin=name,
                kind="source",
                severity="medium",
                message=message,
                before=old,
                after=new,
            )
        )
    if changes or explained:
        return changes
    return [Change(plugin=name, kind="source", severity="low", message="source problems changed")]


def _diff_manifest(
    name: str, was: ManifestSummary, now: ManifestSummary, implied: list[str] | None
) -> list[Change]:
    if was == now:
        return []
    changes: list[Change] = []
    if was["status"] != now["status"]:
        worse = now["status"] in ("missing", "invalid", "error")
        changes.append(
            Change(
                plugin=name,
                kind="manifest",
                severity="medium" if worse else "low",
                message=f"manifest {was['status']} -> {now['status']}",
                before=was["status"],
                after=now["status"],
            )
        )
    if {was["status"], now["status"]} & {"missing", "error"}:
        # The manifest appeared or disappeared: the status line says it all.
        return changes
    changes += _diff_capabilities(name, was["capabilities"], now["capabilities"])
    for label, old, new in (
        ("insideLLMs specifier", was["insideLLMs"], now["insideLLMs"]),
        ("sdk_version", was["sdk_version"], now["sdk_version"]),
    ):
        if old != new:
            changes.append(
                Change(
                    plugin=name,
                    kind="compatibility",
                    severity="medium",
                    message=f"{label}: {old or '-'} -> {new or '-'}",
                    before=old,
                    after=new,
                )
            )
    changes += _diff_determinism(name, was, now)
    summarized = [
        ("name", was["name"], now["name"]),
        ("version", was["version"], now["version"]),
        ("requires", was["requires"], now["requires"]),
        ("problems", was["problems"], now["problems"]),
        ("determinism.notes", _notes(was), _notes(now)),
    ]
    # With an upgrade, the manifest's own version is reported under it.
    keys = [
        label
        for label, old, new in summarized
        if old != new and not (label == "version" and implied is not None)
    ]
    if implied is not None and was["version"] != now["version"]:
        implied.append(f"manifest version: {was['version'] or '-'} -> {now['version'] or '-'}")
    if keys:
        changes.append(
            Change(
                plugin=name,
                kind="manifest",
                severity="low",
                message="manifest keys changed: " + ", ".join(keys),
            )
        )
    explained = implied is not None and was["version"] != now["version"]
    if not changes and not explained and was["digest"] != now["digest"]:
        changes.append(
            Change(
                plugin=name,
                kind="manifest",
                severity="low",
                message="manifest changed outside the summarized keys",
                before=was["digest"],
                after=now["digest"],
            )
        )
    return changes


def _notes(manifest: ManifestSummary) -> str | None:
    determinism = manifest["determinism"]
    return determinism["notes"] if determinism else None


def _level(manifest: ManifestSummary) -> str | None:
    determinism = manifest["determinism"]
    return determinism["class"] if determinism else None


def _key_changes(
    was: RegistryKeys | None, now: RegistryKeys | None
) -> Iterator[tuple[str, bool, str]]:
    """(kind, added?, sorted keys) for every registry kind whose keys changed."""
    for kind in REGISTRY_KINDS:
        old = set(was[kind]) if was else set()
        new = set(now[kind]) if now else set()
        for added, keys in ((True, new - old), (False, old - new)):
            if keys:
                yield kind, added, ", ".join(sorted(keys))


def _diff_capabilities(
    name: str, was: RegistryKeys | None, now: RegistryKeys | None
) -> list[Change]:
    return [
        Change(
            plugin=name,
            kind="capabilities",
            severity="medium",
            message=f"{kind} {'added' if added else 'removed'}: {keys}",
            before=None if added else keys,
            after=keys if added else None,
        )
        for kind, added, keys in _key_changes(was, now)
    ]


def _diff_determinism(name: str, was: ManifestSummary, now: ManifestSummary) -> list[Change]:
    old, new = _level(was), _level(now)
    if old == new:
        return []
    from insidellms_provenance.fingerprint.plugin_manifest import determinism_rank

    rank_old, rank_new = determinism_rank(old), determinism_rank(new)
    downgrade = rank_new > rank_old
    return [
        Change(
            plugin=name,
            kind="determinism-downgrade" if downgrade else "determinism-upgrade",
            severity="high" if downgrade else "low",
            message=f"determinism {old or 'undeclared'} -> {new or 'undeclared'}",
            before=old,
            after=new,
        )
    ]


def _load_text(plugin: PluginFingerprint) -> str:
    """The whole load outcome: status, exception type and message, as far as recorded."""
    load = plugin["load"]
    text = f"{load['status']} ({load['error_type']})" if load["error_type"] else load["status"]
    return f"{text}: {load['error_message']}" if load["error_message"] else text


def _diff_load(name: str, was: PluginFingerprint, now: PluginFingerprint) -> list[Change]:
    if was["load"] == now["load"]:
        return []
    regression = was["load"]["status"] == "loaded" and now["load"]["status"] != "loaded"
    message = f"load {_load_text(was)} -> {_load_text(now)}"
    return [
        Change(
            plugin=name,
            kind="load",
            severity="high" if regression else "medium",
            message=message,
            before=_load_text(was),
            after=_load_text(now),
        )
    ]


def _diff_origin(name: str, was: PluginFingerprint, now: PluginFingerprint) -> list[Change]:
    changes = []
    old_status, new_status = was["origin"]["status"], now["origin"]["status"]
    if old_status != new_status:
        severity = "high" if new_status == "shadowed" else "low"
        changes.append(
            Change(
                plugin=name,
                kind="origin",
                severity=severity,
                message=f"origin {old_status} -> {new_status}",
                before=old_status,
                after=new_status,
            )
        )
    old, new = was["origin"]["duplicate_versions"], now["origin"]["duplicate_versions"]
    if old != new:
        severity = "high" if new else "low"
        text = f"duplicate installs: {', '.join(new)}" if new else "duplicate installs gone"
        changes.append(
            Change(
                plugin=name,
                kind="origin",
                severity=severity,
                message=text,
                before=", ".join(old) or None,
                after=", ".join(new) or None,
            )
        )
    return changes


def _diff_registrations(name: str, was: PluginFingerprint, now: PluginFingerprint) -> list[Change]:
    changes = []
    for label, old, new in (
        ("registered", was["registered"], now["registered"]),
        ("replaced", was["replaced"], now["replaced"]),
    ):
        changes += [
            Change(
                plugin=name,
                kind="registrations",
                severity="high" if label == "replaced" and added else "low",
                message=f"{'now' if added else 'no longer'} {label} {kind}: {keys}",
            )
            for kind, added, keys in _key_changes(old, new)
        ]
    return changes


def _diff_conflicts(before: Iterable[Any], after: Iterable[Any]) -> list[Change]:
    from insidellms_provenance.field.read import read_conflict

    def index(values: Iterable[Any]) -> dict[tuple[str, str], Conflict]:
        conflicts = (read_conflict(value, where="a provenance field") for value in values)
        return {(c["kind"], c["key"]): c for c in conflicts}

    old, new = index(before), index(after)
    changes = []
    for key in sorted(new.keys() - old.keys()):
        conflict = new[key]
        winner = f", {conflict['winner']} won" if conflict["winner"] else ""
        changes.append(
            Change(
                plugin=conflict["plugins"][-1] if conflict["plugins"] else "-",
                kind="conflict",
                severity="high",
                message=f"conflict on {conflict['kind']} {conflict['key']!r} between "
                f"{', '.join(conflict['plugins'])} ({conflict['outcome']}{winner})",
            )
        )
    for key in sorted(old.keys() - new.keys()):
        conflict = old[key]
        changes.append(
            Change(
                plugin=conflict["plugins"][-1] if conflict["plugins"] else "-",
                kind="conflict",
                severity="low",
                message=f"conflict on {conflict['kind']} {conflict['key']!r} resolved",
            )
        )
    return changes
