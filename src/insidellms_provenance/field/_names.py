"""The schema's names that every reader needs, importable without the schema's classes.

:mod:`insidellms_provenance.field.schema` defines these, and they are its definitions;
this module repeats them for readers on ``diff``'s path, where building the schema's
``TypedDict`` classes was about 2 ms of a process that compares two small runs.
``tests/test_schema_builders.py`` checks that the two agree.
"""

from __future__ import annotations

import re

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
    "normalized_name",
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


_SEPARATORS: Final = re.compile(r"[-_.]+")


def normalized_name(name: str) -> str:
    """PEP 503's normalized form of a distribution's name: what ``normalized_name`` holds.

    The rule ``packaging.utils.canonicalize_name`` applies, written out (it is the
    specification's one line) so that recording inside a host run does not import
    ``packaging.utils`` and its platform-tag machinery; a property test checks it
    against ``canonicalize_name``.
    """
    if "-" not in name and "." not in name and "__" not in name:
        return name.replace("_", "-").lower()  # each "_" is a run of its own (most names)
    return _SEPARATORS.sub("-", name).lower()
