"""The layers of docs/architecture.md, enforced by reading every module's imports.

Each module belongs to the layer of its most specific prefix below. A module may import
from its own layer and the layers under it, never from one above ("upward"); every
import counts, also those inside functions and under ``TYPE_CHECKING``. Third-party
imports are limited per layer, and the recording path's module-level imports to the
standard library and orjson (what it imports lazily, for rare inputs, is named too).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import insidellms_provenance

PACKAGE = "insidellms_provenance"
SOURCE = Path(insidellms_provenance.__file__).parent

# Bottom to top. "" is the package's own __init__ (the public facade, lazily importing).
LAYERS: list[tuple[str, ...]] = [
    ("errors", "_canonical", "_safe_io", "_signals"),
    ("field.schema",),
    ("field",),
    ("fingerprint",),
    ("runfile",),
    ("analyze",),
    ("host",),
    ("cli", "_demo", "__main__", ""),
]

# Narrower rules inside the layering: (importer prefix, imported prefix) pairs refused.
FORBIDDEN = [
    # The shape is written once and imports nothing of ours.
    ("field.schema", ""),
    # The recording path does not validate, read run files or generate schemas.
    ("fingerprint", "field._read"),
    ("fingerprint", "field._validate"),
    ("fingerprint", "field.jsonschema"),
    ("runfile._embed", "field._read"),
    # Run files are read and written without fingerprinting anything.
    ("runfile", "fingerprint"),
    ("runfile._style", ""),
]
# Pairs FORBIDDEN refuses that one module needs: the CLI's side of the importing child
# checks each answer against the schema (plugin code can write on its channel); the hook
# never starts a child.
EXEMPT = {("fingerprint._isolation", "field._validate")}

THIRD_PARTY: dict[str, set[str]] = {
    "errors": set(),
    "_canonical": {"orjson"},
    "_safe_io": set(),
    "_signals": set(),
    "field.schema": set(),
    "field": {"orjson"},
    "fingerprint": {"orjson", "packaging"},
    "runfile": {"orjson"},
    # tomli: TOML on Python 3.10 (policy files, locks); tomli_w: export --format pylock.
    "analyze": {"attrs", "orjson", "packaging", "tomli", "tomli_w"},
    "host": {"attrs", "packaging", "insideLLMs"},
    "cli": {"orjson"},
    "_demo": set(),
    "__main__": set(),
    "": set(),
}

# The recording path: at module level, nothing but the standard library and orjson.
RECORDING_PATH = (
    "fingerprint",
    "field.schema",
    "field._build",
    "field._names",
    "_canonical",
    "errors",
    "_safe_io",
    "_signals",
    "runfile._style",
    "runfile._embed",
    "host.plugin",
    "host._observer",
)


def module_name(path: Path) -> str:
    relative = path.relative_to(SOURCE).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join(parts)


def matches(name: str, prefix: str) -> bool:
    return prefix in ("", name) or name.startswith(prefix + ".")


def layer_of(name: str) -> tuple[int, str]:
    """(layer index, the matching prefix) of a module name relative to the package."""
    best: tuple[int, str] | None = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            fits = name == "" if prefix == "" else matches(name, prefix)
            if fits and (best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    assert best is not None, f"{name or PACKAGE} is in no layer of docs/architecture.md"
    return best


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import statement in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top_level))
    return found


MODULES = sorted((module_name(p), p) for p in SOURCE.rglob("*.py"))


def internal(target: str) -> str | None:
    if target == PACKAGE:
        return ""
    if target.startswith(PACKAGE + "."):
        return target[len(PACKAGE) + 1 :]
    return None


# The standard library of every supported Python: tomllib is in it from 3.11 (imported
# only there; 3.10 imports its backport, tomli), whichever interpreter runs this test.
STDLIB = frozenset(sys.stdlib_module_names) | {"tomllib"}


def violations(name: str, found: list[tuple[str, bool]]) -> list[str]:
    problems = []
    level, prefix = layer_of(name)
    for target, top in found:
        inner = internal(target)
        if inner is None:
            root = target.split(".")[0]
            if root in STDLIB or root == "__future__":
                continue
            allowed = THIRD_PARTY[prefix]
            if root not in allowed:
                problems.append(f"{name} imports {target} (third-party, not allowed in {prefix!r})")
            elif top and any(matches(name, p) for p in RECORDING_PATH) and root != "orjson":
                problems.append(f"{name} imports {target} at module level on the recording path")
            continue
        if inner == name:
            continue
        target_level, _ = layer_of(inner) if inner else (len(LAYERS) - 1, "")
        if target_level > level:
            problems.append(f"{name} imports {inner or PACKAGE} from a higher layer")
        problems += [
            f"{name} imports {inner} ({importer} must not import {imported or 'the package'})"
            for importer, imported in FORBIDDEN
            if matches(name, importer)
            and (imported == "" or matches(inner, imported))
            and (name, inner) not in EXEMPT
        ]
    return problems


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[name or PACKAGE for name, _ in MODULES])
def test_module_imports_follow_the_layers(name, path):
    assert violations(name, imports(path)) == []


@pytest.mark.parametrize(
    ("name", "target", "top", "refused"),
    [
        ("fingerprint._recorder", "insidellms_provenance.field._build", True, False),
        ("fingerprint._recorder", "insidellms_provenance.field._read", False, True),
        ("fingerprint._recorder", "insidellms_provenance.analyze._diff", False, True),
        ("field._build", "insidellms_provenance.fingerprint._discover", False, True),
        ("field.schema", "insidellms_provenance._canonical", True, True),
        ("runfile._read", "insidellms_provenance.cli._render", False, True),
        ("analyze._verify", "insidellms_provenance.fingerprint._hashing", True, False),
        ("cli._show", "insidellms_provenance.host._inspect", False, False),
        ("fingerprint._source", "packaging.direct_url", False, False),
        ("fingerprint._source", "packaging.direct_url", True, True),  # at module level
        ("fingerprint._loader", "attrs", False, True),
        ("_canonical", "insidellms_provenance.errors", True, False),
    ],
)
def test_the_rules_refuse_what_they_should(name, target, top, refused):
    """Negative rows: the check itself catches upward and forbidden imports."""
    assert bool(violations(name, [(target, top)])) is refused


# The public API (docs/decisions.md, "private modules"): what `__init__` exports, and
# these modules. Every other module is private, named `_module`, so that its names may
# move in any release; sub-package folders keep their names (they are the layers).
PUBLIC_MODULES = frozenset({"errors", "field.schema", "field.jsonschema", "host.plugin"})


def _modules_not_private(public: frozenset[str]) -> list[str]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE).with_suffix("").parts
        name = parts[-1]
        if name.startswith("_") or ".".join(parts) in public:
            continue  # private, dunder (__init__, __main__), or public API
        found.append(".".join(parts))
    return found


def test_every_module_outside_the_public_api_is_private():
    assert _modules_not_private(PUBLIC_MODULES) == []
    # Negative row: a module left public by mistake is caught.
    assert "field.schema" in _modules_not_private(PUBLIC_MODULES - {"field.schema"})
    for module in PUBLIC_MODULES:
        assert (SOURCE / (module.replace(".", "/") + ".py")).is_file(), module
