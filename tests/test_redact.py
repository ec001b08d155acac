"""``redact`` and ``clean_url``: no path, credential or token survives, prose does."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insidellms_provenance.fingerprint._redact import clean_url, redact

# The planted names hold no "q" and no "7", so "q7" in a path segment or in credentials
# is found in the output only if some of it leaked.
LEAK = "q7"


# A message, and what redact makes of it.
REDACTED = [
    # an absolute path after every separator a message puts before one
    (
        "searched PYTHONPATH=.:/home/alice/private/lib and file:/home/alice/.config/t.json",
        "searched PYTHONPATH=.:{path} and file:{path}",
    ),
    ("PATH=/opt/bin:/home/alice/bin", "PATH={path}"),
    ("PATH=$PATH:/home/alice/bin", "PATH=$PATH:{path}"),
    ("--prefix=/home/alice/env", "--prefix={path}"),
    ("HOME=/home/alice", "HOME={path}"),
    ("copy alice@box:/home/alice/x", "copy alice@box:{path}"),
    ("mounted at@/home/alice", "mounted at@{path}"),
    ("cache-/home/alice/.cache", "cache-{path}"),
    ("json: \\/home\\/alice\\/x", "json: \\{path}"),
    ("gcc -I/home/alice/inc -L/home/alice/lib", "gcc -I{path} -L{path}"),
    ("[/home/alice/x]", "[{path}]"),
    ("a,/home/alice;/srv/x", "a,{path};{path}"),
    # home-relative paths name a user's directories, or the user
    ("read ~/work/acme-client/x.toml", "read {path}"),
    ("HOME=~/x", "HOME={path}"),
    ("read ~alice/x and ~alice/", "read {path} and {path}"),
    # URLs: path parameters and credentials with a quote in them are dropped
    ("get https://h.example/x;token=abc now", "get https://h.example/x now"),
    ("get https://h.example/a;sid=1/b;t=2?q#f", "get https://h.example/a"),
    ('get https://u:p"w@h.example/x now', "get https://h.example/x now"),
    ("get 'https://u:p'w@h.example/x'", "get 'https://h.example/x'"),
    ("get <https://u:p>w@h.example/x>", "get <https://h.example/x>"),
    ("get https://u:p@ss@h.example/x", "get https://h.example/x"),
    ("get my_scheme://u:p@h.example/x?t=1", "get {path}"),
    ("from git+file:///home/alice/repo", "from git+file:{path}"),
    ("git+https://git@github.com/o/r.git@v1.0", "git+https://github.com/o/r.git@v1.0"),
    # what a second pass would read otherwise (found by test_redact_is_idempotent)
    ("get https://h.example?t=1'u:p@x", "get https://h.example/'u:p@x"),
    ("https://{path}u:p@a'u:p@", "https://a/'u:p@"),
    ("https://'~alice/{u:p@", "https://'{path}{u:p@"),
    ("/file://a", "{path}"),
]
# Messages redact leaves as they are: relative paths, prose, remote URLs, its own markers.
KEPT = [
    "expected a/b",
    "ratio 3/4, approx ~3/4",
    "see docs: / and a / b",
    "tolerance +/- 1 or -/+ 2; -v/--verbose",
    "./x, ../y/z, pkg-1.0.dist-info/RECORD",
    "${HOME}/x and {prefix}/lib/x.py",
    "a URL starts with https:// or 'http://'",
    "https://registry.npmjs.org/@types/node",
]
# A URL as recorded from direct_url.json, and what clean_url keeps of it.
CLEANED = [
    ("https://h.example/x;token=abc", "https://h.example/x"),
    ("https://h.example/a;sid=1/b", "https://h.example/a"),
    ('https://u:p"w@h.example/x', "https://h.example/x"),
    ("https://h.example:8080/x?q=1#f", "https://h.example:8080/x"),
    ("https://h.example?q=1", "https://h.example/"),
    ("https://h.example", "https://h.example"),
    ("git+file:///home/alice/repo", "git+file:{path}"),
    ("file://server/share/x", "file:{path}"),
    # no host: a local path, or no URL at all ("alice" would be the scheme)
    ("/home/alice/x.whl", "{path}"),
    ("alice:pw@h.example/x.whl", "{path}"),
    ("https:///home/alice/x", "{path}"),
]


@pytest.mark.parametrize(("text", "expected"), REDACTED + [(text, text) for text in KEPT])
def test_redact_table(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(expected) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("open {p}/lib/x.py", "open {prefix}/lib/x.py"),
        ("PYTHONPATH={p}/lib:/home/alice/lib", "PYTHONPATH={prefix}/lib:{path}"),
        ("({p})", "({prefix})"),
        ("open {p}-other/x", "open {path}"),
        ("open /home{p}/x", "open {path}"),
    ],
)
def test_the_prefix_is_named_and_what_follows_it_redacted(template: str, expected: str) -> None:
    text = template.replace("{p}", sys.prefix)
    assert redact(text) == expected
    assert redact(expected) == expected


@pytest.mark.parametrize(("url", "expected"), CLEANED)
def test_clean_url_table(url: str, expected: str) -> None:
    assert clean_url(url) == expected


# Characters a path may hold after its first "/" (no terminator, no whitespace).
_PATH_CHARS = "abcdefxyz0189._-+~@=:%!#$&*?^\\"
# Text and what may come right before an absolute path in a message.
_PREFIXES = st.from_regex(r"(?:[a-pr-z ]{0,12} )?", fullmatch=True)
_SEPARATORS = st.sampled_from(
    [
        "",
        *" \t\n=:@,;([{<>'\"`|!#%&*+-\\?^",
        ".:",
        "$PATH:",
        "file:",
        "--prefix=",
        "-I",
        "user@host:",
    ]
)
_HOMES = st.sampled_from(["", "~", "~alice", "~a_b.c-d"])
_SEGMENTS = st.lists(st.text(_PATH_CHARS, max_size=8).map(LEAK.__add__), min_size=1, max_size=4)


@settings(max_examples=500, deadline=None)
@given(_PREFIXES, _SEPARATORS, _HOMES, _SEGMENTS, _PREFIXES)
def test_no_directory_of_an_absolute_path_survives(
    before: str, separator: str, home: str, segments: list[str], after: str
) -> None:
    path = home + "/" + "/".join(segments)
    redacted = redact(f"{before}{separator}{path} {after}")
    assert LEAK not in redacted
    assert redact(redacted) == redacted


_USERINFO = st.text("q7ab:\"'<>`@\\%!$&*+=,;()[]{}|^~-._", max_size=12).map(LEAK.__add__)


@settings(max_examples=300, deadline=None)
@given(_USERINFO, st.sampled_from(["{}", "'{}'", '"{}"', "<{}>", "({})"]))
def test_no_part_of_credentials_survives(userinfo: str, wrapping: str) -> None:
    url = f"https://{userinfo}@h.example/x;{LEAK}=1?{LEAK}#{LEAK}"
    redacted = redact("get " + wrapping.format(url) + " now")
    assert "q" not in redacted
    assert "7" not in redacted
    assert redact(redacted) == redacted


_TOKENS = st.sampled_from(
    [
        *"ab7 /~:.@=-+{}'\"\\?;#,\t",
        "https://",
        "file:",
        "~alice/",
        "{path}",
        "{prefix}",
        "-I",
        "u:p@",
    ]
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_TOKENS, max_size=24).map("".join))
def test_redact_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
