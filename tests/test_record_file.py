import base64
import binascii
import csv
import hashlib
import io
import posixpath

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from insidellms_provenance.fingerprint._distribution import code_digest, record_digest
from insidellms_provenance.fingerprint._record_file import (
    INSTALLER_WRITTEN_FILES,
    Hash,
    InstallLayout,
    RecordEntry,
    _csv_rows,
    _parse_rows,
    _plain_entries,
    _plain_rows,
    canonical_rows,
    check_path,
    parse_record,
    simple_canonical_rows,
)


def b64(data: bytes, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm, data).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


GOOD = b64(b"x")
LAYOUT = InstallLayout(dist_info="demo-1.0.dist-info", depth=3, scripts_dir="bin")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("sha256", "not of the form"),
        ("=abc", "not of the form"),
        ("sha256=", "not of the form"),
        ("md5=" + b64(b"x", "md5"), "unknown or forbidden hash algorithm 'md5'"),
        ("sha1=" + b64(b"x", "sha1"), "unknown or forbidden hash algorithm 'sha1'"),
        ("whirlpool=abc", "unknown or forbidden hash algorithm 'whirlpool'"),
        ("sha256=not*base64!", "not urlsafe base64"),
        ("sha256=" + GOOD[:-4], "not a sha256 digest"),
        ("sha256=" + GOOD + "AAAA", "not a sha256 digest"),
        ("sha256=" + GOOD + "=", "not a sha256 digest"),
        ("sha256=" + GOOD[:-2] + "+/", "not a sha256 digest in urlsafe base64"),
    ],
)
def test_hash_parse_refuses(text, error):
    with pytest.raises(ValueError, match=error):
        Hash.parse(text)


B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=."


