"""Where a distribution came from (PEP 610), and a digest of an editable source tree."""

from __future__ import annotations

import hashlib
import os
import stat
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import unquote, urlsplit

import orjson

from insidellms_provenance._canonical import canonical_digest
from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import Source
from insidellms_provenance.fingerprint._dist_files import legacy_install_of, read_dist_text
from insidellms_provenance.fingerprint._redact import clean_url, redact

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Mapping

__all__ = [
    "SKIPPED_SOURCE_DIRS",
    "TOP_LEVEL_OUTPUT_DIRS",
    "DirectUrlFields",
    "describe_source",
    "editable_import_roots",
    "editable_redirects",
    "editable_root",
    "source_tree_digest",
]

# Skipped at any depth: version-control and tool state. None of these names is a valid
# Python identifier or a place a build backend takes package data from, so they cannot
# hold the plugin's code.
SKIPPED_SOURCE_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
    }
)
# Skipped only directly below the source root, and only when not a package (no
# ``__init__.py``): where build backends, ``python -m build`` and npm write their output.
# The same names deeper down (``src/pkg/build/``) or as a flat-layout package are code.
TOP_LEVEL_OUTPUT_DIRS = frozenset({"build", "dist", "node_modules"})


def describe_source(dist: metadata.Distribution) -> Source:
    """Summarize ``direct_url.json``; no file means the dist came from an index."""
    problems: list[str] = []
    text = read_dist_text(dist, "direct_url.json", problems)
    if problems:
        return schema.source(kind="unknown", problems=problems)
    if text is None:
        return _legacy_source(dist)
    direct = _parse_direct_url(text)
    if isinstance(direct, str):
        problem = redact(f"direct_url.json is invalid: {direct}")
        return schema.source(kind="unknown", problems=(problem,))

    url, local_name, local_path = _split_url(direct.url)
    if direct.kind == "vcs":
        return schema.source(
            kind="vcs",
            url=url,
            vcs=direct.vcs,
            commit=direct.commit_id,
            requested_revision=direct.requested_revision,
        )
    if direct.kind == "directory":
        editable = direct.editable
        digest = None
        if editable:
            if local_path is not None and local_path.is_dir():
                digest = source_tree_digest(local_path, editable_import_roots(dist, local_path))
            else:
                problems.append("editable source directory is not available")
        return schema.source(
            kind="directory",
            url=url,
            editable=editable,
            editable_digest=digest,
            problems=problems,
        )
    return schema.source(kind="archive", url=url, local_name=local_name)


def _legacy_source(dist: metadata.Distribution) -> Source:
    r"""No ``direct_url.json``: from an index, unless installed without a wheel.

    A ``setup.py develop`` install is fingerprinted like a PEP 660 editable one; an
    ``.egg`` is an archive named by its file name (``\\`` a backslash, ``\xNN`` a byte
    that is not UTF-8).
    """
    legacy = legacy_install_of(dist)
    if legacy is None:
        return schema.source(kind="index")
    if legacy.kind == "egg":
        # The name comes from sys.path and need not be UTF-8: written one to one, as
        # integrity writes the paths it finds (a lone surrogate would stop the record).
        from insidellms_provenance.field._names import path_text

        return schema.source(kind="archive", local_name=path_text(legacy.root.name))
    if not legacy.root.is_dir():
        return schema.source(
            kind="directory",
            editable=True,
            problems=("editable source directory is not available",),
        )
    return schema.source(
        kind="directory", editable=True, editable_digest=source_tree_digest(legacy.root)
    )


class DirectUrlFields:
    """What a fingerprint takes from a valid ``direct_url.json``.

    A plain class: a ``NamedTuple`` costs the host run about half a millisecond to
    create under postponed annotations.
    """

    __slots__ = ("commit_id", "editable", "kind", "requested_revision", "url", "vcs")

    def __init__(  # noqa: PLR0913 - the fields
        self,
        kind: Literal["vcs", "directory", "archive"],
        url: str,
        vcs: str | None = None,
        commit_id: str | None = None,
        requested_revision: str | None = None,
        *,
        editable: bool = False,
    ) -> None:
        self.kind = kind
        self.url = url
        self.vcs = vcs
        self.commit_id = commit_id
        self.requested_revision = requested_revision
        self.editable = editable


