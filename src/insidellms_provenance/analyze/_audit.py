"""Walk many run directories: one JSON line per (run, plugin), and a bounded summary.

Typical usage::

    summary = AuditSummary()
    for line in audit_runs(find_runs(roots), summary):
        sink.write(line)

Memory stays flat as runs grow: lines are streamed, and the summary keeps counters per
plugin version plus a capped list of example runs (the run directories of one shard are
listed and sorted first: one short path each).

``audit`` is a map step for engines that already exist (``xargs -P``, a CI matrix, Spark,
Ray): ``find_runs(roots, shard=(i, n))`` takes a stable share of the runs, by a hash of
each run's path relative to its root, and every line carries what the summary needs, so
the shards' lines concatenated answer every question the whole run answers
(docs/audit.md).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from pathlib import Path
from typing import Any, Final, NamedTuple, overload

import orjson

from insidellms_provenance._canonical import (
    MAX_INTEGER,
    canonical_digest,
    canonical_json,
    canonical_json_lines,
)
from insidellms_provenance.errors import ProvenanceError
from insidellms_provenance.field._names import path_text
from insidellms_provenance.field._read import check_field, other_group, validate_checked
from insidellms_provenance.runfile._read import MANIFEST_NAME, locate_field_in_run_dir

__all__ = [
    "EXAMPLES",
    "AuditSummary",
    "RunDir",
    "audit_runs",
    "dependency_rows",
    "find_runs",
    "parse_shard",
    "plugin_row",
    "run_key",
    "shard_of",
]

EXAMPLES: Final = 20  # example runs kept per summary list


_DIGIT_RUNS = re.compile(r"([0-9]+)")


def run_key(name: str) -> str:
    """A key whose plain string order is the natural order of ``name`` (r2 before r10).

    Every run of digits is written with 20 digits, so that SQL ``ORDER BY run_key`` and
    Python ``sorted`` agree without a natural-sort function.
    """
    parts = _DIGIT_RUNS.split(name)  # the runs of digits at odd indices
    if len(parts) > 1:
        digits = map(str.lstrip, parts[1::2], repeat("0"))
        parts[1::2] = map(str.rjust, digits, repeat(20), repeat("0"))
    return "".join(parts)


def shard_of(relative: str, shards: int) -> int:
    """The shard (1 to ``shards``) of a run, from its path relative to the audited root.

    A hash of the path alone: the same on every machine, whatever the listing order.
    """
    digest = hashlib.sha256(relative.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % shards + 1


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` with 1 <= I <= N; raises ``ValueError`` with a message for the user.

    I and N are ASCII digits: ``str.isdigit`` also takes ``²``, which ``int`` refuses
    with a message that does not name ``--shard``.
    """
    index, slash, total = text.partition("/")
    digits = index + total
    if slash and index and total and digits.isascii() and digits.isdigit():
        try:
            shard = int(index), int(total)
        except ValueError:  # more digits than int reads from text (sys.int_info)
            shard = (0, 0)
        if 1 <= shard[0] <= shard[1]:
            return shard
    raise ValueError(f"--shard {text!r}: expected I/N with 1 <= I <= N, such as 2/8")


class RunDir(NamedTuple):
    """A run directory: its path as reached from the root given."""

    name: str

    @property
    def key(self) -> str:
        """:func:`run_key` of ``name``, made when asked (once a run, for its line)."""
        return run_key(self.name)

    @property
    def path(self) -> Path:
        """``name`` as a path (made when asked: ``audit`` reads through the name)."""
        return Path(self.name)


