"""Keep this machine's secrets out of the field: paths, user and host names, URL tokens.

Every message that enters the field (a plugin's exception text, a RECORD row quoted in a
problem, a manifest problem) passes through :func:`redact`; every recorded URL through
:func:`clean_url`. Standard library only: the recording path runs inside host runs.

Typical usage::

    message = redact(str(error))   # "cannot open {path}" rather than "/home/alice/..."
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "PATH_MARKER",
    "Redactors",
    "clean_url",
    "may_need_redacting",
    "redact",
    "redactor",
]

PATH_MARKER: Final = "{path}"
_PREFIX_MARKERS: Final = (("{prefix}", "prefix"), ("{base_prefix}", "base_prefix"))

# What ends a path in a message: whitespace, quotes, brackets, separators of lists.
_PATH_END: Final = r"\s'\"<>`|,;()\[\]{}"
# scheme://, then credentials up to the authority's last "@" (a quote in them does not
# end the URL), then anything up to whitespace or a quote: cleaned by clean_url. A bare
# "https://" in prose is left alone. Credentials never span a marker redact wrote: that
# marker, in place of a path and its "/", would let a second pass read credentials the
# first did not.
_MARKERS: Final = "|".join(map(re.escape, [PATH_MARKER, *dict(_PREFIX_MARKERS)]))
_URL: Final = (
    r"(?<![\w+.-])[\w+.-]*://"
    rf"(?:(?:(?!{_MARKERS})[^\s/?#])*@[^\s'\"<>`]*|[^\s'\"<>`]+)"
)
# An absolute POSIX path ("/x", and "~/x", "~name/x" in a home directory). It starts a
# word, or follows ":" (PATH lists, "file:/x") other than a URL's "://", or a one-letter
# option ("-I/usr/include"); not the tail of "a/b", "./b", "3/4", or of "{prefix}/b"
# that redact wrote. A lone "/" or one before "-" or "+" ("+/-") is prose.
_POSIX_PATH: Final = (
    r"(?:(?<![\w.~}/:])|(?<=:)(?!//)|(?<=-[A-Za-z])(?<![\w-]-[A-Za-z]))"
    rf"(?:~[A-Za-z_][\w.-]*/|~?/(?=[^{_PATH_END}+-]))[^{_PATH_END}]*"
)
# A Windows drive path (C:\Users\...) or a UNC path (\\server\share).
_WINDOWS_PATH: Final = r"\b[A-Za-z]:[\\/][^\s'\"<>`|,;]*|\\\\[^\s'\"<>`|,;]+"
# Account and machine names that identify no one; replacing them would also rewrite
# ordinary words in messages ("the install root").
_GENERIC_NAMES: Final = frozenset({"root", "user", "admin", "runner", "localhost", "nobody"})


def redact(text: str) -> str:
    """``text`` with URLs cleaned, absolute paths, user and host names replaced.

    The environment's prefix becomes ``{prefix}`` (it says where in the environment a
    file was, and nothing about the machine); every other absolute path becomes
    ``{path}``. Idempotent: redacting twice changes nothing more.
    """
    if not text:
        return text
    text = _pattern().sub(_replacement, text)
    for pattern, marker in _name_patterns():
        text = pattern.sub(marker, text)
    return text


def clean_url(url: str) -> str:
    """A URL without credentials, parameters, query or fragment; a local one without its path.

    What has no host is a local path or no URL at all (``alice:pw@host/x`` reads as the
    scheme ``alice``): nothing of it is kept.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return PATH_MARKER
    if parts.scheme == "file" or parts.scheme.endswith("+file"):
        return f"{parts.scheme}:{PATH_MARKER}"
    if not (parts.scheme and host):
        return PATH_MARKER
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    # RFC 3986 lets every path segment carry ";parameters", a session id or a token:
    # urlsplit leaves them in the path (urlparse splits off the last segment's only).
    path = parts.path.partition(";")[0]
    cleaned = urlunsplit((parts.scheme, netloc, path, "", ""))
    # With something dropped after the host, "/" ends it: the text after the URL in a
    # message cannot join the host when redact runs again (it stays idempotent).
    return cleaned if path or cleaned == url else f"{cleaned}/"


def _replacement(match: re.Match[str]) -> str:
    """A URL cleaned, the environment's prefix named, any other path replaced."""
    if match.lastgroup == "url":
        return clean_url(match.group(0))
    if match.lastgroup == "prefix":
        return next(marker for prefix, marker in _prefixes() if prefix == match.group(0))
    return PATH_MARKER


