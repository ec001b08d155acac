"""Fake insideLLMs 0.2.0 for tests: plugins load at import, as in the real host."""

__version__ = "0.2.0"

from insideLLMs import registry, resources  # noqa: E402,F401
from insideLLMs.runtime import _artifact_utils  # noqa: E402,F401
from insideLLMs.runtime.runner import run  # noqa: E402,F401

registry.ensure_builtins_registered()
