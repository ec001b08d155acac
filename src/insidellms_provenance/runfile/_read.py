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
from pathlib import Path
from typing import Final, Literal, cast

import orjson

from insidellms_provenance._safe_io import RUN_FILE_LIMIT, FileRefusedError, read_regular
from insidellms_provenance.errors import InvalidRunFileError
from insidellms_provenance.field._read import read_field, read_field_beside
from insidellms_provenance.field.schema import FIELD_KEY, MANIFEST_NAME, Provenance

__all__ = [
    "FIELD_KEY",
    "MANIFEST_NAME",
    "RUN_FILE_LIMIT",
    "load_field_pair",
    "load_field_value",
    "load_provenance",
    "locate_field",
    "locate_field_in_run_dir",
    "manifest_path",
    "parse_json",
    "read_json",
]


FileKind = Literal["manifest", "record"]


def manifest_path(run: Path) -> Path:
    """``RUN/manifest.json`` for a directory, the path itself otherwise."""
    return run / MANIFEST_NAME if run.is_dir() else run


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


def locate_field(run: Path) -> tuple[object, str, FileKind]:
    """The raw field in a run dir, ``manifest.json`` or record file, and where it was."""
    path = manifest_path(run)
    return _field_in(read_json(path), path)


def locate_field_in_run_dir(directory: str) -> tuple[object, str, FileKind]:
    """:func:`locate_field` of a directory the caller found to hold ``manifest.json``.

    For readers of many runs (``audit``): the path is joined as a string, and the
    directory is not checked to be one again (a file in its place cannot be opened
    through it, and the manifest itself is checked to be a regular file).
    """
    path = os.path.join(directory, MANIFEST_NAME)
    return _field_in(read_json(path), path)


def _field_in(value: object, path: str | Path) -> tuple[object, str, FileKind]:
    """:func:`locate_field` of the parsed contents of ``path``."""
    if not isinstance(value, dict):
        raise InvalidRunFileError(f"{path}: expected a JSON object")
    if "schema" in value and "plugins" in value:
        return value, str(path), "record"
    custom = value.get("custom")
    if not isinstance(custom, dict) or FIELD_KEY not in custom:
        raise InvalidRunFileError(
            f"{path}: no plugin provenance (custom.{FIELD_KEY}); run 'insidellms-provenance embed'"
        )
    return custom[FIELD_KEY], f"{path}: custom.{FIELD_KEY}", "manifest"


def load_provenance(run: Path) -> tuple[Provenance, FileKind]:
    """Read and fully check the field of a run dir, ``manifest.json`` or record file."""
    value, where, kind = locate_field(run)
    return read_field(value, where=where), kind


def load_field_value(
    run: Path, *, beside: dict[str, object] | None = None
) -> tuple[dict[str, object], str]:
    """The field as raw JSON, after the same full validation as :func:`load_provenance`.

    ``beside``, a field this function returned before, is an optimization for reading a
    pair (``diff``): plugins equal to its plugins are not validated twice.
    """
    value, where, _ = locate_field(run)
    if beside is None:
        field = read_field(value, where=where)
    else:
        field = read_field_beside(value, where=where, validated=cast("Provenance", beside))
    checked: dict[str, object] = dict(field)
    return checked, where


def load_field_pair(
    before: Path, after: Path
) -> tuple[tuple[dict[str, object], str], tuple[dict[str, object], str]]:
    """Two fields (``diff``), each with its location, validated as :func:`load_field_value`.

    Only one parsed field is held at a time: the first, once validated, is kept as the
    JSON text of each plugin (in one buffer) while the second is parsed; then each of its
    plugins whose text is the second's plugin's (same entry point) is that very object,
    and the others are parsed from their text again. Equal texts written by orjson from
    values orjson parsed are equal values, and the second's plugins that are the first's
    objects passed the same validation there (as with ``beside``); every other plugin of
    the second is validated. Where that does not hold (a field Python's parser had to
    read, a string orjson cannot write) both fields are held, as with ``beside``.
    """
    first, first_where = load_field_value(before)
    plugins = cast("list[dict[str, object]]", first["plugins"])
    # One growing buffer, not a bytes object per plugin: those would be scattered over
    # the heap and keep the freed plugins' memory from being used for the second field.
    texts = bytearray()
    keys: list[tuple[object, object]] = []
    ends = [0]
    try:
        for plugin in plugins:
            texts += orjson.dumps(plugin)
            entry_point = cast("dict[str, object]", plugin["entry_point"])  # validated
            keys.append((entry_point["name"], entry_point["value"]))
            ends.append(len(texts))
    except orjson.JSONEncodeError:
        return (first, first_where), load_field_value(after, beside=first)
    first["plugins"] = None
    del plugins  # the first field's plugins: only their texts are kept
    path = manifest_path(after)
    data = _read_run_file(path)
    try:
        value: object = orjson.loads(data)
    except orjson.JSONDecodeError:
        value = _UNPARSED
    if value is _UNPARSED:  # not orjson's JSON: Python's parser reads it, or says what's wrong
        first["plugins"] = [orjson.loads(texts[ends[i] : ends[i + 1]]) for i in range(len(keys))]
        value = parse_json(data, where=str(path))
    del data
    field, where, _ = _field_in(value, path)
    if first["plugins"] is None:
        first["plugins"] = _rebuilt(field, keys, texts, ends)
    del texts
    checked = read_field_beside(field, where=where, validated=cast("Provenance", first))
    return (first, first_where), (dict(checked), where)


_UNPARSED: Final = object()


def _rebuilt(
    field: object, keys: list[tuple[object, object]], texts: bytearray, ends: list[int]
) -> list[object]:
    """The first field's plugins: the second's object where its text is the same, else parsed.

    The second field is not validated yet: its plugins are looked at only as far as
    finding their entry point, and taken only when orjson writes exactly the first's text
    for them (both parsed by orjson: the same value).
    """
    theirs = field.get("plugins") if isinstance(field, dict) else None
    second: dict[tuple[object, object], object] = {}
    for plugin in theirs if isinstance(theirs, list) else ():
        entry_point = plugin.get("entry_point") if isinstance(plugin, dict) else None
        if isinstance(entry_point, dict):
            second[entry_point.get("name"), entry_point.get("value")] = plugin
    rebuilt: list[object] = []
    for index, key in enumerate(keys):
        text = texts[ends[index] : ends[index + 1]]
        plugin = second.get(key)
        try:
            if plugin is not None and orjson.dumps(plugin) == text:
                rebuilt.append(plugin)
                continue
        except orjson.JSONEncodeError:
            pass
        rebuilt.append(orjson.loads(text))
    return rebuilt
