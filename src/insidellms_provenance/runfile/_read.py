"""Find and read the provenance field in a run directory, manifest or record file.

The one reader of run files: ``show``, ``diff``, ``verify RUN``, ``check RUN``, ``audit``
and ``embed --from`` all read through :func:`locate_field` and validate through
:func:`insidellms_provenance.field._read.read_field`, so they accept and refuse the same
files. Files are read with :func:`insidellms_provenance._safe_io.read_regular`: a FIFO or
device is refused, and nothing larger than :data:`RUN_FILE_LIMIT` is read.
"""

from __future__ import annotations

import json
import os

import orjson

from insidellms_provenance._safe_io import RUN_FILE_LIMIT, FileRefusedError, read_regular
from insidellms_provenance.errors import InvalidRunFileError
from insidellms_provenance.field._names import FIELD_KEY, MANIFEST_NAME
from insidellms_provenance.field._read import (
    check_field,
    read_field,
    read_field_beside,
    validate_checked,
)

TYPE_CHECKING = False  # typing is not imported: it would be ≈ 3 ms of diff's start-up
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Final, Literal

    from insidellms_provenance.field.schema import Provenance

    FileKind = Literal["manifest", "record"]

__all__ = [
    "FIELD_KEY",
    "MANIFEST_NAME",
    "RUN_FILE_LIMIT",
    "file_kind",
    "load_field_pair",
    "load_field_value",
    "load_provenance",
    "load_provenance_and_bytes",
    "locate_field",
    "locate_field_in_run_dir",
    "manifest_path",
    "parse_json",
    "read_json",
]


def manifest_path(run: str | Path) -> str | Path:
    """``RUN/manifest.json`` for a directory, the path itself otherwise.

    A run given as text (``diff`` takes the text pathlib would write for it,
    ``cli._diff.path_text``, so as not to import pathlib) is named as ``Path``
    would name it.
    """
    if isinstance(run, str):
        if not os.path.isdir(run):
            return run
        return MANIFEST_NAME if run == "." else os.path.join(run, MANIFEST_NAME)  # as Path's /
    # Not ``run.is_dir()``: it raises for some paths (ENAMETOOLONG on Python 3.11), where
    # ``os.path.isdir`` says no and reading the path then names the reason.
    return run / MANIFEST_NAME if os.path.isdir(run) else run


def read_json(path: str | Path) -> object:
    """Parse a JSON file; every failure is one ``InvalidRunFileError`` naming the file."""
    return parse_json(_read_run_file(path), where=str(path))


def _read_run_file(path: str | Path) -> bytes:
    try:
        return read_regular(path, limit=RUN_FILE_LIMIT)
    except FileRefusedError as error:
        raise InvalidRunFileError(f"{path}: {error.reason}") from None


def parse_json(data: bytes, *, where: str) -> object:
    """Parse JSON as the host writes it: also ``NaN``, huge integers and lone surrogates.

    ``orjson`` reads almost every manifest; what Python's ``json.dumps`` can write but
    ``orjson`` refuses (``NaN``, ``Infinity``, integers beyond 64 bits, escaped lone
    surrogates, nesting deeper than 1024) is read by the standard library's parser, whose
    depth is bounded by the interpreter's recursion limit.
    """
    if not data or data.isspace():
        raise InvalidRunFileError(f"{where}: file is empty")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        fast_error = error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRunFileError(f"{where}: not valid JSON: not UTF-8 text") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidRunFileError(f"{where}: JSON nested too deeply to read") from None
    except ValueError:
        raise InvalidRunFileError(f"{where}: not valid JSON: {fast_error}") from None


def locate_field(run: str | Path) -> tuple[object, str, FileKind]:
    """The raw field in a run dir, ``manifest.json`` or record file, and where it was."""
    path = manifest_path(run)
    return _field_in(read_json(path), path)


def locate_field_in_run_dir(directory: str) -> tuple[object, str, FileKind]:
    """:func:`locate_field` of a directory the caller found to hold ``manifest.json``.

    For readers of many runs (``audit``): the path is joined as a string, and the
    directory is not checked to be one again (a file in its place cannot be opened
    through it, and the manifest itself is checked to be a regular file).
    """
    path = MANIFEST_NAME if directory == "." else os.path.join(directory, MANIFEST_NAME)
    return _field_in(read_json(path), path)  # named as manifest_path names it


