"""Load the host's plugins (through the hook) and describe what they declared and did."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from typing import Any, TypedDict

import attrs

from insidellms_provenance.field.schema import PluginFingerprint, Provenance
from insidellms_provenance.host._observer import HOST_REGISTRIES, OBSERVER

__all__ = ["HostView", "load_host", "plugin_problems"]


@attrs.frozen(kw_only=True)
class HostView:
    """The group's provenance, with registry contents when insideLLMs is installed."""

    provenance: Provenance
    host_version: str | None
    registries: dict[str, list[str]] | None
    owners: dict[tuple[str, str], str]
    builtins: frozenset[tuple[str, str]]


def load_host(group: str) -> HostView:
    """Import insideLLMs if installed (its plugins load, observed by the hook) and record.

    With insideLLMs installed, the import runs in a child process
    (:mod:`insidellms_provenance.fingerprint._isolation`): plugin code the host loads may
    end the process or hang, and that must become an error here, never a silent exit 0.
    """
    host_version = _host_version()
    if host_version is None:
        from insidellms_provenance.fingerprint._recorder import record

        return HostView(
            provenance=record(group, isolated=True),
            host_version=None,
            registries=None,
            owners={},
            builtins=frozenset(),
        )
    return _load_in_child(group, host_version)


def _load_in_child(group: str, host_version: str) -> HostView:
    """Ask a child to import insideLLMs; its one answer, checked, or one error line.

    The answer is read as :func:`~insidellms_provenance.fingerprint._isolation.converse`
    reads every child's: plugin code the host loads can reach the child's report pipe,
    so an answer that is not the tool's own, or not the shape the child sends, is an
    error like a plugin ending the process, never a traceback nor a view taken on trust.
    """
    from insidellms_provenance.errors import ProvenanceError
    from insidellms_provenance.fingerprint._isolation import (
        ChildFailed,
        ProtocolViolation,
        converse,
        new_key,
        spawn,
        timeout,
    )

    key = new_key()
    try:
        child = spawn(f"{__name__}:_serve", {"group": group, "key": key})
        answers = list(converse(child, timeout(), key))
        return _view(answers, host_version)
    except ChildFailed as failed:
        if isinstance(failed, ProtocolViolation):
            cause = f"its answer was not the tool's own: {failed}"
        elif failed.timed_out:
            cause = failed.cause
        else:
            cause = f"a plugin ended the process ({failed})"
        raise ProvenanceError(
            f"importing insideLLMs failed: {cause} while it loaded the plugins of group "
            f"{group}: {', '.join(_plugin_names(group)) or '-'}"
        ) from None


class _ViewAnswer(TypedDict):
    """What the child sends as ``view``: a :class:`HostView`'s values, as JSON."""

    provenance: Provenance
    registries: dict[str, list[str]]
    owners: list[list[str]]  # [kind, name, owner]
    builtins: list[list[str]]  # [kind, name]


def _view(answers: list[dict[str, Any]], host_version: str) -> HostView:
    """The view in the child's one answer, valid, with its plugins' strings redacted again.

    Raises :class:`~insidellms_provenance.fingerprint._isolation.ProtocolViolation`
    for anything else, and ``ProvenanceError`` for the child's own error.
    """
    from insidellms_provenance.field._validate import validate
    from insidellms_provenance.fingerprint._isolation import ProtocolViolation, Redactor

    again = Redactor()
    if len(answers) != 1 or answers[0].keys() not in ({"view"}, {"error"}):
        raise ProtocolViolation("not one 'view' or 'error' message")
    if "error" in answers[0]:
        from insidellms_provenance.errors import ProvenanceError

        if not isinstance(answers[0]["error"], str):
            raise ProtocolViolation("an error that is not a string")
        raise ProvenanceError(again(answers[0]["error"]))
    view = answers[0]["view"]
    issues = validate(view, _ViewAnswer, "view")
    issues += [
        f"view.{name}: an entry of {size} strings expected"
        for name, size in (("owners", 3), ("builtins", 2))
        if not issues and any(len(entry) != size for entry in view[name])
    ]
    if issues:
        raise ProtocolViolation(f"a malformed answer ({again(issues[0])})")
    return HostView(
        provenance=_redacted_again(view["provenance"], again),
        host_version=host_version,
        registries=view["registries"],
        owners={(kind, name): owner for kind, name, owner in view["owners"]},
        builtins=frozenset((kind, name) for kind, name in view["builtins"]),
    )


