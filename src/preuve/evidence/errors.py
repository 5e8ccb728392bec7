"""Errors raised while reading evidence. Each names the file it is about."""

from __future__ import annotations


class PreuveError(Exception):
    """Base of preuve's own errors: a message a person can act on, never a traceback."""


class AcquisitionError(PreuveError):
    """The path given is not an acquisition preuve can open (or cannot be opened as given)."""


class EvidenceError(PreuveError):
    """One evidence file could not be read; the run goes on with the others."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class LimitExceeded(EvidenceError):
    """An evidence file exceeded a safety bound (size, depth, time, entries)."""
