"""A self-contained example: two tiny plugins, a host-style run, then record, embed, show.

``insidellms-provenance demo`` needs neither insideLLMs nor network access: it writes the
plugins as installed distributions into a scratch site directory and records them in a
child interpreter that has that directory on its path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["DEMO_PLUGINS", "install_demo_plugins", "run_demo", "write_demo_run"]

_MANIFEST_FUNCTION = """
def plugin_manifest():
    return {
        "name": %(name)r,
        "version": %(version)r,
        "sdk_version": "1",
        "insideLLMs": ">=0.2.0,<0.3.0",
        "capabilities": {"models": [], "probes": [%(probe)r], "datasets": []},
        "requires": {"python": ">=3.10", "extras": [], "env": []},
        "determinism": {"class": %(determinism)r, "notes": %(notes)r},
    }
"""

DEMO_PLUGINS = {
    "demo-echo-plugin": {
        "version": "1.0.0",
        "probe": "echo",
        "determinism": "deterministic",
        "notes": "Returns its input unchanged.",
    },
    "demo-sampler-plugin": {
        "version": "0.4.1",
        "probe": "sampler",
        "determinism": "non_deterministic",
        "notes": "Samples with temperature 0.7.",
    },
}


def _record_hash(data: bytes) -> str:
    from insidellms_provenance.fingerprint.record_file import Hash

    return f"{Hash.of(data)},{len(data)}"


def install_demo_plugins(site: Path) -> None:
    """Write the demo plugins into ``site`` as a wheel installer would."""
    for name, spec in DEMO_PLUGINS.items():
        package = name.replace("-", "_")
        info = f"{package}-{spec['version']}.dist-info"
        module = (
            f'"""{name}: an example insideLLMs plugin."""\n\n'
            "def register():\n    return None\n" + _MANIFEST_FUNCTION % {"name": name, **spec}
        )
        files = {
            f"{package}/__init__.py": module.encode(),
            f"{info}/METADATA": (
                f"Metadata-Version: 2.1\nName: {name}\nVersion: {spec['version']}\n"
            ).encode(),
            f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            f"{info}/entry_points.txt": (
                f"[insidellms.plugins]\n{spec['probe']} = {package}:register\n"
            ).encode(),
        }
        rows = [f"{path},{_record_hash(data)}" for path, data in sorted(files.items())]
        files[f"{info}/RECORD"] = ("\n".join([*rows, f"{info}/RECORD,,"]) + "\n").encode()
        for path, data in files.items():
            target = site / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def write_demo_run(run_dir: Path) -> Path:
    """A minimal ``manifest.json`` in the host's format (sorted, indent 2, no newline)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "schema_version": "1.0.1",
        "run_id": "demo",
        "model": {"model_id": "dummy"},
        "probe": {"probe_id": "logic"},
        "custom": {"status_counts": {"success": 5}, "timeout_count": 0},
    }
    path = run_dir / "manifest.json"
    path.write_text(json.dumps(manifest, sort_keys=True, indent=2), encoding="utf-8")
    return path


def run_demo(directory: Path) -> int:
    """Install the demo plugins, record them in a child process, embed, and show."""
    site = directory / "site-packages"
    run_dir = directory / "run"
    install_demo_plugins(site)
    write_demo_run(run_dir)
    inherited = os.environ.get("PYTHONPATH")
    path = os.pathsep.join([str(site), inherited] if inherited else [str(site)])
    environment = {**os.environ, "PYTHONPATH": path}
    record_file = directory / "provenance.json"
    command = [sys.executable, "-m", "insidellms_provenance"]
    steps = [
        [*command, "record", "--output", str(record_file)],
        [*command, "embed", str(run_dir), "--from", str(record_file)],
        [*command, "show", str(run_dir)],
    ]
    for step in steps:
        print("$ insidellms-provenance " + " ".join(step[3:]), flush=True)
        completed = subprocess.run(step, env=environment, check=False)
        if completed.returncode != 0:
            return completed.returncode
    print(
        f"\nThe example run is in {run_dir}; its manifest.json now holds custom.plugin_provenance."
    )
    return 0
