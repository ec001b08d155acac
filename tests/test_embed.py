import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from durability import SyncObserver, dirty_pages, page_cache_observable
from insidellms_provenance.errors import InvalidRunFileError, WriteError
from insidellms_provenance.field import schema
from insidellms_provenance.field._build import field_bytes, make_field
from insidellms_provenance.field._read import KNOWN_SCHEMAS
from insidellms_provenance.runfile import _embed as embed_module
from insidellms_provenance.runfile._embed import atomic_write, embed, embed_text
from privileges import extended_attributes, give_acl_and_attribute_or_skip, unprivileged

HOST_MANIFEST = {
    "schema_version": "1.0.1",
    "run_id": "abc",
    "python_version": None,
    "custom": {"status_counts": {"success": 5}, "timeout_count": 0},
    "note": "température ≠ 0",
    "metrics": {"accuracy": 0.1, "tiny": 1e-7},
}


def host_text(value=HOST_MANIFEST) -> str:
    return json.dumps(value, sort_keys=True, indent=2)


def provenance(name="alpha"):
    plugin = schema.fingerprint(
        entry_point=schema.entry_point(
            group="insidellms.plugins", name=name, value=f"{name}:register"
        ),
        distribution=None,
        source=None,
        origin=schema.origin(status="unknown"),
        manifest=schema.manifest_summary(status="missing"),
        load=schema.load_outcome(status="loaded"),
    )
    return make_field("insidellms.plugins", [plugin])


@pytest.fixture
def run_dir(tmp_path):
    (tmp_path / "manifest.json").write_text(host_text(), encoding="utf-8")
    return tmp_path


def test_embed_keeps_host_format_and_every_other_key(run_dir):
    result = embed(run_dir, provenance())
    assert result.changed
    assert result.exact_style
    text = (run_dir / "manifest.json").read_text(encoding="utf-8")
    expected = json.loads(host_text())
    expected["custom"]["plugin_provenance"] = provenance()
    assert text == json.dumps(expected, sort_keys=True, indent=2)
    assert not text.endswith("\n")


def test_embedding_twice_changes_no_byte(run_dir):
    embed(run_dir, provenance())
    first = (run_dir / "manifest.json").read_bytes()
    mtime = (run_dir / "manifest.json").stat().st_mtime_ns
    result = embed(run_dir, provenance())
    assert not result.changed
    assert (run_dir / "manifest.json").read_bytes() == first
    assert (run_dir / "manifest.json").stat().st_mtime_ns == mtime


def test_embedding_new_provenance_replaces_the_field(run_dir):
    embed(run_dir, provenance("alpha"))
    embed(run_dir, provenance("beta"))
    value = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert value["custom"]["plugin_provenance"] == provenance("beta")
    assert value["custom"]["timeout_count"] == 0


def test_embed_accepts_the_manifest_path_and_keeps_permissions(run_dir):
    path = run_dir / "manifest.json"
    path.chmod(0o640)
    embed(path, provenance())
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


running_as_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root may give a file away"
)


@running_as_root
def test_embed_as_root_keeps_the_owner_and_group(run_dir):
    path = run_dir / "manifest.json"
    os.chown(path, 12345, 23456)
    path.chmod(0o2664)  # a set-id bit too: a change of owner would clear it
    embed(run_dir, provenance())
    info = path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, 23456, 0o2664)
    assert json.loads(path.read_bytes())["custom"]["plugin_provenance"] == provenance()


def test_an_owner_the_system_refuses_leaves_the_file_its_writers(run_dir, monkeypatch):
    path = run_dir / "manifest.json"
    monkeypatch.setattr(os, "fchown", _raise(PermissionError(1, "Operation not permitted")))
    embed(run_dir, provenance())
    assert path.stat().st_uid == os.geteuid()
    assert json.loads(path.read_bytes())["custom"]["plugin_provenance"] == provenance()
    assert os.listdir(run_dir) == ["manifest.json"]


