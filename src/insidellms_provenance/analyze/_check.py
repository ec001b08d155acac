"""Plugin policy for CI: rules, a TOML policy file, violations.

These are the opt-in strict checks of insideLLMs' plugin manifest proposal (its phases 2
and 3: strict manifests, then determinism presets); by default manifests only warn.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from insidellms_provenance.analyze._change import determinism_rank
from insidellms_provenance.analyze._dependency_diff import unsatisfied_text
from insidellms_provenance.errors import ProvenanceError
from insidellms_provenance.field.schema import Origin, PluginFingerprint, Provenance

__all__ = [
    "CHECK_RULES",
    "DEFAULT_ON_RULES",
    "POLICY_KEYS",
    "Policy",
    "Violation",
    "check_policy",
    "policy_from",
    "read_policy_file",
]

# Every rule, as ``check --help`` and docs/check.md state it (installed users have no docs/).
CHECK_RULES: Final = (
    "on by default (turn each off with --no-RULE, e.g. --no-origin):",
    "--integrity             a plugin whose installed files do not match RECORD",
    "                        (modified or unverifiable, or not recorded: v1 fields)",
    "--load                  a plugin that failed to load or was skipped",
    "--origin                a plugin whose module is not one of its distribution's",
    "                        files (origin shadowed; unknown passes)",
    "--conflicts             a plugin that claimed a registry key another had",
    "off by default:",
    "--strict-plugins        a plugin whose manifest is missing, invalid or raised",
    "--require-determinism C a plugin whose determinism class is below C",
    "                        (deterministic > best_effort > non_deterministic >",
    "                        undeclared)",
    "--insidellms-version V  a plugin whose declared insideLLMs specifier excludes V",
    "                        (plugins that declare none pass)",
    "--allow DIST            a plugin provided by any distribution not listed",
    "--deny DIST             a plugin provided by a listed distribution",
    "--policy FILE           a TOML file with the same keys (strict-plugins,",
    "                        strict-dependencies, require-determinism,",
    "                        insidellms-version, allow, deny, integrity, load,",
    "                        origin, conflicts), at top level or under",
    "                        [tool.insidellms-provenance], not both; command-line",
    "                        options override it",
    "--lock FILE             a plugin distribution or dependency not exactly as locked",
    "                        in a PEP 751 pylock.toml: name, version, and (where the",
    "                        locked wheel is at hand) its sha256 and record_digest; a",
    "                        locked package that is not among the run's distributions",
    "Distribution names are compared after PEP 503 normalization.",
)

# Rules that hold unless turned off: what ran must be what was installed (its files, and
# the module imported being one of them), every plugin must have loaded, and no two
# plugins may have claimed the same registry key.
DEFAULT_ON_RULES: Final = ("integrity", "load", "origin", "conflicts")


def _names(values: Iterable[str]) -> frozenset[str]:
    from packaging.utils import canonicalize_name

    return frozenset(canonicalize_name(value) for value in values)


def _allowed_names(values: Iterable[str] | None) -> frozenset[str] | None:
    """An allow list's names; None (no list) stays None, and an empty list allows none."""
    return None if values is None else _names(values)


@attrs.frozen(kw_only=True)
class Policy:
    """What a run's plugins must satisfy; empty means "no rule", but for ``allow``.

    ``allow`` None is no allow list; an empty one (``allow = []`` in a policy file)
    allows no distribution, as a list of what may run that names nothing does.
    """

    integrity: bool = True
    load: bool = True
    origin: bool = True
    conflicts: bool = True
    strict_plugins: bool = False
    strict_dependencies: bool = False
    require_determinism: str | None = None
    insidellms_version: str | None = None
    allow: frozenset[str] | None = attrs.field(default=None, converter=_allowed_names)
    deny: frozenset[str] = attrs.field(default=frozenset(), converter=_names)


@attrs.frozen(kw_only=True)
class Violation:
    """One plugin breaking one rule."""

    plugin: str
    rule: str
    message: str