def find_runs(
    roots: Iterable[Path],
    shard: tuple[int, int] | None = None,
    on_error: Callable[[Path, str], None] | None = None,
) -> Sequence[RunDir]:
    """Run directories (holding ``manifest.json``) below ``roots``, in natural order.

    Natural order of the path as reached from the root (``runs/r2`` before ``runs/r10``)
    makes "the first run where a fingerprint changed" mean something. With ``shard``
    ``(i, n)``, only the runs whose relative path hashes to shard ``i`` of ``n``.
    Symlinked directories are not followed, so a link cannot make the walk loop. A
    directory that cannot be listed is passed to ``on_error`` with the reason. Only the
    names are kept (a :class:`RunDir` is made when read): memory grows with the runs by
    one short string each.
    """

    def unreadable(error: OSError) -> None:
        if on_error is not None:
            on_error(Path(error.filename or "?"), error.strerror or "cannot be listed")

    found = []
    for root in roots:
        # The root is spelt as a path spells it once; the walk joins plain names to it,
        # so every directory below is spelt so too (one Path a run cost about 5 µs),
        # but for the root ".", whose directories a path spells without "./".
        top = str(Path(root))
        cut = 2 if top == "." else 0
        for directory, dirnames, filenames in os.walk(top, onerror=unreadable):
            dirnames.sort()
            if MANIFEST_NAME not in filenames:
                continue
            name = directory[cut:] if cut and directory != top else directory
            if shard is not None:
                relative = Path(directory).relative_to(top).as_posix()
                if shard_of(relative, shard[1]) != shard[0]:
                    continue
            found.append(name)
    found.sort(key=lambda name: (run_key(name), name))
    return _RunDirs(found)


class _RunDirs(Sequence[RunDir]):
    """Run directories in order, kept as their names (keys are long: made when read)."""

    def __init__(self, names: list[str]) -> None:
        self._names = names

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, index: int) -> RunDir: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[RunDir]: ...

    def __getitem__(self, index: int | slice) -> RunDir | Sequence[RunDir]:
        if isinstance(index, slice):
            return _RunDirs(self._names[index])
        name = self._names[index]
        return RunDir(name)


class AuditSummary:
    """Counters over every audited run; bounded by plugins and versions, not by runs."""

    def __init__(self) -> None:
        self.runs = 0
        self.current = ""  # the run being audited, for progress reports
        self.with_provenance = 0
        self.without: list[str] = []
        self.without_count = 0
        self.versions: Counter[tuple[str, str]] = Counter()
        self.non_deterministic: list[str] = []
        self.non_deterministic_count = 0
        self.unverified: list[str] = []
        self.unverified_count = 0
        self.last_fingerprint: dict[str, str] = {}
        self.first_change: dict[str, tuple[str, str]] = {}

    def note_missing(self, run: str, reason: str) -> None:
        """A run without readable provenance: counted and listed, never fatal."""
        self.without_count += 1
        if len(self.without) < EXAMPLES:
            self.without.append(f"{run} ({reason})")

    def note_run(
        self, run: str, plugins: list[dict[str, Any]], fingerprints: list[str] | None = None
    ) -> None:
        """Update every counter with one run's plugins (and their fingerprints, if known)."""
        if fingerprints is None:
            fingerprints = [canonical_digest(plugin) for plugin in plugins]
        self._note_facts(run, [_PluginFacts.of(plugin) for plugin in plugins], fingerprints)

    def _note_facts(self, run: str, facts: list[_PluginFacts], fingerprints: list[str]) -> None:
        """:meth:`note_run` with what each plugin tells the summary worked out already."""
        self.with_provenance += 1
        flagged_nd = flagged_unverified = False
        for fact, fingerprint in zip(facts, fingerprints, strict=True):
            flagged_nd |= fact.non_deterministic
            flagged_unverified |= fact.unverified
            previous = self.last_fingerprint.get(fact.name)
            if (
                previous is not None
                and previous != fingerprint
                and fact.name not in self.first_change
            ):
                self.first_change[fact.name] = (run, fact.version[1])
            self.last_fingerprint[fact.name] = fingerprint
        self.versions.update({fact.version for fact in facts})
        if flagged_nd:
            self.non_deterministic_count += 1
            if len(self.non_deterministic) < EXAMPLES:
                self.non_deterministic.append(run)
        if flagged_unverified:
            self.unverified_count += 1
            if len(self.unverified) < EXAMPLES:
                self.unverified.append(run)

    def render(self) -> str:
        r"""The human summary, safe for a terminal as it is (:func:`_as_text` ``terminal``).

        Every line goes through that one escape, and only it: a second scheme stacked on
        it (``terminal_safe`` writes U+009B as ``\x9b`` too) would give two runs one name.
        """
        counts = f"{self.with_provenance} with plugin provenance, {self.without_count} without"
        lines = [f"audit: {self.runs} run(s), {counts}"]
        lines += _examples("runs without provenance", self.without, self.without_count)
        lines.append("")
        lines.append("plugin versions in use (runs):")
        lines += [
            f"  {name} {version}: {count}"
            for (name, version), count in sorted(self.versions.items())
        ]
        lines.append("")
        lines += _examples(
            "runs with non-deterministic or undeclared plugins",
            self.non_deterministic,
            self.non_deterministic_count,
        )
        unverified = "runs with unverified plugins (manifest not ok, not loaded, origin or "
        unverified += "distribution problems, files not verified against RECORD)"
        lines += _examples(unverified, self.unverified, self.unverified_count)
        lines.append("")
        lines.append("first run (natural order of run paths) where a plugin's fingerprint changed:")
        lines += [
            f"  {name}: {run} (now {version})"
            for name, (run, version) in sorted(self.first_change.items())
        ] or ["  none"]
        # A run's path or a recorded name holding a newline stays on its line: \u000a.
        return "".join(_as_text(line, terminal=True) + "\n" for line in lines)