def slow_sha256_verdict(value: str) -> bool:
    """What Hash.parse decided for sha256 before the pattern: decode, check, re-encode."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 32 and base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == value


@settings(max_examples=500)
@given(
    value=st.one_of(
        st.binary(min_size=32, max_size=32).map(
            lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        ),
        st.text(alphabet=B64_CHARS, min_size=41, max_size=45),
    )
)
def test_the_sha256_pattern_accepts_exactly_canonical_digests(value):
    try:
        Hash.parse(f"sha256={value}")
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert accepted == slow_sha256_verdict(value)


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha512", "sha3_256", "blake2b"])
def test_hash_parse_accepts_strong_algorithms(algorithm):
    value = b64(b"content", algorithm)
    parsed = Hash.parse(f"{algorithm}={value}")
    assert parsed == Hash(algorithm, value)
    assert str(parsed) == f"{algorithm}={value}"
    assert parsed.matches(b"content")
    assert not parsed.matches(b"content!")


@pytest.mark.parametrize(
    ("text", "entries", "problems"),
    [
        ("", [], []),
        ("a.py,sha256=" + GOOD + ",1\n", [RecordEntry("a.py", Hash("sha256", GOOD), 1)], []),
        ("a.py,,\n\n", [RecordEntry("a.py", None, None)], []),
        ('"a,b.py",sha256=' + GOOD + ",1\n", [RecordEntry("a,b.py", Hash("sha256", GOOD), 1)], []),
        (
            "a.py,sha256=" + GOOD + "\n",
            [],
            ["RECORD row 'a.py,sha256=" + GOOD + "': expected 3 fields, got 2"],
        ),
        ("a.py,x,y,z\n", [], ["RECORD row 'a.py,x,y,z': expected 3 fields, got 4"]),
        ("a.py,,-1\n", [], ["RECORD row 'a.py': size '-1' is not a non-negative integer"]),
        ("a.py,,1.5\n", [], ["RECORD row 'a.py': size '1.5' is not a non-negative integer"]),
        ("a.py,," + "9" * 5000 + "\n", [], ["RECORD row 'a.py': size of 5000 digits is too large"]),
        (",,\n", [], ["RECORD row '': empty path"]),
        (
            "a.py,md5=abc,zz\n",
            [],
            [
                "RECORD row 'a.py': unknown or forbidden hash algorithm 'md5'; size 'zz' is not a non-negative integer"
            ],
        ),
        ('a.py,"unterminated\n', [], ["RECORD is not valid CSV: unexpected end of data"]),
    ],
)
def test_parse_record_table(text, entries, problems):
    parsed, rejected = parse_record(text)
    assert (parsed, [row.problem for row in rejected]) == (entries, problems)


@pytest.mark.parametrize(
    ("text", "rejected"),
    [
        ("a.py,x\n", ["a.py,x"]),
        ("ok.py,,\r\nb.py,,,\r\n", ["b.py,,,"]),
        ('"c\nd.py",sha256=bad,1\n', ['"c\nd.py",sha256=bad,1']),
        ('"q""uoted",,\n,x\n', [",x"]),
        ('a.py,"never closed\n', ['a.py,"never closed\n']),
    ],
)
def test_rejected_rows_keep_their_text_as_written(text, rejected):
    """Digests hash what RECORD holds, so they never depend on our messages."""
    _, found = parse_record(text)
    assert [row.text for row in found] == rejected


@pytest.mark.parametrize(
    ("path", "depth", "refusal"),
    [
        ("pkg/mod.py", 0, None),
        ("pkg/../other.py", 0, None),
        ("../../../bin/tool", 3, None),
        ("../../../bin/tool", 2, "path escapes the install root"),
        ("../x", 0, "path escapes the install root"),
        ("pkg/../../x", 0, "path escapes the install root"),
        ("../../../../etc/passwd", 3, "path escapes the install root"),
        ("/etc/passwd", 3, "absolute path"),
        ("\\\\server\\share", 3, "absolute path"),
        ("C:/Windows/x.py", 3, "absolute path"),
        ("pkg\\mod.py", 3, "backslash in path"),
        ("./pkg/mod.py", 0, None),
    ],
)
def test_check_path_table(path, depth, refusal):
    assert check_path(path, depth) == refusal


def _entry(path: str, data: bytes | None = b"x") -> RecordEntry:
    if data is None:
        return RecordEntry(path, None, None)
    return RecordEntry(path, Hash("sha256", b64(data)), len(data))


def _no_scripts(path: str) -> bytes | None:
    raise AssertionError(f"unexpected script read {path}")


def test_canonical_rows_drop_installer_files_and_bytecode():
    entries = [
        _entry("demo-1.0.dist-info/INSTALLER", b"pip\n"),
        _entry("demo-1.0.dist-info/REQUESTED", b""),
        _entry("demo-1.0.dist-info/direct_url.json", b"{}"),
        _entry("demo-1.0.dist-info/uv_cache.json", b"{}"),
        _entry("demo-1.0.dist-info/RECORD", None),
        _entry("demo-1.0.dist-info/METADATA", b"meta"),
        _entry("demo/__pycache__/__init__.cpython-311.pyc", None),
        _entry("demo/__init__.py", b"code"),
        _entry("other-1.0.dist-info/INSTALLER", b"pip\n"),
    ]
    rows, problems = canonical_rows(entries, LAYOUT, _no_scripts)
    assert problems == []
    assert [row[0] for row in rows] == [
        "demo-1.0.dist-info/METADATA",
        "demo/__init__.py",
        "other-1.0.dist-info/INSTALLER",
    ]


def test_canonical_rows_keep_hashed_bytecode_shipped_in_the_wheel():
    entry = _entry("demo/__pycache__/x.cpython-311.pyc", b"\x00bytecode")
    rows, _ = canonical_rows([entry], LAYOUT, _no_scripts)
    assert rows == [(entry.path, str(entry.hash_), entry.size)]


def test_canonical_rows_are_sorted_and_independent_of_row_order():
    entries = [_entry("b.py"), _entry("a/z.py"), _entry("a.py"), _entry("ä.py")]
    forward, _ = canonical_rows(entries, LAYOUT, _no_scripts)
    backward, _ = canonical_rows(list(reversed(entries)), LAYOUT, _no_scripts)
    assert forward == backward
    assert [row[0] for row in forward] == ["a.py", "a/z.py", "b.py", "ä.py"]


def test_canonical_rows_scripts_and_wrappers():
    layout = InstallLayout(
        dist_info="demo-1.0.dist-info",
        depth=3,
        scripts_dir="bin",
        wrapper_names=frozenset({"demo-cli"}),
    )
    scripts = {
        "../../../bin/tool": b"#!/venv/a/bin/python3\nprint('hi')\n",
        "../../../bin/long": b"#!/bin/sh\n'''exec' '/a b/python' \"$0\" \"$@\"\n' '''\nprint('hi')\n",
    }
    entries = [
        _entry("../../../bin/demo-cli", b"wrapper text"),
        _entry("../../../bin/demo-cli.exe", b"MZ"),
        _entry("../../../bin/tool", scripts["../../../bin/tool"]),
        _entry("../../../bin/long", scripts["../../../bin/long"]),
        _entry("../../../share/demo/a.txt", b"data"),
        _entry("../../../bin/gone", b"x"),
    ]
    rows, problems = canonical_rows(entries, layout, scripts.get)
    expected_script = "sha256=" + b64(b"#!python\nprint('hi')\n")
    assert rows == [
        ("{prefix}/bin/long", expected_script, None),
        ("{prefix}/bin/tool", expected_script, None),
        ("{prefix}/share/demo/a.txt", "sha256=" + b64(b"data"), 4),
    ]
    assert [(row.text, row.problem) for row in problems] == [
        (
            f"../../../bin/gone,{_entry('x', b'x').hash_},1",
            "RECORD row '../../../bin/gone': script cannot be read",
        )
    ]


@pytest.mark.parametrize(
    ("console_scripts", "script", "generated"),
    [
        ({"pip", "pip3"}, "pip3.11", True),
        ({"pip", "pip3"}, "pip3", True),
        ({"pip"}, "pip4", True),
        ({"pip"}, "pip3.13.exe", True),
        ({"easy_install"}, "easy_install-3.11", True),
        # Negative rows: the versioned forms exist only for `pip` and `easy_install`.
        ({"pip3"}, "pip3.11", False),
        ({"tool"}, "tool3.11", False),
        ({"pip"}, "pip3.11.x", False),
        ({"pip"}, "pipx", False),
        ({"easy_install"}, "easy_install3.11", False),
    ],
)
def test_canonical_rows_installer_generated_wrappers(console_scripts, script, generated):
    layout = LAYOUT._replace(wrapper_names=frozenset(console_scripts))
    rows, _ = canonical_rows(
        [_entry(f"../../../bin/{script}", b"w")], layout, lambda _path: b"#!/x\nw\n"
    )
    assert (rows == []) is generated


def test_canonical_rows_refuse_escaping_and_absolute_paths():
    entries = [_entry("../../../../etc/passwd"), _entry("/etc/passwd"), _entry("ok.py")]
    rows, problems = canonical_rows(entries, LAYOUT, _no_scripts)
    assert [row[0] for row in rows] == ["ok.py"]
    assert [row.problem for row in problems] == [
        "RECORD row '../../../../etc/passwd': path escapes the install root",
        "RECORD row '/etc/passwd': absolute path",
    ]


def test_canonical_rows_leave_out_caches_pip_listed_under_a_pycache_prefix():
    """pip --compile under PYTHONPYCACHEPREFIX lists each cache, hash-less, where the prefix
    put it: outside the environment. Left out like the caches in ``__pycache__``; rows
    with a hash, not a ``.pyc``, or refused for another reason are refused as before."""
    cache = "../../../../../prefix/tmp/env/lib/python3.11/site-packages/demo/m.cpython-311.pyc"
    entries = [
        _entry(cache, None),
        _entry(cache, b"hashed"),
        _entry("../../../../../prefix/m.py", None),
        _entry("../../../../..\\prefix/m.cpython-311.pyc", None),
        _entry("ok.py"),
    ]
    rows, problems = canonical_rows(entries, LAYOUT, _no_scripts)
    assert [row[0] for row in rows] == ["ok.py"]
    assert [row.problem.rpartition(": ")[2] for row in problems] == [
        "path escapes the install root",
        "path escapes the install root",
        "backslash in path",
    ]


def test_canonical_rows_editable_keeps_paths_only_outside_dist_info():
    layout = InstallLayout(
        dist_info="demo-1.0.dist-info", depth=3, scripts_dir="bin", editable=True
    )
    entries = [
        _entry("__editable__.demo-1.0.pth", b"/abs/src"),
        _entry("demo-1.0.dist-info/METADATA", b"m"),
    ]
    rows, _ = canonical_rows(entries, layout, _no_scripts)
    assert rows == [
        ("__editable__.demo-1.0.pth", None, None),
        ("demo-1.0.dist-info/METADATA", "sha256=" + b64(b"m"), 1),
    ]


_paths = st.lists(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00/\\"),
        min_size=1,
    )
    .filter(lambda part: part not in (".", ".."))
    .map(lambda name: f"pkg/{name}"),
    unique=True,
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(_paths, st.lists(st.binary(max_size=64), min_size=20, max_size=20))
def test_record_round_trip(paths, contents):
    entries = [_entry(path, data) for path, data in zip(paths, contents, strict=False)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", quotechar='"', lineterminator="\n")
    for entry in entries:
        writer.writerow([entry.path, str(entry.hash_), entry.size])
    parsed, rejected = parse_record(buffer.getvalue())
    assert rejected == []
    assert parsed == entries


SEGMENTS = st.sampled_from(["demo", "demo-1.0.dist-info", "bin", "__pycache__", ".", "", "x.py"])


@given(
    paths=st.lists(st.lists(SEGMENTS, min_size=1, max_size=4).map("/".join), max_size=6),
    hashed=st.booleans(),
    editable=st.booleans(),
)
def test_layout_only_matters_for_rows_that_climb_out(paths, hashed, editable):
    """distinfo skips working out the layout when no RECORD row has a '..' segment."""
    entries = [RecordEntry(p, Hash("sha256", GOOD) if hashed else None, 1) for p in paths]
    deep = LAYOUT._replace(wrapper_names=frozenset({"x.py"}), editable=editable)
    flat = InstallLayout(dist_info=deep.dist_info, depth=0, scripts_dir=None, editable=editable)
    read = {}.get
    assert canonical_rows(entries, deep, read) == canonical_rows(entries, flat, read)


# Every file the installer writes is excluded, by name, in the dist-info directory only;
# the same name anywhere else is content (docs/record-digest.md).
@pytest.mark.parametrize("name", sorted(INSTALLER_WRITTEN_FILES))
@pytest.mark.parametrize(
    ("directory", "kept"),
    [("demo-1.0.dist-info", False), ("demo", True), ("other-1.0.dist-info", True)],
)
def test_installer_written_files_are_excluded_only_in_the_dist_info(name, directory, kept):
    entry = _entry(f"{directory}/{name}", b"written by the installer")
    rows, problems = canonical_rows([entry], LAYOUT, _no_scripts)
    assert problems == []
    assert ([row[0] for row in rows] == [entry.path]) is kept


def test_the_exclusions_are_exactly_the_documented_ones():
    assert {
        "INSTALLER",
        "REQUESTED",
        "direct_url.json",
        "RECORD",
        "RECORD.jws",
        "RECORD.p7s",
        "uv_cache.json",
        "uv_build.json",
    } == INSTALLER_WRITTEN_FILES


@pytest.mark.parametrize(
    ("path", "may_lack_hash"),
    [
        ("demo-1.0.dist-info/RECORD", True),
        ("demo-1.0.dist-info/RECORD.jws", True),
        ("demo-1.0.dist-info/RECORD.p7s", True),
        ("demo/__pycache__/m.cpython-311.pyc", True),
        ("__pycache__/m.cpython-311.pyc", True),
        ("demo/RECORD", False),
        ("demo/RECORD.jws", False),
        ("other-1.0.dist-info/RECORD", False),
        ("demo-1.0.dist-info/METADATA", False),
        ("demo/m.pyc", False),
        ("../../pycache/site/demo/m.cpython-311.pyc", True),  # pip under a pycache prefix
        ("../../pycache/site/demo/m.py", False),
    ],
)
def test_rows_that_may_lack_a_hash(path, may_lack_hash):
    assert RecordEntry(path, None, None).may_lack_hash("demo-1.0.dist-info") is may_lack_hash


@pytest.mark.parametrize(
    ("data", "size", "problem"),
    [
        (b"content", 7, None),
        (b"content", 8, "size does not match RECORD"),
        (b"changed", 7, "content does not match RECORD hash"),
    ],
)
def test_a_file_against_its_row(data, size, problem):
    entry = RecordEntry("demo/f.py", Hash.of(b"content"), 7)
    assert entry.mismatch(hashlib.sha256(data).digest(), size) == problem
    assert (
        RecordEntry("demo/f.py", Hash.of(b"content"), None).mismatch(
            hashlib.sha256(b"content").digest(), size
        )
        is None
    )


@given(
    st.binary(min_size=0, max_size=70), st.sampled_from(["sha256", "sha384", "sha512", "sha224"])
)
def test_canonical_base64_shortcut_agrees_with_decoding(raw, algorithm):
    """Hash.parse's shortcut accepts exactly the values decoding and re-encoding accept."""
    import binascii

    from insidellms_provenance.fingerprint._record_file import _b64, _digest_size, _is_canonical_b64

    for value in (_b64(raw), _b64(raw)[:-1] + "A", _b64(raw) + "=", _b64(raw).replace("_", "/")):
        try:
            decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            slow = len(decoded) == _digest_size(algorithm) and _b64(decoded) == value
        except (binascii.Error, ValueError):
            slow = False
        assert _is_canonical_b64(value, _digest_size(algorithm)) == slow, value


