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
    "path_text",
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


def path_text(path: str) -> str:
    r"""A file or directory path as text, one to one: ``\\`` a backslash, ``\xNN`` a byte not UTF-8.

    A name need not be UTF-8: Python reads its other bytes as lone surrogates
    (``surrogateescape``), which no JSON text holds and no UTF-8 stream writes, and one
    such name must not stop a recording, an audit or a report. A backslash is written as
    two, so a file literally named ``caf\xe9.txt`` is never written as the one named with
    the byte 0xE9. Other valid UTF-8 is kept as it is. The one rule for installed files
    (integrity's findings, an ``.egg``'s name) and run paths (``audit``).
    """
    if path.isascii() and "\\" not in path:
        return path
    escaped = path.replace("\\", "\\\\")
    try:
        data = escaped.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file system name decodes to
        data = escaped.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "backslashreplace")