@running_as_root
def test_a_member_of_the_files_group_keeps_the_group(tmp_path_factory):
    """Without the power to give files away: the owner cannot be kept, the group can.

    The writer stays uid 0 (another uid may not reach this interpreter's files), a member
    of the file's group, without the capabilities that let root give a file to anyone
    (CAP_CHOWN) or write what it does not own (CAP_FOWNER, CAP_DAC_OVERRIDE).
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs util-linux's setpriv to drop root's capabilities")
    shared = Path(tempfile.mkdtemp())
    try:
        shared.chmod(0o777)
        (shared / "manifest.json").write_text(host_text(), encoding="utf-8")
        os.chown(shared / "manifest.json", 2000, 23456)
        (shared / "manifest.json").chmod(0o664)
        recording = shared / "prov.json"
        recording.write_bytes(field_bytes(provenance()))
        drop = "-chown,-fowner,-dac_override,-dac_read_search"
        member = [setpriv, "--groups", "23456", "--bounding-set", drop, "--inh-caps", drop, "--"]
        command = [*member, sys.executable, "-c", _EMBED_IN_CHILD, str(shared), str(recording)]
        result = subprocess.run(command, capture_output=True, check=False, text=True)
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
        info = (shared / "manifest.json").stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 23456, 0o664)
    finally:
        shutil.rmtree(shared)


def test_embed_keeps_the_acl_and_extended_attributes(run_dir):
    """A manifest shared by ACL stays shared, as ``sed -i`` and editors keep it."""
    path = run_dir / "manifest.json"
    give_acl_and_attribute_or_skip(path)
    before = extended_attributes(path)
    assert set(before) == {"system.posix_acl_access", "user.origin"}
    embed(run_dir, provenance())
    assert json.loads(path.read_bytes())["custom"]["plugin_provenance"] == provenance()
    assert extended_attributes(path) == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_attributes_the_system_refuses_leave_the_file_as_made(run_dir, monkeypatch):
    path = run_dir / "manifest.json"
    give_acl_and_attribute_or_skip(path)
    monkeypatch.setattr(os, "setxattr", _raise(PermissionError(1, "Operation not permitted")))
    embed(run_dir, provenance())
    assert json.loads(path.read_bytes())["custom"]["plugin_provenance"] == provenance()
    assert os.listxattr(path) == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(run_dir) == ["manifest.json"]


def test_embed_reports_stale_attestations(run_dir):
    (run_dir / "attestations").mkdir()
    (run_dir / "attestations" / "04.execution.dsse.json").write_text("{}")
    (run_dir / "signing").mkdir()
    (run_dir / "signing" / "04.execution.sigstore.bundle.json").write_text("{}")
    result = embed(run_dir, provenance())
    assert result.stale == (
        "attestations/04.execution.dsse.json",
        "signing/04.execution.sigstore.bundle.json",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("", "file is empty"),
        ('{"custom": {', "not valid JSON"),
        (host_text()[: len(host_text()) // 2], "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"custom": []}', "'custom' is not a JSON object"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        # Which copy of a key on the way to the field counts depends on the reader.
        ('{"custom": {}, "a": 1E400, "custom": {}}', "'custom' is written 2 times"),
        ('{"custom": {}, "cust\\u006fm": {}}', "'custom' is written 2 times"),
        (
            '{"custom": {"plugin_provenance": 1, "plugin_provenanc\\u0065": 2}}',
            "'custom.plugin_provenance' is written 2 times",
        ),
        # A field this version cannot read, or no field at all: not lost by replacing it.
        (
            '{"custom": {"plugin_provenance": {"schema": "insidellms-provenance/plugins/v3"}}}',
            "holds a field of schema 'insidellms-provenance/plugins/v3', which this version",
        ),
        ('{"custom": {"plugin_provenance": []}}', "holds a JSON array, not a provenance field"),
    ],
)
def test_bad_manifests_are_refused_and_left_untouched(tmp_path, content, message):
    path = tmp_path / "manifest.json"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    before = path.read_bytes() if path.exists() else None
    with pytest.raises(InvalidRunFileError, match=message):
        embed(tmp_path, provenance())
    assert (path.read_bytes() if path.exists() else None) == before
    assert sorted(os.listdir(tmp_path)) == (["manifest.json"] if before is not None else [])


# ---- what stands under the field's key already -----------------------------------------

V3 = "insidellms-provenance/plugins/v3"

# (the value under custom.plugin_provenance, what the refusal says it is)
NOT_REPLACED = [
    ({"schema": V3, "observed_in_run": True, "plugins": []}, f"a field of schema '{V3}'"),
    ({"schema": "someone-else/v1"}, "a field of schema 'someone-else/v1'"),
    ({}, "a JSON object, not a provenance field"),
    ({"schema": 2}, "a JSON object, not a provenance field"),
    ([provenance()], "a JSON array, not a provenance field"),
    ("sha256:00", "a string, not a provenance field"),
    (None, "null, not a provenance field"),
    (0, "a number, not a provenance field"),
    (True, "a boolean, not a provenance field"),
]

# Fields of a schema this version reads, valid or broken: replaced, as re-embedding does.
REPLACED = [
    provenance("beta"),
    {"schema": schema.SCHEMA_V1, "plugins": "broken"},
    {"schema": schema.SCHEMA_V2},
]


def manifest_holding(previous: object, *, host: bool) -> str:
    """A manifest with ``previous`` under the field's key, the host's or another writer's."""
    text = json.dumps({"custom": {"plugin_provenance": previous, "x": 1}, "y": 2}, indent=2)
    return text if host else text.replace('"y": 2', '"y": 1E400')  # json.dumps never wrote it


