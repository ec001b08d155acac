"""Write the provenance field into a run's ``manifest.json``, atomically and in its style.

:func:`embed_text` is the one embedder: ``embed`` (the command) and the in-run hook both
call it, so a run's manifest gets the same bytes either way. It runs inside every host
run, so this module imports only the standard library and the recording path's modules.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from insidellms_provenance._safe_io import RUN_FILE_LIMIT, FileRefusedError, read_open_file
from insidellms_provenance.errors import InvalidRunFileError, WriteError
from insidellms_provenance.field.schema import FIELD_KEY, SCHEMA_V1, SCHEMA_V2, Provenance
from insidellms_provenance.runfile._style import (
    JsonStyle,
    Member,
    detect_style,
    object_members,
    render,
    render_nested,
    skip_space,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "LOCK_WAIT",
    "EmbedResult",
    "atomic_write",
    "check_output",
    "embed",
    "embed_text",
    "keep_owner",
    "output_mode",
    "stale_attestations",
    "temp_file_beside",
]


class EmbedResult:
    """What ``embed`` did: the file, whether it changed, and what may now be stale.

    A plain class with slots, not a ``NamedTuple``: creating one of those costs about
    0.1 ms in every host run (it compiles its constructor).
    """

    __slots__ = ("changed", "exact_style", "path", "stale")

    def __init__(
        self, *, path: Path, changed: bool, exact_style: bool, stale: tuple[str, ...]
    ) -> None:
        self.path = path
        self.changed = changed
        self.exact_style = exact_style
        self.stale = stale


def embed_text(
    text: str, field: Provenance, *, where: str, check_kind: bool = False
) -> tuple[str, bool]:
    """The manifest text with the field set under ``custom``, every other byte kept.

    Returns the new text and whether the original style was reproduced exactly. A text
    that ``json.dumps`` writes with one set of options (the host's always is) is written
    again with them, the field in it; any other text is kept byte for byte and the field
    is written into it (:func:`_splice`). A missing ``custom`` object is added where the
    style puts it (sorted keys: in order).

    With ``check_kind`` (``embed``, given any file), the text must be a run manifest by
    the readers' own rule (:func:`_require_manifest`), so that the readers find the
    field where it is written. The hook does not ask: it rewrites the host's manifest as
    the host writes it, and the readers' modules must not load in the host's process.
    A value already under the field's key that is not a field this version reads is
    refused, never replaced (:func:`_require_replaceable`).
    """
    try:
        value: Any = json.loads(text)
    except RecursionError:
        raise InvalidRunFileError(f"{where}: JSON nested too deeply to rewrite") from None
    except json.JSONDecodeError as error:
        raise InvalidRunFileError(f"{where}: not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidRunFileError(f"{where}: expected a JSON object")
    if check_kind:
        _require_manifest(value, where=where)
    try:
        style = detect_style(text, value)  # before adding ``custom``: it sorts into place
        custom = value.setdefault("custom", {})
        if not isinstance(custom, dict):
            raise InvalidRunFileError(f"{where}: 'custom' is not a JSON object")
        present, previous = FIELD_KEY in custom, custom.get(FIELD_KEY)
        if style.exact:
            new_text = _render_with(value, style, custom, field)
        else:
            new_text = _splice(text, field, style, where=where)
        if present:  # after the splice, which refuses the key written twice first
            _require_replaceable(previous, where=where)
        new_text.encode("utf-8")
    except RecursionError:
        raise InvalidRunFileError(f"{where}: JSON nested too deeply to rewrite") from None
    except UnicodeEncodeError:
        raise InvalidRunFileError(
            f"{where}: the result would hold a lone surrogate, which UTF-8 cannot encode"
        ) from None
    return new_text, style.exact


def _require_manifest(value: dict[str, Any], *, where: str) -> None:
    """Refuse a file that is not a run manifest by the rule every reader applies.

    The rule is :func:`insidellms_provenance.runfile._read.file_kind`: a field written
    under ``custom`` of a file the readers take for a record file (the bare field,
    ``record --output``'s) would make it unreadable to all of them, and a file that
    rule refuses outright (ambiguous, or a report) is refused here with its reason.
    """
    from insidellms_provenance.runfile._read import file_kind

    if file_kind(value, where) == "record":
        raise InvalidRunFileError(
            f"{where}: is a provenance record file, not a run manifest; refusing to embed into it"
        )


# The schemas of the fields this version reads (``field._read.KNOWN_SCHEMAS``, which the
# hook must not import; tests/test_embed.py holds the two equal).
_READABLE_SCHEMAS = (SCHEMA_V1, SCHEMA_V2)

_JSON_KINDS = {dict: "a JSON object", list: "a JSON array", str: "a string", bool: "a boolean"}


def _require_replaceable(previous: object, *, where: str) -> None:
    """Refuse to replace a value under the field's key that this version cannot read.

    Re-embedding replaces a field of a schema this version reads, valid or not; a field
    of a newer schema (a newer version's, perhaps observed in the run) or a value another
    writer put there would be lost without a word.
    """
    schema = previous.get("schema") if isinstance(previous, dict) else None
    if schema in _READABLE_SCHEMAS:
        return
    if isinstance(schema, str):
        what = f"a field of schema {schema!r}, which this version cannot read"
    else:
        kind = _JSON_KINDS.get(type(previous), "null" if previous is None else "a number")
        what = f"{kind}, not a provenance field"
    raise InvalidRunFileError(f"{where}: 'custom.{FIELD_KEY}' holds {what}; refusing to replace it")


def _splice(text: str, field: Provenance, style: JsonStyle, *, where: str) -> str:
    """``text`` with the field set under ``custom``, every byte outside the field kept.

    For a manifest no ``json.dumps`` options reproduce: rendering its parsed value again
    would change what the host wrote (``1E400`` would become ``Infinity``, which is not
    JSON, ``-0`` ``0``, ``1e-400`` ``0.0``; of a key written twice, one copy would be
    dropped). The field is written in the manifest's indentation, and in its spacing
    and key order as its top-level object shows them, its lines ended as the manifest's
    (:func:`_newline`). A key on the way to the field (``custom``,
    ``custom.plugin_provenance``) written twice is refused: JSON readers differ on which
    copy counts, so no place to write is the right one.
    """
    opening = skip_space(text, 0)
    members, closing = object_members(text, opening)
    field_style = _field_style(text, members, style)
    custom = _only(members, "custom", where=where)
    if custom is None:
        value = {FIELD_KEY: field}
        return _insert(
            text, (opening, closing), members, key="custom", value=value, style=field_style
        )
    members, closing = object_members(text, custom.value_start)
    present = _only(members, f"custom.{FIELD_KEY}", where=where)
    if present is None:
        span = (custom.value_start, closing)
        return _insert(text, span, members, key=FIELD_KEY, value=field, style=field_style)
    line_start = _newline(text) + _line_indent(text, present.key_start)
    return (
        text[: present.value_start]
        + _nested(field, field_style, line_start)
        + text[present.value_end :]
    )


def _field_style(text: str, members: list[Member], style: JsonStyle) -> JsonStyle:
    """How to write the field into a manifest that is not in one ``json.dumps`` style."""
    colon = text[members[0].key_end : members[0].value_start] if members else ""
    if colon.strip(" \t") != ":":  # none, or a colon on a line of its own
        colon = style.separators[1]
    comma = "," if style.indent is not None or colon == ":" else ", "
    keys = [member.key for member in members]
    return JsonStyle(
        indent=style.indent,
        sort_keys=keys == sorted(keys),
        ensure_ascii=style.ensure_ascii,
        separators=(comma, colon),
        trailer="",
        exact=False,
    )


def _only(members: list[Member], path: str, *, where: str) -> Member | None:
    """The member named by the last part of ``path``; refused when it is written twice."""
    key = path.rpartition(".")[2]
    found = [member for member in members if member.key == key]
    if len(found) > 1:
        raise InvalidRunFileError(
            f"{where}: the key '{path}' is written {len(found)} times; JSON readers differ "
            "on which one counts, so the field is not written"
        )
    return found[0] if found else None


def _insert(  # noqa: PLR0913 - the object, and the member to add
    text: str,
    span: tuple[int, int],
    members: list[Member],
    *,
    key: str,
    value: object,
    style: JsonStyle,
) -> str:
    """``text`` with ``key: value`` added to the object from ``span``'s ``{`` to its ``}``.

    In key order when the object's keys are sorted, else last; after a comma, the
    whitespace the object has there. In an empty object, right after the ``{``: on a
    line of its own in an indented style, the whitespace between the braces kept after it.
    """
    opening, closing = span
    newline = _newline(text)
    if not members:
        inside = text[opening + 1 : closing]
        if style.indent is None:
            return text[: opening + 1] + _member(key, value, style, newline) + text[opening + 1 :]
        outer = _line_indent(text, opening)
        inner = outer + (" " * style.indent if isinstance(style.indent, int) else style.indent)
        member = _member(key, value, style, newline + inner)
        added = newline + inner + member + ("" if inside else newline + outer)
        return text[: opening + 1] + added + text[opening + 1 :]
    keys = [member.key for member in members]
    at = sum(other < key for other in keys) if keys == sorted(keys) else len(keys)
    lead = _lead_after_comma(text, members, at, style)
    if at < len(members):  # in the place of the member at ``at``, which moves on
        start = members[at].key_start
        added = _member(key, value, style, newline + _line_indent(text, start)) + "," + lead
        return text[:start] + added + text[start:]
    end = members[-1].value_end
    head = text[:end] + "," + lead
    return head + _member(key, value, style, newline + _line_indent(head, len(head))) + text[end:]


def _lead_after_comma(text: str, members: list[Member], at: int, style: JsonStyle) -> str:
    """The whitespace to write after a comma added at ``at``: the object's own, if it shows it."""
    if len(members) > 1:  # the nearest member that follows a comma
        near = members[max(1, min(at, len(members) - 1))]
        return text[near.lead_start : near.key_start]
    first = text[members[0].lead_start : members[0].key_start]  # after the brace
    return first if "\n" in first else style.separators[0][1:]


def _member(key: str, value: object, style: JsonStyle, line_start: str) -> str:
    """``"key": value`` as ``style`` writes it where each new line starts ``line_start``."""
    return (
        json.dumps(key, ensure_ascii=style.ensure_ascii)
        + style.separators[1]
        + _nested(value, style, line_start)
    )


def _nested(value: object, style: JsonStyle, line_start: str) -> str:
    """``render(value, style)`` where each new line starts ``line_start``.

    ``line_start`` is the manifest's line break and the indentation of the line the
    value begins on.
    """
    return render(value, style).replace("\n", line_start)


def _newline(text: str) -> str:
    r"""The manifest's line break, as its first line ends: ``\r\n`` or ``\n``."""
    end = text.find("\n")
    return "\r\n" if end > 0 and text[end - 1] == "\r" else "\n"


def _line_indent(text: str, index: int) -> str:
    """The spaces and tabs that begin the line holding ``text[index]``."""
    line = text[text.rfind("\n", 0, index) + 1 : index]
    return line[: len(line) - len(line.lstrip(" \t"))]


# Stands for the field while the rest of the manifest is rendered; a control character
# keeps it from being any string a manifest holds (checked: it must occur once).
_PLACEHOLDER = "\x00insidellms-provenance: the field\x00"


def _render_with(value: Any, style: JsonStyle, custom: dict[str, Any], field: Provenance) -> str:  # noqa: ANN401
    """``render(value, style)`` once ``value["custom"]`` (``custom``) holds the field.

    The field is rendered apart (:func:`render_nested`, two levels deep) and put in the
    place of a placeholder, when that gives the same bytes; else all of it at once.
    The field holds no floats (``field.schema``).
    """
    nested = render_nested(field, style, depth=2)
    if nested is not None:
        custom[FIELD_KEY] = _PLACEHOLDER
        skeleton = render(value, style)
        token = json.dumps(_PLACEHOLDER)  # the same in every style: escaped, no spaces
        if skeleton.count(token) == 1:
            custom[FIELD_KEY] = field
            return skeleton.replace(token, nested)
    custom[FIELD_KEY] = field
    return render(value, style)


# How often embed starts again when manifest.json changed under it (another writer).
_ATTEMPTS = 20
LOCK_WAIT = 30.0
"""Seconds ``embed`` waits for another process's lock on the manifest before it gives up."""


def embed(run: Path, field: Provenance, *, source: Path | None = None) -> EmbedResult:
    """Set the field in ``run``'s manifest; leave the file untouched on any failure.

    A symlinked ``manifest.json`` is written through: its target is replaced. Concurrent
    embeds take turns (an exclusive ``flock`` on the manifest), and any writer that
    changed the file between our read and our rename (the host, say) is detected by
    comparing before replacing: the update is then redone on the new content, never lost.
    Only a run manifest is written (:func:`_require_manifest`), and never ``source``, the
    run file the field was read from (``embed --from``), by whatever link it is named.
    """
    from insidellms_provenance.runfile._read import manifest_path

    path = Path(manifest_path(run))
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    inputs = () if source is None else (manifest_path(source),)
    for _ in range(_ATTEMPTS):
        fd, before = _open_locked(target)
        try:
            if _identity(os.stat(target, follow_symlinks=False)) != _identity(before):
                continue  # replaced while we waited for the lock: read the new file
            if _is_input(before, inputs):
                raise WriteError(
                    f"{path}: is the file the field is read from; refusing to embed into it"
                )
            text = _read_text(fd, target)
            new_text, exact = embed_text(text, field, where=str(target), check_kind=True)
            if new_text == text:
                return EmbedResult(path=path, changed=False, exact_style=exact, stale=())
            if atomic_write(target, new_text.encode("utf-8"), expect=before):
                return EmbedResult(
                    path=path,
                    changed=True,
                    exact_style=exact,
                    stale=stale_attestations(target.parent),
                )
        finally:
            os.close(fd)
    raise WriteError(f"{path}: changed by another writer {_ATTEMPTS} times; not written")


def _open_locked(path: Path) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading without blocking, refuse what embed must not rewrite, lock."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InvalidRunFileError(f"{path}: no such file") from None
    except OSError as error:
        raise InvalidRunFileError(f"{path}: cannot read: {error.strerror}") from None
    try:
        info = os.fstat(fd)
        _refuse_unwritable(path, info)
        _lock(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def _refuse_unwritable(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise InvalidRunFileError(f"{path}: {kind}; not read")
    if not info.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise WriteError(f"{path}: read-only; refusing to rewrite it")


def _lock(fd: int, path: Path) -> None:
    """Take the exclusive ``flock`` embeds take turns by, waiting at most :data:`LOCK_WAIT`.

    Another embed holds it for milliseconds. Any process that can read the manifest can
    take it too, and hold it for ever: past the wait, the embed gives up (exit 2),
    nothing written, rather than hang.
    """
    if os.name != "posix":  # no flock (Windows): compare-before-replace still applies
        return
    import time

    deadline = time.monotonic() + LOCK_WAIT
    pause = 0.001
    while not _locked_now(fd):
        if time.monotonic() >= deadline:
            raise WriteError(f"{path}: locked by another process for {LOCK_WAIT:g} s; not written")
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _locked_now(fd: int) -> bool:
    """Whether the exclusive ``flock`` on ``fd`` was taken at once."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _identity(info: os.stat_result) -> tuple[int, int, int, int, int]:
    """What tells a file changed: which file it is, its size, and its stamps.

    The change time too: a writer that rewrites the file in place at the same length
    and sets its modification time back (``cp -p``, ``rsync -t --inplace``,
    ``touch -r``) cannot set it back.
    """
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _read_text(fd: int, path: Path) -> str:
    try:
        raw = read_open_file(fd, limit=RUN_FILE_LIMIT)
    except FileRefusedError as error:
        raise InvalidRunFileError(f"{path}: {error.reason}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRunFileError(f"{path}: not UTF-8 text") from None
    if not text.strip():
        raise InvalidRunFileError(f"{path}: file is empty")
    return text


def stale_attestations(run_dir: Path) -> tuple[str, ...]:
    """Host artifacts computed over ``manifest.json`` that a rewrite invalidates."""
    patterns = (("attestations", "*.dsse.json"), ("signing", "*.sigstore.bundle.json"))
    found = []
    for directory, pattern in patterns:
        found += [f"{directory}/{p.name}" for p in sorted((run_dir / directory).glob(pattern))]
    return tuple(found)


def atomic_write(path: Path, data: bytes, *, expect: os.stat_result | None = None) -> bool:
    """Replace ``path`` with ``data``: temp file in the same directory, fsync, rename.

    Keeps the original's permission bits (a new file gets :func:`output_mode`'s), and
    its owner, group, ACL and extended attributes where this process may
    (:func:`keep_owner`). On failure the
    original is untouched and the temp file removed. With ``expect``, the rename
    happens only if ``path`` is still the file ``expect`` describes (same inode, size,
    modification and change time); returns whether it was written. What stands at
    ``path`` is checked by :func:`check_output`, before the temp file is made and again
    just before the rename.
    """
    info = check_output(path)
    mode = output_mode(info)
    with temp_file_beside(path) as (fd, temp_name):
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                keep_owner(file.fileno(), info, path)
                os.fsync(file.fileno())
            os.chmod(temp_name, mode)  # after the owner: a change of owner clears set-id bits
            if expect is not None and _identity(os.stat(path, follow_symlinks=False)) != _identity(
                expect
            ):
                os.unlink(temp_name)
                return False
            check_output(path)
            os.replace(temp_name, path)
        except OSError as error:
            raise WriteError(f"{path}: cannot write: {error.strerror}") from None
    _fsync_directory(path.parent)
    return True


@contextlib.contextmanager
def temp_file_beside(path: Path) -> Iterator[tuple[int, str]]:
    """A new file in ``path``'s directory, its descriptor and name; removed if the block raises.

    The one way the package makes the file it renames over an output. It is made with
    Ctrl-C, SIGTERM and SIGHUP held (:func:`~insidellms_provenance._signals.interrupts_held`):
    one that came between making it and the cleanup that removes it would leave it
    behind; held, it is raised where the cleanup is. Private (``0o600``) until renamed.
    """
    import tempfile

    from insidellms_provenance._signals import interrupts_held

    name = None
    try:
        with interrupts_held():
            try:
                fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            except OSError as error:
                message = f"{path}: cannot write in {path.parent}: {error.strerror}"
                raise WriteError(message) from None
        yield fd, name
    except BaseException:
        if name is not None:
            with contextlib.suppress(OSError):
                os.unlink(name)
        raise


def keep_owner(fd: int, replaced: os.stat_result | None, path: str | os.PathLike[str]) -> None:
    """Give the new file the group, owner, ACL and extended attributes of the one it replaces.

    The new file is otherwise its maker's: ``embed`` run as root would give a user's
    manifest to root, and its owner could then no longer rewrite it. Root may keep both;
    a member of the file's group, the group. An access control list (``setfacl``) and
    extended attributes are copied as ``sed -i`` and editors keep them: a manifest
    shared by ACL stays shared. Where the system refuses any of these (not the owner, a
    ``security.*`` or ``trusted.*`` name, a file system without them), the file stays
    as it was made, its permission bits still the replaced file's (:func:`output_mode`).
    ``path`` is the replaced file, read without following a link.
    """
    if replaced is None:
        return
    if hasattr(os, "fchown"):
        with contextlib.suppress(OSError):
            os.fchown(fd, -1, replaced.st_gid)
            os.fchown(fd, replaced.st_uid, -1)
    if not hasattr(os, "listxattr"):  # Linux only
        return
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return
    for name in names:  # an ACL is the attribute system.posix_acl_access
        with contextlib.suppress(OSError):
            os.setxattr(fd, name, os.getxattr(path, name, follow_symlinks=False))


def output_mode(replaced: os.stat_result | None) -> int:
    """The permission bits of the file written: those of the file it replaces, if any.

    A new file gets what ``open(path, "w")`` would give it, ``0o666`` less the umask:
    ``mkstemp`` makes its file ``0o600`` whatever the umask, and a fixed ``0o644`` would
    widen a private file, or ignore a private umask (lines name runs, plugins, versions).
    """
    if replaced is not None:
        return stat.S_IMODE(replaced.st_mode)
    # Read by setting it: for that instant a file made by another thread is private.
    umask = os.umask(0o077)
    os.umask(umask)
    return 0o666 & ~umask


def check_output(
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    refusal: str = "refusing to overwrite an input",
) -> os.stat_result | None:
    """What stands at an output path (``None``: nothing yet); ``WriteError`` if unwritable.

    The one rule for every file the package writes (each command's ``--output``, the
    rewritten manifest), since writing means renaming a new file over the path: only a
    regular file or nothing may stand there. A symlink is neither written through nor
    replaced, nor is a FIFO, device, socket or directory; the last component is looked
    at with ``lstat`` (directories above it may be links). A path ending in ``/`` names a
    directory. A path that is one of ``inputs`` (same device and inode, through links:
    a hard link or a link the command read through) is refused with ``refusal``, checked
    first so that the message says so; ``inputs`` is only iterated if the path exists.
    Every refusal names the path and the reason, never Python's exception text.
    """
    text = os.fspath(path)
    if not text:
        raise WriteError("an empty output path names no file; refusing to write")
    if text.endswith(("/", os.sep)):
        raise WriteError(f"{path}: names a directory (ends with '/'); refusing to write there")
    try:
        info = os.lstat(text)
    except FileNotFoundError:
        _check_parent(path, os.path.dirname(text) or os.curdir)
        return None
    except OSError as error:
        raise WriteError(f"{path}: cannot write: {error.strerror}") from None
    if _is_one_of(text, inputs):
        raise WriteError(f"{path}: {refusal}")
    kind = _special_kind(info.st_mode)
    if kind is not None:
        raise WriteError(f"{path}: is {kind}; refusing to write there")
    return info


def _check_parent(path: str | os.PathLike[str], parent: str) -> None:
    """A missing output is fine if its directory exists; say why not otherwise."""
    try:
        info = os.stat(parent)
    except OSError as error:
        raise WriteError(f"{path}: cannot write in {parent}: {error.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise WriteError(f"{path}: cannot write in {parent}: not a directory")


def _is_one_of(text: str, inputs: Iterable[str | os.PathLike[str]]) -> bool:
    try:
        info = os.stat(text)
    except OSError:  # a dangling or looping link: it is refused as a symlink anyway
        return False
    return _is_input(info, inputs)


def _is_input(info: os.stat_result, inputs: Iterable[str | os.PathLike[str]]) -> bool:
    """Whether the file ``info`` describes is one of ``inputs`` (same device and inode)."""
    identity = (info.st_dev, info.st_ino)
    for candidate in inputs:
        try:
            found = os.stat(candidate)
        except OSError:
            continue
        if (found.st_dev, found.st_ino) == identity:
            return True
    return False


def _special_kind(mode: int) -> str | None:
    """What a non-regular file is, in words; ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; some platforms cannot open directories, which is fine."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
