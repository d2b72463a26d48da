"""Every use of Optuna's private API, in one place, checked against one Optuna version.

genesynth needs a few things Optuna does not make public: the storage a study writes to (to
set a trial's attributes and state from outside the trial: a skipped sample, a dead worker's
trial, the sampler's canonical key), a trial's storage id, the journal's own file lock and its
operation codes (to check and repair a journal under the lock live writers take). Each is one
function or name here; nothing else in genesynth touches an Optuna name that starts with an
underscore (``tests/storage/test_optuna_private.py`` checks both, and fails on an Optuna other
than :data:`CHECKED` until these are checked again against it).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.storages.journal import JournalFileOpenLock, JournalFileSymlinkLock

#: The Optuna version these accesses were read against (its source) and tested with.
CHECKED = "5.1.0"


def storage_of(study: optuna.Study) -> BaseStorage:
    """The storage ``study`` reads and writes (``Study._storage``)."""
    storage: BaseStorage = study._storage
    return storage


def trial_id(trial: optuna.trial.Trial | optuna.trial.FrozenTrial) -> int:
    """A trial's id in its storage (``_trial_id``), what storage methods take."""
    return int(trial._trial_id)


def journal_lock(lock: JournalFileSymlinkLock | JournalFileOpenLock
                 ) -> AbstractContextManager[Any]:
    """Hold a journal file's lock as Optuna's own writers do
    (``optuna.storages.journal._file.get_lock_file``)."""
    from optuna.storages.journal._file import get_lock_file

    return get_lock_file(lock)


def journal_operations() -> frozenset[int]:
    """The operation codes a journal line may carry
    (``optuna.storages.journal._storage.JournalOperation``)."""
    from optuna.storages.journal._storage import JournalOperation

    return frozenset(int(op) for op in JournalOperation)


def backend_of(storage: BaseStorage) -> BaseStorage:
    """What a storage wraps (its ``_backend``): a study opened on a database URL talks to a
    ``_CachedStorage`` wrapping the RDBStorage, a JournalStorage wraps its file backend; a
    storage that wraps none, as it is."""
    backend: BaseStorage = getattr(storage, "_backend", storage)
    return backend
