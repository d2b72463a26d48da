"""Errors users see. Every user mistake raises a subclass of :class:`GenesynthError`.

The CLI prints ``str(error)`` and exits with status 2; no traceback reaches the user.
Errors about a place in a file (:class:`SourceError`) render as::

    prototypes/net.gs:12:18: unknown layer kind 'cnov'; did you mean 'conv'?
       12 |     stem { cnov(out=32) bn relu }
          |            ^
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class GenesynthError(Exception):
    """Root of every error genesynth raises for a user's mistake."""


@dataclass(frozen=True)
class Span:
    """A place in a source file: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class SourceError(GenesynthError):
    """An error at a place in a text file, shown with the line and a caret."""

    def __init__(self, message: str, span: Span, source: str | None = None) -> None:
        self.message = message
        self.span = span
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.span}: {self.message}"
        if self.source is None:
            return head
        lines = self.source.splitlines()
        if not 1 <= self.span.line <= len(lines):
            return head
        text = lines[self.span.line - 1].rstrip()
        gutter = f"{self.span.line:>5} | "
        caret = " " * (len(gutter) - 2) + "| " + " " * (self.span.column - 1) + "^"
        return f"{head}\n{gutter}{text}\n{caret}"


class PrototypeSyntaxError(SourceError):
    """The prototype text does not follow the grammar."""


class PrototypeError(SourceError):
    """The prototype parses but means something impossible (unknown kind, bad domain, ...)."""


class ShapeError(PrototypeError):
    """A layer cannot take the tensor shape that reaches it (groups, channels, map size)."""


class ArchitectureError(GenesynthError):
    """An architecture (e.g. read from JSON) is malformed or inconsistent."""


class ConstraintError(GenesynthError):
    """A constraint file has an unknown key, a wrong type or an impossible bound."""


class DataError(GenesynthError):
    """A dataset is missing, unreadable, corrupt or does not match the prototype."""


class RunError(GenesynthError):
    """A run directory or study cannot be used as asked (exists, differs, missing, ...)."""


class DeviceError(GenesynthError):
    """A training device or setting was asked for that this machine or torch cannot give."""


class ExportError(GenesynthError):
    """An export cannot be made as asked (format, missing extra) or does not match torch."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
