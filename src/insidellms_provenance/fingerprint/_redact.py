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
from typing import Final
from urllib.parse import urlsplit, urlunsplit

__all__ = ["PATH_MARKER", "clean_url", "redact"]

PATH_MARKER: Final = "{path}"
_PREFIX_MARKERS: Final = (("{prefix}", "prefix"), ("{base_prefix}", "base_prefix"))

# scheme://anything up to whitespace or a quote: cleaned by clean_url.
_URL: Final = r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]*"
# An absolute POSIX path: a "/" that starts a word (not inside "a/b", "://", "{prefix}/").
_POSIX_PATH: Final = r"(?<![\w.~}/:\\-])/[^\s'\"<>`|,;()\[\]{}]*"
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
    url, posix_path, windows_path = _patterns()
    text = url.sub(lambda match: clean_url(match.group(0)), text)
    for pattern, marker in _prefix_patterns():
        text = pattern.sub(marker, text)
    text = posix_path.sub(PATH_MARKER, text)
    text = windows_path.sub(PATH_MARKER, text)
    for pattern, marker in _name_patterns():
        text = pattern.sub(marker, text)
    return text


def clean_url(url: str) -> str:
    """A URL without credentials, query string or fragment; a local one without its path."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return PATH_MARKER
    if parts.scheme == "file":
        return f"file:{PATH_MARKER}"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The URL and path patterns, compiled at the first message: a clean run has none."""
    return re.compile(_URL), re.compile(_POSIX_PATH), re.compile(_WINDOWS_PATH)


@functools.cache
def _prefix_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    found = []
    for marker, attribute in _PREFIX_MARKERS:
        prefix = getattr(sys, attribute, "")
        if isinstance(prefix, str) and len(prefix) > 1:
            found.append((re.compile(re.escape(prefix) + r"(?=[/\\'\"\s]|$)"), marker))
    return tuple(sorted(found, key=lambda item: -len(item[0].pattern)))


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