def _parse_direct_url(text: str) -> DirectUrlFields | str:
    """``direct_url.json``'s fields, or the first line of what is wrong with it.

    ``packaging.direct_url`` is the judge, but importing it (dataclasses and all) costs
    more than a host run can spare; :func:`_lean_direct_url` accepts the files packaging
    accepts, with the same fields (``tests/test_source.py`` checks that by property), and
    anything it does not vouch for goes to packaging, which also words the problem.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    if not isinstance(value, dict):
        return f"expected a JSON object, not {type(value).__name__}"
    return _lean_direct_url(value) or _packaging_direct_url(value)


def _packaging_direct_url(value: dict[str, object]) -> DirectUrlFields | str:
    from packaging.direct_url import DirectUrl, DirectUrlValidationError

    try:
        direct = DirectUrl.from_dict(value)
    except (DirectUrlValidationError, TypeError) as error:
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    if direct.vcs_info is not None:
        vcs = direct.vcs_info
        return DirectUrlFields("vcs", direct.url, vcs.vcs, vcs.commit_id, vcs.requested_revision)
    if direct.dir_info is not None:
        return DirectUrlFields("directory", direct.url, editable=bool(direct.dir_info.editable))
    return DirectUrlFields("archive", direct.url)


def _lean_direct_url(value: dict[str, object]) -> DirectUrlFields | None:  # noqa: C901, PLR0911
    """The fields of ``value`` if PEP 610 (as packaging checks it) plainly holds, else None."""
    url = value.get("url")
    subdirectory = value.get("subdirectory")
    if not isinstance(url, str) or not (subdirectory is None or isinstance(subdirectory, str)):
        return None
    given = [key for key in ("vcs_info", "archive_info", "dir_info") if value.get(key) is not None]
    if len(given) != 1 or not isinstance(info := value[given[0]], dict):
        return None
    if given[0] == "vcs_info":
        vcs, commit, revision = (
            info.get("vcs"),
            info.get("commit_id"),
            info.get("requested_revision"),
        )
        if not (isinstance(vcs, str) and isinstance(commit, str)):
            return None
        if revision is not None and not isinstance(revision, str):
            return None
        return DirectUrlFields("vcs", url, vcs, commit, revision)
    if given[0] == "dir_info":
        editable = info.get("editable")
        if not url.startswith("file://") or not (editable is None or isinstance(editable, bool)):
            return None
        return DirectUrlFields("directory", url, editable=bool(editable))
    hashes, legacy = info.get("hashes"), info.get("hash")
    if hashes is not None and not (
        isinstance(hashes, dict) and all(isinstance(h, str) for h in hashes.values())
    ):
        return None
    if legacy is not None:
        if not isinstance(legacy, str) or "=" not in legacy:
            return None
        algorithm, digest = legacy.split("=", 1)
        if hashes is not None and hashes.get(algorithm, None) != digest:
            return None
    return DirectUrlFields("archive", url)


def editable_root(dist: metadata.Distribution) -> Path | None:
    """The local source directory of an editable install, if there is one.

    Named by ``direct_url.json``, or by the ``.egg-link`` of a ``setup.py develop``.
    """
    try:
        text = read_dist_text(dist, "direct_url.json")
        value = orjson.loads(text) if text is not None else None
    except orjson.JSONDecodeError:
        return None
    if value is None:
        legacy = legacy_install_of(dist)
        return legacy.root if legacy is not None and legacy.kind == "develop" else None
    url = value.get("url", "") if isinstance(value, dict) else None
    return _split_url(url)[2] if isinstance(url, str) else None


def _split_url(url: str) -> tuple[str | None, str | None, Path | None]:
    """(remote URL without credentials, local file name, local path) of a PEP 610 URL."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        return None, path.name, path
    return clean_url(url), None, None