@settings(max_examples=500)
@given(st.text(alphabet=',\n\r"\x00ab=/. \u2028\x85é', max_size=120))
def test_plain_rows_are_what_the_csv_module_reads(text):
    """The fast path of ``parse_record`` splits rows exactly as the csv module does."""
    plain = _plain_rows(text)
    if plain is not None:
        assert plain == _csv_rows(text)
    if not any(character in text for character in '"\r\x00'):
        assert plain is not None


@settings(max_examples=500)
@given(st.text(alphabet=',\n\r"\x00ab=/. \u2028\x85é', max_size=120))
def test_record_fields_are_the_csv_modules_fields(text):
    """``record_fields`` answers only for rows of three fields, read as the csv module reads."""
    from insidellms_provenance.fingerprint._record_file import record_fields

    fields = record_fields(text)
    if fields is None:
        return
    rows = [row for row, _ in _csv_rows(text)]
    assert rows  # an empty RECORD is not plain
    assert all(len(row) == 3 for row in rows)  # no empty line, three fields each
    assert [list(row) for row in zip(*fields, strict=True)] == rows


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a,b,c\n\n",
        "a,b\nc,d,e,f\n",  # as many commas as two rows of three fields, in other rows
        '"a",b,c\n',
        "a,b,c\r\n",
        "a,b,c\x00\n",
        "a" * (csv.field_size_limit() + 1) + ",b,c\n",
    ],
)
def test_record_fields_refuse_what_is_not_plain(text):
    from insidellms_provenance.fingerprint._record_file import record_fields

    assert record_fields(text) is None


