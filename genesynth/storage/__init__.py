"""The study storages a run keeps, opened from what the user typed, with clear errors.

Shared by the engine that writes a study (:mod:`genesynth.synth`) and the reader that reads it
back (:mod:`genesynth.record.reader`), so neither imports the other:

- :mod:`~genesynth.storage.backends`: storage URLs (PostgreSQL, MySQL, journal file, SQLite)
  to Optuna storages;
- :mod:`~genesynth.storage.journal`: checking (and repairing a torn last line of) a journal;
- :mod:`~genesynth.storage.retry`: a database that stops answering is waited for, then one
  clear error (:class:`StorageLost`).
"""

from __future__ import annotations

from genesynth.storage.backends import (
    DEFAULT_HEARTBEAT,
    MAX_RETRY,
    SHARED_RDB,
    check_shared,
    is_shared,
    journal_file,
    kind,
    open_storage,
)
from genesynth.storage.retry import StorageLost

__all__ = [
    "DEFAULT_HEARTBEAT", "MAX_RETRY", "SHARED_RDB", "check_shared", "is_shared", "journal_file",
    "StorageLost", "kind", "open_storage",
]
