"""What recording inside a host run imports: it runs in every run, so it stays lean.

The recording path is a package boundary, checked by module prefix: the standard library,
orjson, and these parts of this package only. Readers' modules (validation, analysis,
the CLI) and heavier dependencies (attrs, packaging.metadata, packaging.specifiers) must
not reach the host's process.
"""

from __future__ import annotations

import subprocess

# Package __init__ modules, allowed by themselves (they import nothing).
PACKAGES = ("insidellms_provenance", "insidellms_provenance.field", "insidellms_provenance.runfile")
# Allowed with everything below them.
RECORDING_PATH = (
    "insidellms_provenance.fingerprint",
    "insidellms_provenance._safe_io",  # bounded, non-blocking reads of regular files
    "insidellms_provenance._signals",  # Ctrl-C held back while a child is started
    "insidellms_provenance.field.schema",
    "insidellms_provenance.field._build",
    "insidellms_provenance.field._names",  # the schema's names, repeated for readers
    "insidellms_provenance._canonical",
    "insidellms_provenance.errors",
    "insidellms_provenance.runfile._style",
    "insidellms_provenance.runfile._embed",  # embed_text, the one embedder, used by the hook
    "insidellms_provenance.host",
    "orjson",
)

NEW_MODULES = """
import sys
before = set(sys.modules)
{code}
new = set(sys.modules) - before
print(" ".join(sorted(
    m for m in new
    if m.split(".")[0] not in sys.stdlib_module_names
    and not m.startswith("_sysconfigdata")  # the interpreter's own build configuration
)))
"""

RECORD_IN_RUN = """
from insidellms_provenance.runfile._embed import embed_text
from insidellms_provenance.fingerprint._recorder import record_field

field = record_field("insidellms.plugins")
embed_text('{"a": 1}', field, where="manifest.json")
assert field["plugins"] and all(p["manifest"]["status"] == "ok" for p in field["plugins"])
"""

HOOK_OFF = """
import os
os.environ["INSIDELLMS_PROVENANCE"] = "off"
from insidellms_provenance.host.plugin import register
register()
"""


def new_modules(venv, code: str) -> list[str]:
    result = subprocess.run(
        [str(venv.python), "-c", NEW_MODULES.format(code=code)],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.split()


def outside(modules: list[str], allowed: tuple[str, ...]) -> list[str]:
    return [
        m
        for m in modules
        if m not in PACKAGES and not any(m == a or m.startswith(a + ".") for a in allowed)
    ]


def test_recording_imports_only_the_recording_path(make_env):
    venv = make_env("pip", ["alpha", "gamma"])
    loaded = new_modules(venv, RECORD_IN_RUN)
    assert "insidellms_provenance.fingerprint._recorder" in loaded  # the check sees our modules
    plugins = ("alpha_plugin", "gamma_plugin")  # the plugins' own code, imported to record them
    assert outside(loaded, RECORDING_PATH + plugins) == []
    # Plugins that declare no Requires-Dist cost no dependency walk, wheel installs no
    # legacy reader, and a valid direct_url.json no packaging: none of their modules is
    # imported.
    walk = ("dependencies", "requirements", "digest_cache", "isolation", "legacy")
    unneeded = {f"insidellms_provenance.fingerprint._{name}" for name in walk}
    assert unneeded.isdisjoint(loaded), sorted(unneeded & set(loaded))
    assert not [m for m in loaded if m.split(".")[0] == "packaging"], loaded


def test_a_disabled_hook_imports_nothing_but_its_own_small_modules(make_env):
    venv = make_env("pip", ["alpha", "gamma"])
    loaded = new_modules(venv, HOOK_OFF)
    assert "insidellms_provenance.host.plugin" in loaded
    allowed = ("insidellms_provenance.host", "insidellms_provenance.field.schema")
    assert outside(loaded, allowed) == [], loaded


def test_the_prefix_check_refuses_a_reader_module():
    """Negative rows: what a leak would look like is caught."""
    assert outside(["insidellms_provenance.field._validate"], RECORDING_PATH) == [
        "insidellms_provenance.field._validate"
    ]
    assert outside(["attr", "packaging.specifiers"], RECORDING_PATH) == [
        "attr",
        "packaging.specifiers",
    ]
    assert outside(["insidellms_provenance.fingerprint._loader", "orjson"], RECORDING_PATH) == []
