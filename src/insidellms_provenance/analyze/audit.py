"""Walk many run directories: one JSON line per (run, plugin), and a bounded summary.

Typical usage::

    summary = AuditSummary()
    for line in audit_runs(find_runs(roots), summary):
        sink.write(line)

Memory stays flat as runs grow: lines are streamed, and the summary keeps counters per
plugin version plus a capped list of example runs.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

from insidellms_provenance.canonical import canonical_digest, canonical_json_lines
from insidellms_provenance.errors import ProvenanceError
from insidellms_provenance.runfile.read import MANIFEST_NAME, load_field_value

__all__ = ["EXAMPLES", "AuditSummary", "audit_runs", "find_runs", "plugin_row"]

EXAMPLES: Final = 20  # example runs kept per summary list


def find_runs(roots: Iterable[Path]) -> Iterator[Path]:
    """Run directories (holding ``manifest.json``) below ``roots``, in sorted order.

    Symlinked directories are not followed, so a link cannot make the walk loop.
    """
    for root in roots:
        for directory, dirnames, filenames in os.walk(root):
            dirnames.sort()
            if MANIFEST_NAME in filenames:
                yield Path(directory)


class AuditSummary:
    """Counters over every audited run; bounded by plugins and versions, not by runs."""

    def __init__(self) -> None:
        self.runs = 0
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

    def note_run(self, run: str, plugins: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
        """Update every counter with one run's plugins and their rows (:func:`plugin_row`)."""
        self.with_provenance += 1
        flagged_nd = flagged_unverified = False
        for plugin, row in zip(plugins, rows, strict=True):
            dist = plugin.get("distribution") or {}
            version = dist.get("version", "?")
            self.versions[(dist.get("name", "?"), version)] += 1
            flagged_nd |= row["determinism"] in ("non_deterministic", None)
            flagged_unverified |= (
                row["manifest_status"] != "ok"
                or row["load_status"] != "loaded"
                or row["origin_status"] != "ok"
                or row["record_digest"] is None
                or bool(dist.get("problems"))
            )
            name, fingerprint = row["entry_point"], row["fingerprint"]
            previous = self.last_fingerprint.get(name)
            if previous is not None and previous != fingerprint and name not in self.first_change:
                self.first_change[name] = (run, version)
            self.last_fingerprint[name] = fingerprint
        if flagged_nd:
            self.non_deterministic_count += 1
            if len(self.non_deterministic) < EXAMPLES:
                self.non_deterministic.append(run)
        if flagged_unverified:
            self.unverified_count += 1
            if len(self.unverified) < EXAMPLES:
                self.unverified.append(run)

    def render(self) -> str:
        """The human summary."""
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
        unverified += "distribution problems)"
        lines += _examples(unverified, self.unverified, self.unverified_count)
        lines.append("")
        lines.append("first run where a plugin's fingerprint changed:")
        lines += [
            f"  {name}: {run} (now {version})"
            for name, (run, version) in sorted(self.first_change.items())
        ] or ["  none"]
        return "\n".join(lines) + "\n"


def _examples(title: str, examples: list[str], count: int) -> list[str]:
    lines = [f"{title}: {count}"]
    lines += [f"  {example}" for example in examples]
    if count > len(examples):
        lines.append(f"  ... and {count - len(examples)} more")
    return lines


def plugin_row(
    run: str, field: dict[str, Any], plugin: dict[str, Any], fingerprint: str
) -> dict[str, Any]:
    """The flat record of one plugin in one run (one JSON line).

    ``fingerprint`` is the plugin's canonical digest, computed once per plugin by the
    caller; :meth:`AuditSummary.note_run` reads it from the row.
    """
    dist = plugin.get("distribution") or {}
    manifest = plugin["manifest"]
    return {
        "run": run,
        "run_digest": field["digest"],
        "group": field["group"],
        "entry_point": plugin["entry_point"]["name"],
        "value": plugin["entry_point"]["value"],
        "distribution": dist.get("normalized_name"),
        "version": dist.get("version"),
        "record_digest": dist.get("record_digest"),
        "source": (plugin.get("source") or {}).get("kind"),
        "manifest_status": manifest["status"],
        "determinism": (manifest.get("determinism") or {}).get("class"),
        "load_status": plugin["load"]["status"],
        "origin_status": plugin["origin"]["status"],
        "fingerprint": fingerprint,
    }


def audit_runs(runs: Iterable[Path], summary: AuditSummary) -> Iterator[bytes]:
    """The JSON lines of each run's plugins, a chunk per run; runs without a field only counted.

    Each plugin is canonicalized once: its fingerprint serves its line and the summary.
    """
    for run in runs:
        summary.runs += 1
        name = str(run)
        try:
            field, _ = load_field_value(run)
        except ProvenanceError as error:
            message = str(error)
            summary.note_missing(name, message.split(": ", 1)[-1])
            continue
        plugins: list[dict[str, Any]] = field["plugins"]  # type: ignore[assignment]
        try:
            rows = [plugin_row(name, field, plugin, canonical_digest(plugin)) for plugin in plugins]
            summary.note_run(name, plugins, rows)
        except (KeyError, TypeError, AttributeError):
            summary.note_missing(name, "malformed plugin entry")
            continue
        if rows:
            yield canonical_json_lines(rows)