def _examples(title: str, examples: list[str], count: int) -> list[str]:
    lines = [f"{title}: {count}"]
    lines += [f"  {example}" for example in examples]
    if count > len(examples):
        lines.append(f"  ... and {count - len(examples)} more")
    return lines


def _unverified(plugin: dict[str, Any]) -> bool:
    dist = plugin.get("distribution") or {}
    return (
        plugin["manifest"]["status"] != "ok"
        or plugin["load"]["status"] != "loaded"
        or plugin["origin"]["status"] != "ok"
        or bool(dist.get("problems"))
        or dist.get("record_digest") is None
        or _integrity(dist) != "verified"
    )


def _integrity(dist: dict[str, Any]) -> str | None:
    """Whether the installed files matched RECORD when recorded; None if not recorded (v1)."""
    integrity = dist.get("integrity")
    return None if integrity is None else str(integrity["status"])


def plugin_row(
    run: RunDir, field: dict[str, Any], plugin: dict[str, Any], fingerprint: str | None = None
) -> dict[str, Any]:
    """The flat record of one plugin in one run (one JSON line; docs/audit.md).

    ``fingerprint`` is the plugin's canonical digest if the caller has it already.
    """
    if fingerprint is None:
        fingerprint = canonical_digest(plugin)
    return {**_field_columns(run, field), **_plugin_columns(plugin, fingerprint)}


def _field_columns(run: RunDir, field: dict[str, Any]) -> dict[str, Any]:
    """The columns of a plugin's line that come from its run and field."""
    return {**_run_columns(run, None), "run_digest": field["digest"], "group": field["group"]}