def test_record_fields_keep_the_fields_as_written():
    from insidellms_provenance.fingerprint._record_file import record_fields

    text = "p/a.py,sha256=x,010\np/b.py,md5=y,\nRECORD,,\nlast,,1x"
    assert record_fields(text) == (
        ["p/a.py", "p/b.py", "RECORD", "last"],
        ["sha256=x", "md5=y", "", ""],
        ["010", "", "", "1x"],
    )


def test_a_field_over_the_csv_limit_is_refused_on_the_fast_path_too():
    row = "a" * (csv.field_size_limit() + 1) + ",sha256=x,1\n"
    assert _plain_rows(row) is None
    entries, rejected = parse_record(row)
    assert entries == []
    assert [r.problem.startswith("RECORD is not valid CSV") for r in rejected] == [True]


# simple_canonical_rows: the one-pass reading must be the full reading wherever it answers.
DIST_INFO = "demo-1.0.dist-info"
_LAYOUTS = (
    InstallLayout(dist_info=DIST_INFO, depth=0, scripts_dir=None),
    LAYOUT._replace(wrapper_names=frozenset({"tool"})),
    InstallLayout(dist_info=DIST_INFO, depth=0, scripts_dir="bin", relocated_depth=2),
)
_SEGMENT = st.one_of(
    st.sampled_from(
        [
            "demo",
            DIST_INFO,
            "__pycache__",
            "m.py",
            "m.cpython-311.pyc",
            "bin",
            "Scripts",
            "RECORD",
            "INSTALLER",
            "REQUESTED",
            "direct_url.json",
            "METADATA",
            ".",
            "..",
            "",
            ".hidden",
            "a,b",
            'q"t',
            "C:",
            "c:x",
            "nul\x00",
            "back\\slash",
            "\x85",
            "\u2028",
            "caf\u00e9",
            "\U0001f600",
            "tab\t",
            " ",
            "lf\n",
            "cr\r",
        ]
    ),
    st.text(max_size=6),
)
_PATH = st.lists(_SEGMENT, min_size=1, max_size=4).map("/".join)
_HASH = st.one_of(
    st.sampled_from(
        [
            "",
            "sha256=",
            "sha256=" + GOOD,
            "sha256=" + GOOD[:-1] + "B",
            "sha256=" + GOOD + "=",
            "SHA256=" + GOOD,
            "sha512=" + b64(b"x", "sha512"),
            "md5=" + b64(b"x", "md5"),
            "sha256=" + GOOD[:-1],
            "sha256=not base64",
        ]
    ),
    st.binary(max_size=8).map(lambda data: "sha256=" + b64(data)),
)
_SIZE = st.sampled_from(["", "0", "7", "007", "1234567890123456", "\uff19", "-1", " 1", "x", "2"])