@functools.cache
def _pattern() -> re.Pattern[str]:
    """URLs and paths, compiled at the first message: a clean run has none.

    One pattern, read left to right over the text as it is: a path is not looked for in
    what clean_url kept of a URL, and what follows the prefix is read in its own context
    (``{prefix}/lib`` stays, ``{prefix}/lib:/home/x`` loses the second path).
    """
    prefixes = "|".join(re.escape(prefix) for prefix, _ in _prefixes())
    prefix = rf"|(?P<prefix>{prefixes})(?=[/\\{_PATH_END}]|$)" if prefixes else ""
    return re.compile(f"(?P<url>{_URL}){prefix}|{_POSIX_PATH}|{_WINDOWS_PATH}")


@functools.cache
def _prefixes() -> tuple[tuple[str, str], ...]:
    """The environment's prefixes and their markers, the longest first."""
    found = []
    for marker, attribute in _PREFIX_MARKERS:
        prefix = getattr(sys, attribute, "")
        if isinstance(prefix, str) and len(prefix) > 1:
            found.append((prefix, marker))
    return tuple(sorted(found, key=lambda item: -len(item[0])))


def _name_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """User and host names of this process (looked up per call: tests change them)."""
    names = [
        (os.environ.get(variable, ""), "{user}")
        for variable in ("LOGNAME", "USER", "LNAME", "USERNAME")
    ]
    try:
        import pwd

        names.append((pwd.getpwuid(os.getuid()).pw_name, "{user}"))
    except (ImportError, KeyError, AttributeError):
        pass
    names += [(os.environ.get("HOSTNAME", ""), "{host}"), (_hostname(), "{host}")]
    return tuple(
        (re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])"), marker)
        for name, marker in names
        if len(name) >= 3 and name.lower() not in _GENERIC_NAMES
    )


@functools.cache
def _hostname() -> str:
    import socket

    name = socket.gethostname()
    return name.partition(".")[0] if name else ""


def redactor(text: str) -> Callable[[str], str] | None:
    """A redactor for strings whose joined ``text`` may need one; None if none can.

    ``text`` holds every string to be redacted, as JSON text (where every escape has a
    backslash, so each string stands as it is between quotes) or joined by newlines.
    The common text passes :func:`may_need_redacting` and never reaches the patterns
    (compiling them costs a host run about 3 ms, searching them about 40 µs a plugin
    manifest). The redactor returned passes on, unread, each string that cannot need it.
    """
    return Redactors()(text)


class Redactors:
    """:func:`redactor` with this process's user and host names looked up once.

    For a caller that redacts many texts in one go (the answers of one import child):
    looking the names up costs about 11 µs, the cheap test of a short text about 1 µs.
    """

    def __init__(self) -> None:
        self._names = tuple(pattern for pattern, _ in _name_patterns())
        self._prefixes = tuple(prefix for prefix, _ in _prefixes())

    def __call__(self, text: str) -> Callable[[str], str] | None:
        """:func:`redactor` of ``text``."""
        names, prefixes = self._names, self._prefixes

        def clean(string: str) -> str:
            return redact(string) if may_need_redacting(string, names, prefixes) else string

        return clean if may_need_redacting(text, names, prefixes) else None


def may_need_redacting(
    text: str, names: tuple[re.Pattern[str], ...], prefixes: tuple[str, ...]
) -> bool:
    r"""Whether :func:`redact` could change ``text``: a cheap test, never wrong when it says no.

    ``redact`` replaces URLs and paths (each holding ``/`` or ``\``; a POSIX path
    starts at a ``/`` or ``~`` that does not follow a word character, or follows ``:``
    or a one-letter option such as ``-I``), the environment's prefixes, user and host
    names (``names``, ``prefixes``: :func:`_name_patterns` and :func:`_prefixes`). A
    model key such as ``org/model`` (``/`` after two characters of a word) is none of
    these. ``tests/hostile/test_hostile_manifest_values.py`` holds this to ``redact``
    by property.
    """
    if "\\" in text or "~" in text or any(name.search(text) for name in names):
        return True
    if "/" not in text:
        return False
    if any(prefix in text for prefix in prefixes):
        return True
    return not all(map(_ends_a_word, text.split("/")[:-1]))


def _ends_a_word(before: str) -> bool:
    """Whether ``before`` (the text before a ``/``) ends in an ASCII word character.

    Not in a letter right after ``-``: that is an option (``-I/usr``).
    """
    last = before[-1:]
    return last.isascii() and (last.isalnum() or last == "_") and before[-2:-1] != "-"
