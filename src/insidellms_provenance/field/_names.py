"""The schema's names that every reader needs, importable without the schema's classes.

:mod:`insidellms_provenance.field.schema` defines these, and they are its definitions;
this module repeats them for readers on ``diff``'s path, where building the schema's
``TypedDict`` classes was about 2 ms of a process that compares two small runs.
``tests/test_schema_builders.py`` checks that the two agree.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final, Literal


__all__ = [
    "DETERMINISM_CLASSES",
    "FIELD_KEY",
    "MANIFEST_NAME",
    "REGISTRY_KINDS",
    "SCHEMA_V1",
    "SCHEMA_V2",
]

SCHEMA_V1: Final = "insidellms-provenance/plugins/v1"
SCHEMA_V2: Final = "insidellms-provenance/plugins/v2"
MANIFEST_NAME: Final = "manifest.json"
FIELD_KEY: Final = "plugin_provenance"
REGISTRY_KINDS: Final[tuple[Literal["models", "probes", "datasets"], ...]] = (
    "models",
    "probes",
    "datasets",
)
DETERMINISM_CLASSES: Final = ("deterministic", "best_effort", "non_deterministic")
