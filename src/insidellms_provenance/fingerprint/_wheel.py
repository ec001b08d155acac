"""Fingerprint a wheel archive: the ``record_digest`` of its installation, from its contents.

Typical usage::

    fingerprint = fingerprint_wheel(Path("demo_plugin-1.0-py3-none-any.whl"))
    fingerprint._distribution["record_digest"]  # what ``record`` gives once it is installed

Every member is decompressed and hashed. The wheel's own RECORD is never believed: it is
read only for the two choices installers copy from it (each file's hash algorithm, and
whether a size is listed) and compared with the contents; every disagreement is reported.
The rows are reduced by :func:`~insidellms_provenance.fingerprint._record_file.canonical_rows`
and digested by :func:`~insidellms_provenance.fingerprint._distribution.record_digest`, the
same two functions that describe an installed distribution. ``docs/fingerprint.md`` says
exactly when both digests are equal.

An unpacked wheel (a directory holding one top-level ``*.dist-info``, as uv keeps wheels in
its cache's ``archive-v0/``) is fingerprinted the same way from its files: they are read
without following symlinks, regular files only, and the tree's RECORD is no more believed
than an archive's. Such a fingerprint has no archive, so no ``digest`` (``None``).
"""

# No ``from __future__ import annotations``: NamedTuple would compile string annotations.
import base64
import configparser
import contextlib
import hashlib
import io
import os
import stat
import struct
import sys
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Final, NamedTuple

from insidellms_provenance._safe_io import FileRefusedError, read_regular
from insidellms_provenance.errors import ProvenanceError
from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import DistributionInfo
from insidellms_provenance.fingerprint._discover import normalized_name
from insidellms_provenance.fingerprint._distribution import (
    code_digest,
    name_and_version,
    record_digest,
)
from insidellms_provenance.fingerprint._record_file import (
    Hash,
    InstallLayout,
    RecordEntry,
    canonical_rows,
    check_path,
    parse_record,
)

__all__ = [
    "SEARCH_DEPTH",
    "SEARCH_ENTRIES",
    "TREE_FILES",
    "WHEEL_FILE_LIMIT",
    "InvalidWheelError",
    "UnreadableWheel",
    "WheelFingerprint",
    "WheelTarget",
    "fingerprint_paths",
    "fingerprint_wheel",
    "wheel_paths",
]

_WRAPPER_GROUPS: Final = ("console_scripts", "gui_scripts")
# Any depth works: canonical rows write paths outside the site directory as ``{prefix}/``.
_DEPTH: Final = 3
# Metadata files are read whole; nothing legitimate comes near this size.
_MAX_METADATA_BYTES: Final = 16 << 20
# Members larger than this are hashed in chunks, never held in memory whole (a deflated
# member of a few MB can claim gigabytes).
_LARGE_MEMBER: Final = 32 << 20
_CHUNK: Final = 1 << 20
WHEEL_FILE_LIMIT: Final = 2 << 30
"""Largest wheel file read (it is held in memory whole)."""
SEARCH_DEPTH: Final = 8
"""Directory levels below a searched directory that are searched (pip's cache needs 5)."""
SEARCH_ENTRIES: Final = 200_000
"""Most directory entries one search lists before it gives up (bad input)."""
TREE_FILES: Final = 100_000
"""Most files an unpacked wheel may hold."""
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)


class InvalidWheelError(ProvenanceError):
    """A file that cannot be read as a wheel (not a zip, no single ``.dist-info``...)."""


class WheelTarget(NamedTuple):
    """What an installed layout depends on beyond the wheel: the interpreter and platform.

    ``python`` (``X.Y``) places ``.data/headers`` members, which pip and uv install into
    ``{prefix}/include/site/pythonX.Y/<name>/`` in a virtual environment; ``scripts_dir``
    is where ``.data/scripts`` members go (``bin``, or ``Scripts`` on Windows).
    """

    python: str
    scripts_dir: str

    @classmethod
    def current(cls) -> "WheelTarget":
        """The running interpreter's target."""
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        return cls(python=version, scripts_dir="Scripts" if os.name == "nt" else "bin")


