"""What the hook relies on in insideLLMs, checked by shape rather than by version number.

The hook wraps ``insideLLMs.registry._call_plugin_register(fn)`` and
``insideLLMs.resources.atomic_write_text(path, text)``, and calls each registry's
``register(name, factory, overwrite=...)`` and ``list()`` (docs/host-integration.md). A
host release that keeps these names and call signatures keeps the contract, whatever its
version; one that drops or reshapes any of them breaks it, and the hook must then leave
the run alone and say what is missing.
"""

from __future__ import annotations

from types import FunctionType, MethodType
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

    Plain functions and methods are judged from their code object (``inspect.signature``
    builds a ``Signature`` for the same answer, several times slower, in every run);
    anything else by ``inspect.signature``. A callable whose signature cannot be read
    (some built-ins) is given the benefit of the doubt: the call itself still runs
    inside the hook's guard. ``tests/test_contract.py`` checks both agree.
    """
    fast = _code_accepts(function, positional, keywords)
    if fast is not None:
        return fast
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


_VARARGS: Final = 0x04  # inspect.CO_VARARGS
_VARKEYWORDS: Final = 0x08  # inspect.CO_VARKEYWORDS


def _code_accepts(function: Any, positional: int, keywords: tuple[str, ...]) -> bool | None:  # noqa: ANN401
    """:func:`_accepts` of a plain function or bound method, or ``None`` to ask ``inspect``.

    Binds the call as ``inspect.Signature.bind`` does: positional arguments fill
    parameters in order (the bound instance first, then hidden), each keyword names a
    parameter not filled yet (or lands in ``**kwargs``), and every parameter left must
    have a default. Functions that declare another signature (``__signature__``, or
    ``__wrapped__`` as ``functools.wraps`` leaves), and keywords naming positional-only
    parameters, go to ``inspect``.
    """
    given = positional
    if type(function) is MethodType:
        function, given = function.__func__, positional + 1
    if (
        type(function) is not FunctionType
        or hasattr(function, "__wrapped__")
        or hasattr(function, "__signature__")
    ):
        return None
    code = function.__code__
    count, only = code.co_argcount, code.co_posonlyargcount
    names = code.co_varnames[: count + code.co_kwonlyargcount]
    if given > count and not code.co_flags & _VARARGS:
        # A method with no place for its instance is one inspect calls invalid.
        return None if given > positional and not count else False
    filled = set(names[: min(given, count)])
    # inspect drops a method's first parameter: its name is then free for ``**kwargs``.
    instance = names[0] if given > positional and count else None
    for keyword in keywords:
        index = names.index(keyword) if keyword in names and keyword != instance else -1
        if 0 <= index < only:
            return None  # inspect's verdict on this has changed between versions
        if index < 0:
            if not code.co_flags & _VARKEYWORDS:
                return False
            continue
        if keyword in filled:
            return False
        filled.add(keyword)
    first_default = count - len(function.__defaults__ or ())
    keyword_defaults = function.__kwdefaults__ or {}
    return all(
        name in filled
        or (index < count and index >= first_default)
        or (index >= count and name in keyword_defaults)
        for index, name in enumerate(names)
    )
