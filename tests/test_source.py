"""``source``: what PEP 610 ``direct_url.json`` says, with no secret or local path kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insidellms_provenance.field import schema
from insidellms_provenance.field._validate import validate
from insidellms_provenance.fingerprint._source import (
    DirectUrlFields,
    _lean_direct_url,
    _packaging_direct_url,
    _parse_direct_url,
    describe_source,
    editable_import_roots,
    editable_redirects,
    editable_root,
    source_tree_digest,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def dist_with(tmp_path: Path, direct_url: object | None) -> metadata.Distribution:
    info = tmp_path / "site" / "demo-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    if direct_url is not None:
        text = direct_url if isinstance(direct_url, str) else json.dumps(direct_url)
        (info / "direct_url.json").write_text(text)
    return metadata.PathDistribution(info)


@pytest.mark.parametrize(
    ("direct_url", "expected"),
    [
        (None, schema.source(kind="index")),
        (
            {"url": "https://files.example.org/demo-1.0-py3-none-any.whl", "archive_info": {}},
            schema.source(
                kind="archive", url="https://files.example.org/demo-1.0-py3-none-any.whl"
            ),
        ),
        (  # credentials in a remote URL are removed, user and password alike
            {"url": "https://user:s3cret@files.example.org/demo.whl", "archive_info": {}},
            schema.source(kind="archive", url="https://files.example.org/demo.whl"),
        ),
        (
            {"url": "https://ghp_TOKEN@files.example.org:8443/demo.whl", "archive_info": {}},
            schema.source(kind="archive", url="https://files.example.org:8443/demo.whl"),
        ),
        (
            {
                "url": "https://user:s3cret@github.com/org/demo.git",
                "vcs_info": {"vcs": "git", "commit_id": COMMIT, "requested_revision": "v1.0"},
            },
            schema.source(
                kind="vcs",
                url="https://github.com/org/demo.git",
                vcs="git",
                commit=COMMIT,
                requested_revision="v1.0",
            ),
        ),
        (
            {
                "url": "ssh://git@example.org/demo.git",
                "vcs_info": {"vcs": "git", "commit_id": COMMIT},
            },
            schema.source(kind="vcs", url="ssh://example.org/demo.git", vcs="git", commit=COMMIT),
        ),
        (  # a local file is named, never its absolute path
            {"url": "file:///home/someone/wheels/demo-1.0-py3-none-any.whl", "archive_info": {}},
            schema.source(kind="archive", local_name="demo-1.0-py3-none-any.whl"),
        ),
        (  # a directory is not named at all: its name is machine-specific
            {"url": "file:///home/someone/src/demo", "dir_info": {}},
            schema.source(kind="directory"),
        ),
        (
            {
                "url": "file:///home/someone/src/demo",
                "vcs_info": {"vcs": "git", "commit_id": COMMIT},
            },
            schema.source(kind="vcs", vcs="git", commit=COMMIT),
        ),
        (
            {"url": "file:///nonexistent/demo", "dir_info": {"editable": True}},
            schema.source(
                kind="directory",
                editable=True,
                problems=["editable source directory is not available"],
            ),
        ),
    ],
)
def test_describe_source(tmp_path, direct_url, expected):
    found = describe_source(dist_with(tmp_path, direct_url))
    assert found == expected
    assert validate(found, schema.Source) == []
    assert "s3cret" not in json.dumps(found)
    assert "TOKEN" not in json.dumps(found)
    assert "/home/" not in json.dumps(found)


@pytest.mark.parametrize(
    ("text", "problem_start"),
    [
        ("{not json", "direct_url.json is invalid: "),
        (json.dumps({"archive_info": {}}), "direct_url.json is invalid: "),
        (json.dumps({"url": "https://x/y.whl"}), "direct_url.json is invalid: "),
        (json.dumps([1]), "direct_url.json is invalid: "),
    ],
)
def test_invalid_direct_url_is_unknown_with_a_problem(tmp_path, text, problem_start):
    found = describe_source(dist_with(tmp_path, text))
    assert found["kind"] == "unknown"
    assert len(found["problems"]) == 1
    assert found["problems"][0].startswith(problem_start)


def test_editable_source_is_digested_and_follows_its_files(tmp_path):
    source = tmp_path / "src" / "demo"
    (source / "demo").mkdir(parents=True)
    (source / "demo" / "__init__.py").write_text("X = 1\n")
    (source / ".git").mkdir()
    (source / ".git" / "HEAD").write_text("ref\n")
    dist = dist_with(tmp_path, {"url": source.as_uri(), "dir_info": {"editable": True}})
    found = describe_source(dist)
    assert found["editable"] is True
    assert found["local_name"] is None
    assert found["editable_digest"] == source_tree_digest(source)
    assert editable_root(dist) == source
    (source / ".git" / "HEAD").write_text("other\n")  # tool state does not count
    assert describe_source(dist)["editable_digest"] == found["editable_digest"]
    (source / "demo" / "__init__.py").write_text("X = 2\n")
    assert describe_source(dist)["editable_digest"] != found["editable_digest"]


def test_editable_root_without_a_local_url(tmp_path):
    assert editable_root(dist_with(tmp_path, None)) is None
    remote = {"url": "https://example.org/demo.whl", "archive_info": {}}
    assert editable_root(dist_with(tmp_path / "r", remote)) is None


def _project(root: Path) -> Path:
    """A src-layout project whose package has a subpackage named ``build``."""
    for relative, text in {
        "pyproject.toml": "[project]\nname = 'demo'\n",
        "src/demo/__init__.py": "def register():\n    return None\n",
        "src/demo/build/__init__.py": "STEPS = 1\n",
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("relative", "counts"),
    [
        # Real code and data, wherever it lies and whatever its directory is called.
        ("src/demo/build/__init__.py", True),
        ("src/demo/dist/__init__.py", True),
        ("src/demo/venv/__init__.py", True),
        ("src/demo/node_modules/loader.py", True),
        ("src/demo/build/steps/x.py", True),
        ("src/demo/data/model.json", True),
        ("build/__init__.py", True),  # a flat-layout package named `build`
        ("setup.py", True),
        # Tool output, caches and other environments: never the plugin's code.
        ("build/lib/demo/__init__.py", False),
        ("dist/demo-0.1-py3-none-any.whl", False),
        ("node_modules/left-pad/index.js", False),
        ("src/demo.egg-info/PKG-INFO", False),
        ("src/demo/__pycache__/x.cpython-311.pyc", False),
        ("src/demo/x.pyc", False),
        (".git/HEAD", False),
        ("src/demo/.mypy_cache/x.json", False),
        (".tox/py311/lib/x.py", False),
        (".venv/lib/x.py", False),
        ("env/lib/x.py", False),  # any directory with a venv's layout
    ],
)
def test_what_counts_as_source(tmp_path, relative, counts):
    root = _project(tmp_path / "project")
    for venv in (root / ".venv", root / "env"):
        (venv / "bin").mkdir(parents=True)
        (venv / "lib").mkdir()
        (venv / "pyvenv.cfg").write_text("home = /x\n")
    before = source_tree_digest(root)
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("changed\n")
    assert (source_tree_digest(root) != before) is counts


# What a directory holding ``pyvenv.cfg`` holds besides, and whether it is then a virtual
# environment (skipped) or code that counts: an edit to ``marker`` must change the digest
# exactly when the directory counts.
_VENV_LAYOUT = {"pyvenv.cfg": "home = /x\n", "bin/python": "", "lib/python3.11/site.txt": ""}


@pytest.mark.parametrize(
    ("files", "marker", "counts"),
    [
        # A real venv's layout, POSIX or Windows: skipped whatever its name.
        (_VENV_LAYOUT, "lib/python3.11/x.py", False),
        ({**_VENV_LAYOUT, "CACHEDIR.TAG": "", ".gitignore": "*"}, "bin/activate", False),
        (
            {"pyvenv.cfg": "", "Scripts/python.exe": "", "Lib/site-packages/x.txt": ""},
            "Lib/site-packages/x.py",
            False,
        ),
        # A file named pyvenv.cfg in a package, or without the layout: code.
        ({"pyvenv.cfg": "", "__init__.py": ""}, "__init__.py", True),
        ({"pyvenv.cfg": ""}, "core.py", True),
        ({**_VENV_LAYOUT, "__init__.py": ""}, "__init__.py", True),
        ({**_VENV_LAYOUT, "core.py": ""}, "core.py", True),
        ({**_VENV_LAYOUT, "fast.cpython-311-x86_64-linux-gnu.so": ""}, "lib/x.py", True),
        ({**_VENV_LAYOUT, "sub/__init__.py": ""}, "sub/__init__.py", True),
        ({"pyvenv.cfg": "", "bin/x": ""}, "bin/x", True),  # no library directory
        ({"pyvenv.cfg": "", "lib/x": ""}, "lib/x", True),  # no scripts directory
        ({"bin/x": "", "lib/x": ""}, "lib/x", True),  # no pyvenv.cfg
    ],
)
def test_what_a_virtual_environment_is(tmp_path, files, marker, counts):
    root = _project(tmp_path / "project")
    for relative, text in files.items():
        path = root / "src" / "demo" / "inner" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    before = source_tree_digest(root)
    (root / "src" / "demo" / "inner" / marker).write_text("changed\n")
    assert (source_tree_digest(root) != before) is counts


def test_a_pyvenv_cfg_in_the_plugin_package_hides_nothing(tmp_path):
    """An empty ``pyvenv.cfg`` beside the package's modules: every edit still counts."""
    root = _project(tmp_path / "project")
    (root / "src" / "demo" / "pyvenv.cfg").write_text("")
    before = source_tree_digest(root)
    (root / "src" / "demo" / "__init__.py").write_text("import os\n")
    assert source_tree_digest(root) != before


