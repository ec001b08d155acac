"""Read a provenance field: check its shape, schema and digest against the one schema.

Readers get the parsed values themselves, validated against the ``TypedDict``s of
:mod:`insidellms_provenance.field.schema` and typed as them: nothing is copied.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Mapping

import orjson

from insidellms_provenance._canonical import canonical_digest, sha256_digest
from insidellms_provenance.errors import InvalidFieldError, NotCanonicalizableError
from insidellms_provenance.field._names import SCHEMA_V1, SCHEMA_V2, normalized_name

TYPE_CHECKING = False  # typing is not imported: it would be ≈ 3 ms of diff's start-up
if TYPE_CHECKING:
    from typing import Any, cast

    from insidellms_provenance.field.schema import Conflict, PluginFingerprint, Provenance
else:

    def cast(_type: object, value: object) -> object:
        """``typing.cast``: the value itself, for the type checker's sake."""
        return value


__all__ = [
    "KNOWN_SCHEMAS",
    "check_field",
    "other_group",
    "read_conflict",
    "read_field",
    "read_field_beside",
    "read_plugin",
    "require_group",
    "validate_checked",
]

KNOWN_SCHEMAS = frozenset({SCHEMA_V1, SCHEMA_V2})


PluginText = Callable[[int, bytes], object]


def other_group(value: Mapping[str, object], group: str | None) -> str | None:
    """Why a field is not of the entry-point group ``group`` (None: any), or None if it is."""
    if group is None or value.get("group") == group:
        return None
    return f"recorded for group {value.get('group')!r}, not {group!r}"


def require_group(value: Mapping[str, object], *, where: str, group: str | None) -> None:
    """Refuse a field recorded for another entry-point group than ``group`` (None: any).

    Raises :class:`InvalidFieldError`: a command told ``--group`` reads no other group's
    plugins as if they were that group's.
    """
    reason = other_group(value, group)
    if reason is not None:
        raise InvalidFieldError(f"{where}: {reason}")


def check_field(
    value: object, *, where: str, each_plugin: PluginText | None = None
) -> dict[str, Any]:
    """Check a field's schema string and digest, and upgrade it to the current schema.

    Does not validate its plugins, so it stays cheap for very large fields: the digest
    is recomputed with ``orjson``'s sorted output, which is canonical for every field
    this package writes (no floats, no keys at or above U+E000); only when that
    disagrees is the full RFC 8785 writer used to decide. A v1 field (its digest covers
    ``plugins`` only) is checked as written, then returned upgraded to v2.

    ``each_plugin``, for a reader of two fields (``diff``), is called with the index and
    the sorted ``orjson`` text of each plugin of a current-schema field, the pieces the
    digest is computed from; when orjson cannot write a plugin, later ones are not
    passed (the caller counts them).
    """
    if not isinstance(value, dict):
        raise InvalidFieldError(f"{where}: provenance field is not a JSON object")
    schema = value.get("schema")
    if schema not in KNOWN_SCHEMAS:
        known = ", ".join(sorted(KNOWN_SCHEMAS))
        raise InvalidFieldError(f"{where}: unknown provenance schema {schema!r} (known: {known})")
    plugins = value.get("plugins")
    if not isinstance(plugins, list):
        raise InvalidFieldError(f"{where}: provenance field is malformed: 'plugins' is not a list")
    _check_load_order(plugins, where)
    from insidellms_provenance.field._build import digested_part

    sealed = digested_part(value)
    try:
        if each_plugin is not None and schema == SCHEMA_V2 and sealed is not plugins:
            fast = _sorted_digest(cast("dict[str, Any]", sealed), plugins, each_plugin)
        else:
            fast = sha256_digest(orjson.dumps(sealed, option=orjson.OPT_SORT_KEYS))
    except orjson.JSONEncodeError:
        fast = None
    digest = value.get("digest")
    if fast != digest:
        at = "field.plugins" if sealed is plugins else "field"
        if _canonical_digest(sealed, where=where, at=at) != digest:
            what = "its plugins" if sealed is plugins else "its content"
            raise InvalidFieldError(f"{where}: provenance digest does not match {what}")
    if schema == SCHEMA_V1:
        _refuse_keys_v1_never_had(value, where)
        return _upgrade_v1(value, where)
    return value