@pytest.mark.parametrize(("previous", "what"), NOT_REPLACED)
@pytest.mark.parametrize("host", [True, False], ids=["host", "another-writer"])
def test_a_value_this_version_cannot_read_is_never_replaced(previous, what, host):
    text = manifest_holding(previous, host=host)
    message = f"'custom.plugin_provenance' holds {what}"
    with pytest.raises(InvalidRunFileError, match=message) as refused:
        embed_text(text, provenance(), where="manifest.json")
    assert str(refused.value).endswith("; refusing to replace it")


@pytest.mark.parametrize("previous", REPLACED)
@pytest.mark.parametrize("host", [True, False], ids=["host", "another-writer"])
def test_a_field_of_a_schema_this_version_reads_is_replaced(previous, host):
    text = manifest_holding(previous, host=host)
    new_text, exact = embed_text(text, provenance(), where="manifest.json")
    assert exact == host
    assert json.loads(new_text)["custom"] == {"plugin_provenance": provenance(), "x": 1}


def test_embed_knows_the_schemas_the_readers_read():
    assert set(embed_module._READABLE_SCHEMAS) == KNOWN_SCHEMAS


# ---- a manifest no json.dumps options reproduce: the field is written into its text ----

# Stands for "score" while the host's text is made; then replaced by the token at test.
_SCORE = "\x00the host's own spelling\x00"

# (token, whether json.dumps writes it so): a value or text no re-serialization keeps.
HOST_SPELLINGS = [
    ("1E400", False),  # beyond double range: re-serialized, it was Infinity (not JSON)
    ("-1e999", False),
    ("1e-400", False),  # it was 0.0
    ("-0", False),  # it was 0
    ("1.50", False),
    ("1E2", False),  # it was 100.0
    ('"a\\/b"', False),
    ('"\\u0041"', False),
    ('1,\n  "score": 2', False),  # a key written twice: both stay
    (str(2**80), True),
    ("1.0", True),
    ("NaN", True),  # the host writes NaN (json.dumps' default); kept as the host's
]

# Where the field goes: (id, the host's custom object, or None for none).
PLACES = [
    ("beside-host-keys", {"status_counts": {"success": 5}, "timeout_count": 0}),
    ("empty-custom", {}),
    ("no-custom", None),
    ("older-field", {"plugin_provenance": provenance("beta"), "timeout_count": 0}),
]


def host_text_with(token: str, custom: dict | None) -> str:
    """The host's text of a manifest whose ``score`` is written as ``token``."""
    value = {key: v for key, v in HOST_MANIFEST.items() if key != "custom"}
    if custom is not None:
        value["custom"] = custom
    value["score"] = _SCORE
    return host_text(value).replace(json.dumps(_SCORE), token)


