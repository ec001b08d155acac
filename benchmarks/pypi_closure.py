"""Ten plugins over a closure of 60 real PyPI distributions, pinned (``bench_deps.py --pypi``).

The plugins are small wheels built by ``tests/wheelbuilder.py``, as an evaluation team's
would be: model adapters for hosted APIs, metrics, reports, dataset loaders. Each
declares ranges of real PyPI projects in ``Requires-Dist`` and imports its direct
dependencies at module level, as a real plugin does. ``PINS`` fixes every distribution
of the closure (resolved by uv for CPython 3.11 on Linux x86-64), so two runs of the
benchmark install the same bytes; the installers take them as constraints. ``plotly``
6.0.1 is pinned for its RECORD of 14,972 rows (from 6.1 on, plotly's generated
validators are gone and its RECORD is ≈ 1,500 rows); it stands for the ``torch`` of the
issue (10,000+ rows) without gigabytes of CUDA libraries.

Installing needs the network (or a warm uv cache); the test suite never does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GROUP = "insidellms.plugins"

# (distribution, Requires-Dist, modules imported by the plugin's module)
PLUGINS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "acme-openai-chat",
        ("openai>=3.50", "tiktoken>=0.14", "python-dotenv>=1.0"),
        ("openai", "tiktoken", "dotenv"),
    ),
    ("acme-anthropic-chat", ("anthropic>=2.14",), ("anthropic",)),
    (
        "acme-http-judge",
        ("httpx>=0.28", "tenacity>=9.0", "pydantic>=2.10"),
        ("httpx", "tenacity", "pydantic"),
    ),
    (
        "acme-metrics",
        ("numpy>=2.0", "pandas>=2.2", "scikit-learn>=1.5"),
        ("numpy", "pandas", "sklearn"),
    ),
    ("acme-report", ("plotly>=6.0,<6.1", "jinja2>=3.1"), ("plotly", "jinja2")),
    (
        "acme-datasets",
        ("pyyaml>=6.0", "requests>=2.32", "jsonschema>=4.23"),
        ("yaml", "requests", "jsonschema"),
    ),
    ("acme-console", ("rich>=13", "tqdm>=4.66"), ("rich", "tqdm")),
    ("acme-nlp-metrics", ("nltk>=3.9", "sacrebleu>=2.4"), ("nltk", "sacrebleu")),
    ("acme-stats", ("scipy>=1.13", "numpy>=2.0"), ("scipy", "numpy")),
    ("acme-tokens", ("regex>=2024.1", "tiktoken>=0.14"), ("regex", "tiktoken")),
)

# Every distribution of the plugins' closure, exactly (`uv pip compile`, CPython 3.11).
PINS = (
    "annotated-types==0.8.0",
    "anthropic==2.14.0",
    "anyio==4.16.0",
    "attrs==26.1.0",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "click==8.5.1",
    "cloudpickle==3.1.3",
    "colorama==0.4.6",
    "defusedxml==0.7.1",
    "docstring-parser==0.18.0",
    "h11==0.16.0",
    "httpcore==1.0.9",
    "httpcore2==2.16.2",
    "httpx==0.28.1",
    "httpx2==2.16.2",
    "idna==3.20",
    "jinja2==3.1.6",
    "jiter==0.19.0",
    "joblib==1.6.0",
    "jsonschema==4.26.0",
    "jsonschema-specifications==2025.9.1",
    "lxml==6.1.3",
    "markdown-it-py==4.3.0",
    "markupsafe==3.0.4",
    "mdurl==0.1.2",
    "narwhals==2.29.0",
    "nltk==3.10.4",
    "numpy==2.4.6",
    "openai==3.57.0",
    "opentelemetry-api==1.45.2",
    "packaging==26.4",
    "pandas==3.1.1",
    "plotly==6.0.1",
    "portalocker==4.4.2",
    "pydantic==2.14.4",
    "pydantic-core==2.50.5",
    "pygments==2.21.0",
    "python-dateutil==4.0.0",
    "python-dotenv==1.2.4",
    "pyyaml==6.0.4",
    "referencing==0.37.0",
    "regex==2026.11.19",
    "requests==2.34.2",
    "rich==15.0.0",
    "rpds-py==2026.9.1",
    "sacrebleu==2.6.0",
    "scikit-learn==1.9.1",
    "scipy==1.17.1",
    "sniffio==1.3.1",
    "tabulate==0.10.0",
    "tenacity==9.2.1",
    "threadpoolctl==3.8.0",
    "tiktoken==0.14.0",
    "tqdm==4.70.1",
    "truststore==0.10.5",
    "typing-extensions==4.16.0",
    "typing-inspection==0.4.5",
    "tzdata==2026.6",
    "urllib3==2.8.0",
)


def build_plugins(directory: Path) -> list[str]:
    """The ten plugins' wheels in ``directory``; their distribution names."""
    from wheelbuilder import WheelSpec, build_wheel

    names = []
    for index, (name, requires, imports) in enumerate(PLUGINS):
        package = name.replace("-", "_")
        model = name.removeprefix("acme-")
        code = (
            "".join(f"import {module}\n" for module in imports)
            + "\n\ndef register(*, model_registry, probe_registry, dataset_registry):\n"
            f"    model_registry.register({model!r}, object)\n\n\n"
            "def plugin_manifest():\n"
            f"    return {{'name': {name!r}, 'version': '1.{index}.0', 'sdk_version': '1',\n"
            "            'insideLLMs': '>=0.2', 'capabilities': {'models': "
            f"[{model!r}], 'probes': [], 'datasets': []}},\n"
            "            'determinism': {'class': 'deterministic', 'notes': ''}}\n"
        )
        spec = WheelSpec(
            name=name,
            version=f"1.{index}.0",
            files={f"{package}/__init__.py": code.encode()},
            entry_points={GROUP: {name: f"{package}:register"}},
            requires_dist=requires,
        )
        build_wheel(spec, directory)
        names.append(name)
    return names


def install(
    python: Path, installer: str, wheels: Path, requirements: list[str], root: Path
) -> None:
    """Install ``requirements`` (found in ``wheels`` or on PyPI) under ``PINS`` as constraints.

    With uv, files are copied (not hard-linked from uv's cache) and bytecode is compiled,
    as pip does by default.
    """
    constraints = root / "pins.txt"
    constraints.write_text("".join(f"{pin}\n" for pin in PINS))
    options = ["--find-links", str(wheels), "--constraint", str(constraints)]
    if installer == "uv":
        from venvtools import uv_executable

        command = [uv_executable(), "pip", "install", "--quiet", "--python", str(python)]
        options.append("--compile-bytecode")
        env = {**os.environ, "UV_LINK_MODE": "copy"}
    else:
        command = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        env = dict(os.environ)
    result = subprocess.run(
        [*command, *options, *requirements], check=False, env=env, capture_output=True
    )
    if result.returncode != 0:
        sys.exit(f"{installer} failed:\n{result.stderr.decode()}{result.stdout.decode()}")


RECORD_ROWS = """
import sys
from importlib.metadata import distribution
for name in sys.argv[1:]:
    text = distribution(name).read_text("RECORD") or ""
    print(name, sum(1 for line in text.splitlines() if line.strip()))
"""


def record_rows(python: Path, names: list[str]) -> dict[str, int]:
    """The number of RECORD rows of each installed distribution in ``names``."""
    result = subprocess.run(
        [str(python), "-c", RECORD_ROWS, *names], check=True, capture_output=True, text=True
    )
    return {name: int(rows) for name, rows in (line.split() for line in result.stdout.splitlines())}
