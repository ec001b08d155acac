"""Dependency changes between two fields, told under every plugin that depends on them.

A dependency shared by ten plugins is recorded once in the field's ``dependencies``
table; a change to it is reported once per plugin whose closure holds it, each line
naming the plugin once (the plugin column) and the dependency once (the message):
``acme_chat  medium  dependency  unchanged; its dependency openai 1.40.0 -> 1.52.0
(minor upgrade)``. Severities follow the rules for plugins' own distributions, integrity
included. Whatever a recorded entry holds that no line describes is an ``other`` line:
two fields that differ in a dependency are never reported as equal.
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
    from typing import Any, Final

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
    yield from _name_changes(old, new)
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
    yield from _integrity_changes(label, old.get("integrity"), new.get("integrity"))
    yield from problem_changes("-", "dependency", old["problems"], new["problems"], f"{label}: ")
    old_source, new_source = was.get("source"), now.get("source")
    if old_source != new_source:
        texts = _source_text(old_source), _source_text(new_source)
        yield _change("-", "medium", f"{label}: source {texts[0]} -> {texts[1]}")
    undescribed = _undescribed_keys(was, now)
    if undescribed:
        message = (
            f"{label} {new['version']}: recorded values changed outside the compared keys: "
            + ", ".join(undescribed)
        )
        yield Change("-", "other", "low", message)


def _name_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    """The name as recorded: another spelling of one distribution, or another distribution.

    The table key is the normalized name, so a display name that changed under one key
    is a respelling (low); a normalized name that changed is another distribution under
    the key (high, as a plugin now provided by another distribution).
    """
    names = old["name"], new["name"]
    if old.get("normalized_name") != new.get("normalized_name"):
        message = f"{new['name']} {new['version']}: now {names[1]} (was {names[0]})"
        yield _change("-", "high", message, *names)
    elif names[0] != names[1]:
        message = (
            f"{new['name']} {new['version']}: name {names[0]} -> {names[1]} "
            "(the same distribution, spelt differently)"
        )
        yield _change("-", "low", message, *names)


def _integrity_changes(label: str, was: Any, now: Any) -> Iterator[Change]:  # noqa: ANN401 - checked JSON
    """An integrity that changed: critical when the files now fail RECORD, medium otherwise.

    As for a plugin (``analyze._diff``), whether bytecode was checked is not a change.
    Recording leaves a dependency's integrity ``null``; a field that says otherwise, or
    stops saying it, is reported all the same, since the digest vouches for it.
    """
    before, after = _without_bytecode(was), _without_bytecode(now)
    if before == after:
        return
    failing = after is not None and after.get("status") != "verified"
    paths = ", ".join(after.get("paths") or []) if failing and after is not None else ""
    detail = f": {paths}" if paths else ""
    statuses = _integrity_status(before), _integrity_status(after)
    message = f"{label}: integrity {statuses[0]} -> {statuses[1]}{detail}"
    yield _change("-", "critical" if failing else "medium", message, *statuses)


def _without_bytecode(integrity: Any) -> Any:  # noqa: ANN401 - checked JSON
    """An integrity without ``bytecode``: ``record`` checks caches, a host run does not."""
    if isinstance(integrity, dict):
        return {key: value for key, value in integrity.items() if key != "bytecode"}
    return integrity


def _integrity_status(integrity: Any) -> str:  # noqa: ANN401 - checked JSON
    """The status for a message; ``null`` (what recording writes) is "not recorded"."""
    return str(integrity["status"]) if isinstance(integrity, dict) else "not recorded"


# What ``_describe`` compares of a table entry's distribution by name.
_DESCRIBED: Final = frozenset(
    {"name", "normalized_name", "version", "record_digest", "code_digest", "problems", "integrity"}
)


def _undescribed_keys(was: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The keys of two entries of one dependency that differ where no line looks.

    ``code_digest`` is one of them when ``record_digest`` is equal (a recording derives
    both from the same RECORD) and both sides recorded it (v1 did not).
    """
    keys = [k for k in sorted(was.keys() | now.keys()) if k not in ("distribution", "source")]
    found = [key for key in keys if was.get(key) != now.get(key)]
    old, new = was["distribution"], now["distribution"]
    found += [
        f"distribution.{key}"
        for key in sorted(old.keys() | new.keys())
        if key not in _DESCRIBED and old.get(key) != new.get(key)
    ]
    codes = old.get("code_digest"), new.get("code_digest")
    if old["record_digest"] == new["record_digest"] and None not in codes and codes[0] != codes[1]:
        found.append("distribution.code_digest")
    return found


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
    changes = [
        _still_unsatisfied(plugin, prefix, old[key], new[key])
        for key in sorted(old.keys() & new.keys())
        if old[key] != new[key]
    ]
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


def _still_unsatisfied(
    plugin: str, prefix: str, was: Mapping[str, Any], now: Mapping[str, Any]
) -> Change:
    """A requirement unmet on both sides, for another reason or with another version."""
    whys = _why(was), _why(now)
    where = f"requirement {now['requirement']!r} of {now['required_by']}"
    if whys[0] != whys[1]:
        message = f"{prefix}still unsatisfied {where}: {whys[0]} -> {whys[1]}"
    else:
        keys = ", ".join(k for k in sorted(was.keys() | now.keys()) if was.get(k) != now.get(k))
        message = f"{prefix}still unsatisfied {where}: {keys} changed"
    return _change(plugin, "medium", message, *whys)


def unsatisfied_text(entry: Mapping[str, Any]) -> str:
    """``requirement 'lib-b>=2' of lib-a: 1.0 is installed``: one unmet requirement, for people."""
    return f"requirement {entry['requirement']!r} of {entry['required_by']}: {_why(entry)}"


def _why(entry: Mapping[str, Any]) -> str:
    if entry["reason"] == "missing":
        return "not installed"
    if entry["reason"] == "version":
        return f"{entry['installed']} is installed"
    return "cannot be read"