def source_tree_digest(root: Path, import_roots: Collection[str] = ()) -> str:
    """Digest every file below ``root``: relative path and content, symlinks not followed.

    Skips only what cannot be the plugin's code (``docs/record-digest.md``):
    :data:`SKIPPED_SOURCE_DIRS`, ``*.egg-info`` metadata and virtual environments
    (``pyvenv.cfg`` with a venv's layout, no module beside it) at any depth,
    :data:`TOP_LEVEL_OUTPUT_DIRS` directly below ``root`` unless they are packages, and
    bytecode. Building, testing or creating a venv in
    place does not change the digest; an edit to any module does. A symlink, to a file
    or to a directory, is its target as written: retargeting it changes the digest.

    ``import_roots`` are the places below ``root`` (relative POSIX paths, no symlink in
    them) the install's ``.pth`` path lines and finder put on Python's way
    (:func:`editable_import_roots`). One that lies in a skipped directory is Python's
    code all the same: the directories leading to it are walked (toward it only), and
    it and everything below it form a link tree (setuptools' strict mode,
    ``build/__editable__.*``), where :func:`_link_tree_row` judges each symlink. A name
    that is not UTF-8 is digested as its bytes (:func:`_digest_rows`).
    """
    roots = {PurePosixPath(path) for path in import_roots if path not in ("", ".")}
    leading = {parent for path in roots for parent in path.parents} | roots
    regions: dict[str, str] = {str(root): _NORMAL}
    rows: list[tuple[str, str]] = []
    tree_links: list[tuple[str, Path]] = []
    for directory, dirnames, filenames in os.walk(root):
        region = regions.pop(directory)
        relative_dir = PurePosixPath(Path(directory).relative_to(root).as_posix())
        kept = []
        for name in sorted(dirnames):
            inner = _region(region, Path(directory, name), relative_dir / name, roots, leading)
            if inner is not None:
                kept.append(name)
                regions[os.path.join(directory, name)] = inner
        dirnames[:] = kept
        # os.walk lists a symlink to a directory among the directories, and does not
        # descend into it: its row is written here, with those of the files.
        for name in (*dirnames, *filenames):
            path, relative = Path(directory, name), (relative_dir / name).as_posix()
            if region == _TRANSIT and PurePosixPath(relative) not in roots:
                continue  # beside the way to an import root, in a skipped directory
            if region != _NORMAL and os.path.islink(path):
                tree_links.append((relative, path))
                continue
            row = _row(path)
            if row is not None:
                rows.append((relative, row))
    listed = {relative for relative, row in rows if row.startswith("sha256:")}
    real_root = os.path.realpath(root)
    for relative, path in tree_links:
        row = _link_tree_row(path, real_root, listed)
        if row is not None:
            rows.append((relative, row))
    return canonical_digest(_digest_rows(rows))


# Regions of the walk of :func:`source_tree_digest`: the usual rules apply; a skipped
# directory on the way to an import root (only that way is walked); a link tree.
_NORMAL: Final = "normal"
_TRANSIT: Final = "transit"
_LINK_TREE: Final = "link tree"


def _region(
    parent: str,
    directory: Path,
    relative: PurePosixPath,
    roots: set[PurePosixPath],
    leading: set[PurePosixPath],
) -> str | None:
    """The region of the subdirectory ``directory`` of a ``parent`` region; ``None``: skipped."""
    if parent == _TRANSIT:
        if relative not in leading:
            return None
    elif not _skipped(directory, top=relative.parent == PurePosixPath()):
        return parent
    elif relative not in leading:
        return None
    if relative in roots or parent == _LINK_TREE:
        return _LINK_TREE
    return _TRANSIT


def _link_tree_row(path: Path, real_root: str, listed: set[str]) -> str | None:
    """The row of the symlink ``path`` of a link tree: the code Python finds through it.

    setuptools' strict mode links each file, by an absolute path, to the file of the
    same name in the source tree, which has its own row: such a link adds nothing, so
    the digest is that of a lenient or compat install of the same checkout, wherever it
    lies. A link to another file of the source directory is that file's content; any
    other link (outside the source directory, to a directory, dangling) is its target
    as written, as elsewhere.
    """
    target = os.path.realpath(path)
    inside = os.path.relpath(target, real_root)
    if inside != os.pardir and not inside.startswith(os.pardir + os.sep):
        try:
            regular = stat.S_ISREG(os.stat(target).st_mode)
        except OSError:
            regular = False
        if regular:
            inside = Path(inside).as_posix()
            if inside in listed and PurePosixPath(inside).name == path.name:
                return None
            return _file_sha256(Path(target))
    return "symlink:" + os.readlink(path)