def test_the_same_source_under_another_directory_name_has_the_same_digest(tmp_path):
    assert source_tree_digest(_project(tmp_path / "checkout-a")) == source_tree_digest(
        _project(tmp_path / "another name")
    )


# -- a link tree on sys.path (setuptools' strict mode) --------------------------------------

TREE = "build/__editable__.demo-0.1-py3-none-any"


def _strict(root: Path) -> Path:
    """``root`` with the link tree setuptools' strict mode writes: absolute file links."""
    for source in ("__init__.py", "build/__init__.py"):
        link = root / TREE / "demo" / source
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(root / "src" / "demo" / source)
    return root


def _retarget(relative: str, target: str | Path) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        link = root / TREE / "demo" / relative
        link.unlink()
        link.symlink_to(target if isinstance(target, str) else root / target)

    return change


def _link(relative: str, target: Path) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        (root / TREE / "demo" / relative).symlink_to(root / target)

    return change


def _write(relative: str, text: str = "import os\n") -> Callable[[Path], None]:
    def change(root: Path) -> None:
        path = root / relative
        if path.is_symlink():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return change


@pytest.mark.parametrize(
    ("change", "counts"),
    [
        # What Python imports through the tree: replaced, added, or found elsewhere.
        pytest.param(_write(f"{TREE}/demo/__init__.py"), True, id="regular-file-for-a-link"),
        pytest.param(_write(f"{TREE}/demo/evil.py"), True, id="new-module-in-the-tree"),
        pytest.param(_write("src/demo/__init__.py"), True, id="source-a-link-stands-for"),
        pytest.param(_retarget("__init__.py", "/dev/null"), True, id="link-outside"),
        pytest.param(_retarget("__init__.py", Path("pyproject.toml")), True, id="link-other-file"),
        pytest.param(
            _retarget("__init__.py", Path("build/lib/demo/__init__.py")),
            True,
            id="link-into-skipped-build-output",
        ),
        pytest.param(_link("sub", Path("src/demo/build")), True, id="directory-link"),
        # The same file by a relative link; what lies beside the tree or is bytecode.
        pytest.param(
            _retarget("__init__.py", "../../../src/demo/__init__.py"), False, id="relative-link"
        ),
        pytest.param(_write("build/lib/demo/x.py"), False, id="build-output-beside-the-tree"),
        pytest.param(_write("build/x.py"), False, id="file-beside-the-tree"),
        pytest.param(
            _write(f"{TREE}/demo/__pycache__/__init__.cpython-311.pyc"), False, id="bytecode"
        ),
    ],
)
def test_what_counts_in_a_link_tree_on_sys_path(tmp_path, change, counts):
    root = _strict(_project(tmp_path / "project"))
    _write("build/lib/demo/__init__.py", "X = 0\n")(root)
    before = source_tree_digest(root, [TREE])
    change(root)
    assert (source_tree_digest(root, [TREE]) != before) is counts


