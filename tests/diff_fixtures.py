"""A hand-built pair of fields covering every change class ``diff`` knows."""

from __future__ import annotations

from typing import Any

from insidellms_provenance.field import schema
from insidellms_provenance.field._build import make_field
from insidellms_provenance.field.schema import PluginFingerprint, Provenance

GROUP = "insidellms.plugins"


def digest(char: str) -> str:
    return "sha256:" + char * 64


def evolve(original: Any, /, **changes: Any) -> Any:
    """A copy of a field part with some keys replaced (tuples become sorted lists)."""
    renames = {"insidellms": "insideLLMs"}
    return {
        **original,
        **{
            renames.get(key, key): sorted(item) if isinstance(item, tuple) else item
            for key, item in changes.items()
        },
    }


def plugin(name: str, version: str = "1.0.0", **changes: object) -> PluginFingerprint:
    base = schema.fingerprint(
        entry_point=schema.entry_point(
            group=GROUP, name=name, value=f"{name.replace('-', '_')}:register"
        ),
        distribution=schema.distribution(
            name=f"{name}-dist",
            normalized_name=f"{name}-dist",
            version=version,
            record_digest=digest("a"),
            code_digest=digest("d"),
            integrity=schema.integrity(status="verified", bytecode="checked"),
        ),
        source=schema.source(kind="index"),
        origin=schema.origin(status="ok"),
        manifest=schema.manifest_summary(
            status="ok",
            digest=digest("b"),
            name=name,
            version=version,
            sdk_version="1",
            insidellms=">=0.2.0,<0.3.0",
            capabilities=schema.registry_keys(models=("m1",), probes=("p1",)),
            determinism=schema.determinism(level="deterministic", notes="seeded"),
        ),
        load=schema.load_outcome(status="loaded"),
    )
    result: PluginFingerprint = evolve(base, **changes)
    return result


def with_dist(p: PluginFingerprint, **changes: object) -> PluginFingerprint:
    assert p["distribution"] is not None
    result: PluginFingerprint = evolve(p, distribution=evolve(p["distribution"], **changes))
    return result


def with_manifest(p: PluginFingerprint, **changes: object) -> PluginFingerprint:
    result: PluginFingerprint = evolve(
        p, manifest=evolve(p["manifest"], digest=digest("c"), **changes)
    )
    return result