def _digest_rows(rows: list[tuple[str, str]]) -> list[tuple[object, str]]:
    """``rows`` sorted by their paths' bytes, with every name as JSON text can hold it.

    A file name need not be UTF-8 (Python reads its other bytes as lone surrogates, which
    no JSON text holds), and one such file must not stop the recording. A path that is
    not UTF-8 is written as ``{"path_bytes": "<hex>"}``, and a link's target that is not
    as ``symlink-bytes:<hex>``: faithful, and never the row of a name that is UTF-8,
    which is a string as before. Names are read back to bytes (``os.fsencode``), so the
    digest does not depend on the file system encoding of the process.
    """
    written: list[tuple[bytes, tuple[object, str]]] = []
    for relative, row in rows:
        raw = os.fsencode(relative)
        text = _utf8(raw)
        path: object = text if text is not None else {"path_bytes": raw.hex()}
        written.append((raw, (path, _written_value(row))))
    written.sort(key=lambda item: item[0])
    return [row for _, row in written]


def _written_value(row: str) -> str:
    """A row's value as JSON text holds it: a link's target that is not UTF-8 as its bytes."""
    if not row.startswith("symlink:"):
        return row
    target = os.fsencode(row.removeprefix("symlink:"))
    text = _utf8(target)
    return "symlink:" + text if text is not None else "symlink-bytes:" + target.hex()


def _utf8(raw: bytes) -> str | None:
    """``raw`` decoded as UTF-8, or ``None`` when it is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _row(path: Path) -> str | None:
    """What the digest holds for ``path``: a link's target, a file's hash, else nothing.

    Nothing for a directory (its files have rows), bytecode, or a special file.
    """
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "symlink:" + os.readlink(path)
    if stat.S_ISREG(mode) and not path.name.endswith((".pyc", ".pyo")):
        return _file_sha256(path)
    return None


def _skipped(directory: Path, *, top: bool) -> bool:
    """Whether ``directory`` cannot hold the plugin's code (see :func:`source_tree_digest`)."""
    name = directory.name
    if name in SKIPPED_SOURCE_DIRS or name.endswith(".egg-info"):
        return True
    if top and name in TOP_LEVEL_OUTPUT_DIRS and not (directory / "__init__.py").exists():
        return True
    return _is_virtual_environment(directory)


def _is_virtual_environment(directory: Path) -> bool:
    """Whether ``directory`` is a virtual environment, and cannot be (also) a package.

    A venv has ``pyvenv.cfg``, a scripts directory and a library directory (``bin`` and
    ``lib`` on POSIX, ``Scripts`` and ``Lib`` on Windows), and no module of its own nor
    a package directly inside it: a file named ``pyvenv.cfg`` alone, or beside code
    (``src/pkg/pyvenv.cfg`` next to ``src/pkg/__init__.py``), does not take the
    directory's code out of the digest. Most directories cost one ``stat``.
    """
    if not (
        os.path.isfile(directory / "pyvenv.cfg")
        and any(os.path.isdir(directory / scripts) for scripts in ("bin", "Scripts"))
        and any(os.path.isdir(directory / library) for library in ("lib", "Lib"))
    ):
        return False
    from importlib.machinery import all_suffixes

    suffixes = tuple(all_suffixes())
    try:
        with os.scandir(directory) as entries:
            found = [(entry.name, entry.is_dir()) for entry in entries]
    except OSError:
        return False
    for name, is_directory in found:
        if name.endswith(suffixes):
            return False  # a module: the directory is (also) a package
        if is_directory and any(
            os.path.lexists(directory / name / f"__init__{suffix}") for suffix in suffixes
        ):
            return False  # a package inside it
    return True


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