def test_a_link_into_skipped_output_is_the_content_it_leads_to(tmp_path):
    root = _strict(_project(tmp_path / "project"))
    _write("build/lib/demo/__init__.py", "X = 0\n")(root)
    _retarget("__init__.py", Path("build/lib/demo/__init__.py"))(root)
    before = source_tree_digest(root, [TREE])
    _write("build/lib/demo/__init__.py", "X = 1\n")(root)
    assert source_tree_digest(root, [TREE]) != before


def test_a_strict_link_tree_digests_as_the_source_it_stands_for(tmp_path):
    """Absolute links under two checkout paths, and no tree at all: one digest."""
    plain = source_tree_digest(_project(tmp_path / "lenient"))
    assert source_tree_digest(_strict(_project(tmp_path / "one")), [TREE]) == plain
    assert source_tree_digest(_strict(_project(tmp_path / "two words")), [TREE]) == plain
    # Without the import root the tree is skipped with the rest of build/, as before.
    assert source_tree_digest(_strict(_project(tmp_path / "three"))) == plain


# -- names that are not UTF-8 -------------------------------------------------------------


def _tree_with(root: Path, name: bytes, *, link: bool = False) -> Path:
    root = _project(root)
    path = os.path.join(os.fsencode(root / "src" / "demo"), name)
    if link:
        os.symlink(b"target-" + name, path)
    else:
        Path(os.fsdecode(path)).write_bytes(b"x")
    return root


