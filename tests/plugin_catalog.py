"""The fixed set of test plugins for group ``insidellms.plugins``, good and broken.

Golden files depend on these bytes: change them only together with a deliberate
regeneration of ``golden/``.
"""

from __future__ import annotations

from wheelbuilder import WheelSpec

GROUP = "insidellms.plugins"

_ALPHA_MANIFEST = """

def plugin_manifest():
    return {
        "name": "alpha",
        "version": "1.0.0",
        "sdk_version": "1",
        "insideLLMs": ">=0.2.0,<0.3.0",
        "capabilities": {"models": ["alpha-echo"], "probes": ["alpha-probe"], "datasets": []},
        "requires": {"python": ">=3.10", "extras": [], "env": ["ALPHA_TOKEN"]},
        "determinism": {"class": "deterministic", "notes": "pure function of the prompt"},
    }
"""

_GAMMA_MANIFEST = """

def plugin_manifest():
    return {
        "name": "gamma",
        "version": "0.3.0",
        "sdk_version": "1",
        "insideLLMs": ">=0.2",
        "capabilities": {"models": [], "probes": [], "datasets": ["gamma-set"]},
        "determinism": {"class": "non_deterministic", "notes": "température ≠ 0"},
    }
"""


def _plugin(name: str, version: str, package: str, body: str, **extra: object) -> WheelSpec:
    return WheelSpec(
        name=name,
        version=version,
        files={f"{package}/__init__.py": body.encode()},
        entry_points={GROUP: {extra.pop("ep_name", package): f"{package}:register"}},
        **extra,  # type: ignore[arg-type]
    )


def catalog() -> dict[str, WheelSpec]:
    """Every test plugin by short name."""
    register = "def register():\n    return None\n"
    alpha = WheelSpec(
        name="Alpha-Plugin",
        version="1.0.0",
        files={
            "alpha_plugin/__init__.py": (register + _ALPHA_MANIFEST).encode(),
            "alpha_plugin/models/__init__.py": b"",
            "alpha_plugin/models/echo.py": b"def echo(prompt):\n    return prompt\n",
            "alpha_plugin/probes/__init__.py": b"PROBES = ['alpha-probe']\n",
        },
        entry_points={
            GROUP: {"alpha": "alpha_plugin:register"},
            "console_scripts": {"alpha-cli": "alpha_plugin:register"},
        },
        scripts={"alpha-tool": b"#!python\nprint('alpha tool')\n"},
        data={"share/alpha/notes.txt": b"alpha data file\n"},
    )
    gamma = WheelSpec(
        name="gamma-plugin",
        version="0.3.0",
        files={
            "gamma_plugin/__init__.py": _GAMMA_MANIFEST.lstrip().encode(),
            "gamma_plugin/hooks.py": register.encode(),
        },
        entry_points={GROUP: {"gamma": "gamma_plugin.hooks:register"}},
    )
    return {
        "alpha": alpha,
        "beta": _plugin("beta_plugin", "2.1.0", "beta_plugin", register, ep_name="beta"),
        "gamma": gamma,
        "broken-import": _plugin(
            "broken-import-plugin",
            "0.1.0",
            "broken_import_plugin",
            "raise RuntimeError('backend unavailable\\nsecond line')\n",
        ),
        "manifest-raises": _plugin(
            "manifest-raises-plugin",
            "0.1.0",
            "manifest_raises_plugin",
            register + "\ndef plugin_manifest():\n    raise ValueError('no manifest today')\n",
        ),
        "manifest-not-dict": _plugin(
            "manifest-not-dict-plugin",
            "0.1.0",
            "manifest_not_dict_plugin",
            register + "\ndef plugin_manifest():\n    return ['not', 'a', 'dict']\n",
        ),
        "manifest-nan": _plugin(
            "manifest-nan-plugin",
            "0.1.0",
            "manifest_nan_plugin",
            register + "\ndef plugin_manifest():\n    return {'name': float('nan')}\n",
        ),
        "manifest-set": _plugin(
            "manifest-set-plugin",
            "0.1.0",
            "manifest_set_plugin",
            register + "\ndef plugin_manifest():\n    return {'capabilities': {'models': {'a'}}}\n",
        ),
        "manifest-huge": _plugin(
            "manifest-huge-plugin",
            "0.1.0",
            "manifest_huge_plugin",
            register + "\ndef plugin_manifest():\n    return {'name': 'x' * 5_000_000}\n",
        ),
        "not-callable": WheelSpec(
            name="not-callable-plugin",
            version="0.1.0",
            files={"not_callable_plugin/__init__.py": b"REGISTER = 42\n"},
            entry_points={GROUP: {"not-callable": "not_callable_plugin:REGISTER"}},
        ),
        "noisy": _plugin(
            "noisy-plugin",
            "0.1.0",
            "noisy_plugin",
            "print('hello from a noisy plugin')\n" + register,
        ),
    }


GOOD = ("alpha", "beta", "gamma")
ALL = tuple(catalog())