class WheelFingerprint(NamedTuple):
    """A wheel file described as the field describes the distribution it installs.

    ``distribution`` has the field's shape, its ``record_digest`` computed from the
    archive's contents. ``listed_digest`` is the digest an installer's copy of the wheel's
    RECORD gives (pip and uv copy the hashes they find there without checking them); it
    differs from ``record_digest`` exactly when ``record_problems`` is not empty.
    ``python`` is the interpreter version the digest assumes, set only when the wheel has
    members whose installed place depends on it (``.data/headers``).
    """

    filename: str
    digest: str | None
    distribution: DistributionInfo
    listed_digest: str | None
    record_problems: tuple[str, ...]
    python: str | None

    @property
    def unpacked(self) -> bool:
        """Whether this is an unpacked wheel (a cache directory): no archive, no sha256."""
        return self.digest is None

    @property
    def record_agrees(self) -> bool:
        """Whether the wheel's RECORD lists exactly its contents."""
        return not self.record_problems


class UnreadableWheel(NamedTuple):
    """A ``*.whl`` file that could not be fingerprinted, and why."""

    filename: str
    problem: str


def fingerprint_paths(
    paths: Iterable[Path], target: WheelTarget | None = None
) -> tuple[list[WheelFingerprint], list[UnreadableWheel]]:
    """Fingerprint wheel files, and the wheels found in the given directories.

    A directory is searched as :func:`wheel_paths` says (``*.whl`` files and unpacked
    wheels, in subdirectories too); a directory that is itself an unpacked wheel is
    fingerprinted as one. A path that does not exist is bad input
    (:class:`InvalidWheelError`); a wheel that cannot be read is listed as unreadable
    and the rest go on. Results are sorted by file name (relative to the directory).
    """
    files: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir() and not path.name.endswith(".whl") and not _is_unpacked_wheel(path):
            files.extend((found, found.relative_to(path).as_posix()) for found in wheel_paths(path))
        elif os.path.lexists(path):
            files.append((path, path.name))
        else:
            raise InvalidWheelError(f"{path}: no such file or directory")
    fingerprints: list[WheelFingerprint] = []
    unreadable: list[UnreadableWheel] = []
    for file, label in files:
        result = _fingerprint_or_problem(file, label, target)
        if isinstance(result, UnreadableWheel):
            unreadable.append(result)
        else:
            fingerprints.append(result)
    fingerprints.sort(key=lambda fingerprint: fingerprint.filename)
    unreadable.sort()
    return fingerprints, unreadable


def _fingerprint_or_problem(
    path: Path, label: str, target: WheelTarget | None
) -> WheelFingerprint | UnreadableWheel:
    # A ``*.whl`` entry is read as an archive whatever it is (a directory is refused).
    unpacked = not path.name.endswith(".whl") and _is_real_dir(path)
    if unpacked:
        label = label.rstrip("/") + "/"
    try:
        if unpacked:
            return fingerprint_unpacked(path, target, label=label)
        return fingerprint_wheel(path, target)._replace(filename=label)
    except InvalidWheelError as error:
        return UnreadableWheel(label, str(error).removeprefix(f"{path}: "))


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_unpacked_wheel(directory: Path) -> bool:
    """Whether ``directory`` holds a ``*.dist-info`` directory with a ``WHEEL`` file."""
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    return any(
        name.endswith(".dist-info")
        and _is_real_dir(directory / name)
        # The WHEEL file is what an unpacked wheel has and an installed .dist-info may lack.
        and os.path.lexists(directory / name / "WHEEL")
        for name in names
    )


def wheel_paths(directory: Path) -> list[Path]:
    """The wheels in ``directory`` and below: ``*.whl`` entries and unpacked wheels.

    Subdirectories are searched down to :data:`SEARCH_DEPTH` levels (pip's cache keeps
    its wheels four levels down); symlinked directories are never followed and not
    searched. A subdirectory holding a ``*.dist-info`` with a ``WHEEL`` file is an
    unpacked wheel (uv's ``archive-v0/<id>/``): it is listed and not searched further.
    ``*.whl`` entries that are not regular files (a directory too) are kept, so that
    they are reported, not skipped. More than :data:`SEARCH_ENTRIES` entries in all is bad input.
    Sorted by path.
    """
    found: list[Path] = []
    budget = [SEARCH_ENTRIES]
    _search(directory, directory, 0, found, budget)
    return sorted(found, key=lambda path: path.relative_to(directory).as_posix())


