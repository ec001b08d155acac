"""The one exception family the package raises for bad input."""

from __future__ import annotations

__all__ = [
    "InvalidFieldError",
    "InvalidRunFileError",
    "NotCanonicalizableError",
    "ProvenanceError",
    "WriteError",
]


class ProvenanceError(Exception):
    """Base error: the CLI prints it as one line on stderr and exits with 2.

    ``issues`` lists every problem found in the input, so a user fixes them all at once.
    """

    def __init__(self, message: str, issues: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.issues = issues

    def __str__(self) -> str:
        if not self.issues:
            return self.message
        return f"{self.message}: {'; '.join(self.issues)}"


class InvalidRunFileError(ProvenanceError):
    """A run directory, ``manifest.json`` or record file cannot be read as expected."""


class InvalidFieldError(ProvenanceError):
    """A provenance field does not match any schema version this package knows."""


class WriteError(ProvenanceError):
    """A file could not be written; the original is left untouched."""


class NotCanonicalizableError(ProvenanceError, ValueError):
    """A value cannot be written as RFC 8785 canonical JSON (NaN, a set, a non-string key...)."""