def test_names_not_utf8_are_digested_one_to_one(tmp_path):
    """Before the fix: NotCanonicalizableError (a lone surrogate), for the whole group."""
    names = [b"caf\xe9.txt", b"caf\xff.txt", b"caf\\xe9.txt", "café.txt".encode()]
    names.append(b'{"path_bytes": "636166e92e747874"}')
    digests = [source_tree_digest(_tree_with(tmp_path / str(i), n)) for i, n in enumerate(names)]
    links = [
        source_tree_digest(_tree_with(tmp_path / f"l{i}", n, link=True))
        for i, n in enumerate(names)
    ]
    assert len({*digests, *links}) == len(names) * 2
    assert source_tree_digest(_tree_with(tmp_path / "again", names[0])) == digests[0]


def test_the_digest_does_not_depend_on_the_file_system_encoding(tmp_path):
    """A host run in the C locale without UTF-8 mode reads UTF-8 names with surrogates."""
    root = _tree_with(tmp_path / "p", "café.txt".encode())
    (root / "src" / "demo" / "é-link").symlink_to("ü")
    code = (
        "import sys; from pathlib import Path; assert sys.getfilesystemencoding() == 'ascii';"
        "from insidellms_provenance.fingerprint._source import source_tree_digest;"
        f"print(source_tree_digest(Path({str(root)!r})))"
    )
    environment = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == source_tree_digest(root)


# What direct_url.json may hold: PEP 610's shapes, and every way of getting them wrong
# that a type check can catch (wrong types, missing or extra objects, hash disagreements).
_TEXT = st.sampled_from(["", "git", "sha256", "abc", "file:///src", "https://h/x.whl", "a=b"])
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-1, 1), _TEXT)
_ANY = st.one_of(_SCALAR, st.lists(_SCALAR, max_size=2), st.dictionaries(_TEXT, _SCALAR))


def _maybe(key: str, values: st.SearchStrategy[object]) -> st.SearchStrategy[dict[str, object]]:
    return st.one_of(st.just({}), values.map(lambda value: {key: value}))


