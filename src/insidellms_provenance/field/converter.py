"""The single cattrs converter between the frozen records and plain JSON values."""

from __future__ import annotations

from typing import Any, TypeVar

from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.orjson import make_converter

from insidellms_provenance.field.model import Determinism, ManifestSummary

__all__ = ["converter", "structure", "unstructure"]

_T = TypeVar("_T")

converter = make_converter(forbid_extra_keys=True)

# JSON keys that are not valid or not idiomatic Python attribute names.
_RENAMES: dict[type, dict[str, str]] = {
    Determinism: {"level": "class"},
    ManifestSummary: {"insidellms": "insideLLMs"},
}


def _strict_str(value: object, _: type) -> str:
    """Refuse non-strings: cattrs would otherwise turn ``1`` into ``"1"`` silently."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _strict_bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


converter.register_structure_hook(str, _strict_str)
converter.register_structure_hook(bool, _strict_bool)

for _cls, _names in _RENAMES.items():
    _overrides: dict[str, Any] = {attr: override(rename=key) for attr, key in _names.items()}
    converter.register_unstructure_hook(
        _cls, make_dict_unstructure_fn(_cls, converter, **_overrides)
    )
    converter.register_structure_hook(
        _cls,
        make_dict_structure_fn(_cls, converter, _cattrs_forbid_extra_keys=True, **_overrides),
    )


def unstructure(value: object) -> Any:  # noqa: ANN401 - JSON values are untyped
    """Turn records into dicts, lists and scalars ready for :func:`canonical_json`."""
    return converter.unstructure(value)


def structure(value: object, cls: type[_T]) -> _T:
    """Build records from JSON values; raises a cattrs error describing every problem."""
    return converter.structure(value, cls)