@pytest.mark.parametrize(("token", "exact"), HOST_SPELLINGS)
@pytest.mark.parametrize(("place", "custom"), PLACES, ids=[place for place, _ in PLACES])
def test_every_byte_but_the_field_is_the_hosts(token, exact, place, custom):
    """What the host would write with the field in it, with its own spelling kept."""
    before = host_text_with(token, custom)
    after = host_text_with(token, {**(custom or {}), "plugin_provenance": provenance()})
    assert embed_text(before, provenance(), where="manifest.json") == (after, exact)
    assert embed_text(after, provenance(), where="manifest.json") == (after, exact)


@pytest.mark.parametrize(
    ("key", "spelling"),
    [
        ('"custom"', '"cust\\u006fm"'),
        ('"plugin_provenance"', '"plugin_provenanc\\u0065"'),
        ('"status_counts"', '"status_count\\u0073"'),
    ],
)
def test_keys_are_found_however_they_are_escaped_and_kept_so(key, spelling):
    custom = {"plugin_provenance": provenance("beta"), "status_counts": {}}
    before = host_text_with("1", custom).replace(key, spelling)
    after = host_text_with("1", {**custom, "plugin_provenance": provenance()})
    assert embed_text(before, provenance(), where="manifest.json") == (
        after.replace(key, spelling),
        False,
    )


def inserted(before: str, after: str) -> str:
    """The text ``after`` adds to ``before`` in one place, every byte of it kept in order."""
    pairs = enumerate(zip(before, after, strict=False))  # ``after`` is the longer
    start = next((at for at, (a, b) in pairs if a != b), len(before))
    end = len(after) - len(before) + start
    assert after[:start] + after[end:] == before, "more than one insertion"
    return after[start:end]


@pytest.mark.parametrize(
    ("text", "added"),
    [
        # The layout of another writer: kept, and the field laid out as its neighbours.
        ('{\n   "z": 1,\n   "a": [1,2]\n}\n', ',\n   "custom": {\n      "plugin_provenance": {\n'),
        ('{\n  "custom": {\n  },\n  "b": -0\n}', '\n    "plugin_provenance": {\n      "'),
        ('{"a":1E400,"custom":{"b":1}}', ',"plugin_provenance":{"'),
        ('{"custom": {"z": 1, "y": 1}, "x": -0}', ', "plugin_provenance": {"'),
        ('{ "custom" : { } , "b" : 1E400 }', '"plugin_provenance" : {"'),
        ('\n\t{"b": -0}  \n', ', "custom": {"plugin_provenance": {"'),
        ("{ }\n\n", '{"custom": {"plugin_provenance": {"'),
        # Lines ended with CRLF: the field's lines too.
        (
            '{\r\n  "a": 1,\r\n  "custom": {\r\n    "x": 2\r\n  }\r\n}\r\n',
            '"custom": {\r\n    "plugin_provenance": {\r\n      "conflicts": [],\r\n',
        ),
        ('{\r\n  "custom": {}\r\n}', '\r\n    "plugin_provenance": {\r\n      "'),
        ('{\r\n  "b": -0\r\n}', ',\r\n  "custom": {\r\n    "plugin_provenance": {\r\n'),
        ('{\r\n\t"z": 1E400\r\n}', '{\r\n\t"custom": {\r\n\t\t"plugin_provenance": {\r\n\t\t\t"'),
    ],
)
def test_another_writers_layout_is_kept_and_the_field_added(text, added):
    new_text, exact = embed_text(text, provenance(), where="manifest.json")
    assert not exact
    inserted(text, new_text)
    assert added in new_text
    assert json.loads(new_text)["custom"]["plugin_provenance"] == provenance()
    if "\r\n" in text:  # every line the field adds ends as the manifest's lines do
        assert "\n" not in new_text.replace("\r\n", "")


