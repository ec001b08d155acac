"""Deterministic fake runs: records, then the manifest, like the host's runners.

``run`` is the sync runner, ``arun`` the async one (it writes from inside the event
loop) and ``harness`` the harness command (one manifest plus ``explain.json``); all
write through ``_atomic_write_text``, as the contract says the host's do.
"""

import asyncio
import hashlib
import json
import os

from insideLLMs.runtime._artifact_utils import _atomic_write_text

ALLOWED_KEYS = {
    "schema_version",
    "run_id",
    "model",
    "probe",
    "python_version",
    "platform",
    "command",
    "created_at",
    "custom",
}


def _manifest(run_id, model_id, probe_id, successes):
    return {
        "schema_version": "1.0.1",
        "run_id": run_id,
        "model": {"model_id": model_id},
        "probe": {"probe_id": probe_id},
        "python_version": None,
        "platform": None,
        "command": None,
        "created_at": "2026-01-01T00:00:00Z",
        "custom": {"status_counts": {"success": successes}, "timeout_count": 0},
    }


def _write_json(path, value):
    _atomic_write_text(path, json.dumps(value, sort_keys=True, indent=2))


def run(config, run_dir):
    os.makedirs(run_dir, exist_ok=True)
    resolved = json.dumps(config, sort_keys=True)
    records = [{"input": q, "output": q.upper()} for q in config.get("questions", [])]
    _atomic_write_text(
        os.path.join(run_dir, "records.jsonl"),
        "".join(json.dumps(r, sort_keys=True) + "\n" for r in records),
    )
    manifest = _manifest(
        hashlib.sha256(resolved.encode()).hexdigest()[:16],
        config.get("model", "dummy"),
        config.get("probe", "logic"),
        len(records),
    )
    _write_json(os.path.join(run_dir, "manifest.json"), manifest)
    open(os.path.join(run_dir, ".insidellms_run"), "w").close()
    return manifest


async def arun(config, run_dir):
    await asyncio.sleep(0)
    return run(config, run_dir)


def harness(config, output_dir):
    os.makedirs(output_dir, exist_ok=True)
    models = config.get("models", ["dummy"])
    run_id = "harness-" + hashlib.sha256(json.dumps(models).encode()).hexdigest()[:8]
    manifest = _manifest(run_id, ",".join(models), "harness", len(models))
    _write_json(os.path.join(output_dir, "manifest.json"), manifest)
    _write_json(
        os.path.join(output_dir, "explain.json"), {"models": models, "plugins": "not a manifest"}
    )
    return manifest


def validate(run_dir):
    """The host's rule: no unknown top-level keys (pydantic's extra_forbidden)."""
    with open(os.path.join(run_dir, "manifest.json"), encoding="utf-8") as file:
        manifest = json.load(file)
    extra = sorted(set(manifest) - ALLOWED_KEYS)
    if extra:
        raise ValueError(f"extra_forbidden: {extra}")
    return True