def read_policy_file(path: Path) -> dict[str, object]:
    """The keys of a TOML policy file (same names as the command-line options)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # the same parser, published as ``tomli`` (a dependency on Python 3.10 only)
        import tomli as tomllib
    from insidellms_provenance._safe_io import POLICY_FILE_LIMIT, FileRefusedError, read_regular

    try:
        text = read_regular(path, limit=POLICY_FILE_LIMIT).decode("utf-8")
    except FileRefusedError as error:
        raise ProvenanceError(f"{path}: {error.reason}") from None
    except UnicodeDecodeError:
        raise ProvenanceError(f"{path}: not a valid TOML policy: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProvenanceError(f"{path}: not a valid TOML policy: {error}") from None
    except RecursionError:  # the parser recurses once per nested array or inline table
        raise ProvenanceError(f"{path}: not a valid TOML policy: nested too deeply") from None
    table = _policy_table(data, path)
    unknown = sorted(table.keys() - _POLICY_TYPES.keys())
    if unknown:
        raise ProvenanceError(f"{path}: unknown policy keys: {', '.join(unknown)}")
    found = (
        f"'{key}' must be {_POLICY_TYPES[key][1]}, not {_toml_type(value)}"
        if not _POLICY_TYPES[key][0](value)
        else _value_problem(key, value)
        for key, value in sorted(table.items())
    )
    problems = [problem for problem in found if problem is not None]
    if problems:
        raise ProvenanceError(f"{path}: invalid policy", tuple(problems))
    return dict(table)


def _policy_table(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The policy keys: ``[tool.insidellms-provenance]`` (pyproject.toml) or the top level.

    Policy keys in both places are refused: the file would mean one policy to a reader
    of its table and another to a reader of its top level.
    """
    if "tool" not in data:
        return data
    tool = data["tool"]
    if not isinstance(tool, dict):
        raise ProvenanceError(f"{path}: 'tool' must be a table")
    if "insidellms-provenance" not in tool:
        return {} if set(data) == {"tool"} else data
    table = tool["insidellms-provenance"]
    if not isinstance(table, dict):
        raise ProvenanceError(f"{path}: 'tool.insidellms-provenance' must be a table")
    outside = sorted(_POLICY_TYPES.keys() & data.keys())
    if outside:
        raise ProvenanceError(
            f"{path}: policy keys both at the top level ({', '.join(outside)}) and under "
            "[tool.insidellms-provenance]; keep them in one place"
        )
    return table


def _is_names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# Each policy key, its type check and the words that name the expected type.
_POLICY_TYPES: Final[dict[str, tuple[Callable[[object], bool], str]]] = {
    "strict-plugins": (lambda value: isinstance(value, bool), "true or false"),
    "strict-dependencies": (lambda value: isinstance(value, bool), "true or false"),
    "require-determinism": (lambda value: isinstance(value, str), "a string"),
    "insidellms-version": (lambda value: isinstance(value, str), "a string"),
    "allow": (_is_names, "a list of distribution names"),
    "deny": (_is_names, "a list of distribution names"),
    "integrity": (lambda value: isinstance(value, bool), "true or false"),
    "load": (lambda value: isinstance(value, bool), "true or false"),
    "origin": (lambda value: isinstance(value, bool), "true or false"),
    "conflicts": (lambda value: isinstance(value, bool), "true or false"),
}


# The keys of a policy file, each also an option of ``check`` (``--strict-plugins``).
POLICY_KEYS: Final = tuple(_POLICY_TYPES)


