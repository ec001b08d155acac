"""What the hook relies on in insideLLMs, checked by shape rather than by version number.

The hook wraps ``insideLLMs.registry._call_plugin_register(fn)`` and
``insideLLMs.resources.atomic_write_text(path, text)``, and calls each registry's
``register(name, factory, overwrite=...)`` and ``list()`` (docs/host-integration.md). A
host release that keeps these names and call signatures keeps the contract, whatever its
version; one that drops or reshapes any of them breaks it, and the hook must then leave
the run alone and say what is missing.
"""

from __future__ import annotations

from typing import Any, Final

from insidellms_provenance.host._observer import HOST_REGISTRIES

__all__ = ["contract_problems"]

# (where, attribute, positional arguments the hook passes, keyword arguments it passes)
_REGISTRY_FUNCTION: Final = ("insideLLMs.registry", "_call_plugin_register", ("fn",), ())
_WRITER: Final = ("insideLLMs.resources", "atomic_write_text", ("path", "text"), ())
_REGISTRY_METHODS: Final = (
    ("register", ("name", "factory"), ("overwrite",)),
    ("list", (), ()),
)


def contract_problems(registry: Any, resources: Any) -> list[str]:  # noqa: ANN401 - host modules
    """Every part of the contract this host lacks or has reshaped; empty when intact."""
    checks: list[tuple[Any, str, str, tuple[str, ...], tuple[str, ...]]] = [
        (registry, *_REGISTRY_FUNCTION),
        (resources, *_WRITER),
    ]
    problems = []
    for attribute in HOST_REGISTRIES.values():
        instance = getattr(registry, attribute, None)
        if instance is None:
            problems.append(f"insideLLMs.registry.{attribute} is missing")
            continue
        where = f"insideLLMs.registry.{attribute}"
        checks += [(instance, where, name, *shape) for name, *shape in _REGISTRY_METHODS]
    for owner, where, name, positional, keywords in checks:
        function = getattr(owner, name, None)
        if not callable(function):
            problems.append(f"{where}.{name} is missing")
        elif not _accepts(function, len(positional), keywords):
            arguments = ", ".join((*positional, *(f"{key}=..." for key in keywords)))
            problems.append(f"{where}.{name} no longer accepts ({arguments})")
    return problems


def _accepts(function: Any, positional: int, keywords: tuple[str, ...]) -> bool:  # noqa: ANN401
    """Whether ``function`` can be called with that many positional arguments and keywords.

    A callable whose signature cannot be read (some built-ins) is given the benefit of
    the doubt: the call itself still runs inside the hook's guard.
    """
    import inspect  # the host imports it already; never on the recording path

    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(*range(positional), **dict.fromkeys(keywords))
    except TypeError:
        return False
    return True