def _plugin_columns(plugin: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    """The columns of a plugin's line that come from the plugin alone."""
    dist = plugin.get("distribution") or {}
    manifest = plugin["manifest"]
    version = dist.get("version")
    return {
        "entry_point": plugin["entry_point"]["name"],
        "value": plugin["entry_point"]["value"],
        "distribution": dist.get("normalized_name"),
        "version": version,
        "release": _release(version) if isinstance(version, str) else None,
        "record_digest": dist.get("record_digest"),
        "integrity": _integrity(dist),
        "distribution_problems": list(dist.get("problems") or ()),
        "source": (plugin.get("source") or {}).get("kind"),
        "manifest_status": manifest["status"],
        "determinism": (manifest.get("determinism") or {}).get("class"),
        "load_status": plugin["load"]["status"],
        "origin_status": plugin["origin"]["status"],
        "fingerprint": fingerprint,
    }


class _PluginFacts(NamedTuple):
    """What one plugin adds to the summary."""

    name: str
    version: tuple[str, str]
    non_deterministic: bool
    unverified: bool

    @classmethod
    def of(cls, plugin: dict[str, Any]) -> _PluginFacts:
        dist = plugin.get("distribution") or {}
        level = (plugin["manifest"].get("determinism") or {}).get("class")
        return cls(
            plugin["entry_point"]["name"],
            (dist.get("normalized_name", "?"), dist.get("version", "?")),
            level in ("non_deterministic", None),
            _unverified(plugin),
        )


class _Audited(NamedTuple):
    """A plugin of the last audited run, and what auditing it gave.

    An identical plugin in the next run is neither validated nor canonicalized again.
    Identical means the same ``orjson`` bytes (types included: ``0`` is not ``false``,
    ``1`` is not ``1.0``) and an equal value (NaN, which orjson writes as null, is not
    None).
    """

    exact: bytes
    plugin: dict[str, Any]
    fingerprint: str
    columns: dict[str, Any]
    facts: _PluginFacts


def _exact_json(plugin: object) -> bytes | None:
    """``orjson`` bytes of a parsed plugin, or None if orjson cannot write it."""
    try:
        return orjson.dumps(plugin)
    except orjson.JSONEncodeError:  # integers beyond 64 bits, lone surrogates
        return None


def dependency_rows(
    run: RunDir, field: dict[str, Any], plugin: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """The lines ``--deps`` adds after a plugin's line: one per dependency, sorted by name.

    They have the plugin line's columns: ``entry_point`` and ``value`` name the plugin,
    ``distribution`` … ``source`` describe the dependency (from the field's table), the
    plugin-only columns are null. A required distribution that is not installed has a
    line too, with ``version`` null. ``kind`` is ``dependency``; ``unsatisfied`` lists the
    requirements on it the run's environment did not meet (``required_by: requirement``).
    """
    table = field.get("dependencies") or {}
    unmet: dict[str, list[str]] = {}
    for entry in plugin.get("unsatisfied") or []:
        if entry["name"] is not None:
            unmet.setdefault(entry["name"], []).append(
                f"{entry['required_by']}: {entry['requirement']}"
            )
    for name in sorted(set(plugin.get("dependencies") or []) | unmet.keys()):
        entry = table.get(name) or {}
        dist = entry.get("distribution") or {}
        version = dist.get("version")
        yield {
            **_run_row(run, None, field),
            "entry_point": plugin["entry_point"]["name"],
            "value": plugin["entry_point"]["value"],
            "distribution": name,
            "version": version,
            "release": _release(version) if isinstance(version, str) else None,
            "record_digest": dist.get("record_digest"),
            "integrity": _integrity(dist),
            "distribution_problems": list(dist.get("problems") or ()),
            "source": (entry.get("source") or {}).get("kind"),
            "kind": "dependency",
            "unsatisfied": sorted(unmet.get(name, [])),
        }


def _run_only(
    run: RunDir, problem: str | None, field: dict[str, Any] | None, dependencies: bool
) -> dict[str, Any]:
    """A run's only line; with ``--deps`` it has the two added columns too."""
    row = _run_row(run, problem, field)
    return {**row, "kind": "run", "unsatisfied": []} if dependencies else row


def _with_kind(row: dict[str, Any], plugin: dict[str, Any]) -> dict[str, Any]:
    """A plugin's line with the two columns ``--deps`` adds to every line."""
    unmet = [f"{u['required_by']}: {u['requirement']}" for u in plugin.get("unsatisfied") or []]
    return {**row, "kind": "plugin", "unsatisfied": sorted(unmet)}


_PLUGIN_COLUMNS: Final = (
    "run_digest",
    "group",
    "entry_point",
    "value",
    "distribution",
    "version",
    "release",
    "record_digest",
    "integrity",
    "distribution_problems",
    "source",
    "manifest_status",
    "determinism",
    "load_status",
    "origin_status",
    "fingerprint",
)


def _run_columns(run: RunDir, problem: str | None) -> dict[str, Any]:
    return {"run": _as_text(run.name), "run_key": _as_text(run.key), "problem": problem}


def _as_text(path: str, *, terminal: bool = False) -> str:
    r"""A run's path as text, one to one: ``\\`` a backslash, ``\xNN`` a byte not UTF-8.

    A directory name need not be UTF-8; Python reads its other bytes as lone surrogates
    (``surrogateescape``), which no JSON text holds and no UTF-8 stream writes, and one
    such run must not stop the audit of the rest. A backslash is written as two, so the
    text of a name that holds ``\xff`` itself is not that of a name holding the byte:
    two runs never share a ``run``. Other valid UTF-8 is kept as it is.

    ``terminal`` (the summary): also every character ``str.isprintable`` refuses (a
    control, a newline, a format character: a superset of what ``terminal_safe``
    escapes) as ``\uNNNN`` (``\UNNNNNNNN`` above U+FFFF), never ``\xNN``, which stays a
    byte's. So U+009B and the byte 0x9B, or a newline and ``\n`` typed, stay two names.
    """
    if path.isascii() and "\\" not in path and (not terminal or path.isprintable()):
        return path
    text = path_text(path)
    if not terminal or text.isprintable():
        return text
    return "".join(
        character if character.isprintable() else _code_point_escape(character)
        for character in text
    )


def _code_point_escape(character: str) -> str:
    r"""``\uNNNN``, or ``\UNNNNNNNN`` above U+FFFF: a character, never a byte."""
    point = ord(character)
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def _run_row(run: RunDir, problem: str | None, field: dict[str, Any] | None) -> dict[str, Any]:
    """The one line of a run that has no plugin lines: no readable field, or no plugins."""
    row = {**_run_columns(run, problem), **dict.fromkeys(_PLUGIN_COLUMNS)}
    row["distribution_problems"] = []
    if field is not None:
        row["run_digest"], row["group"] = field["digest"], field["group"]
    return row


@functools.lru_cache(maxsize=4096)
def _release(version: str) -> list[int] | None:
    """The release numbers of a PEP 440 version (``[1, 10, 0]``), for ordered queries.

    ``None`` for a version ``packaging`` cannot read, and for a number beyond ``2**53``,
    which no JSON reader holds exactly (nor canonical JSON writes): a hostile run's one
    ``version`` must not stop the audit of the tree. ``version`` itself keeps the text.
    """
    from insidellms_provenance.analyze._versions import parse_version

    parsed = parse_version(version)
    if parsed is None or any(number > MAX_INTEGER for number in parsed.release):
        return None
    return list(parsed.release)


def audit_runs(
    runs: Iterable[RunDir],
    summary: AuditSummary,
    *,
    group: str | None = None,
    dependencies: bool = False,
) -> Iterator[bytes]:
    """JSON lines for every plugin of every run; one line for a run without plugin lines.

    With ``dependencies``, each plugin's line is followed by its :func:`dependency_rows`.

    A run without readable provenance (or recorded for another ``group``) gets one line
    whose ``problem`` says why; a field with no plugins, one line with ``entry_point``
    null. So every run is in the lines, and the summary can be computed from them.
    """
    # The plugins of the last run audited: those of the next run that are exactly equal
    # (most of them, in a fleet) are neither validated nor canonicalized again. Only the
    # last run's are kept, so memory does not grow with the runs.
    last = _LastRun()
    for run in runs:
        summary.runs += 1
        summary.current = run.name
        try:
            value, where, _ = locate_field_in_run_dir(run.name)
            checked = check_field(value, where=where)
            plugins: list[Any] = checked["plugins"]
            exact, known = last.match(plugins)
            fresh = [plugin for plugin, seen in zip(plugins, known, strict=True) if seen is None]
            field: dict[str, Any] = dict(validate_checked(checked, where=where, fresh=fresh))
        except ProvenanceError as error:
            reason = str(error).split(": ", 1)[-1]
            summary.note_missing(run.name, reason)
            yield canonical_json(_run_only(run, reason, None, dependencies)) + b"\n"
            continue
        elsewhere = other_group(field, group)
        if elsewhere is not None:
            summary.note_missing(run.name, elsewhere)
            yield canonical_json(_run_only(run, elsewhere, None, dependencies)) + b"\n"
            continue
        try:
            audited = [
                seen or _audit_plugin(plugin, data)
                for plugin, data, seen in zip(plugins, exact, known, strict=True)
            ]
            run_columns = _field_columns(run, field)
            rows = []
            for plugin, entry in zip(plugins, audited, strict=True):
                row = {**run_columns, **entry.columns}
                if not dependencies:
                    rows.append(row)
                    continue
                rows.append(_with_kind(row, plugin))
                rows += dependency_rows(run, field, plugin)
            summary._note_facts(  # noqa: SLF001 - the summary's own module
                run.name, [entry.facts for entry in audited], [a.fingerprint for a in audited]
            )
        except (KeyError, TypeError, AttributeError):
            reason = "malformed plugin entry"
            summary.note_missing(run.name, reason)
            yield canonical_json(_run_only(run, reason, None, dependencies)) + b"\n"
            continue
        last.remember(audited)
        yield (
            canonical_json_lines(rows)
            if rows
            else canonical_json(_run_only(run, None, field, dependencies)) + b"\n"
        )


class _LastRun:
    """The plugins of the last audited run, and what auditing them gave."""

    def __init__(self) -> None:
        self.by_entry_point: dict[object, _Audited] = {}
        self.plugins: list[Any] = []
        self.exact: bytes | None = None  # orjson bytes of ``plugins``
        self.audited: list[_Audited] = []
        self.candidate: bytes | None = None  # orjson bytes of the list last matched
        self.same = False  # whether that list was exactly ``plugins``

    def match(self, plugins: list[Any]) -> tuple[list[bytes | None], list[_Audited | None]]:
        """Each plugin's orjson bytes (None if unneeded) and its record if it is known.

        A list exactly the last run's (the common case in a fleet) is matched in one
        comparison; otherwise each plugin by its entry point (:func:`_known`).
        """
        self.candidate = _exact_json(plugins)
        self.same = (
            self.candidate is not None and self.candidate == self.exact and plugins == self.plugins
        )
        if self.same:
            return [None] * len(plugins), list(self.audited)
        exact = [_exact_json(plugin) for plugin in plugins]
        known = [
            _known(self.by_entry_point, p, data) for p, data in zip(plugins, exact, strict=True)
        ]
        return exact, known

    def remember(self, audited: list[_Audited]) -> None:
        """Keep the run just audited (the one last passed to :meth:`match`)."""
        if self.same:
            return
        self.by_entry_point = {_plugin_key(entry.plugin): entry for entry in audited}
        self.plugins = [entry.plugin for entry in audited]
        self.exact, self.audited = self.candidate, audited


def _plugin_key(plugin: dict[str, Any]) -> object:
    """The entry point of a plugin of a validated field: its (name, value)."""
    entry_point = plugin["entry_point"]
    return (entry_point["name"], entry_point["value"])


def _known(last: dict[object, _Audited], plugin: object, exact: bytes | None) -> _Audited | None:
    """The last run's record of ``plugin`` if it is exactly the same JSON, else None."""
    if exact is None or not isinstance(plugin, dict):
        return None
    entry_point = plugin.get("entry_point")
    if not isinstance(entry_point, dict):
        return None
    name, value = entry_point.get("name"), entry_point.get("value")
    if not (isinstance(name, str) and isinstance(value, str)):
        return None
    seen = last.get((name, value))
    if seen is None or seen.exact != exact or seen.plugin != plugin:
        return None
    return seen


def _audit_plugin(plugin: dict[str, Any], exact: bytes | None) -> _Audited:
    """Fingerprint, line columns and summary facts of a plugin not seen in the last run."""
    fingerprint = canonical_digest(plugin)
    columns = _plugin_columns(plugin, fingerprint)
    return _Audited(exact or b"", plugin, fingerprint, columns, _PluginFacts.of(plugin))