def _redacted_again(provenance: Provenance, again: Callable[[Any], Any]) -> Provenance:
    """``provenance`` with each plugin's load and manifest strings redacted again.

    As the CLI's import child's answers are (the same strings, redacted by the child
    already: the tool's own field comes out unchanged); resealed if that changed any.
    """
    from insidellms_provenance.field._build import field_digest

    changed = False
    for plugin in provenance["plugins"]:
        for key in ("load", "manifest"):
            value = again(plugin[key])
            changed = changed or value is not plugin[key]
            plugin[key] = value
    if changed:
        provenance["digest"] = field_digest(provenance)
    return provenance


def _plugin_names(group: str) -> list[str]:
    """The group's plugins (the hook's own left out): those the host was loading."""
    from insidellms_provenance.fingerprint._discover import discover

    return sorted({ep.name for ep in discover(group)})


def _serve(spec: dict[str, Any]) -> None:
    """The child: import insideLLMs (its plugins load) and send what the hook saw."""
    from insidellms_provenance.fingerprint._child import serve_child

    def work(send: Callable[[dict[str, Any]], None]) -> None:
        from insidellms_provenance.errors import ProvenanceError

        try:
            view = _load_here(spec["group"])
        except ProvenanceError as error:
            send({"error": str(error)})
            return
        send(
            {
                "view": {
                    "provenance": view.provenance,
                    "registries": view.registries,
                    "owners": sorted([*key, owner] for key, owner in view.owners.items()),
                    "builtins": sorted(list(key) for key in view.builtins),
                }
            }
        )

    serve_child(work, spec["key"])


def _load_here(group: str) -> HostView:
    """Import insideLLMs in this process (the child's): its plugins load, and record."""
    from insidellms_provenance.fingerprint._recorder import record
    from insidellms_provenance.host.plugin import current_field

    try:
        import insideLLMs  # type: ignore[import-not-found]  # noqa: F401
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - the host's (or a plugin's) failure
        # SystemExit from a plugin the host loads on import must not end us with 0.
        from insidellms_provenance.errors import ProvenanceError
        from insidellms_provenance.fingerprint._loader import describe_error

        error_type, message = describe_error(error)
        raise ProvenanceError(f"importing insideLLMs failed: {error_type}: {message}") from None
    host_registry: Any = sys.modules.get("insideLLMs.registry")
    registries = {
        kind: sorted(getattr(host_registry, name).list())
        for kind, name in HOST_REGISTRIES.items()
        if hasattr(host_registry, name)
    }
    provenance = current_field() if OBSERVER.observations else record(group, isolated=True)
    return HostView(
        provenance=provenance,
        host_version=None,
        registries=registries,
        owners=dict(OBSERVER.owners),
        builtins=frozenset(OBSERVER.builtins),
    )


def _host_version() -> str | None:
    """InsideLLMs' installed version, its METADATA read safely (never a FIFO or device)."""
    from importlib import metadata

    from insidellms_provenance.fingerprint._dist_files import read_dist_text
    from insidellms_provenance.fingerprint._distribution import name_and_version

    try:
        dist = metadata.distribution("insideLLMs")
    except metadata.PackageNotFoundError:
        return None
    text = read_dist_text(dist, "METADATA")
    version = name_and_version(text, [])[1] if text else ""
    return version or None


def plugin_problems(plugin: PluginFingerprint, host_version: str | None) -> list[str]:
    """What strict mode fails on; environment variables are named, never shown."""
    from insidellms_provenance.analyze._versions import specifier_contains

    if plugin["load"]["status"] == "disabled":
        # The loader never ran, so nothing about this plugin was read or checked.
        return ["not checked: INSIDELLMS_DISABLE_PLUGINS is set, so no plugin was imported"]
    manifest = plugin["manifest"]
    requires = manifest["requires"]
    problems = []
    if manifest["status"] != "ok":
        detail = f": {manifest['problems'][0]}" if manifest["problems"] else ""
        problems.append(f"manifest {manifest['status']}{detail}")
    checks = [
        (manifest["insideLLMs"], host_version, "insideLLMs"),
        (
            requires["python"] if requires else None,
            platform.python_version(),
            "Python",
        ),
    ]
    for specifier, version, what in checks:
        if specifier is None or version is None:
            continue
        # Unreadable (not PEP 440, or a number of more digits than int reads): unmet.
        if not specifier_contains(specifier, version):
            problems.append(f"requires {what} {specifier}, this is {version}")
    if requires:
        missing = [name for name in requires["env"] if name not in os.environ]
        if missing:
            problems.append(f"environment variables not set: {', '.join(missing)}")
    from insidellms_provenance.analyze._declared import registration_gaps

    return problems + registration_gaps(plugin)