def _field_in(value: object, path: str | Path) -> tuple[object, str, FileKind]:
    """:func:`locate_field` of the parsed contents of ``path``."""
    if file_kind(value, path) == "record":
        return value, str(path), "record"
    custom = value.get("custom") if isinstance(value, dict) else None
    if not isinstance(custom, dict) or FIELD_KEY not in custom:
        raise InvalidRunFileError(
            f"{path}: no plugin provenance (custom.{FIELD_KEY}); run 'insidellms-provenance embed'"
        )
    return custom[FIELD_KEY], f"{path}: custom.{FIELD_KEY}", "manifest"


_OUR_SCHEMAS: Final = "insidellms-provenance/"
_FIELD_SCHEMAS: Final = "insidellms-provenance/plugins/"


def file_kind(value: object, path: str | Path) -> FileKind:
    """Whether a parsed run file is a record file or a run manifest: the one rule.

    Every reader and ``embed`` ask this, so that what ``embed`` writes into is what the
    readers then read the field from. A record file is the bare field: its top-level
    ``schema`` is one of this package's field schemas (``insidellms-provenance/plugins/``
    and a version, known or not: an unknown one is then named as such). Any other object
    is a manifest, whose ``custom`` holds (or is to hold) the field, even with
    ``schema`` and ``plugins`` keys of the host's own. Refused, as no guess is safe: an
    object that is both (a field's schema at the top level and a field under
    ``custom``), and another document of this package (a ``check`` or ``diff`` report).
    """
    if not isinstance(value, dict):
        raise InvalidRunFileError(f"{path}: expected a JSON object")
    schema = value.get("schema")
    if not isinstance(schema, str) or not schema.startswith(_OUR_SCHEMAS):
        return "manifest"
    if not schema.startswith(_FIELD_SCHEMAS):
        raise InvalidRunFileError(
            f"{path}: is an insidellms-provenance {schema!r} document, not a run manifest "
            "or record file"
        )
    custom = value.get("custom")
    if isinstance(custom, dict) and FIELD_KEY in custom:
        raise InvalidRunFileError(
            f"{path}: is both a record file (schema {schema!r}) and a manifest "
            f"(custom.{FIELD_KEY}); which field counts is unclear, so the file is refused"
        )
    return "record"


def load_provenance(run: str | Path) -> tuple[Provenance, FileKind]:
    """Read and fully check the field of a run dir, ``manifest.json`` or record file."""
    provenance, kind, _ = load_provenance_and_bytes(run)
    return provenance, kind


def load_provenance_and_bytes(run: str | Path) -> tuple[Provenance, FileKind, bytes]:
    """:func:`load_provenance`, and the very bytes the field was read from.

    For ``export --format in-toto``, whose subject digest must be of the file described:
    reading it a second time could hash another file swapped in between.
    """
    path = manifest_path(run)
    data = _read_run_file(path)
    value, where, kind = _field_in(parse_json(data, where=str(path)), path)
    return read_field(value, where=where), kind, data


def load_field_value(
    run: str | Path, *, beside: dict[str, object] | None = None
) -> tuple[dict[str, object], str]:
    """The field as raw JSON, after the same full validation as :func:`load_provenance`.

    ``beside``, a field this function returned before, is an optimization for reading a
    pair (``diff``): plugins equal to its plugins are not validated twice.
    """
    value, where, _ = locate_field(run)
    if beside is None:
        field = read_field(value, where=where)
    else:
        field = read_field_beside(value, where=where, validated=beside)
    checked: dict[str, object] = dict(field)
    return checked, where


