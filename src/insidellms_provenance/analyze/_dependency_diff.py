"""Dependency changes between two fields, told under every plugin that depends on them.

A dependency shared by ten plugins is recorded once in the field's ``dependencies``
table; a change to it is reported once per plugin whose closure holds it, each line
naming the plugin once (the plugin column) and the dependency once (the message):
``acme_chat  medium  dependency  unchanged; its dependency openai 1.40.0 -> 1.52.0
(minor upgrade)``. Severities follow the rules for plugins' own distributions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from insidellms_provenance.analyze._change import (
    Change,
    problem_changes,
    same_version_change,
    version_change,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["dependency_changes", "unsatisfied_text"]

_OWN_KEYS = ("dependencies", "unsatisfied")


def dependency_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Changes of the closures of plugins present on both sides (same entry point)."""
    old_table = before.get("dependencies") or {}
    new_table = after.get("dependencies") or {}
    old_plugins = {_key(p): p for p in before["plugins"]}
    new_plugins = {_key(p): p for p in after["plugins"]}
    changes: list[Change] = []
    described: dict[str, list[Change]] = {}
    same_table = old_table == new_table
    for key in sorted(old_plugins.keys() & new_plugins.keys()):
        was, now = old_plugins[key], new_plugins[key]
        if was is now and same_table:
            continue  # one object on both sides (diff reads equal plugins so), one table
        if [was.get(k) for k in _OWN_KEYS] == [now.get(k) for k in _OWN_KEYS] and all(
            old_table.get(name) == new_table.get(name) for name in now.get("dependencies", [])
        ):
            continue
        unchanged = _without_dependencies(was) == _without_dependencies(now)
        prefix = "unchanged; " if unchanged else ""
        plugin = key[0]
        old_names = set(was.get("dependencies", []))
        new_names = set(now.get("dependencies", []))
        for name in sorted(old_names | new_names):
            if name not in described:
                described[name] = list(_describe(name, old_table.get(name), new_table.get(name)))
            if name not in new_names:
                entry = old_table.get(name)
                message = f"{prefix}no longer depends on {_label(name, entry)}"
                changes.append(_change(plugin, "medium", message, before=_version(entry)))
            elif name not in old_names:
                entry = new_table.get(name)
                message = f"{prefix}new dependency {_label(name, entry)}"
                changes.append(_change(plugin, "medium", message, after=_version(entry)))
            else:
                changes += [
                    change._replace(
                        plugin=plugin, message=f"{prefix}its dependency {change.message}"
                    )
                    for change in described[name]
                ]
        changes += _unsatisfied_changes(plugin, prefix, was, now)
    return changes + _unclaimed(before, after, described)


def _unclaimed(
    before: Mapping[str, Any], after: Mapping[str, Any], described: Mapping[str, object]
) -> list[Change]:
    """Table entries that changed under no plugin: only a hand-edited field has them."""
    old_table = before.get("dependencies") or {}
    new_table = after.get("dependencies") or {}
    claimed = {
        name
        for side in (before, after)
        for p in side["plugins"]
        for name in p.get("dependencies", [])
    }
    return [
        _change("-", "low", f"dependency table entry {name} changed under no plugin")
        for name in sorted(old_table.keys() | new_table.keys())
        if name not in claimed
        and name not in described
        and old_table.get(name) != new_table.get(name)
    ]


def _change(
    plugin: str, severity: str, message: str, before: str | None = None, after: str | None = None
) -> Change:
    """A change of kind ``dependency``."""
    return Change(plugin, "dependency", severity, message, before=before, after=after)


def _key(plugin: Mapping[str, Any]) -> tuple[str, str]:
    return (plugin["entry_point"]["name"], plugin["entry_point"]["value"])


def _without_dependencies(plugin: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in plugin.items() if key not in _OWN_KEYS}


def _version(entry: Mapping[str, Any] | None) -> str | None:
    return entry["distribution"]["version"] if entry else None


def _label(name: str, entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return name
    return f"{entry['distribution']['name']} {entry['distribution']['version']}"


def _describe(
    name: str, was: Mapping[str, Any] | None, now: Mapping[str, Any] | None
) -> Iterator[Change]:
    """One dependency's changes, under no plugin yet (``dependency_changes`` names it)."""
    if was == now or was is None or now is None:
        return
    old, new = was["distribution"], now["distribution"]
    label = new["name"] or name
    same_version = old["version"] == new["version"]
    if not same_version:
        versions = version_change("-", "dependency", label, old["version"], new["version"])
        yield versions
        same_version = versions.respelled
    if same_version and (
        old["record_digest"] != new["record_digest"]
        or _editable_digest(was) != _editable_digest(now)
    ):
        old_code = old.get("code_digest")
        same_code = old_code is not None and old_code == new.get("code_digest")
        digests = old["record_digest"], new["record_digest"]
        if digests[0] != digests[1]:
            # As for a plugin: same version and code, other packaging metadata, or not.
            which = f"{label} {new['version']}"
            yield same_version_change("-", which, *digests, same_code=same_code, kind="dependency")
        else:
            message = f"{label} {new['version']}: same version, different editable source"
            yield _change("-", "critical", message, *digests)
    yield from problem_changes("-", "dependency", old["problems"], new["problems"], f"{label}: ")
    old_source, new_source = was.get("source"), now.get("source")
    if old_source != new_source:
        texts = _source_text(old_source), _source_text(new_source)
        yield _change("-", "medium", f"{label}: source {texts[0]} -> {texts[1]}")


def _editable_digest(entry: Mapping[str, Any]) -> str | None:
    """Same version, different editable source tree: the same fact as a rebuilt wheel."""
    source = entry.get("source") or {}
    return source.get("editable_digest") if source.get("editable") else None


def _source_text(source: Mapping[str, Any] | None) -> str:
    if source is None:
        return "unknown"
    parts = [source["kind"]]
    where = source.get("url") or source.get("local_name")
    if where:
        parts.append(where)
    if source.get("commit"):
        parts.append(str(source["commit"])[:12])
    if source.get("editable_digest"):
        parts.append(str(source["editable_digest"])[:19])
    return " ".join(parts)


def _unsatisfied_changes(
    plugin: str, prefix: str, was: Mapping[str, Any], now: Mapping[str, Any]
) -> list[Change]:
    def index(entries: list[Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
        return {(e["required_by"], e["requirement"]): e for e in entries}

    old, new = index(was.get("unsatisfied", [])), index(now.get("unsatisfied", []))
    changes = []
    for key in sorted(new.keys() - old.keys()):
        entry = new[key]
        message = f"{prefix}unsatisfied {unsatisfied_text(entry)}"
        changes.append(_change(plugin, "high", message, after=_why(entry)))
    for key in sorted(old.keys() - new.keys()):
        entry = old[key]
        message = (
            f"{prefix}satisfied again: requirement {entry['requirement']!r} of "
            f"{entry['required_by']}"
        )
        changes.append(_change(plugin, "low", message, before=_why(entry)))
    return changes


def unsatisfied_text(entry: Mapping[str, Any]) -> str:
    """``requirement 'lib-b>=2' of lib-a: 1.0 is installed``: one unmet requirement, for people."""
    return f"requirement {entry['requirement']!r} of {entry['required_by']}: {_why(entry)}"


def _why(entry: Mapping[str, Any]) -> str:
    if entry["reason"] == "missing":
        return "not installed"
    if entry["reason"] == "version":
        return f"{entry['installed']} is installed"
    return "cannot be read"