@st.composite
def _record_texts(draw, clean: bool) -> str:
    """RECORD texts: rows of sampled parts, joined by csv or by hand, with any line ends."""
    if clean:
        segment = st.sampled_from(["demo", DIST_INFO, "__pycache__", "m.py", "x.pyc", "RECORD"])
        path = st.lists(segment, min_size=1, max_size=3).map("/".join)
        hashes = st.sampled_from(["", "sha256=" + GOOD, "sha256=" + b64(b"y")])
        rows = draw(st.lists(st.tuples(path, hashes, st.sampled_from(["", "0", "12"]))))
        return "".join(f"{p},{h},{s}\n" for p, h, s in rows)
    rows = draw(st.lists(st.tuples(_PATH, _HASH, _SIZE), max_size=8))
    buffer = io.StringIO()
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if draw(st.booleans()):
        try:
            csv.writer(buffer, lineterminator=ending).writerows(rows)
        except csv.Error:  # Python 3.10's writer refuses some fields the later ones quote
            reject()
    else:
        extra = draw(st.lists(st.text(max_size=4), max_size=len(rows)))
        buffer.write(ending.join(",".join(row) for row in rows) + ending.join(["", *extra]))
    return buffer.getvalue()


def _full_reading(text: str, layout: InstallLayout):
    entries, rejected = parse_record(text)
    rows, refused = canonical_rows(entries, layout, lambda _path: b"#!/usr/bin/python\n")
    return rows, rejected + refused, entries