def _canonical_digest(value: object, *, where: str, at: str) -> str:
    """``canonical_digest(value)``; a value no JSON writer wrote is refused naming the file.

    NaN, infinities, lone surrogates, integers beyond 2**53 and too deep nesting cannot
    be canonical JSON. The JSON path of each culprit (``$`` being the value digested,
    ``at`` in the field) is kept, but an integer's digits are counted, not repeated: a
    4,000-digit number would fill the terminal.
    """
    try:
        return canonical_digest(value)
    except NotCanonicalizableError as error:
        problems = error.issues or (error.message,)
        issues = tuple(
            _counted_digits(at + problem[1:] if problem.startswith("$") else problem)
            for problem in problems  # the last may be "(and perhaps more)"
        )
        raise InvalidFieldError(f"{where}: provenance field is malformed", issues) from None


def _counted_digits(problem: str) -> str:
    """``problem`` with a long integer written as its count of digits."""
    import re

    return re.sub(
        r"\binteger (-?)(\d{20,})",
        lambda found: f"{'negative ' if found[1] else ''}integer of {len(found[2])} digits",
        problem,
    )


def _refuse_keys_v1_never_had(value: dict[str, Any], where: str) -> None:
    """Refuse a field labelled v1 holding keys v1's published schema does not allow.

    Upgrading keeps what v1 recorded; a key v1 never had (``observed_in_run``, an
    ``integrity`` saying ``verified``) would otherwise pass into the v2 field as if
    recorded, and ``check`` would trust it. The v1 shape is the frozen schema shipped
    beside v2's (``schemas/plugin-provenance-v1.schema.json``): it is read only here.
    """
    schema = _v1_schema()
    issues: list[str] = []
    _unknown_keys(value, schema, schema["$defs"], "field", issues)
    if issues:
        raise InvalidFieldError(f"{where}: provenance field is malformed", tuple(issues))


def _v1_schema() -> dict[str, Any]:
    """The v1 JSON Schema, read once (``audit`` may read many v1 fields)."""
    if not _V1_SCHEMA:
        import json
        from pathlib import Path

        schema_file = Path(__file__).parent / "schemas" / "plugin-provenance-v1.schema.json"
        _V1_SCHEMA.update(json.loads(schema_file.read_text(encoding="utf-8")))
    return _V1_SCHEMA


_V1_SCHEMA: dict[str, Any] = {}


def _unknown_keys(
    value: object, node: dict[str, Any], defs: dict[str, Any], path: str, issues: list[str]
) -> None:
    """Append each key of ``value`` the JSON Schema ``node`` does not allow, with its path.

    Only keys are judged: types and allowed values are validated after the upgrade, by
    the v2 schema, whose shape for every v1 key is the same.
    """
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    for alternative in node.get("anyOf", ()):  # nullable objects: the one that is an object
        if alternative.get("type") != "null":
            _unknown_keys(value, alternative, defs, path, issues)
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(value):
            _unknown_keys(item, node["items"], defs, f"{path}[{index}]", issues)
    if not isinstance(value, dict) or node.get("type") != "object":
        return
    known = node.get("properties", {})
    more = node.get("additionalProperties")
    for key, item in value.items():
        if key in known or isinstance(more, dict):
            _unknown_keys(item, known.get(key, more), defs, f"{path}.{key}", issues)
        else:
            issues.append(f"{path}: unexpected key {key!r} (schema v1 has no such key)")


def _sorted_digest(sealed: dict[str, Any], plugins: list[Any], each_plugin: PluginText) -> str:
    """``sha256_digest(orjson.dumps(sealed, option=OPT_SORT_KEYS))``, written plugin by plugin.

    The same bytes: orjson sorts keys by code point, as ``sorted`` does, and writes a
    list's items as it writes each alone. Each plugin's text is passed to ``each_plugin``.
    """
    import hashlib

    sort = orjson.OPT_SORT_KEYS
    digest = hashlib.sha256()
    separator = b"{"
    for key in sorted(sealed):
        digest.update(separator + orjson.dumps(key) + b":")
        separator = b","
        if key != "plugins":
            digest.update(orjson.dumps(sealed[key], option=sort))
            continue
        update = digest.update
        update(b"[")
        for index, plugin in enumerate(plugins):
            text = orjson.dumps(plugin, option=sort)
            if index:
                update(b",")  # not joined to the text: that would copy it
            update(text)
            each_plugin(index, text)
        update(b"]")
    digest.update(b"}")
    return "sha256:" + digest.hexdigest()


