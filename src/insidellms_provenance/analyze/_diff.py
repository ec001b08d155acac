"""Compare two provenance fields: what changed, per plugin, and how much it matters.

Typical usage::

    report = diff_fields(before_value, after_value)

The ``--fail-on`` gate over a report lives in ``analyze._fail_on``.

Works on checked raw field values (see ``field.check_field``): plugins whose JSON is
equal on both sides are skipped without being structured, so very large fields with few
changes are compared at close to the cost of parsing them. Never imports plugin code.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping

from insidellms_provenance.analyze._change import (
    Change,
    determinism_rank,
    problem_changes,
    same_version_change,
    version_change,
)
from insidellms_provenance.field._names import REGISTRY_KINDS

TYPE_CHECKING = False  # typing is not imported at run time (see analyze._change)
if TYPE_CHECKING:
    from typing import Any, Final, NamedTuple

    from insidellms_provenance.field.schema import (
        Conflict,
        DistributionInfo,
        ManifestSummary,
        PluginFingerprint,
        RegistryKeys,
        Source,
    )

__all__ = ["DiffReport", "diff_fields"]


if TYPE_CHECKING:

    class _DiffReportFields(NamedTuple):
        group: str
        before_digest: str
        after_digest: str
        changes: tuple[Change, ...]
        notes: tuple[str, ...] = ()

else:
    _DiffReportFields = namedtuple(  # noqa: PYI024 - typed above, for the type checker
        "DiffReport", "group before_digest after_digest changes notes", defaults=((),)
    )


class DiffReport(_DiffReportFields):
    """Both digests, the group, and every change, grouped by plugin, most severe first.

    ``notes`` say what could not be compared; they are not changes, so no policy fails
    on them.
    """

    __slots__ = ()

    @property
    def identical(self) -> bool:
        """Whether the two fields record exactly the same plugin provenance."""
        return self.before_digest == self.after_digest and not self.changes


NOT_COMPARABLE: Final = (
    "load outcomes, registrations and conflicts not compared: {before} before, {after} after"
)


def _observation(field: Mapping[str, Any]) -> str:
    return "observed in a host run" if field.get("observed_in_run") else "recorded outside a run"


def diff_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> DiffReport:
    """Every change from the ``before`` field to the ``after`` field.

    Load outcomes, registrations and conflicts are compared only when both fields got
    them the same way (both observed in a host run, or both by importing outside one);
    otherwise a note says so once.
    """
    changes: list[Change] = []
    notes: list[str] = []
    comparable = bool(before.get("observed_in_run")) == bool(after.get("observed_in_run"))
    if not comparable:
        notes.append(NOT_COMPARABLE.format(before=_observation(before), after=_observation(after)))
    old_group, new_group = str(before.get("group", "")), str(after.get("group", ""))
    if old_group != new_group:
        note = ": the runs recorded different groups"
        changes.append(_transition("-", "group", "high", "group", old_group, new_group, note=note))
    if before["digest"] != after["digest"]:
        from insidellms_provenance.analyze._dependency_diff import dependency_changes

        old_plugins, new_plugins = _unshared(before["plugins"], after["plugins"])
        changes += _diff_plugins(old_plugins, new_plugins, observed=comparable)
        if (before.get("dependencies") or {}) == (after.get("dependencies") or {}):
            # One table: a plugin on both sides has the same closure, and no entry changed.
            changes += dependency_changes(
                {**before, "plugins": old_plugins}, {**after, "plugins": new_plugins}
            )
        else:
            changes += dependency_changes(before, after)
    if comparable:
        changes += _diff_conflicts(before.get("conflicts", []), after.get("conflicts", []))
    if not changes and _differs(before, after, observed=comparable):
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
        notes=tuple(notes),
    )


def _unshared(before: list[Any], after: list[Any]) -> tuple[list[Any], list[Any]]:
    """Both plugin lists without the entries that are one object on both sides.

    Such an entry (``diff`` reads equal plugins so: ``runfile._read.load_field_pair``)
    has the same entry point on both sides and nothing to report, and entry points
    are unique on each side, so leaving it out changes no result.
    """
    if len(before) == len(after):  # the common case: the same entry points, one list each
        pairs = [(was, now) for was, now in zip(before, after, strict=True) if was is not now]
        return [was for was, _ in pairs], [now for _, now in pairs]
    shared = {id(plugin) for plugin in before} & {id(plugin) for plugin in after}
    return [p for p in before if id(p) not in shared], [p for p in after if id(p) not in shared]


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
    from insidellms_provenance.field._read import read_plugin

    return read_plugin(value, where="a provenance field")


def _own(plugin: Mapping[str, Any]) -> dict[str, Any]:
    """A plugin entry without its closure (``dependency_diff`` reports that part)."""
    return {key: value for key, value in plugin.items() if key not in _CLOSURE_KEYS}


_CLOSURE_KEYS: Final = frozenset({"dependencies", "unsatisfied"})


def _diff_plugins(before: list[Any], after: list[Any], *, observed: bool) -> list[Change]:
    """Match plugins by entry point (name, value); pair the rest by name as retargeted.

    Entry points of one name that are on one side only are paired in value order; what
    is left unpaired is added or removed, every one of them reported. A plugin whose
    only change is its closure is left to ``dependency_diff``.
    """
    old = {(p["entry_point"]["name"], p["entry_point"]["value"]): p for p in before}
    new = {(p["entry_point"]["name"], p["entry_point"]["value"]): p for p in after}
    changes: list[Change] = []
    for key in sorted(old.keys() & new.keys()):
        if old[key] != new[key] and _own(old[key]) != _own(new[key]):
            changes += _diff_plugin(
                _structure(old[key]), _structure(new[key]), observed=observed
            ) or _other_change(key[0], old[key], new[key], observed=observed)
    gone = _by_name(old.keys() - new.keys())
    came = _by_name(new.keys() - old.keys())
    for name in sorted(gone.keys() & came.keys()):
        pairs = list(zip(gone[name], came[name], strict=False))
        gone[name] = gone[name][len(pairs) :]
        came[name] = came[name][len(pairs) :]
        for was_key, now_key in pairs:
            was, now = _structure(old[was_key]), _structure(new[now_key])
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
            changes += _diff_plugin(was, now, observed=observed)
    for keys in gone.values():
        changes += [_presence(_structure(old[key]), "removed", "high") for key in keys]
    for keys in came.values():
        changes += [_presence(_structure(new[key]), "added", "medium") for key in keys]
    return changes


def _other_change(name: str, was: object, now: object, *, observed: bool) -> list[Change]:
    """The ``other`` line for a plugin whose JSON differs in nothing a kind describes.

    Parts that are not compared are not "other": load outcomes and registrations when
    the two fields observed them differently, an integrity or ``code_digest`` a v1 field
    did not record, whether bytecode was checked (``record`` checks it, a host run does
    not), and the closure (``dependency_diff`` compares it).
    """
    if _comparable_plugins(was, now, observed=observed):
        return []
    return [
        Change(
            plugin=name,
            kind="other",
            severity="low",
            message="recorded values changed outside the compared keys",
        )
    ]


def _comparable_plugins(
    was: object, now: object, *, observed: bool, closures: bool = False
) -> bool:
    """Whether two plugin entries are equal in what :func:`_other_change` compares.

    With ``closures``, a plugin's ``dependencies`` and ``unsatisfied`` are compared too
    (the final check of :func:`_differs`, where nothing is left to ``dependency_diff``).
    """
    if not (isinstance(was, dict) and isinstance(now, dict)):
        return was == now
    sides = [
        {
            k: v
            for k, v in p.items()
            if (closures or k not in _CLOSURE_KEYS) and (observed or k not in _OBSERVED_KEYS)
        }
        for p in (was, now)
    ]
    return _comparable_distributions(sides[0], sides[1])


def _comparable_distributions(was: dict[str, Any], now: dict[str, Any]) -> bool:
    """Whether two entries holding a ``distribution`` are equal but for what is not compared.

    The entries are plugins or dependencies. A ``code_digest`` one side did not record
    (a v1 field, or no RECORD) and an integrity only one side recorded prove nothing;
    whether bytecode was checked is not a change. Both entries are copies, modified here.
    """
    dists: list[Any] = [side.get("distribution") for side in (was, now)]
    if all(isinstance(dist, dict) for dist in dists):
        if any(dist.get("code_digest") is None for dist in dists):
            dists = [{k: v for k, v in dist.items() if k != "code_digest"} for dist in dists]
        integrities: list[Any] = [dist.get("integrity") for dist in dists]
        both = all(isinstance(integrity, dict) for integrity in integrities)
        for side, dist, integrity in zip((was, now), dists, integrities, strict=True):
            kept = {k: v for k, v in integrity.items() if k != "bytecode"} if both else None
            side["distribution"] = {**dist, "integrity": kept}
    return was == now


_OBSERVED_KEYS: Final = frozenset({"load", "registered", "replaced"})


def _differs(before: Mapping[str, Any], after: Mapping[str, Any], *, observed: bool) -> bool:
    """Whether two fields differ in anything compared (see :func:`_other_change`).

    The last word before "nothing changed": the dependency table and the plugins'
    closures are compared here too, whole, when both fields recorded them (fields
    written before closures were recorded have no table, and nothing is said of it).
    """
    closures = "dependencies" in before and "dependencies" in after

    def rest(field: Mapping[str, Any]) -> dict[str, Any]:
        skipped = {"digest", "observed_in_run", "plugins", "dependencies"}
        skipped |= set() if observed else {"conflicts"}
        return {k: v for k, v in field.items() if k not in skipped}

    old, new = before.get("plugins"), after.get("plugins")
    if rest(before) != rest(after) or not (isinstance(old, list) and isinstance(new, list)):
        return True
    if closures and not _comparable_tables(before["dependencies"], after["dependencies"]):
        return True
    return len(old) != len(new) or not all(
        was is now or _comparable_plugins(was, now, observed=observed, closures=closures)
        for was, now in zip(old, new, strict=True)
    )


def _comparable_tables(before: object, after: object) -> bool:
    """Two dependency tables equal in what is compared (see :func:`_comparable_distributions`)."""
    if not (isinstance(before, dict) and isinstance(after, dict)) or before.keys() != after.keys():
        return before == after
    return all(
        _comparable_distributions(dict(was), dict(now))
        if isinstance(was, dict) and isinstance(now, dict)
        else was == now
        for was, now in ((before[name], after[name]) for name in before)
    )


def _by_name(keys: Iterable[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Entry-point keys grouped by name, each group in value order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for key in sorted(keys):
        groups.setdefault(key[0], []).append(key)
    return groups


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


def _diff_plugin(was: PluginFingerprint, now: PluginFingerprint, *, observed: bool) -> list[Change]:
    """Changes of one plugin; load and registrations only when ``observed`` alike."""
    name = now["entry_point"]["name"]
    group_change = []
    old_group, new_group = was["entry_point"]["group"], now["entry_point"]["group"]
    if old_group != new_group:
        group_change.append(
            _transition(name, "group", "high", "entry point group", old_group, new_group)
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
        *_diff_integrity(name, was["distribution"], now["distribution"]),
        *changes,
        *(_diff_load(name, was, now) if observed else []),
        *_diff_origin(name, was, now),
        *(_diff_registrations(name, was, now) if observed else []),
    ]


def _diff_integrity(
    name: str, was: DistributionInfo | None, now: DistributionInfo | None
) -> list[Change]:
    """A change of integrity status or of the files at fault; v1 fields recorded none.

    Critical whenever the files now fail to match RECORD (what ran is not what was
    installed); medium when they match again.
    """
    before = was["integrity"] if was else None
    after = now["integrity"] if now else None
    if before is None or after is None:
        return []
    if (before["status"], before["paths"]) == (after["status"], after["paths"]):
        return []
    verified = after["status"] == "verified"
    detail = "" if verified else f": {', '.join(after['paths'])}"
    note = ""
    if before["bytecode"] != after["bytecode"]:
        note = f" (bytecode {before['bytecode']} -> {after['bytecode']})"
    severity = "medium" if verified else "critical"
    old, new = before["status"], after["status"]
    return [_transition(name, "integrity", severity, "integrity", old, new, note=detail + note)]


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
    # The readers hold each normalized_name to its name's normalized form: a name that
    # did not change kept its normalized form.
    if was["name"] != now["name"]:
        message = f"now provided by {now['name']} (was {was['name']})"
        changes.append(Change(name, "distribution", "high", message, was["name"], now["name"]))
    same_version = was["version"] == now["version"]
    if not same_version:
        versions = version_change(name, "version", now["name"], was["version"], now["version"])
        changes.append(versions)
        same_version = versions.respelled
    if same_version and was["record_digest"] != now["record_digest"]:
        changes.append(_content_change(name, was, now))
    changes += problem_changes(name, "distribution", was["problems"], now["problems"])
    return changes


def _content_change(name: str, was: DistributionInfo, now: DistributionInfo) -> Change:
    """Same version, different ``record_digest``: a code change, or only metadata.

    Only when both sides carry an equal ``code_digest`` (fields of schema v2) is the
    change known to leave every file outside the metadata directory as it was.
    """
    old_code, new_code = was.get("code_digest"), now.get("code_digest")
    return same_version_change(
        name,
        f"{now['name']} {now['version']}",
        was["record_digest"],
        now["record_digest"],
        same_code=old_code is not None and old_code == new_code,
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


def _dash(text: str | None) -> str:
    return text or "-"


def _undeclared(text: str | None) -> str:
    return text or "undeclared"


def _transition(  # noqa: PLR0913, PLR0917 - a change's fields, and how to show its values
    plugin: str,
    kind: str,
    severity: str,
    what: str,
    before: str | None,
    after: str | None,
    *,
    note: str = "",
    shown: Callable[[str | None], str] = str,
) -> Change:
    """A value that changed: ``what before -> after`` (each as ``shown``), then ``note``.

    ``before`` and ``after`` are kept whole in the change; the message may abbreviate them.
    """
    message = f"{what} {shown(before)} -> {shown(after)}{note}"
    return Change(plugin, kind, severity, message, before=before, after=after)


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
        changes.append(_transition(name, "source", "medium", f"{label}:", old, new, shown=_short))
    if changes or explained:
        return changes
    return [Change(plugin=name, kind="source", severity="low", message="source problems changed")]


def _diff_manifest(
    name: str, was: ManifestSummary, now: ManifestSummary, implied: list[str] | None
) -> list[Change]:
    if was == now:
        return []
    changes: list[Change] = []
    statuses = was["status"], now["status"]
    if was["status"] != now["status"]:
        worse = now["status"] in ("missing", "invalid", "error")
        severity = "medium" if worse else "low"
        changes.append(_transition(name, "manifest", severity, "manifest", *statuses))
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
                _transition(name, "compatibility", "medium", f"{label}:", old, new, shown=_dash)
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
    rank_old, rank_new = determinism_rank(old), determinism_rank(new)
    downgrade = rank_new > rank_old
    kind = "determinism-downgrade" if downgrade else "determinism-upgrade"
    severity = "high" if downgrade else "low"
    return [_transition(name, kind, severity, "determinism", old, new, shown=_undeclared)]


def _load_text(plugin: PluginFingerprint) -> str:
    """The whole load outcome: status, exception type and message, as far as recorded."""
    load = plugin["load"]
    text = f"{load['status']} ({load['error_type']})" if load["error_type"] else load["status"]
    return f"{text}: {load['error_message']}" if load["error_message"] else text


def _diff_load(name: str, was: PluginFingerprint, now: PluginFingerprint) -> list[Change]:
    if was["load"] == now["load"]:
        return []
    regression = was["load"]["status"] == "loaded" and now["load"]["status"] != "loaded"
    severity = "high" if regression else "medium"
    return [_transition(name, "load", severity, "load", _load_text(was), _load_text(now))]


def _diff_origin(name: str, was: PluginFingerprint, now: PluginFingerprint) -> list[Change]:
    changes = []
    old_status, new_status = was["origin"]["status"], now["origin"]["status"]
    if old_status != new_status:
        severity = "high" if new_status == "shadowed" else "low"
        changes.append(_transition(name, "origin", severity, "origin", old_status, new_status))
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
    """Conflicts are one per pair of plugins and key: matched by (kind, key, plugins)."""
    from insidellms_provenance.field._read import read_conflict

    def index(values: Iterable[Any]) -> dict[_ConflictKey, list[Conflict]]:
        found: dict[_ConflictKey, list[Conflict]] = {}
        for value in values:
            conflict = read_conflict(value, where="a provenance field")
            key = (conflict["kind"], conflict["key"], tuple(conflict["plugins"]))
            found.setdefault(key, []).append(conflict)
        return {key: sorted(group, key=_conflict_text) for key, group in found.items()}

    old, new = index(before), index(after)
    changes = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key, []), new.get(key, [])
        for was_one, now_one in zip(was, now, strict=False):
            if was_one != now_one:
                changes.append(_conflict_change(now_one, "changed", was_one))
        changes += [_conflict_change(conflict, "appeared") for conflict in now[len(was) :]]
        changes += [_conflict_change(conflict, "resolved") for conflict in was[len(now) :]]
    return changes


_ConflictKey = tuple[str, str, tuple[str, ...]]


def _conflict_text(conflict: Conflict) -> str:
    winner = f", {conflict['winner']} won" if conflict["winner"] else ""
    return f"{conflict['outcome']}{winner}"


def _conflict_change(conflict: Conflict, what: str, was: Conflict | None = None) -> Change:
    plugins = conflict["plugins"]
    where = f"conflict on {conflict['kind']} {conflict['key']!r} between {', '.join(plugins)}"
    if what == "resolved":
        message, severity = f"{where} resolved", "low"
    elif was is not None:
        message = f"{where}: {_conflict_text(was)} -> {_conflict_text(conflict)}"
        severity = "high"
    else:
        message, severity = f"{where} ({_conflict_text(conflict)})", "high"
    return Change(
        plugin=plugins[-1] if plugins else "-",
        kind="conflict",
        severity=severity,
        message=message,
        before=_conflict_text(was) if was else None,
        after=None if what == "resolved" else _conflict_text(conflict),
    )