def _search(root: Path, directory: Path, depth: int, found: list[Path], budget: list[int]) -> None:
    try:
        with os.scandir(directory) as entries:
            listed = sorted(entries, key=lambda entry: entry.name)
    except OSError as error:
        if directory == root:
            raise InvalidWheelError(f"{directory}: cannot list: {error.strerror}") from None
        return  # an unreadable cache subdirectory holds nothing we can use
    budget[0] -= len(listed)
    if budget[0] < 0:
        raise InvalidWheelError(
            f"{root}: more than {SEARCH_ENTRIES} entries; name a smaller directory"
        )
    for entry in listed:
        path = Path(entry.path)
        if entry.name.endswith(".whl"):
            found.append(path)
        elif entry.is_dir(follow_symlinks=False) and depth < SEARCH_DEPTH:
            if _is_unpacked_wheel(path):
                found.append(path)
            else:
                _search(root, path, depth + 1, found, budget)


def fingerprint_wheel(path: Path, target: WheelTarget | None = None) -> WheelFingerprint:
    """Fingerprint the wheel at ``path`` for ``target`` (default: this interpreter).

    Raises :class:`InvalidWheelError` when the file is not a regular file, not a zip
    archive, fails its CRC checks, or lacks the single ``.dist-info`` directory every
    installer requires.
    """
    data = _read_regular(path)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _fingerprint(
                path.name,
                "sha256:" + hashlib.sha256(data).hexdigest(),
                _Archive(archive, data),
                target or WheelTarget.current(),
            )
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        NotImplementedError,
        zlib.error,
    ) as error:
        raise InvalidWheelError(f"{path}: not a readable wheel: {error}") from None


def _read_regular(path: Path) -> bytes:
    """The wheel file's bytes: a regular file, never through a final symlink."""
    try:
        return read_regular(path, limit=WHEEL_FILE_LIMIT, follow_symlinks=False)
    except FileRefusedError as error:
        raise InvalidWheelError(f"{path}: {error.reason}") from None


def fingerprint_unpacked(
    path: Path, target: WheelTarget | None = None, *, label: str | None = None
) -> WheelFingerprint:
    """Fingerprint an unpacked wheel: the directory ``path`` holding its files.

    The same digest as the archive it was unpacked from, computed from the files as they
    are now (a file changed in the tree changes the digest). Symlinks and special files
    in the tree, or more than :data:`TREE_FILES` files, raise :class:`InvalidWheelError`.
    ``label`` names the result (default: the directory's name and ``/``); its ``digest``
    is ``None``: there is no archive to hash.
    """
    tree = _Tree(path)
    return _fingerprint(label or path.name + "/", None, tree, target or WheelTarget.current())