def _upgrade_v1(value: dict[str, Any], where: str) -> dict[str, Any]:
    """A v1 field as v2: what v1 did not record is null, and registrations tell the run.

    v1 recorded neither ``integrity`` nor (0.1.0) ``code_digest``: both are ``None``.
    v1 recorded ``registered`` only for plugins observed in a host run, so a field with
    any non-null ``registered`` was observed in one. The digest is that of the result.
    """
    from insidellms_provenance.field._build import digested_part

    plugins = []
    for plugin in value["plugins"]:
        if isinstance(plugin, dict) and isinstance(plugin.get("distribution"), dict):
            plugins.append({**plugin, "distribution": _v2_distribution(plugin["distribution"])})
        else:
            plugins.append(plugin)
    observed = any(isinstance(p, dict) and p.get("registered") is not None for p in plugins)
    upgraded = {
        "schema": SCHEMA_V2,
        "group": value.get("group"),
        "digest": "",
        "observed_in_run": observed,
        "plugins": plugins,
        "conflicts": value.get("conflicts", []),
    }
    upgraded.update({key: item for key, item in value.items() if key not in upgraded})
    table = upgraded.get("dependencies")
    if isinstance(table, dict):
        upgraded["dependencies"] = {
            name: {**entry, "distribution": _v2_distribution(entry["distribution"])}
            if isinstance(entry, dict) and isinstance(entry.get("distribution"), dict)
            else entry
            for name, entry in table.items()
        }
    # A v1 digest over ``plugins`` alone did not vouch for ``conflicts``: maybe not JSON.
    upgraded["digest"] = _canonical_digest(digested_part(upgraded), where=where, at="field")
    return upgraded


def _v2_distribution(dist: dict[str, Any]) -> dict[str, Any]:
    """A v1 ``distribution`` with v2's keys: ``code_digest`` after ``record_digest``."""
    upgraded: dict[str, Any] = {}
    for key, item in dist.items():
        upgraded[key] = item
        if key == "record_digest":
            upgraded.setdefault("code_digest", dist.get("code_digest"))
    upgraded.setdefault("code_digest", None)
    upgraded.setdefault("integrity", None)
    return upgraded


def _check_load_order(plugins: list[Any], where: str) -> None:
    """Plugins are written sorted by (name, value), each entry point once; refuse others.

    A reordered or duplicated list never comes from a recording, and every reader would
    otherwise have to decide which copy counts.
    """
    try:  # the common case, checked at C speed: every key there, in order
        keys = [
            (plugin["entry_point"]["name"], plugin["entry_point"]["value"]) for plugin in plugins
        ]
        if all(map(operator.lt, keys, itertools.islice(keys, 1, None))):
            return
    except (KeyError, TypeError, RecursionError):  # RecursionError: deeply nested keys
        pass
    # Out of order, or keys of other types or missing: decided one by one.
    keys = []
    for plugin in plugins:
        entry_point = plugin.get("entry_point") if isinstance(plugin, dict) else None
        if not isinstance(entry_point, dict):
            return  # structuring names this problem precisely
        name, value = entry_point.get("name"), entry_point.get("value")
        if not (isinstance(name, str) and isinstance(value, str)):
            return
        keys.append((name, value))
    if any(earlier >= later for earlier, later in itertools.pairwise(keys)):
        raise InvalidFieldError(
            f"{where}: provenance field is malformed: plugins are not in load order "
            "or an entry point is listed twice"
        )


