"""Fake insideLLMs 0.2.0 for tests: plugins load at import, as in the real host.

Like the real host, ``insideLLMs.resources`` is not imported here: the runners import it
at their first write, after plugins have loaded.
"""

__version__ = "0.2.0"

from insideLLMs import registry  # noqa: E402
from insideLLMs.runtime.runner import run  # noqa: E402,F401

registry.ensure_builtins_registered()