def _toml_type(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}
    names |= {list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def check_policy(provenance: Provenance, policy: Policy) -> list[Violation]:
    """Every violation of ``policy`` by the plugins of ``provenance``, in load order."""
    violations = [v for plugin in provenance["plugins"] for v in _check_plugin(plugin, policy)]
    if policy.conflicts:
        for conflict in provenance["conflicts"]:
            plugins = conflict["plugins"]
            winner = f", {conflict['winner']} won" if conflict["winner"] else ""
            violations.append(
                Violation(
                    plugin=plugins[-1] if plugins else "-",
                    rule="conflicts",
                    message=f"{conflict['kind']} {conflict['key']!r} also claimed by "
                    f"{', '.join(plugins[:-1]) or '?'} ({conflict['outcome']}{winner})",
                )
            )
    return violations


def _default_rules(plugin: PluginFingerprint, policy: Policy) -> list[Violation]:
    """The rules on by default: integrity verified, plugin loaded, module its own."""
    name = plugin["entry_point"]["name"]
    violations = []
    dist = plugin["distribution"]
    if policy.integrity:
        integrity = None if dist is None else dist["integrity"]
        message = ""
        if dist is None:
            message = "integrity unknown: the plugin has no distribution, so no files to check"
        elif integrity is None:
            message = "integrity not recorded (a v1 field)"
        elif integrity["status"] != "verified":
            paths = f": {', '.join(integrity['paths'])}" if integrity["paths"] else ""
            message = f"integrity {integrity['status']}{paths}"
        if message:
            violations.append(Violation(plugin=name, rule="integrity", message=message))
    load = plugin["load"]
    if policy.load and load["status"] in ("failed", "skipped"):
        error = f" ({load['error_type']})" if load["error_type"] else ""
        violations.append(
            Violation(plugin=name, rule="load", message=f"load {load['status']}{error}")
        )
    if policy.origin:
        violations += _origin_rule(name, plugin["origin"])
    return violations


def _origin_rule(name: str, origin: Origin) -> list[Violation]:
    """``shadowed``: the module that ran is not one of its distribution's files.

    Its files may all match RECORD (``integrity`` verified) while other code ran: a
    same-named module earlier on ``sys.path``, or a package added beside a namespace
    module. ``unknown`` passes: nothing could be compared (no import, no file, no
    distribution, or no list of its files), and what stopped it is the ``load`` or
    ``integrity`` rule's to report.
    """
    if origin["status"] != "shadowed":
        return []
    versions = origin["duplicate_versions"]
    copies = f" (installed copies: {', '.join(versions)})" if versions else ""
    message = f"origin shadowed: the module imported is not one of its distribution's files{copies}"
    return [Violation(plugin=name, rule="origin", message=message)]


def _check_plugin(plugin: PluginFingerprint, policy: Policy) -> list[Violation]:
    name = plugin["entry_point"]["name"]
    manifest = plugin["manifest"]
    violations = _default_rules(plugin, policy)
    dist = plugin["distribution"]["normalized_name"] if plugin["distribution"] else ""
    if policy.allow is not None and dist not in policy.allow:
        empty = "" if policy.allow else " (the allow list is empty)"
        message = f"distribution {dist or '?'} is not allowed{empty}"
        violations.append(Violation(plugin=name, rule="allow", message=message))
    if dist in policy.deny:
        violations.append(
            Violation(plugin=name, rule="deny", message=f"distribution {dist} is denied")
        )
    if policy.strict_plugins and manifest["status"] != "ok":
        detail = f": {manifest['problems'][0]}" if manifest["problems"] else ""
        violations.append(
            Violation(
                plugin=name,
                rule="strict-plugins",
                message=f"manifest {manifest['status']}{detail}",
            )
        )
    if policy.require_determinism is not None:
        level = manifest["determinism"]["class"] if manifest["determinism"] else None
        if determinism_rank(level) > determinism_rank(policy.require_determinism):
            violations.append(
                Violation(
                    plugin=name,
                    rule="require-determinism",
                    message=f"determinism {level or 'undeclared'}, "
                    f"required {policy.require_determinism} or better",
                )
            )
    if policy.strict_dependencies:
        violations += [
            Violation(
                plugin=name,
                rule="strict-dependencies",
                message=unsatisfied_text(u),
            )
            for u in plugin.get("unsatisfied") or []
        ]
    specifier = manifest["insideLLMs"]
    if policy.insidellms_version is not None and specifier is not None:
        violations += _compatibility(name, specifier, policy.insidellms_version)
    return violations


def _compatibility(name: str, specifier: str, version: str) -> list[Violation]:
    from insidellms_provenance.analyze._versions import specifier_contains

    if specifier_contains(specifier, version):  # an unreadable specifier excludes it
        return []
    return [
        Violation(
            plugin=name,
            rule="insidellms-version",
            message=f"supports insideLLMs {specifier}, not {version}",
        )
    ]


def _value_problem(key: str, value: object) -> str | None:
    """Why a policy value of the right type is not one its rule takes; ``None`` if it is.

    Checked where the value is read, so a policy file's bad value names the file
    (:func:`read_policy_file`), and again in :func:`policy_from` for option values.
    """
    if key == "require-determinism" and value not in ("deterministic", "best_effort"):
        return f"require-determinism must be deterministic or best_effort, not {value!r}"
    if key == "insidellms-version":
        from insidellms_provenance.analyze._versions import parse_version

        if parse_version(str(value)) is None:
            return f"insidellms-version {value!r} is not a version"
    return None


def policy_from(options: Mapping[str, object]) -> Policy:
    """Build a policy from merged option values (file first, command line over it)."""
    for key in ("require-determinism", "insidellms-version"):
        problem = None if options.get(key) is None else _value_problem(key, options[key])
        if problem is not None:
            raise ProvenanceError(problem)
    determinism = options.get("require-determinism")
    version = options.get("insidellms-version")
    allow = options.get("allow")  # None: no allow list; [] allows nothing
    return Policy(
        integrity=bool(options.get("integrity", True)),
        load=bool(options.get("load", True)),
        origin=bool(options.get("origin", True)),
        conflicts=bool(options.get("conflicts", True)),
        strict_plugins=bool(options.get("strict-plugins", False)),
        strict_dependencies=bool(options.get("strict-dependencies", False)),
        require_determinism=None if determinism is None else str(determinism),
        insidellms_version=None if version is None else str(version),
        allow=None if allow is None else [str(n) for n in allow],  # type: ignore[attr-defined]
        deny=[str(n) for n in options.get("deny") or []],  # type: ignore[attr-defined]
    )