def read_field(value: object, *, where: str, each_plugin: PluginText | None = None) -> Provenance:
    """Check a field read from a file and validate all of it; ``where`` names it in errors.

    ``each_plugin``: see :func:`check_field`. With it, each plugin is also validated
    when its text is written (by the schema's generated predicate, while the plugin is
    still in the processor's caches: one pass over a large field instead of two); if
    any plugin fails, or not every plugin was passed, the whole field is walked as
    without it, so the messages are the same.
    """
    from insidellms_provenance.field._validate import generated_predicate

    valid = generated_predicate("PluginFingerprint") if each_plugin is not None else None
    plugins = value.get("plugins") if isinstance(value, dict) else None
    if valid is None or each_plugin is None or not isinstance(plugins, list):
        checked = check_field(value, where=where, each_plugin=each_plugin)
        _raise_on_field_issues(checked, where, checked["plugins"])
        return cast("Provenance", checked)
    passed = [0]  # plugins that passed the predicate
    plugin_text = each_plugin

    def each(index: int, text: bytes) -> None:
        if valid(plugins[index]):
            passed[0] += 1
        plugin_text(index, text)

    checked = check_field(value, where=where, each_plugin=each)
    every = checked is value and passed[0] == len(plugins)
    fresh = [] if every else checked["plugins"]
    _raise_on_field_issues(checked, where, fresh, named=checked["plugins"])
    return cast("Provenance", checked)


def read_field_beside(value: object, *, where: str, validated: Mapping[str, Any]) -> Provenance:
    """:func:`read_field` for the second of two fields, ``validated`` being the first.

    The same acceptance as :func:`read_field`: plugins that are the same JSON as the
    plugin of the same entry point in ``validated`` (types included, :func:`_same_json`)
    passed the same validation there and are not walked again, so ``diff`` of two large
    fields validates the unchanged plugins once.
    """
    checked = check_field(value, where=where)
    # A plugin that is the very object validated there is equal to it (``diff`` reads a
    # pair so: runfile._read.load_field_pair); the others are compared by entry point.
    same = {id(plugin) for plugin in validated["plugins"]}
    fresh = [p for p in checked["plugins"] if id(p) not in same]
    if fresh:
        known = {_plugin_key(plugin): plugin for plugin in validated["plugins"]}
        fresh = [p for p in fresh if not _same_json(known.get(_plugin_key(p), _MISSING), p)]
    _raise_on_field_issues(checked, where, fresh)
    return cast("Provenance", checked)


_MISSING = object()


def _same_json(validated: object, other: object) -> bool:
    """Whether ``other`` is the JSON value ``validated`` is, types included.

    ``==`` is not enough: it takes ``0`` and ``0.0`` for ``false`` and ``1.0`` for ``1``,
    which the schema tells apart. Values ``==`` finds equal differ at most in such types
    (and key order), which orjson writes differently (``false``, ``0``, ``0.0``), so
    their bytes decide; a value orjson cannot write is not vouched for (validated).
    """
    if validated != other:
        return False
    try:
        return orjson.dumps(validated) == orjson.dumps(other)
    except orjson.JSONEncodeError:
        return False


def validate_checked(checked: dict[str, Any], *, where: str, fresh: list[Any]) -> Provenance:
    """Validate a field :func:`check_field` returned, walking only the plugins in ``fresh``.

    For a reader of many fields in turn (``audit``): the caller vouches that every other
    plugin is exactly a value that passed this validation before (the same JSON, types
    included: ``0`` is not ``false``), so the acceptance is :func:`read_field`'s.
    """
    _raise_on_field_issues(checked, where, fresh)
    return cast("Provenance", checked)


def _raise_on_field_issues(
    checked: dict[str, Any], where: str, fresh: list[Any], *, named: list[Any] | None = None
) -> None:
    """Validate a checked field but its plugins, and its plugins in ``fresh``.

    Each plugin is named by its own index in the field (``field.plugins[2]``), not by
    its place among ``fresh``; every issue is collected before one error is raised.
    The distributions of the plugins in ``named`` (default: ``fresh``) and of the
    dependency table must hold their names' normalized forms (:func:`_name_issues`).
    """
    from insidellms_provenance.field._validate import validate

    issues = validate({**checked, "plugins": fresh}, "Provenance", "field", size=len(fresh))
    if issues and len(fresh) < len(checked["plugins"]):
        # ``fresh`` keeps the field's order, so its indexes are the field's only when it
        # holds every plugin. Otherwise walk again, on this error path only.
        issues = validate({**checked, "plugins": []}, "Provenance", "field")
        wanted = {id(plugin) for plugin in fresh}
        for index, plugin in enumerate(checked["plugins"]):
            if id(plugin) in wanted:
                issues += validate(plugin, "PluginFingerprint", f"field.plugins[{index}]")
    if not issues:
        issues = _name_issues(checked, fresh if named is None else named)
    if issues:
        raise InvalidFieldError(f"{where}: provenance field is malformed", tuple(issues))


