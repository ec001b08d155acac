"""A hand-built pair of fields covering every change class ``diff`` knows."""

from __future__ import annotations

import attrs

from insidellms_provenance.field.build import make_provenance
from insidellms_provenance.field.model import (
    Conflict,
    Determinism,
    DistributionInfo,
    EntryPointRef,
    Integrity,
    LoadOutcome,
    ManifestSummary,
    Origin,
    PluginFingerprint,
    Provenance,
    RegistryKeys,
    Source,
)

GROUP = "insidellms.plugins"


def digest(char: str) -> str:
    return "sha256:" + char * 64


def plugin(name: str, version: str = "1.0.0", **changes: object) -> PluginFingerprint:
    base = PluginFingerprint(
        entry_point=EntryPointRef(
            group=GROUP, name=name, value=f"{name.replace('-', '_')}:register"
        ),
        distribution=DistributionInfo(
            name=f"{name}-dist",
            normalized_name=f"{name}-dist",
            version=version,
            record_digest=digest("a"),
            integrity=Integrity(status="verified", bytecode="checked"),
        ),
        source=Source(kind="index"),
        origin=Origin(status="ok"),
        manifest=ManifestSummary(
            status="ok",
            digest=digest("b"),
            name=name,
            version=version,
            sdk_version="1",
            insidellms=">=0.2.0,<0.3.0",
            capabilities=RegistryKeys(models=("m1",), probes=("p1",)),
            determinism=Determinism(level="deterministic", notes="seeded"),
        ),
        load=LoadOutcome(status="loaded"),
    )
    return attrs.evolve(base, **changes)


def with_dist(p: PluginFingerprint, **changes: object) -> PluginFingerprint:
    assert p.distribution is not None
    return attrs.evolve(p, distribution=attrs.evolve(p.distribution, **changes))


def with_manifest(p: PluginFingerprint, **changes: object) -> PluginFingerprint:
    return attrs.evolve(p, manifest=attrs.evolve(p.manifest, digest=digest("c"), **changes))


def before_and_after() -> tuple[Provenance, Provenance]:
    """Every change class once (versions: every size, both directions, unparsable)."""
    before: list[PluginFingerprint] = []
    after: list[PluginFingerprint] = []

    def pair(old: PluginFingerprint, new: PluginFingerprint) -> None:
        before.append(old)
        after.append(new)

    same = plugin("unchanged")
    pair(same, same)
    pair(plugin("content"), with_dist(plugin("content"), record_digest=digest("f")))
    pair(
        plugin("tampered"),
        with_dist(
            plugin("tampered"),
            integrity=Integrity(
                status="modified", paths=("tampered/__init__.py",), bytecode="checked"
            ),
        ),
    )
    for name, old, new in (
        ("v-major", "1.4.2", "2.0.0"),
        ("v-minor", "1.4.2", "1.5.0"),
        ("v-patch", "1.4.2", "1.4.3"),
        ("v-pre", "2.0.0rc1", "2.0.0"),
        ("v-post", "1.0", "1.0.post1"),
        ("v-dev", "1.0.dev1", "1.0.dev2"),
        ("v-local", "1.0+a", "1.0+b"),
        ("v-downgrade", "1.4.2", "1.4.1"),
        ("v-unparsable", "1.0", "banana"),
    ):
        pair(
            plugin(name, old), with_dist(plugin(name, old), version=new, record_digest=digest("e"))
        )
    before.append(plugin("removed"))
    after.append(plugin("added", "0.1.0"))
    moved = plugin("retargeted")
    pair(
        moved,
        attrs.evolve(moved, entry_point=attrs.evolve(moved.entry_point, value="other:register")),
    )
    pair(plugin("dist-problem"), with_dist(plugin("dist-problem"), problems=("RECORD is missing",)))
    vcs = plugin(
        "vcs",
        source=Source(kind="vcs", url="https://example.org/p.git", vcs="git", commit="a" * 40),
    )
    pair(vcs, attrs.evolve(vcs, source=attrs.evolve(vcs.source, commit="b" * 40)))
    editable = plugin(
        "editable",
        source=Source(
            kind="directory", local_name="src", editable=True, editable_digest=digest("1")
        ),
    )
    pair(
        editable,
        attrs.evolve(editable, source=attrs.evolve(editable.source, editable_digest=digest("2"))),
    )
    pair(
        plugin("not-editable"),
        attrs.evolve(
            plugin("not-editable"),
            source=Source(
                kind="directory", local_name="src", editable=True, editable_digest=digest("3")
            ),
        ),
    )
    pair(
        plugin("manifest-appeared", manifest=ManifestSummary(status="missing")),
        plugin("manifest-appeared"),
    )
    pair(
        plugin("manifest-gone"), plugin("manifest-gone", manifest=ManifestSummary(status="missing"))
    )
    pair(
        plugin("manifest-invalid"),
        with_manifest(
            plugin("manifest-invalid"), status="invalid", problems=("missing key 'name'",)
        ),
    )
    pair(
        plugin("manifest-keys"),
        with_manifest(
            plugin("manifest-keys"),
            name="renamed",
            determinism=Determinism(level="deterministic", notes="new notes"),
        ),
    )
    pair(plugin("manifest-opaque"), with_manifest(plugin("manifest-opaque")))
    pair(
        plugin("capabilities"),
        with_manifest(
            plugin("capabilities"),
            capabilities=RegistryKeys(models=("m2",), probes=("p1",), datasets=("d1",)),
        ),
    )
    pair(
        plugin("det-down"),
        with_manifest(
            plugin("det-down"), determinism=Determinism(level="non_deterministic", notes="seeded")
        ),
    )
    pair(
        plugin(
            "det-up",
            manifest=ManifestSummary(status="ok", determinism=Determinism(level="best_effort")),
        ),
        plugin(
            "det-up",
            manifest=ManifestSummary(status="ok", determinism=Determinism(level="deterministic")),
        ),
    )
    pair(plugin("compat"), with_manifest(plugin("compat"), insidellms=">=0.3", sdk_version="2"))
    pair(
        plugin("load-fail"),
        plugin(
            "load-fail",
            load=LoadOutcome(
                status="failed", error_type="ImportError", error_message="No module named 'torch'"
            ),
        ),
    )
    pair(
        plugin(
            "load-fixed",
            load=LoadOutcome(status="failed", error_type="RuntimeError", error_message="x"),
        ),
        plugin("load-fixed"),
    )
    pair(plugin("shadowed"), plugin("shadowed", origin=Origin(status="shadowed")))
    pair(
        plugin("duplicated"),
        plugin("duplicated", origin=Origin(status="ok", duplicate_versions=("0.9.0", "1.0.0"))),
    )
    pair(
        plugin("registers", registered=RegistryKeys(models=("m1",))),
        plugin(
            "registers",
            registered=RegistryKeys(models=("m1", "m9")),
            replaced=RegistryKeys(models=("dummy",)),
        ),
    )
    conflict = Conflict(
        kind="models",
        key="dummy",
        plugins=("registers", "unchanged"),
        outcome="overwritten",
        winner="unchanged",
    )
    return (
        make_provenance(GROUP, before),
        make_provenance(GROUP, after, [conflict]),
    )