def before_and_after() -> tuple[Provenance, Provenance]:
    """Every change class once (versions: every size, both directions, unparsable)."""
    before: list[PluginFingerprint] = []
    after: list[PluginFingerprint] = []

    def pair(old: PluginFingerprint, new: PluginFingerprint) -> None:
        before.append(old)
        after.append(new)

    same = plugin("unchanged")
    pair(same, same)
    pair(
        plugin("content"),
        with_dist(plugin("content"), record_digest=digest("f"), code_digest=digest("7")),
    )
    pair(plugin("rebuilt"), with_dist(plugin("rebuilt"), record_digest=digest("f")))
    pair(
        plugin("tampered"),
        with_dist(
            plugin("tampered"),
            integrity=schema.integrity(
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
        evolve(moved, entry_point=evolve(moved["entry_point"], value="other:register")),
    )
    pair(plugin("dist-problem"), with_dist(plugin("dist-problem"), problems=("RECORD is missing",)))
    vcs = plugin(
        "vcs",
        source=schema.source(
            kind="vcs", url="https://example.org/p.git", vcs="git", commit="a" * 40
        ),
    )
    pair(vcs, evolve(vcs, source=evolve(vcs["source"], commit="b" * 40)))
    editable = plugin(
        "editable",
        source=schema.source(
            kind="directory", local_name="src", editable=True, editable_digest=digest("1")
        ),
    )
    pair(
        editable,
        evolve(editable, source=evolve(editable["source"], editable_digest=digest("2"))),
    )
    pair(
        plugin("not-editable"),
        evolve(
            plugin("not-editable"),
            source=schema.source(
                kind="directory", local_name="src", editable=True, editable_digest=digest("3")
            ),
        ),
    )
    pair(
        plugin("manifest-appeared", manifest=schema.manifest_summary(status="missing")),
        plugin("manifest-appeared"),
    )
    pair(
        plugin("manifest-gone"),
        plugin("manifest-gone", manifest=schema.manifest_summary(status="missing")),
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
            determinism=schema.determinism(level="deterministic", notes="new notes"),
        ),
    )
    pair(plugin("manifest-opaque"), with_manifest(plugin("manifest-opaque")))
    pair(
        plugin("capabilities"),
        with_manifest(
            plugin("capabilities"),
            capabilities=schema.registry_keys(models=("m2",), probes=("p1",), datasets=("d1",)),
        ),
    )
    pair(
        plugin("det-down"),
        with_manifest(
            plugin("det-down"),
            determinism=schema.determinism(level="non_deterministic", notes="seeded"),
        ),
    )
    pair(
        plugin(
            "det-up",
            manifest=schema.manifest_summary(
                status="ok", determinism=schema.determinism(level="best_effort")
            ),
        ),
        plugin(
            "det-up",
            manifest=schema.manifest_summary(
                status="ok", determinism=schema.determinism(level="deterministic")
            ),
        ),
    )
    pair(plugin("compat"), with_manifest(plugin("compat"), insidellms=">=0.3", sdk_version="2"))
    pair(
        plugin("load-fail"),
        plugin(
            "load-fail",
            load=schema.load_outcome(
                status="failed", error_type="ImportError", error_message="No module named 'torch'"
            ),
        ),
    )
    pair(
        plugin(
            "load-fixed",
            load=schema.load_outcome(status="failed", error_type="RuntimeError", error_message="x"),
        ),
        plugin("load-fixed"),
    )
    pair(plugin("shadowed"), plugin("shadowed", origin=schema.origin(status="shadowed")))
    pair(
        plugin("duplicated"),
        plugin(
            "duplicated", origin=schema.origin(status="ok", duplicate_versions=("0.9.0", "1.0.0"))
        ),
    )
    pair(
        plugin("registers", registered=schema.registry_keys(models=("m1",))),
        plugin(
            "registers",
            registered=schema.registry_keys(models=("m1", "m9")),
            replaced=schema.registry_keys(models=("dummy",)),
        ),
    )
    conflict = schema.conflict(
        kind="models",
        key="dummy",
        plugins=("registers", "unchanged"),
        outcome="overwritten",
        winner="unchanged",
    )
    old_table, new_table = dependency_pairs(pair)
    return (
        make_field(GROUP, before, dependencies=old_table),
        make_field(GROUP, after, [conflict], dependencies=new_table),
    )


def dependency(name: str, version: str, char: str = "d", **source: Any) -> schema.Dependency:
    return schema.dependency(
        distribution=schema.distribution(
            name=name, normalized_name=name, version=version, record_digest=digest(char)
        ),
        source=schema.source(kind=source.pop("kind", "index"), **source),
    )


def dependency_pairs(
    pair: Any,
) -> tuple[dict[str, schema.Dependency], dict[str, schema.Dependency]]:
    """Two plugins sharing an SDK whose dependencies changed (one plugin itself too)."""
    old_table = {
        "openai": dependency("openai", "1.40.0"),
        "httpx": dependency("httpx", "0.27.0"),
        "anyio": dependency("anyio", "4.4.0"),
        "gitdep": dependency("gitdep", "1.0", kind="vcs", vcs="git", commit="c" * 40),
    }
    new_table = {
        "openai": dependency("openai", "1.52.0"),
        "httpx": dependency("httpx", "0.27.0", "e"),
        "sniffio": dependency("sniffio", "1.3.1"),
        "gitdep": dependency("gitdep", "1.0", kind="vcs", vcs="git", commit="d" * 40),
    }
    missing = schema.unsatisfied_requirement(
        name="pydantic",
        requirement="pydantic<3,>=2",
        required_by="openai",
        installed=None,
        reason="missing",
    )
    pair(
        evolve(plugin("sdk-chat"), dependencies=["anyio", "httpx", "openai"], unsatisfied=[]),
        evolve(plugin("sdk-chat"), dependencies=["httpx", "openai", "sniffio"], unsatisfied=[]),
    )
    pair(
        evolve(plugin("sdk-tools"), dependencies=["gitdep", "openai"], unsatisfied=[]),
        evolve(
            with_dist(plugin("sdk-tools"), version="1.1.0", record_digest=digest("e")),
            dependencies=["gitdep", "openai"],
            unsatisfied=[missing],
        ),
    )
    return old_table, new_table