class _Tree:
    """An unpacked wheel's files, listed once, read as :class:`_Archive` reads members."""

    __slots__ = ("infos", "root")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.infos: dict[str, zipfile.ZipInfo] = {}
        self._list(root, "")

    def _list(self, directory: Path, prefix: str) -> None:
        try:
            with os.scandir(directory) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError as error:
            raise InvalidWheelError(
                f"{self.root}: cannot list {prefix or '.'}: {error.strerror}"
            ) from None
        for entry in listed:
            name = prefix + entry.name
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as error:
                raise InvalidWheelError(f"{self.root}: {name}: {error.strerror}") from None
            if stat.S_ISDIR(mode):
                self._list(Path(entry.path), name + "/")
            elif stat.S_ISREG(mode):
                info = zipfile.ZipInfo(name)
                info.file_size = entry.stat(follow_symlinks=False).st_size
                self.infos[name] = info
                if len(self.infos) > TREE_FILES:
                    raise InvalidWheelError(f"{self.root}: more than {TREE_FILES} files")
            else:
                kind = "a symlink (not followed)" if stat.S_ISLNK(mode) else "not a regular file"
                raise InvalidWheelError(f"{self.root}: {name}: {kind}")

    def infolist(self) -> list[zipfile.ZipInfo]:
        return list(self.infos.values())

    def getinfo(self, name: str) -> zipfile.ZipInfo:
        return self.infos[name]

    def read(self, info: zipfile.ZipInfo) -> bytes:
        try:
            return read_regular(
                self.root / info.filename, limit=WHEEL_FILE_LIMIT, follow_symlinks=False
            )
        except FileRefusedError as error:
            raise InvalidWheelError(f"{self.root}: {info.filename}: {error.reason}") from None

    @contextlib.contextmanager
    def open(self, info: zipfile.ZipInfo) -> Iterator[IO[bytes]]:
        try:
            fd = os.open(self.root / info.filename, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
        except OSError as error:
            raise InvalidWheelError(f"{self.root}: {info.filename}: {error.strerror}") from None
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InvalidWheelError(f"{self.root}: {info.filename}: not a regular file")
            yield stream


_LOCAL_HEADER: Final = struct.Struct("<4sHHHHHLLLHH")
_LOCAL_SIGNATURE: Final = b"PK\x03\x04"


class _Archive:
    """A wheel's members, decompressed straight from the archive's bytes.

    ``zipfile`` builds a file object per member; for the many small files of a wheel
    that costs more than inflating them (``benchmarks/bench_fingerprint.py``). Members
    stored or deflated (the two methods the wheel specification allows) are read here
    with the same checks ``zipfile`` makes: the local header's signature and name, the
    sizes, and the CRC-32. Anything else goes through ``zipfile``.
    """

    __slots__ = ("data", "zip")

    def __init__(self, archive: zipfile.ZipFile, data: bytes) -> None:
        self.zip = archive
        self.data = data

    def infolist(self) -> list[zipfile.ZipInfo]:
        return self.zip.infolist()

    def getinfo(self, name: str) -> zipfile.ZipInfo:
        return self.zip.getinfo(name)

    def open(self, info: zipfile.ZipInfo) -> IO[bytes]:
        return self.zip.open(info)

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """The member's bytes; ``zipfile.BadZipFile`` if the archive lies about them."""
        method = info.compress_type
        if info.flag_bits & 0x1 or method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return self.zip.read(info)
        data = self.data
        offset = info.header_offset
        if offset < 0 or offset + _LOCAL_HEADER.size > len(data):
            raise zipfile.BadZipFile(f"{info.filename}: local header out of range")
        header = _LOCAL_HEADER.unpack_from(data, offset)
        if header[0] != _LOCAL_SIGNATURE:
            raise zipfile.BadZipFile(f"{info.filename}: bad local header signature")
        start = offset + _LOCAL_HEADER.size
        name = data[start : start + header[9]]
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if name != info.orig_filename.encode(encoding):
            raise zipfile.BadZipFile(f"{info.filename}: local header names another file")
        start += header[9] + header[10]
        raw = data[start : start + info.compress_size]
        if len(raw) != info.compress_size:
            raise zipfile.BadZipFile(f"{info.filename}: truncated")
        if method == zipfile.ZIP_STORED:
            content = raw
        else:
            inflater = zlib.decompressobj(-15)
            content = inflater.decompress(raw, info.file_size + 1)
            if not inflater.eof:
                raise zipfile.BadZipFile(f"{info.filename}: deflate stream does not end")
        if len(content) != info.file_size or zlib.crc32(content) != info.CRC:
            raise zipfile.BadZipFile(f"{info.filename}: bad size or CRC-32")
        return content


class _Member(NamedTuple):
    """One archive member: where it installs, its contents' hash and size."""

    name: str
    install_path: str
    hash_: Hash
    size: int


def _fingerprint(
    filename: str, file_digest: str | None, archive: "_Archive | _Tree", target: WheelTarget
) -> WheelFingerprint:
    infos = [info for info in archive.infolist() if not info.is_dir()]
    dist_info = _dist_info_dir(filename, infos)
    data_dir = dist_info.removesuffix(".dist-info") + ".data"
    record_name = f"{dist_info}/RECORD"
    problems: list[str] = []  # part of the digest, as for an installed RECORD
    record_problems: list[str] = []  # the wheel's RECORD against its contents

    problems.extend(
        f"archive member {name!r} appears more than once"
        for name, count in Counter(info.filename for info in infos).items()
        if count > 1
    )
    metadata_problems: list[str] = []
    read: dict[str, bytes] = {}  # metadata members already decompressed, hashed later
    name, version = name_and_version(
        _text(archive, f"{dist_info}/METADATA", metadata_problems, read), metadata_problems
    )
    normalized = normalized_name(name) if name else ""
    wrappers = _wrapper_names(_text(archive, f"{dist_info}/entry_points.txt", [], read))

    listed: dict[str, RecordEntry] = {}
    record_text = _text(archive, record_name, [], {})
    if not record_text:
        record_problems.append("the wheel has no RECORD")
    else:
        entries, rejected = parse_record(record_text)
        record_problems.extend(row.problem for row in rejected)
        listed = {entry.path: entry for entry in entries if entry.path != record_name}

    members, scripts, headers = _hash_members(
        archive,
        read,
        [info for info in infos if info.filename != record_name],
        listed,
        target,
        data_dir=data_dir,
        name=normalized,
        problems=problems,
        record_problems=record_problems,
    )
    present = {member.name for member in members}
    record_problems.extend(
        f"RECORD lists {path!r}, which is not in the archive"
        for path in sorted(set(listed) - present)
        if check_path(path, 0) is None
    )

    layout = InstallLayout(
        dist_info=dist_info, depth=_DEPTH, scripts_dir=target.scripts_dir, wrapper_names=wrappers
    )
    contents = [
        RecordEntry(
            member.install_path,
            member.hash_,
            None if _size_unlisted(listed.get(member.name)) else member.size,
        )
        for member in members
    ]
    rows, left_out = canonical_rows(contents, layout, scripts.get)
    row_problems = [row.problem for row in left_out]
    # The archive's own problems are not RECORD rows: they are hashed as worded.
    digest = record_digest(rows, problems + [row.text for row in left_out])

    listed_digest = digest if not record_problems else None
    if record_text and record_problems:
        # What an installer's copy of RECORD gives: the wheel's rows as they are, mapped to
        # installed paths; members RECORD omits get a row without hash or size (pip).
        install_paths = {member.name: member.install_path for member in members}
        as_listed = [
            RecordEntry(install_paths.get(path, path), entry.hash_, entry.size)
            for path, entry in listed.items()
        ] + [
            RecordEntry(member.install_path, None, None)
            for member in members
            if member.name not in listed
        ]
        listed_rows, listed_left_out = canonical_rows(as_listed, layout, scripts.get)
        listed_digest = record_digest(listed_rows, problems + [r.text for r in listed_left_out])

    distribution = schema.distribution(
        name=name,
        normalized_name=normalized,
        version=version,
        record_digest=digest,
        code_digest=code_digest(rows, problems + row_problems, dist_info),
        problems=(*metadata_problems, *problems, *row_problems),
    )
    return WheelFingerprint(
        filename=filename,
        digest=file_digest,
        distribution=distribution,
        listed_digest=listed_digest,
        record_problems=tuple(sorted(set(record_problems))),
        python=target.python if headers else None,
    )


def _hash_members(  # noqa: PLR0913 - the wheel's parts, named
    archive: "_Archive | _Tree",
    read: dict[str, bytes],
    infos: list[zipfile.ZipInfo],
    listed: dict[str, RecordEntry],
    target: WheelTarget,
    *,
    data_dir: str,
    name: str,
    problems: list[str],
    record_problems: list[str],
) -> tuple[list[_Member], dict[str, bytes], bool]:
    """Hash every member with the algorithm its RECORD row names (sha256 otherwise).

    Returns the members, the scripts' bytes by installed path (their shebang is
    normalized before hashing) and whether any member is a header; problems found are
    appended to ``problems`` (part of the digest) and ``record_problems``.
    """
    scripts: dict[str, bytes] = {}
    members: list[_Member] = []
    headers = False
    data_prefix = data_dir + "/"
    sha256 = hashlib.sha256
    for info in infos:
        member = info.filename
        if _maybe_unsafe(member):
            refusal = check_path(member, 0)
            if refusal is not None:
                problems.append(f"archive member {member!r}: {refusal}")
                continue
        install_path = member
        kind = "root"
        if member.startswith(data_prefix):
            placed, kind = _install_path(member, data_dir, name, target)
            if placed is None:
                problems.append(f"archive member {member!r}: unknown {data_dir} directory")
                continue
            install_path = placed
            headers = headers or kind == "headers"
        row = listed.get(member)
        algorithm = row.hash_.name if row is not None and row.hash_ is not None else "sha256"
        if info.file_size > _LARGE_MEMBER and kind != "scripts":
            hasher, size = _hash_stream(archive, info, algorithm)
        else:
            content = read.pop(member, None)
            if content is None:
                content = archive.read(info)
            if kind == "scripts":
                scripts[install_path] = content
            hasher = sha256(content) if algorithm == "sha256" else hashlib.new(algorithm, content)
            size = len(content)
        hash_ = Hash(algorithm, _b64(hasher.digest()))
        members.append(_Member(member, install_path, hash_, size))
        if row is None or row.hash_ != hash_ or (row.size is not None and row.size != size):
            record_problems.extend(_disagreements(member, row, hash_, size))
    return members, scripts, headers


def _dist_info_dir(filename: str, infos: list[zipfile.ZipInfo]) -> str:
    """The wheel's one top-level ``*.dist-info`` directory."""
    found = sorted(
        {
            top
            for info in infos
            if "/" in info.filename
            and (top := info.filename.partition("/")[0]).endswith(".dist-info")
        }
    )
    if len(found) != 1:
        raise InvalidWheelError(
            f"{filename}: expected one top-level .dist-info directory, found {len(found)}"
        )
    return found[0]


def _install_path(
    member: str, data_dir: str, name: str, target: WheelTarget
) -> tuple[str | None, str]:
    """Where ``member`` is installed, relative to the site directory, and its kind."""
    top, _, rest = member.partition("/")
    if top != data_dir:
        return member, "root"
    key, _, rest = rest.partition("/")
    up = "../" * _DEPTH
    if key in ("purelib", "platlib"):
        return rest, key
    if key == "scripts":
        return f"{up}{target.scripts_dir}/{rest}", key
    if key == "data":
        return f"{up}{rest}", key
    if key == "headers":
        return f"{up}include/site/python{target.python}/{name}/{rest}", key
    return None, key


def _hash_stream(
    archive: "_Archive | _Tree", info: zipfile.ZipInfo, algorithm: str
) -> tuple["hashlib._Hash", int]:
    """Hash a large member in chunks (``zipfile`` checks its CRC-32 at the end)."""
    hasher = hashlib.new(algorithm)
    size = 0
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return hasher, size


def _maybe_unsafe(path: str) -> bool:
    """A cheap pre-test: only paths it flags can be refused by ``check_path``."""
    return ".." in path or "\\" in path or path.startswith("/") or ":" in path[:2]


def _disagreements(member: str, row: RecordEntry | None, hash_: Hash, size: int) -> list[str]:
    """How the wheel's RECORD row for ``member`` disagrees with its contents."""
    if row is not None and row.hash_ == hash_ and row.size in (None, size):
        return []
    if row is None:
        return [f"{member!r} is not listed in RECORD"]
    found = []
    if row.hash_ is None:
        found.append(f"RECORD lists {member!r} without a hash")
    elif row.hash_ != hash_:
        found.append(f"RECORD hash of {member!r} does not match its contents")
    if row.size is not None and row.size != size:
        found.append(f"RECORD size of {member!r} is {row.size}, its contents have {size} bytes")
    return found


def _size_unlisted(row: RecordEntry | None) -> bool:
    """Installers copy RECORD's sizes: a row listed without one stays without one."""
    return row is not None and row.size is None


def _text(
    archive: "_Archive | _Tree", name: str, problems: list[str], read: dict[str, bytes]
) -> str:
    """A metadata member as text, or ``""`` with the problem noted; its bytes go to ``read``."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return ""
    if info.file_size > _MAX_METADATA_BYTES:
        problems.append(f"{name} is larger than {_MAX_METADATA_BYTES} bytes")
        return ""
    try:
        data = read[name] = archive.read(info)
        return data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(f"{name} is not UTF-8")
        return ""


def _wrapper_names(text: str) -> frozenset[str]:
    """Console and GUI script names in ``entry_points.txt``: installers generate wrappers."""
    if "_scripts" not in text:
        return frozenset()
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return frozenset()
    return frozenset(
        name.strip()
        for group in _WRAPPER_GROUPS
        if parser.has_section(group)
        for name in parser.options(group)
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