def _name_issues(field: dict[str, Any], plugins: list[Any]) -> list[str]:
    """Each valid distribution whose ``normalized_name`` is not the PEP 503 form of its name.

    Readers show ``name`` and compare ``normalized_name`` (``check --deny``, a lock, an
    SBOM's package URL): a field in which they disagree would be one plugin to people
    and another to the rules, and no recording writes one. The first few are named and
    the rest counted: a hostile field of thousands would otherwise be a line of megabytes.
    """
    dependencies = field.get("dependencies") or {}
    wrong = [
        entry
        for entry in itertools.chain(plugins, dependencies.values())
        if entry["distribution"] is not None and not _normalized_right(entry["distribution"])
    ]
    if not wrong:
        return []
    places = {
        id(plugin): f"field.plugins[{index}]" for index, plugin in enumerate(field["plugins"])
    }
    places.update(
        (id(entry), f"field.dependencies[{name!r}]") for name, entry in dependencies.items()
    )
    issues = []
    for entry in wrong[:_MAX_NAME_ISSUES]:
        dist = entry["distribution"]
        issues.append(
            f"{places[id(entry)]}.distribution.normalized_name: "
            f"{dist['normalized_name']!r} is not the normalized form of {dist['name']!r}"
        )
    if len(wrong) > _MAX_NAME_ISSUES:
        issues.append(f"(and {len(wrong) - _MAX_NAME_ISSUES} more)")
    return issues


_MAX_NAME_ISSUES = 10
"""How many wrong names :func:`_name_issues` spells out, as ``_canonical._MAX_PROBLEMS``."""


def _normalized_right(dist: Mapping[str, Any]) -> bool:
    """Whether ``dist``'s ``normalized_name`` is the PEP 503 form of its ``name``."""
    name, normalized = dist["name"], dist["normalized_name"]
    return _in_normal_form(name, normalized) or normalized_name(name) == normalized


def _in_normal_form(name: str, normalized: str) -> bool:
    """Whether ``name``, equal to ``normalized``, is its own PEP 503 form (most names are).

    The same answer as ``normalized_name(name) == name`` without the regular expression,
    on every reader's path: a name is its own normal form when it holds no ``_`` or
    ``.``, no two ``-`` in a row and no character ``lower()`` changes. A name that is
    not (``Demo_Plugin`` recorded as its own normal form) goes to the full check.
    """
    return (
        name == normalized
        and "_" not in name
        and "." not in name
        and "--" not in name
        and name == name.lower()
    )


def _plugin_key(plugin: object) -> object:
    entry_point = plugin.get("entry_point") if isinstance(plugin, dict) else None
    if isinstance(entry_point, dict):
        return (entry_point.get("name"), entry_point.get("value"))
    return id(plugin)


def read_plugin(value: object, *, where: str, index: object = "?") -> PluginFingerprint:
    """Validate one plugin entry of a field checked with :func:`check_field`."""
    _raise_on_issues(value, "PluginFingerprint", where, f"field.plugins[{index}]")
    return cast("PluginFingerprint", value)


def read_conflict(value: object, *, where: str, index: object = "?") -> Conflict:
    """Validate one conflict of a field checked with :func:`check_field`."""
    _raise_on_issues(value, "Conflict", where, f"field.conflicts[{index}]")
    return cast("Conflict", value)


def _raise_on_issues(value: object, cls: str, where: str, path: str) -> None:
    """Validate ``value`` as the schema's class named ``cls``; raise naming every issue."""
    from insidellms_provenance.field._validate import validate

    plugins = value.get("plugins") if isinstance(value, dict) else None
    issues = validate(value, cls, path, size=len(plugins) if isinstance(plugins, list) else 1)
    if issues:
        raise InvalidFieldError(f"{where}: provenance field is malformed", tuple(issues))
