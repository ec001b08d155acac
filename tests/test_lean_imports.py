"""What recording inside a host run imports: it runs in every run, so it stays lean.

The typed records (attrs, cattrs) and the heavier ``packaging`` modules belong to the
readers; the recording path must not pull them into the host's process.
"""

from __future__ import annotations

import subprocess

HEAVY = ("attr", "attrs", "cattr", "cattrs", "packaging.metadata", "packaging.specifiers")

RECORD_IN_RUN = f"""
import sys
from insidellms_provenance.runfile.style import detect_style, render
from insidellms_provenance.fingerprint.recorder import record_field

field = record_field("insidellms.plugins")
text = '{{"a": 1}}'
render({{"a": 1, "custom": {{"plugin_provenance": field}}}}, detect_style(text, {{"a": 1}}))
assert field["plugins"] and all(p["manifest"]["status"] == "ok" for p in field["plugins"])
print(" ".join(m for m in sys.modules if m in {HEAVY!r} or m.startswith(("attr.", "cattrs."))))
"""

HOOK_OFF = """
import os, sys
os.environ["INSIDELLMS_PROVENANCE"] = "off"
before = set(sys.modules)
from insidellms_provenance.host.plugin import register
register()
new = set(sys.modules) - before
print(" ".join(sorted(m for m in new if m.split(".")[0] not in sys.stdlib_module_names)))
"""


def run_in(venv, code: str) -> list[str]:
    result = subprocess.run(
        [str(venv.python), "-c", code], check=True, capture_output=True, text=True
    )
    return result.stdout.split()


def test_recording_imports_neither_attrs_cattrs_nor_heavy_packaging(make_env):
    venv = make_env("pip", ["alpha", "gamma"])
    assert run_in(venv, RECORD_IN_RUN) == []


def test_a_disabled_hook_imports_nothing_but_its_own_small_modules(make_env):
    venv = make_env("pip", ["alpha", "gamma"])
    loaded = run_in(venv, HOOK_OFF)
    assert set(loaded) <= {
        "insidellms_provenance",
        "insidellms_provenance.host",
        "insidellms_provenance.host.plugin",
        "insidellms_provenance.host.observer",
        "insidellms_provenance.field",
        "insidellms_provenance.field.schema",
    }, loaded
