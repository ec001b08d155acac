"""A self-contained example: two runs, an upgrade, a silent rebuild, a tampered file.

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

__all__ = [
    "DEMO_PLUGINS",
    "NEXT_STEPS",
    "change_demo_plugins",
    "install_demo_plugins",
    "run_demo",
    "write_demo_run",
]

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
    from insidellms_provenance.fingerprint._record_file import Hash

    return f"{Hash.of(data)},{len(data)}"


def install_demo_plugins(site: Path) -> None:
    """Write the demo plugins into ``site`` as a wheel installer would."""
    _install(site, DEMO_PLUGINS)


def _install(site: Path, plugins: dict[str, dict[str, str]]) -> None:
    for name, spec in plugins.items():
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


# Where the story changes the plugins between the two runs.
_UPGRADE = ("demo-echo-plugin", "1.1.0")
_REBUILD = "demo-sampler-plugin"
_TAMPERED = "demo_echo_plugin/__init__.py"
NEXT_STEPS = (
    ("insidellms-provenance show RUN_DIR", "which plugin code produced a run"),
    (
        "insidellms-provenance diff OLD_RUN NEW_RUN --fail-on any,-patch",
        "what changed between two runs, as a CI gate",
    ),
    ("insidellms-provenance verify RUN_DIR", "whether this environment still has those files"),
)


def change_demo_plugins(site: Path) -> None:
    """Upgrade one plugin, and rebuild the other under the same version with new code."""
    name, version = _UPGRADE
    old = DEMO_PLUGINS[name]["version"]
    package = name.replace("-", "_")
    for path in sorted((site / f"{package}-{old}.dist-info").iterdir()):
        path.unlink()
    (site / f"{package}-{old}.dist-info").rmdir()
    upgraded = {**DEMO_PLUGINS[name], "version": version}
    rebuilt = {**DEMO_PLUGINS[_REBUILD], "notes": "Samples with temperature 0.9."}
    _install(site, {name: upgraded, _REBUILD: rebuilt})


def run_demo(directory: Path, *, keep: bool) -> int:
    """Tell the story the tool exists for, in ``directory``; 0 when every step showed it.

    Two runs with an upgrade and a silent same-version rebuild between them, the diff
    that shows both, a tampered installed file that ``verify`` catches, and what to run
    next. Every command runs in a child interpreter whose path holds the demo plugins,
    in ``directory``, so the output names relative paths only.
    """
    site = directory / "site-packages"
    inherited = os.environ.get("PYTHONPATH")
    path = os.pathsep.join([str(site), inherited] if inherited else [str(site)])
    # No bytecode caches beside the demo plugins: verify would rightly flag them.
    environment = {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
    for variable in ("INSIDELLMS_DISABLE_PLUGINS", "NO_COLOR"):
        environment.pop(variable, None)

    def step(*arguments: str) -> tuple[int, str]:
        print(f"$ insidellms-provenance {' '.join(arguments)}", flush=True)
        completed = subprocess.run(
            [sys.executable, "-m", "insidellms_provenance", *arguments],
            env=environment,
            cwd=directory,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        output = completed.stdout.decode("utf-8", "replace")
        print(output, end="" if output.endswith("\n") or not output else "\n", flush=True)
        return completed.returncode, output

    where = "kept" if keep else "a temporary directory, removed at the end"
    print("insidellms-provenance demo: two plugins, two runs, one upgrade, one silent")
    print(f"rebuild, one tampered file. Working in {directory} ({where}).\n")
    install_demo_plugins(site)
    write_demo_run(directory / "run1")
    write_demo_run(directory / "run2")
    echo, sampler = (f"{n} {DEMO_PLUGINS[n]['version']}" for n in DEMO_PLUGINS)
    print(f"1. Record a run with {echo} and {sampler}.")
    codes = [step("embed", "run1")[0], step("show", "run1")[0]]

    name, version = _UPGRADE
    print(f"\n2. Upgrade {name} to {version}; rebuild {_REBUILD} with different code")
    print("   under the same version, as a careless release or a tampered wheel would.")
    change_demo_plugins(site)
    codes.append(step("embed", "run2")[0])
    diff_code, diff_output = step("diff", "run1", "run2")
    print(f"(exit {diff_code}: diff exits 1 when a change is selected by --fail-on)")

    print(f"\n3. Tamper with an installed file ({_TAMPERED}), then check the environment.")
    tampered = site / _TAMPERED
    tampered.write_bytes(tampered.read_bytes() + b"print('tampered')\n")
    verify_code, verify_output = step("verify", "run2")
    print(f"(exit {verify_code}: verify exits 1 when any file differs from its RECORD)")

    print("\nNext, on your own runs:")
    width = max(len(command) for command, _ in NEXT_STEPS)
    for command, meaning in NEXT_STEPS:
        print(f"  {command.ljust(width)}  # {meaning}")
    told = (
        not any(codes)
        and diff_code == 1
        and "same version, different installed files" in diff_output
        and verify_code == 1
        and "content does not match RECORD hash" in verify_output
    )
    if not told:
        print("\ndemo: a step did not show what it should; please report this.", file=sys.stderr)
    return 0 if told else 1