def load_field_pair(
    before: str | Path, after: str | Path
) -> tuple[tuple[dict[str, object], str], tuple[dict[str, object], str]]:
    """Two fields (``diff``), each with its location, validated as :func:`load_field_value`.

    Only one parsed field is held at a time: the first, once validated, is kept as the
    sorted JSON text of each plugin (in one buffer; the digest check writes these texts
    anyway) while the second is parsed and its digest checked, which writes its
    plugins' texts too. A plugin of the second whose text is a plugin's of the first
    (the same index, else the same entry point) is taken for both fields: equal texts
    written by orjson, from values orjson parsed or the first's validation accepted,
    are the same JSON values, types included (``0`` is not ``false``), so it passed the
    same validation there (``validate_checked``). Every other plugin of the second is
    validated; the first's others are parsed from their text again. Where that does not
    hold (a field Python's parser had to read, a v1 field, a value orjson cannot write)
    both fields are held, as with ``beside``.
    """
    texts = bytearray()
    ends = [0]

    def keep(_index: int, text: bytes) -> None:
        texts.extend(text)
        ends.append(len(texts))

    value, first_where, _ = locate_field(before)
    provenance = read_field(value, where=first_where, each_plugin=keep)
    del value
    plugins = provenance["plugins"]
    first: dict[str, object] = dict(provenance)
    del provenance
    if len(ends) != len(plugins) + 1:  # a v1 field, or a value orjson cannot write
        return (first, first_where), load_field_value(after, beside=first)
    keys = [(plugin["entry_point"]["name"], plugin["entry_point"]["value"]) for plugin in plugins]
    first["plugins"] = None
    del plugins  # the first field's plugins: only their texts are kept
    path = manifest_path(after)
    data = _read_run_file(path)
    try:
        parsed: object = orjson.loads(data)
    except orjson.JSONDecodeError:
        parsed = _UNPARSED
    if parsed is _UNPARSED:  # not orjson's JSON: Python's parser reads it, or says what's wrong
        first["plugins"] = [orjson.loads(texts[ends[i] : ends[i + 1]]) for i in range(len(keys))]
        del texts
        field, where, _ = _field_in(parse_json(data, where=str(path)), path)
        del data
        beside = read_field_beside(field, where=where, validated=first)
        return (first, first_where), (dict(beside), where)
    del data
    field, where, _ = _field_in(parsed, path)
    del parsed
    shared = _SharedPlugins(texts, ends, keys, field)
    second = check_field(field, where=where, each_plugin=shared.match)
    theirs = second["plugins"]
    fresh = [plugin for index, plugin in enumerate(theirs) if index not in shared.found]
    checked = validate_checked(second, where=where, fresh=fresh)
    mine: list[object] = [None] * len(keys)
    for index, at in shared.found.items():
        mine[at] = theirs[index]
    first["plugins"] = [
        plugin if plugin is not None else orjson.loads(texts[ends[at] : ends[at + 1]])
        for at, plugin in enumerate(mine)
    ]
    return (first, first_where), (dict(checked), where)


class _SharedPlugins:
    """Which plugins of the second field are, by their text, plugins of the first."""

    def __init__(
        self, texts: bytearray, ends: list[int], keys: list[tuple[str, str]], field: object
    ) -> None:
        theirs = field.get("plugins") if isinstance(field, dict) else None
        self.found: dict[int, int] = {}  # index in the second -> index in the first
        by_key: dict[tuple[str, str] | None, int] = {}
        count, found, startswith = len(keys), self.found, texts.startswith

        def match(index: int, text: bytes) -> None:
            # The same text at the same place: compared in place (no slice is copied).
            if index < count:
                start = ends[index]
                if ends[index + 1] - start == len(text) and startswith(text, start):
                    found[index] = index
                    return
            # Not at the same place: a plugin added or removed before it, or changed.
            if not by_key:
                by_key.update({key: at for at, key in enumerate(keys)})
            plugin = theirs[index] if isinstance(theirs, list) else None
            at = by_key.get(_entry_point_key(plugin))
            if at is not None and texts[ends[at] : ends[at + 1]] == text:
                found[index] = at

        self.match = match
        """``check_field``'s ``each_plugin``: the second's plugin ``index`` has ``text``."""


def _entry_point_key(plugin: object) -> tuple[str, str] | None:
    """(name, value) of a plugin not validated yet, or ``None`` where they are not strings."""
    entry_point = plugin.get("entry_point") if isinstance(plugin, dict) else None
    if not isinstance(entry_point, dict):
        return None
    name, value = entry_point.get("name"), entry_point.get("value")
    return (name, value) if isinstance(name, str) and isinstance(value, str) else None


_UNPARSED: Final = object()