@settings(max_examples=600, deadline=None)
@given(st.one_of(_record_texts(clean=False), _record_texts(clean=True)))
def test_simple_rows_are_the_full_reading_wherever_given(text):
    simple = simple_canonical_rows(text, DIST_INFO)
    if simple is None:
        return  # the caller takes the full reading itself
    rows, paths = simple
    for layout in _LAYOUTS:  # no row of a simple RECORD depends on the layout
        full_rows, problems, entries = _full_reading(text, layout)
        assert problems == []
        assert rows == full_rows
        assert [type(size) for _, _, size in rows] == [type(size) for _, _, size in full_rows]
        assert paths == [posixpath.normpath(entry.path) for entry in entries]
    assert record_digest(rows, []) == record_digest(full_rows, [])
    assert code_digest(rows, [], DIST_INFO) == code_digest(full_rows, [], DIST_INFO)


@settings(max_examples=600, deadline=None)
@given(st.one_of(_record_texts(clean=False), _record_texts(clean=True)))
def test_plain_entries_are_the_row_by_row_reading_wherever_given(text):
    """``parse_record``'s one-expression reading: the same entries, classes and all."""
    plain = _plain_entries(text)
    if plain is None:
        return  # parse_record reads it row by row
    entries, rejected = _parse_rows(text)
    assert rejected == []
    assert plain == entries
    assert [(type(e), type(e.hash_), type(e.size)) for e in plain] == [
        (type(e), type(e.hash_), type(e.size)) for e in entries
    ]


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        pytest.param(f"demo/a.py,sha256={GOOD},1\ndemo/b.py,,\n", True, id="plain"),
        pytest.param(f"demo/a.py,sha256={GOOD},1", True, id="no-final-line-end"),
        pytest.param(f"demo/a.py,sha512={b64(b'x', 'sha512')},1\n", False, id="other-algorithm"),
        pytest.param(f"demo/a.py,sha256={GOOD},1\n\ndemo/b.py,,\n", False, id="empty-line"),
        pytest.param(f"demo/a.py,sha256={GOOD[:-1]}B,1\n", False, id="non-canonical"),
        pytest.param("demo/a.py,,1,\n", False, id="four-fields"),
        pytest.param(",,\n", False, id="empty-path"),
        pytest.param("demo/a.py,," + "9" * 19 + "\n", False, id="long-size"),
        pytest.param("", False, id="empty"),
    ],
)
def test_which_records_take_the_one_expression_reading(text, plain):
    assert (_plain_entries(text) is not None) == plain
    assert parse_record(text) == _parse_rows(text)