def _object(*parts: st.SearchStrategy[dict[str, object]]) -> st.SearchStrategy[object]:
    merged = st.tuples(*parts).map(lambda dicts: {k: v for d in dicts for k, v in d.items()})
    return st.one_of(merged, _ANY)


_VCS_INFO = _object(
    _maybe("vcs", st.one_of(_TEXT, _ANY)),
    _maybe("commit_id", st.one_of(_TEXT, _ANY)),
    _maybe("requested_revision", st.one_of(_TEXT, _ANY)),
)
_ALGORITHM = st.sampled_from(["sha256", "md5"])
_ARCHIVE_INFO = _object(
    _maybe("hashes", st.one_of(st.dictionaries(_ALGORITHM, st.one_of(_TEXT, _ANY)), _ANY)),
    _maybe("hash", st.one_of(st.tuples(_ALGORITHM, _TEXT).map("=".join), _ANY)),
)
_DIR_INFO = _object(_maybe("editable", st.one_of(st.booleans(), _ANY)))
_DIRECT_URL = _object(
    _maybe("url", st.one_of(_TEXT, _ANY)),
    _maybe("subdirectory", st.one_of(_TEXT, _ANY)),
    _maybe("vcs_info", _VCS_INFO),
    _maybe("archive_info", _ARCHIVE_INFO),
    _maybe("dir_info", _DIR_INFO),
)


def _fields(found: DirectUrlFields | str) -> tuple[object, ...] | str:
    if isinstance(found, str):
        return found
    names = ("kind", "url", "vcs", "commit_id", "requested_revision", "editable")
    return tuple(getattr(found, name) for name in names)


@settings(max_examples=3000, deadline=None)
@given(_DIRECT_URL)
def test_the_lean_direct_url_reader_agrees_with_packaging(value):
    """The lean reader vouches for exactly what packaging accepts, with the same fields
    (so a host run never imports packaging for a valid file); what it does not vouch
    for, packaging reads and words."""
    parsed = _parse_direct_url(json.dumps(value))
    if not isinstance(value, dict):
        assert isinstance(parsed, str)
        return
    lean, judged = _lean_direct_url(value), _packaging_direct_url(value)
    if lean is None:
        assert isinstance(judged, str)
    else:
        assert _fields(lean) == _fields(judged)
    assert _fields(parsed) == _fields(judged)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"url": "https://h/x.whl", "archive_info": {}}, ("archive", "https://h/x.whl")),
        (
            {"url": "git+https://h/r", "vcs_info": {"vcs": "git", "commit_id": "c"}},
            ("vcs", "git+https://h/r", "git", "c", None),
        ),
        ({"url": "file:///s", "dir_info": {"editable": True}}, ("directory", "file:///s")),
        # Not vouched for: packaging decides, and words the problem.
        ({"url": "https://h/s", "dir_info": {}}, None),
        ({"url": "u", "archive_info": {"hash": "sha256=a", "hashes": {"sha256": "b"}}}, None),
        ({"url": "u", "archive_info": {"hash": "nohash"}}, None),
        ({"url": "u", "archive_info": {}, "dir_info": {}}, None),
        ({"url": "u", "vcs_info": {"vcs": "git"}}, None),
        ({"url": "u", "vcs_info": {"vcs": "git", "commit_id": "c", "requested_revision": 1}}, None),
        ({"url": 1, "archive_info": {}}, None),
        ({"url": "u", "subdirectory": 1, "archive_info": {}}, None),
    ],
)
def test_the_lean_direct_url_reader_table(value, expected):
    found = _lean_direct_url(value)
    if expected is None:
        assert found is None
        assert isinstance(_packaging_direct_url(value), str)
    else:
        assert found is not None
        assert _fields(found)[: len(expected)] == expected