# What an editable install's ``.pth`` file or finder module is found doing, by
# :func:`editable_redirects`: Python would import the plugin from elsewhere.
_PATH_ELSEWHERE: Final = (
    "editable install: puts a directory outside its source directory on sys.path"
)
_UNLISTED_IMPORT: Final = (
    "editable install: runs code other than importing and calling a module its RECORD lists"
)
_MAPS_ELSEWHERE: Final = "editable install: maps modules to files outside its source directory"
_NAMES_ELSEWHERE: Final = "editable install: runs code naming a path outside its source directory"


def editable_redirects(
    site_dir: str,
    direct_url: str,
    pth_files: Mapping[str, str],
    listed: Collection[str],
    read_module: Callable[[str], str | None],
) -> list[tuple[str, str]]:
    """(path, problem) for each way an editable install's ``.pth`` sends Python elsewhere.

    ``direct_url`` is the distribution's ``direct_url.json``; nothing is judged unless
    it names an editable local directory (the root ``editable_digest`` fingerprints).
    ``pth_files`` are the texts of the ``.pth`` files its RECORD lists in ``site_dir``.
    Read as ``site.addpackage`` reads them, without running anything: a path line
    Python would add to ``sys.path`` must lie in the source directory (or the site
    directory); an ``import`` line may import only modules RECORD lists (the backend's
    finder), and every absolute path such a module names (``read_module`` gives its
    text by its path in the site directory) must lie there too. Paths are compared
    resolved, so a checkout reached through a symlink is the same directory. Nothing
    here names an absolute path: findings are paths relative to the site directory.
    """
    if not pth_files:
        return []
    direct = _parse_direct_url(direct_url)
    if isinstance(direct, str) or direct.kind != "directory" or not direct.editable:
        return []
    root = _split_url(direct.url)[2]
    if root is None:
        return []
    allowed = (os.path.realpath(root), os.path.realpath(site_dir))
    findings = [
        (pth, problem)
        for pth, text in pth_files.items()
        for problem in _import_line_problems(text, allowed, listed)
    ]
    findings += [
        (path, _PATH_ELSEWHERE if path in pth_files else _MAPS_ELSEWHERE)
        for path, place in _pth_places(site_dir, pth_files, listed, read_module)
        if not _inside(place, allowed)
    ]
    return sorted(set(findings))


def editable_import_roots(dist: metadata.Distribution, root: Path) -> list[str]:
    """Where below ``root`` the install's ``.pth`` files send Python, relative, resolved.

    The directories the path lines of the ``.pth`` files its RECORD lists in the site
    directory add to ``sys.path``, and every absolute path a finder module such a file
    imports names (setuptools' ``MAPPING``, ``editables``' ``map_module``), read as
    :func:`editable_redirects` reads them, without running anything. Those outside
    ``root`` are that function's findings; ``root`` itself is left out (nothing below
    it is skipped for being on the way to it). ``[]`` when RECORD cannot be read.
    """
    info = getattr(dist, "_path", None)
    record = read_dist_text(dist, "RECORD") if isinstance(info, Path) else None
    if record is None or not isinstance(info, Path):
        return []
    from insidellms_provenance._safe_io import DIST_FILE_LIMIT, FileRefusedError, read_regular
    from insidellms_provenance.fingerprint._record_file import parse_record

    site_dir = str(info.parent)
    listed = {entry.path for entry in parse_record(record)[0]}

    def read(path: str) -> str | None:
        try:
            data = read_regular(os.path.join(site_dir, path), limit=DIST_FILE_LIMIT)
        except (FileRefusedError, OSError):
            return None
        return data.decode("utf-8", "surrogateescape")

    pth_files = {
        path: text
        for path in listed
        if path.endswith(".pth") and "/" not in path and (text := read(path)) is not None
    }
    real_root = os.path.realpath(root)
    return sorted(
        {
            Path(os.path.relpath(place, real_root)).as_posix()
            for _, place in _pth_places(site_dir, pth_files, listed, read)
            if _inside(place, (real_root,)) and place != real_root
        }
    )


