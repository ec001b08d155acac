"""Validate and summarize what a plugin's ``plugin_manifest()`` returned (RFC phase 1).

Nothing of the manifest reaches the field unredacted: every string copied out of it and
every problem quoting it passes through
:func:`~insidellms_provenance.fingerprint._redact.redact`, and ``digest`` is of its
canonical JSON with that text redacted too (the same bytes on every machine).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final

from insidellms_provenance._canonical import canonical_json, sha256_digest
from insidellms_provenance.errors import NotCanonicalizableError
from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import (
    DETERMINISM_CLASSES,
    REGISTRY_KINDS,
    Determinism,
    ManifestSummary,
    RegistryKeys,
    Requires,
)

__all__ = [
    "KNOWN_SDK_VERSIONS",
    "MAX_MANIFEST_BYTES",
    "is_specifier",
    "is_version",
    "summarize_manifest",
]

KNOWN_SDK_VERSIONS: Final = frozenset({"1"})
MAX_MANIFEST_BYTES: Final = 1 << 20
_REQUIRED_KEYS: Final = ("name", "version", "sdk_version", "insideLLMs", "capabilities")
_KNOWN_KEYS: Final = frozenset({*_REQUIRED_KEYS, "requires", "determinism"})

# Versions and specifiers of these plain shapes are valid PEP 440 on their face and are
# accepted without importing packaging (recording runs inside every host run); anything
# else is judged by packaging. tests/test_manifest.py checks both give the same verdict.
# Plain shapes: a release (ASCII digits separated by dots), and comma-separated clauses of
# an operator and a release, with spaces around either ("~=" wants two release parts).
# Checked with string methods, not regular expressions: compiling those would cost
# every host run more than checking ten manifests does.
_PLAIN_OPERATORS: Final = ("==", "!=", "<=", ">=", "~=", "<", ">")  # two-character first


def _is_plain_release(text: str, parts: int = 1) -> bool:
    numbers = text.split(".")
    return len(numbers) >= parts and all(n.isascii() and n.isdigit() for n in numbers)


def _is_plain_specifier(text: str) -> bool:
    for clause in text.split(","):
        stripped = clause.strip(" ")
        operator = next((op for op in _PLAIN_OPERATORS if stripped.startswith(op)), None)
        if operator is None:
            return False
        release = stripped[len(operator) :].lstrip(" ")
        if not _is_plain_release(release, 2 if operator == "~=" else 1):
            return False
    return True


def summarize_manifest(value: object) -> ManifestSummary:
    """Digest a returned manifest and copy out what policy needs; never raises.

    Anything wrong makes the status ``invalid`` with every problem listed; the valid
    parts are still copied, because phase 1 only warns. Values are judged as returned
    and copied redacted: a note that names a cache directory is kept, as
    ``cache in {path}``, and says no more than that.
    """
    try:
        data = canonical_json(value)
    except NotCanonicalizableError as error:
        # The error quotes the plugin's keys, which may be anything.
        return _invalid([f"not JSON: {error}"])
    from insidellms_provenance.fingerprint._redact import redactor

    clean = redactor(data.decode())
    digest = sha256_digest(data if clean is None else clean(data.decode()).encode())
    if len(data) > MAX_MANIFEST_BYTES:
        problem = f"{len(data)} bytes of canonical JSON, over the {MAX_MANIFEST_BYTES} limit"
        return _invalid([problem], digest)
    if not isinstance(value, Mapping):
        return _invalid([f"returned {type(value).__name__}, expected a dict"], digest)

    problems: list[str] = [f"missing key {key!r}" for key in _REQUIRED_KEYS if key not in value]
    problems += [f"unknown key {key!r}" for key in sorted(set(value) - _KNOWN_KEYS)]
    name = _string(value, "name", problems)
    version = _string(value, "version", problems)
    if version is not None and not is_version(version):
        problems.append(f"version {version!r} is not a valid version")
    sdk_version = _string(value, "sdk_version", problems)
    if sdk_version is not None and sdk_version not in KNOWN_SDK_VERSIONS:
        problems.append(f"unknown sdk_version {sdk_version!r}")
    insidellms = _specifier(value, "insideLLMs", problems)
    capabilities = _capabilities(value.get("capabilities"), problems)
    requires = _requires(value.get("requires"), problems)
    determinism = _determinism(value.get("determinism"), problems)
    summary = schema.manifest_summary(
        status="invalid" if problems else "ok",
        digest=digest,
        problems=_redacted(problems),
        name=name,
        version=version,
        sdk_version=sdk_version,
        insidellms=insidellms,
        capabilities=capabilities,
        requires=requires,
        determinism=determinism,
    )
    return summary if clean is None else _copies_redacted(summary, clean)


def _invalid(problems: list[str], digest: str | None = None) -> ManifestSummary:
    """An ``invalid`` summary of nothing but ``problems`` (redacted) and the digest."""
    return schema.manifest_summary(status="invalid", digest=digest, problems=_redacted(problems))


def _redacted(problems: list[str]) -> tuple[str, ...]:
    """``problems`` redacted; the redactor is imported only for a manifest that has some."""
    if not problems:
        return ()
    from insidellms_provenance.fingerprint._redact import redact

    return tuple(redact(problem) for problem in problems)


def _copies_redacted(summary: ManifestSummary, clean: Callable[[str], str]) -> ManifestSummary:
    """``summary`` with every string copied from the manifest passed through ``clean``.

    Only for a manifest that may hold a secret; statuses and problems stay as judged on
    the values the plugin returned (problems are redacted already).
    """

    def each(items: Iterable[str]) -> list[str]:
        return [clean(item) for item in items]

    def one(item: str | None) -> str | None:
        return None if item is None else clean(item)

    capabilities, requires, determinism = (
        summary["capabilities"],
        summary["requires"],
        summary["determinism"],
    )
    return schema.manifest_summary(
        status=summary["status"],
        digest=summary["digest"],
        problems=summary["problems"],
        name=one(summary["name"]),
        version=one(summary["version"]),
        sdk_version=one(summary["sdk_version"]),
        insidellms=one(summary["insideLLMs"]),
        capabilities=None
        if capabilities is None
        else schema.registry_keys(**{kind: each(capabilities[kind]) for kind in REGISTRY_KINDS}),
        requires=None
        if requires is None
        else schema.requires(
            python=one(requires["python"]),
            extras=each(requires["extras"]),
            env=each(requires["env"]),
        ),
        determinism=None
        if determinism is None
        else schema.determinism(level=determinism["class"], notes=one(determinism["notes"])),
    )


def _string(
    data: Mapping[str, object], key: str, problems: list[str], where: str = ""
) -> str | None:
    item = data.get(key)
    if item is None:
        return None
    if not isinstance(item, str):
        problems.append(f"{where}{key} must be a string, not {type(item).__name__}")
        return None
    return item


def _strings(
    data: Mapping[str, object], key: str, problems: list[str], where: str
) -> tuple[str, ...]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        problems.append(f"{where}{key} must be a list of strings")
        return ()
    return tuple(items)


def _specifier(
    data: Mapping[str, object], key: str, problems: list[str], where: str = ""
) -> str | None:
    text = _string(data, key, problems, where)
    if text is not None and not is_specifier(text):
        problems.append(f"{where}{key} {text!r} is not a valid version specifier")
    return text


def is_specifier(text: str) -> bool:
    """Whether ``text`` is a PEP 440 specifier set, as ``packaging.specifiers`` says."""
    if _is_plain_specifier(text):
        return True
    from packaging.specifiers import SpecifierSet

    try:
        SpecifierSet(text)
    except ValueError:  # InvalidSpecifier, or a number of more digits than int reads
        return False
    return True


def is_version(text: str) -> bool:
    """Whether ``text`` is a PEP 440 version, as ``packaging.version`` says."""
    if _is_plain_release(text):
        return True
    from packaging.version import Version

    try:
        Version(text)
    except ValueError:  # InvalidVersion, or a number of more digits than int reads
        return False
    return True


def _capabilities(item: object, problems: list[str]) -> RegistryKeys | None:
    if item is None:
        return None
    if not isinstance(item, Mapping):
        problems.append("capabilities must be an object")
        return None
    unknown = sorted(set(item) - set(REGISTRY_KINDS))
    problems += [f"unknown capability kind {kind!r}" for kind in unknown]
    kinds = {kind: _strings(item, kind, problems, "capabilities.") for kind in REGISTRY_KINDS}
    return schema.registry_keys(**kinds)


def _requires(item: object, problems: list[str]) -> Requires | None:
    if item is None:
        return None
    if not isinstance(item, Mapping):
        problems.append("requires must be an object")
        return None
    return schema.requires(
        python=_specifier(item, "python", problems, "requires."),
        extras=_strings(item, "extras", problems, "requires."),
        env=_strings(item, "env", problems, "requires."),
    )


def _determinism(item: object, problems: list[str]) -> Determinism | None:
    if item is None:
        problems.append("missing key 'determinism'")
        return None
    if not isinstance(item, Mapping):
        problems.append("determinism must be an object")
        return None
    level = _string(item, "class", problems, "determinism.")
    if level is None:
        problems.append("determinism.class is missing")
    elif level not in DETERMINISM_CLASSES:
        problems.append(
            f"determinism.class {level!r} is not one of {', '.join(DETERMINISM_CLASSES)}"
        )
        level = None
    return schema.determinism(level=level, notes=_string(item, "notes", problems, "determinism."))