def test_a_valid_direct_url_does_not_import_packaging(tmp_path):
    """What the host run relies on: reading a valid file costs no import of packaging."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from insidellms_provenance.fingerprint._source import _parse_direct_url\n"
        "found = _parse_direct_url(sys.argv[1])\n"
        "assert not isinstance(found, str), found\n"
        "print('packaging.direct_url' in sys.modules)\n"
    )
    text = json.dumps({"url": "file:///w/x.whl", "archive_info": {"hashes": {"sha256": "a"}}})
    result = subprocess.run(
        [sys.executable, "-c", code, text], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


_FINDER = "MAPPING: dict[str, str] = {'demo': %r}\nNAMESPACES: dict[str, list[str]] = {}\n"
_ELSEWHERE = "editable install: puts a directory outside its source directory on sys.path"
_UNLISTED = "editable install: runs code other than importing and calling a module its RECORD lists"
_MAPPED = "editable install: maps modules to files outside its source directory"
_NAMED = "editable install: runs code naming a path outside its source directory"


@pytest.mark.parametrize(
    ("pth", "finder", "expected"),
    [
        # What backends write: a path in the source tree, or an import of their own finder.
        ("{root}/src\n", None, []),
        ("{root}\n", None, []),
        ("# a comment\n\n{root}/src\n", None, []),
        ("import _finder; _finder.install()\n", _FINDER % "{root}/src/demo", []),
        ("{site}/lib\n", None, []),  # a directory of the site itself
        ("{other}/missing\n", None, []),  # Python adds only directories that exist
        ("{link}/src\n", None, []),  # the checkout through a symlink
        # Anything that sends Python elsewhere.
        ("{other}\n", None, [("demo.pth", _ELSEWHERE)]),
        ("{root}/src\n{other_relative}\n", None, [("demo.pth", _ELSEWHERE)]),
        (  # setuptools' legacy namespace line: code, which no digest covers
            (
                "import sys, types, os;p = os.path.join(sys._getframe(1).f_locals['sitedir'],"
                " *('demo',))\n"
            ),
            None,
            [("demo.pth", _UNLISTED)],
        ),
        (
            "import sys; sys.path.insert(0, '{other}')\n",
            None,
            [("demo.pth", _NAMED), ("demo.pth", _UNLISTED)],
        ),
        # A path computed, not written: the line is code other than a finder's call.
        (
            "import os, sys; sys.path.append(os.sep.join(['', 'tmp']))\n",
            None,
            [("demo.pth", _UNLISTED)],
        ),
        ("import os; exec(os.environ['X'])\n", None, [("demo.pth", _UNLISTED)]),
        (
            "import _finder; _finder.install(__import__('os').sep)\n",
            _FINDER % "{root}/src/demo",
            [("demo.pth", _UNLISTED)],
        ),
        (
            "import _finder as f; f.install()\n",
            _FINDER % "{root}/src/demo",
            [("demo.pth", _UNLISTED)],
        ),
        ("import evil; evil.install()\n", None, [("demo.pth", _UNLISTED)]),
        ("import os; __import__('evil').install()\n", None, [("demo.pth", _UNLISTED)]),
        ("import _finder, evil\n", _FINDER % "{root}/src/demo", [("demo.pth", _UNLISTED)]),
        ("import (\n", None, [("demo.pth", _UNLISTED)]),  # unreadable as imports: reported
        (
            "import _finder; _finder.install()\n",
            _FINDER % "{other}/demo",
            [("_finder.py", _MAPPED)],
        ),
    ],
)
def test_editable_redirects(tmp_path, pth, finder, expected):
    root, site, other = tmp_path / "checkout", tmp_path / "site", tmp_path / "other"
    for directory in (root / "src" / "demo", site / "lib", other / "demo"):
        directory.mkdir(parents=True)
    (tmp_path / "link").symlink_to(root)
    places = {
        "{root}": str(root),
        "{site}": str(site),
        "{other}": str(other),
        "{other_relative}": os.path.relpath(other, site),
        "{link}": str(tmp_path / "link"),
    }

    def placed(text: str) -> str:
        for placeholder, path in places.items():
            text = text.replace(placeholder, path)
        return text

    listed = {"demo.pth", "_finder.py", "demo-1.0.dist-info/RECORD"}
    direct_url = json.dumps({"url": root.as_uri(), "dir_info": {"editable": True}})
    modules = {"_finder.py": placed(finder)} if finder is not None else {}
    found = editable_redirects(
        str(site), direct_url, {"demo.pth": placed(pth)}, listed, modules.get
    )
    assert found == expected


@pytest.mark.parametrize(
    ("pth", "finder", "roots"),
    [
        # Path lines and finder paths below the checkout are where Python goes.
        ("{root}/build/__editable__.demo-1.0\n", None, ["build/__editable__.demo-1.0"]),
        ("{root}/src\n", None, ["src"]),
        ("{link}/build/__editable__.demo-1.0\n", None, ["build/__editable__.demo-1.0"]),
        ("import _finder; _finder.install()\n", "{root}/build/lib/demo", ["build/lib/demo"]),
        # The checkout itself, places outside it, absent ones, unlisted code: none.
        ("{root}\n", None, []),
        ("{other}\n", None, []),
        ("{root}/absent\n", None, []),
        ("# {root}/build/lib/demo\n", None, []),
        ("import evil; evil.install()\n", "{root}/build/lib/demo", []),
    ],
)
def test_import_roots_put_skipped_code_in_the_digest(tmp_path, pth, finder, roots):
    """A ``.pth`` path line or finder mapping into ``build/`` makes that code count."""
    root, site, other = tmp_path / "checkout", tmp_path / "site", tmp_path / "other"
    _project(root)
    for directory in ("build/__editable__.demo-1.0/demo", "build/lib/demo"):
        (root / directory).mkdir(parents=True)
        (root / directory / "__init__.py").write_text("X = 0\n")
    other.mkdir()
    (tmp_path / "link").symlink_to(root)
    places = {"{root}": str(root), "{other}": str(other), "{link}": str(tmp_path / "link")}

    def placed(text: str) -> str:
        for placeholder, path in places.items():
            text = text.replace(placeholder, path)
        return text

    dist = dist_with(tmp_path, {"url": root.as_uri(), "dir_info": {"editable": True}})
    (site / "demo.pth").write_text(placed(pth))
    rows = ["demo.pth,,", "demo-1.0.dist-info/RECORD,,"]
    if finder is not None:
        (site / "_finder.py").write_text(placed(_FINDER % finder))
        rows.append("_finder.py,,")
    (site / "demo-1.0.dist-info" / "RECORD").write_text("\n".join(rows) + "\n")
    assert editable_import_roots(dist, root) == roots
    before = describe_source(dist)["editable_digest"]
    for directory in ("build/__editable__.demo-1.0/demo", "build/lib/demo"):
        (root / directory / "__init__.py").write_text("import os\n")
    changed = describe_source(dist)["editable_digest"] != before
    assert changed is bool(roots and roots != ["src"])


@pytest.mark.parametrize(
    "direct_url",
    [
        {"url": "file:///elsewhere", "dir_info": {}},  # not editable
        {"url": "https://example.org/demo.whl", "archive_info": {}},
        "not json",
    ],
)
def test_editable_redirects_judge_editable_installs_only(tmp_path, direct_url):
    text = direct_url if isinstance(direct_url, str) else json.dumps(direct_url)
    pth = {"demo.pth": f"{tmp_path}\n"}
    assert editable_redirects(str(tmp_path / "site"), text, pth, {"demo.pth"}, {}.get) == []


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        (b"demo-0.1-py3.11.egg", "demo-0.1-py3.11.egg"),
        (b"demo-0.1-\xe9.egg", "demo-0.1-\\xe9.egg"),
        (b"demo-0.1-\\xe9.egg", "demo-0.1-\\\\xe9.egg"),  # the text, not the byte
    ],
)
def test_an_egg_is_named_one_to_one_whatever_its_name(tmp_path, name, shown):
    """Before the fix: a lone surrogate in ``local_name`` stopped ``record`` (exit 2)."""
    egg = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), name)))
    (egg / "EGG-INFO").mkdir(parents=True)
    (egg / "EGG-INFO" / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 0.1\n")
    found = describe_source(metadata.PathDistribution(egg / "EGG-INFO"))
    assert found["kind"] == "archive"
    assert found["local_name"] == shown
    found["local_name"].encode("utf-8")  # no lone surrogate