@settings(max_examples=200, deadline=None)
@given(_record_texts(clean=True).filter(bool))
def test_clean_records_take_the_one_pass_reading(text):
    simple = simple_canonical_rows(text, DIST_INFO)
    assert simple is not None
    assert simple[0] == _full_reading(text, _LAYOUTS[0])[0]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('"demo/a,b.py",sha256=' + GOOD + ",1\n", id="quoted-comma"),
        pytest.param("demo/a.py,sha256=" + GOOD + ",1\r\n", id="crlf"),
        pytest.param("demo/a.py,sha256=" + GOOD[:-1] + "B,1\n", id="non-canonical-hash"),
        pytest.param("demo/a.py,sha256=abc,1\n", id="short-hash"),
        pytest.param("demo/a.py,sha1=" + b64(b"x", "sha1") + ",1\n", id="forbidden-algorithm"),
        pytest.param("demo/a.py,sha384=" + b64(b"x", "sha384") + ",1\n", id="other-algorithm"),
        pytest.param("demo/a\x00.py,,\n", id="nul"),
        pytest.param("demo\\a.py,,\n", id="backslash"),
        pytest.param("/etc/passwd,,\n", id="absolute"),
        pytest.param("C:/x.py,,\n", id="drive"),
        pytest.param("../../bin/tool,,\n", id="climbs-out"),
        pytest.param("bin/tool,,\n", id="target-scripts"),
        pytest.param("demo//a.py,,\n", id="empty-component"),
        pytest.param("demo/./a.py,,\n", id="dot-component"),
        pytest.param("./demo/a.py,,\n", id="leading-dot"),
        pytest.param("demo/,,\n", id="trailing-slash"),
        pytest.param("demo/a.py,,\n\ndemo/b.py,,\n", id="empty-row"),
        pytest.param("demo/a.py,,1,extra\n", id="four-fields"),
        pytest.param("demo/a.py,,x\n", id="bad-size"),
        pytest.param("demo/a.py,,12345678901234567\n", id="huge-size"),
        pytest.param(",,\n", id="empty-path"),
        pytest.param("", id="empty"),
    ],
)
def test_hostile_and_unusual_records_take_the_full_reading(text):
    assert simple_canonical_rows(text, DIST_INFO) is None


@pytest.mark.parametrize("extra", [0, 1])
def test_the_one_pass_reading_keeps_the_csv_field_limit(extra):
    path = "demo/" + "x" * (csv.field_size_limit() - 5 + extra)
    text = f"{path},sha256={GOOD},1\n"
    simple = simple_canonical_rows(text, DIST_INFO)
    rows, problems, _ = _full_reading(text, _LAYOUTS[0])
    assert (simple is None) is bool(problems)  # too long: invalid CSV, and not simple
    if simple is not None:
        assert simple[0] == rows
