"""``diff`` between real recordings of real wheels installed by pip and uv."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import attrs

from plugin_catalog import GOOD, GROUP, catalog
from wheelbuilder import build_wheel


def test_diff_of_real_recordings(make_env, wheelhouse, tmp_path):
    specs = catalog()
    alpha, beta, gamma = specs["alpha"], specs["beta"], specs["gamma"]
    variant = tmp_path / "variant"
    variant.mkdir()
    replaced = {alpha.filename, beta.filename, gamma.filename}
    for wheel in wheelhouse.iterdir():
        if wheel.name not in replaced:
            shutil.copy2(wheel, variant / wheel.name)
    init = alpha.files["alpha_plugin/__init__.py"].replace(b'"1.0.0"', b'"1.1.0"')
    init = init.replace(b'["alpha-echo"]', b'["alpha-echo", "alpha-chat"]')
    build_wheel(
        attrs.evolve(
            alpha, version="1.1.0", files={**alpha.files, "alpha_plugin/__init__.py": init}
        ),
        variant,
    )
    build_wheel(beta.with_changed_byte("beta_plugin/__init__.py"), variant)
    hooks = gamma.files["gamma_plugin/hooks.py"] + b"\n\ndef register_v2():\n    return None\n"
    build_wheel(
        attrs.evolve(
            gamma,
            files={**gamma.files, "gamma_plugin/hooks.py": hooks},
            entry_points={GROUP: {"gamma": "gamma_plugin.hooks:register_v2"}},
        ),
        variant,
    )
    before = tmp_path / "before.json"
    after = tmp_path / "after.json"
    before.write_bytes(make_env("uv", GOOD).record())
    after.write_bytes(make_env("pip", GOOD, find_links=variant).record())

    command = [sys.executable, "-m", "insidellms_provenance", "diff", str(before), str(after)]
    result = subprocess.run([*command, "--format", "json"], capture_output=True, check=False)
    assert result.returncode == 1, result.stderr
    changes = {(c["plugin"], c["kind"]): c for c in json.loads(result.stdout)["changes"]}
    assert changes["alpha", "version"]["message"] == "Alpha-Plugin 1.0.0 -> 1.1.0 (minor upgrade)"
    assert changes["alpha", "capabilities"]["message"] == "models added: alpha-chat"
    assert changes["beta", "content"]["severity"] == "critical"
    assert changes["gamma", "retargeted"]["after"] == "gamma_plugin.hooks:register_v2"
    assert {plugin for plugin, _ in changes} == {"alpha", "beta", "gamma"}
    assert subprocess.run([*command, "--fail-on", "major"], check=False).returncode == 0
    assert subprocess.run([*command, "--fail-on", "minor"], check=False).returncode == 1
    assert (
        subprocess.run(
            [*command, "--fail-on", "any,-minor"], capture_output=True, check=False
        ).returncode
        == 1  # still the content and retarget changes
    )