@pytest.mark.parametrize(("place", "custom"), PLACES, ids=[place for place, _ in PLACES])
def test_a_crlf_manifest_gets_crlf_lines_and_embedding_again_changes_nothing(place, custom):
    before = host_text_with("1E400", custom).replace("\n", "\r\n")
    after = host_text_with("1E400", {**(custom or {}), "plugin_provenance": provenance()})
    assert embed_text(before, provenance(), where="manifest.json") == (
        after.replace("\n", "\r\n"),
        False,
    )
    again = embed_text(after.replace("\n", "\r\n"), provenance(), where="manifest.json")
    assert again == (after.replace("\n", "\r\n"), False)


_field_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)

# What re-embedding replaces: a field of a schema this version reads, valid or not.
_readable_fields = st.fixed_dictionaries(
    {"schema": st.sampled_from(sorted(KNOWN_SCHEMAS))}, optional={"plugins": _field_values}
)


@settings(max_examples=300, deadline=None)
@given(
    manifest=st.dictionaries(
        st.text(max_size=6).filter(lambda key: key not in ("custom", "score")),
        _field_values | st.floats(),
        max_size=5,
    ),
    # The host's custom object, if any, and the older field in it, if any.
    custom=st.none()
    | st.tuples(
        st.dictionaries(st.text(max_size=6), _field_values, max_size=3),
        st.none() | _readable_fields,
    ),
    field=_readable_fields,
    token=st.sampled_from([token for token, exact in HOST_SPELLINGS if not exact]),
    newline=st.sampled_from(["\n", "\r\n"]),
    options=st.sampled_from(
        [
            {"indent": 2, "sort_keys": True},
            {"indent": 2, "sort_keys": False},
            {"indent": 4, "ensure_ascii": False},
            {"indent": "\t"},
            {"indent": None},
            {"separators": (",", ":")},
        ]
    ),
)
def test_the_field_is_the_only_change(  # noqa: PLR0917 - one argument a strategy
    manifest, custom, field, token, options, newline
):
    """Into any manifest, the field is inserted in one place, or replaces the older one."""
    value = {**manifest, "score": _SCORE}
    custom, older = custom or (None, None)
    if custom is not None:
        value["custom"] = custom if older is None else {**custom, "plugin_provenance": older}
    text = json.dumps(value, **options).replace(json.dumps(_SCORE), token)
    text = text.replace("\n", newline)  # a JSON text's line breaks are all layout
    new_text, exact = embed_text(text, field, where="manifest.json")
    assert not exact
    assert new_text.replace(newline, "").count("\n") == 0
    if custom is not None and older is not None:  # every other key is shorter
        key = text.index('"plugin_provenance"')
        indent = text[text.rfind("\n", 0, key) + 1 : key]  # json.dumps: a key starts a line
        old = json.dumps(older, **options).replace("\n", newline + indent)
        start = text.index(old, key)
        assert new_text.startswith(text[:start])
        assert new_text.endswith(text[start + len(old) :])
    else:
        inserted(text, new_text)
    expected = json.loads(text)
    expected.setdefault("custom", {})["plugin_provenance"] = field
    assert json.dumps(json.loads(new_text), sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert embed_text(new_text, field, where="manifest.json") == (new_text, False)


_EMBED_IN_CHILD = """
import json, sys
from pathlib import Path
from insidellms_provenance.errors import WriteError
from insidellms_provenance.field._read import read_field
from insidellms_provenance.runfile._embed import embed
try:
    value = json.loads(Path(sys.argv[2]).read_bytes())
    embed(Path(sys.argv[1]), read_field(value, where=sys.argv[2]))
except WriteError as error:
    print(error)
"""


def test_read_only_run_dir_is_refused_and_untouched(run_dir, tmp_path_factory):
    # In a child process without root's permission bypass, so the kernel really refuses.
    recording = tmp_path_factory.mktemp("recording") / "prov.json"
    recording.write_bytes(field_bytes(provenance()))
    before = (run_dir / "manifest.json").read_bytes()
    run_dir.chmod(0o500)
    try:
        command = unprivileged(sys.executable, "-c", _EMBED_IN_CHILD, str(run_dir), str(recording))
        result = subprocess.run(command, capture_output=True, check=False, text=True)
    finally:
        run_dir.chmod(0o700)
    assert result.returncode == 0, result.stderr
    assert "cannot write" in result.stdout
    assert "Permission denied" in result.stdout
    assert (run_dir / "manifest.json").read_bytes() == before
    assert os.listdir(run_dir) == ["manifest.json"]


def test_unwritable_directory_is_a_write_error(tmp_path):
    missing = tmp_path / "gone" / "manifest.json"
    with pytest.raises(WriteError, match="cannot write in"):
        atomic_write(missing, b"{}")


def _raise(error: BaseException):
    def fail(*_args, **_kwargs):
        raise error

    return fail


# A failure at each step of the write: the original stays, no temp file is left, and an
# OS error is one WriteError naming it (these work as root too, where chmod cannot make
# a directory read-only).
@pytest.mark.parametrize(
    ("module", "function", "error"),
    [
        (tempfile, "mkstemp", PermissionError(13, "Permission denied")),
        (os, "fsync", OSError(5, "Input/output error")),
        (os, "chmod", OSError(1, "Operation not permitted")),
        (os, "replace", OSError(28, "No space left on device")),
        (os, "fsync", KeyboardInterrupt()),
        (os, "replace", KeyboardInterrupt()),
    ],
)
def test_a_failed_write_leaves_the_original_and_no_temp_file(
    run_dir, monkeypatch, module, function, error
):
    raised, message = (
        (WriteError, error.strerror) if isinstance(error, OSError) else (type(error), None)
    )
    before = (run_dir / "manifest.json").read_bytes()
    monkeypatch.setattr(module, function, _raise(error))
    with pytest.raises(raised, match=message):
        embed(run_dir, provenance())
    monkeypatch.undo()
    assert (run_dir / "manifest.json").read_bytes() == before
    assert sorted(os.listdir(run_dir)) == ["manifest.json"]


# ---- durability: observed, not patched (see tests/durability.py) ---------------------


def test_the_new_content_is_on_disk_before_it_is_renamed_into_place(run_dir):
    if not page_cache_observable(run_dir):
        pytest.skip("this machine's page cache cannot show what was synced (needs root)")
    manifest = run_dir / "manifest.json"
    with manifest.open("rb+") as original:
        os.fsync(original.fileno())  # the host's file, on disk before we start
    with SyncObserver(pages_at_replace=True) as observed:
        embed(run_dir, provenance())
    temp_files = [p for p in observed.dirty_at_replace if p.endswith(".tmp")]
    assert len(temp_files) == 1, observed.dirty_at_replace
    for path, pages in observed.dirty_at_replace.items():
        assert pages
        assert not any(pages), f"{path} was not on disk when it was renamed into place"
    assert not any(dirty_pages(manifest))


def test_the_file_is_synced_before_the_rename_and_the_directory_after(run_dir):
    with SyncObserver() as observed:
        embed(run_dir, provenance())
    kinds = [kind for kind, _ in observed.events]
    assert kinds == ["fsync", "replace", "fsync"], observed.events
    file_synced, _, directory_synced = (paths for _, paths in observed.events)
    assert any(Path(p).parent == run_dir and p.endswith(".tmp") for p in file_synced)
    assert str(run_dir) in directory_synced


_HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)  # reading is all a lock needs
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _lock_holder(path: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    return holder


def test_a_lock_held_past_the_wait_is_a_write_error_not_a_hang(run_dir, monkeypatch):
    monkeypatch.setattr(embed_module, "LOCK_WAIT", 0.3)
    before = (run_dir / "manifest.json").read_bytes()
    holder = _lock_holder(run_dir / "manifest.json", 60)
    try:
        with pytest.raises(WriteError, match=r"locked by another process for 0\.3 s; not written"):
            embed(run_dir, provenance())
    finally:
        holder.kill()
        holder.wait()
    assert (run_dir / "manifest.json").read_bytes() == before
    assert os.listdir(run_dir) == ["manifest.json"]


def test_a_lock_released_within_the_wait_is_waited_for(run_dir):
    holder = _lock_holder(run_dir / "manifest.json", 0.3)
    try:
        result = embed(run_dir, provenance())
    finally:
        holder.wait()
    assert result.changed
    assert "plugin_provenance" in json.loads((run_dir / "manifest.json").read_bytes())["custom"]