def _lines(text: str) -> Iterator[str]:
    """A ``.pth`` file's lines as ``site.addpackage`` reads them: comments and blanks skipped."""
    return (line for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _is_import(line: str) -> bool:
    """Whether ``site.addpackage`` runs ``line`` (an ``import`` line) rather than adding a path."""
    return line.startswith(("import ", "import\t"))


def _import_line_problems(
    text: str, allowed: tuple[str, ...], listed: Collection[str]
) -> list[str]:
    """What is wrong with one ``.pth`` file's ``import`` lines (path lines: :func:`_pth_places`).

    An ``import`` line is run (here: parsed, never run). It may do only what build
    backends write there: import modules RECORD lists (the backend's finder) and call
    their functions with constant arguments (``import __editable___x_finder;
    __editable___x_finder.install()``), naming no absolute path outside the allowed
    directories. Anything else, the standard library's modules included, could compute
    a path or run code no digest covers.
    """
    problems = []
    for line in filter(_is_import, _lines(text)):
        if _finder_imports(line, listed) is None:
            problems.append(_UNLISTED_IMPORT)
        if any(not _inside(os.path.realpath(p), allowed) for p in _absolute_paths(line)):
            problems.append(_NAMES_ELSEWHERE)
    return problems


def _pth_places(
    site_dir: str,
    pth_files: Mapping[str, str],
    listed: Collection[str],
    read_module: Callable[[str], str | None],
) -> list[tuple[str, str]]:
    """(file, place) for each place the ``.pth`` files send Python, resolved.

    Each path line of a ``.pth`` file that exists (``site.addpackage`` adds it to
    ``sys.path``), with that ``.pth`` file; each absolute path a finder module its
    ``import`` lines import names (setuptools' ``MAPPING``, ``editables``'
    ``map_module``), with that module's file (``read_module`` gives its text by its path
    in the site directory). Read, never run: the one reading of where an editable install
    leads, which :func:`editable_redirects` judges and :func:`editable_import_roots` digests.
    """
    places: list[tuple[str, str]] = []
    finders: set[str] = set()
    for pth, text in pth_files.items():
        for line in _lines(text):
            if _is_import(line):
                finders.update(_finder_imports(line, listed) or ())
            elif os.path.exists(target := os.path.join(site_dir, line.rstrip())):
                places.append((pth, os.path.realpath(target)))
    for module in finders:
        path = f"{module}.py" if f"{module}.py" in listed else f"{module}/__init__.py"
        source = read_module(path) or ""
        places += [(path, os.path.realpath(named)) for named in _absolute_paths(source)]
    return places


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    """Whether the resolved ``path`` is one of the resolved ``roots`` or below one."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _finder_imports(line: str, listed: Collection[str]) -> list[str] | None:
    """The modules an ``import`` line of a ``.pth`` imports, if it does only what backends write.

    Each statement imports modules RECORD lists, or calls a function of one of them with
    constant arguments; ``None`` for anything else (another module, another statement).
    """
    import ast

    try:
        statements = ast.parse(line).body
    except (SyntaxError, ValueError):
        return None
    own: list[str] = []
    for statement in statements:
        if isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names if alias.asname is None]
            if len(names) != len(statement.names) or not all(
                f"{name}.py" in listed or f"{name}/__init__.py" in listed for name in names
            ):
                return None
            own += names
        elif not _calls_a_finder(statement, own):
            return None
    return own


def _calls_a_finder(statement: object, own: list[str]) -> bool:
    """Whether ``statement`` is ``module.function(constants...)`` for a module in ``own``."""
    import ast

    if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
        return False
    call = statement.value
    function = call.func
    return (
        isinstance(function, ast.Attribute)
        and isinstance(function.value, ast.Name)
        and function.value.id in own
        and all(isinstance(argument, ast.Constant) for argument in call.args)
        and all(isinstance(keyword.value, ast.Constant) for keyword in call.keywords)
    )


def _absolute_paths(text: str) -> list[str]:
    """Every string constant of module source ``text`` that is an absolute path.

    The paths an editable finder maps modules to (setuptools' ``MAPPING`` and
    ``NAMESPACES``, ``editables``' ``map_module`` calls). Source that does not parse is
    not run by Python either: nothing.
    """
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value[:1] in ("/", os.sep)
        and os.path.isabs(node.value)
    ]
