"""What lets many processes share one study safely: a claim lock and the liveness of trials.

A :class:`Guard` gives the budget (:mod:`genesynth.synth.trials`) two things per storage:

- ``lock()``: a lock held by one process at a time across every machine of the study. The
  budget takes it around "count the trials, then pop or create the next one", so no two
  workers can both take the last slot.
- ``reap(study)``: fail the RUNNING trials of dead workers and queue their choices again as
  WAITING trials (Optuna's ``RetryHeartbeatStaleTrialCallback``). Called under the lock, so a
  trial is never both stale and refilled by another worker at the same moment.

Call order in a worker: ``with lock(): reap(study); trial = ask(); adopt(study, trial)``, then
``with beat(study, trial): evaluate and tell``.

Work that is not a trial (the family, the fidelity check's candidates) is claimed by writing a
study user attr ``{"worker": worker_id(), ...}`` under ``lock()``; the claim's holder is alive
while ``holds(worker)`` (a journal's worker files; one process alone: itself) and, where the
storage knows no process liveness (PostgreSQL, MySQL), while the holder's ``claim_beat``
keeps changing the claim's ``beat`` (:class:`Watch`: stale after two heartbeat intervals
without a change, as the watching process's own clock sees it, so machines' clocks never
need to agree).

=================  ============================================  ===========================
storage            lock                                          liveness
=================  ============================================  ===========================
PostgreSQL         ``pg_advisory_lock`` on a key of the study    Optuna heartbeats (stale
MySQL              ``GET_LOCK`` on a name of the study           after 2 missed intervals)
journal file       ``flock`` on ``<journal>.genesynth/claim``    each worker holds ``flock``
                                                                 on its own file in
                                                                 ``<journal>.genesynth/
                                                                 workers/``; a free lock
                                                                 means a dead worker
SQLite, memory     a thread lock (one process)                   none needed
=================  ============================================  ===========================

Locks held by a process that dies are released by the database server (its connection closes)
or by the kernel (its files close), so a crash never leaves the study locked.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages import RetryHeartbeatStaleTrialCallback as Retry
from optuna.trial import TrialState

from genesynth.record.trial import TrialRecord, record
from genesynth.storage import MAX_RETRY, journal_file
from genesynth.storage.optuna_private import backend_of, storage_of, trial_id

_WORKER_ID = ""


def worker_id() -> str:
    """This process's worker name: ``<host>-<pid>-<random>`` (unique, safe as a file name)."""
    global _WORKER_ID
    if not _WORKER_ID or f"-{os.getpid()}-" not in _WORKER_ID:
        host = re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname()) or "host"
        _WORKER_ID = f"{host}-{os.getpid()}-{secrets.token_hex(3)}"
    return _WORKER_ID


class Guard:
    """One process and one study: no-op hooks, for storages only one process uses."""

    shared = False
    poll = 1.0  # seconds between claims while other workers finish the last trials

    def __init__(self) -> None:
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield

    def reap(self, study: optuna.Study) -> list[int]:
        """Fail and queue again the trials of dead workers; their numbers."""
        return []

    def adopt(self, study: optuna.Study, trial: optuna.Trial) -> None:
        """Mark ``trial`` (just created or popped) as this worker's."""

    @contextlib.contextmanager
    def beat(self, study: optuna.Study, trial: optuna.Trial) -> Iterator[None]:
        """Keep ``trial`` alive while the block runs."""
        yield

    def hand_back(self, study: optuna.Study, trial: optuna.Trial) -> None:
        """An interrupted worker's trial: failed, and queued again when the study is shared."""
        _fail_and_retry(study, trial_id(trial), retry=self.shared)

    def holds(self, worker: str) -> bool:
        """Whether ``worker`` (e.g. the holder of the family claim) is a live process.

        One process alone uses this storage: only this one can be alive.
        """
        return worker == worker_id()

    @property
    def beat_interval(self) -> float:
        """Seconds between the beats of a claim (0: liveness is known without them)."""
        return 0.0

    @contextlib.contextmanager
    def claim_beat(self, study: optuna.Study, attr: str, claim: dict[str, Any]
                   ) -> Iterator[None]:
        """Keep the claim ``claim`` (study user attr ``attr``) alive while the block runs:
        where liveness needs beats, rewritten with a new ``beat`` every interval."""
        yield


class RDBGuard(Guard):
    """PostgreSQL or MySQL: an advisory lock, and Optuna's heartbeats."""

    shared = True

    def __init__(self, storage: RDBStorage, backend: BaseStorage, study_name: str) -> None:
        super().__init__()
        self.storage = storage
        self.backend = backend  # what the study talks to (Optuna wraps RDB in a cache)
        self.dialect = storage.engine.dialect.name
        digest = hashlib.sha256(f"genesynth:{study_name}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self.name = "genesynth:" + digest.hex()[:40]
        self.interval = storage.get_heartbeat_interval() or 0
        self.poll = float(min(max(self.interval, 1) / 2, 2.0))

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        from sqlalchemy import text

        take, give = {
            "postgresql": ("SELECT pg_advisory_lock(:key)", "SELECT pg_advisory_unlock(:key)"),
            "mysql": ("SELECT GET_LOCK(:name, -1)", "SELECT RELEASE_LOCK(:name)"),
        }[self.dialect]
        with self._lock, self.storage.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            values = {"key": self.key, "name": self.name}
            connection.execute(text(take), values)
            try:
                yield
            finally:
                connection.execute(text(give), values)

    def holds(self, worker: str) -> bool:
        """Unknown on a database (its workers have no liveness of their own, only their
        trials): taken as alive; ``genesynth family --force`` takes over a dead worker's
        claim. Claims kept by ``claim_beat`` are judged by their beats (:class:`Watch`)."""
        return True

    @property
    def beat_interval(self) -> float:
        return float(self.interval)

    @contextlib.contextmanager
    def claim_beat(self, study: optuna.Study, attr: str, claim: dict[str, Any]
                   ) -> Iterator[None]:
        if not self.interval:
            yield
            return
        stop = threading.Event()

        def run() -> None:
            beat = 0
            while not stop.wait(self.interval):
                beat += 1
                with contextlib.suppress(Exception):  # a lost beat is caught up by the next
                    study.set_user_attr(attr, {**claim, "beat": beat})

        thread = threading.Thread(target=run, name=f"beat-{attr}", daemon=True)
        thread.start()
        try:
            yield
        finally:  # stopped before the holder writes the claim's end (never overwritten)
            stop.set()
            thread.join()

    def reap(self, study: optuna.Study) -> list[int]:
        if not self.interval:
            return []
        before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        after = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        return sorted(t.number for t in after if t.number not in before)

    def adopt(self, study: optuna.Study, trial: optuna.Trial) -> None:
        record(trial, worker=worker_id())  # host-pid-token
        if self.interval:  # a trial without any heartbeat is never found stale: beat at once
            self.storage.record_heartbeat(trial_id(trial))

    @contextlib.contextmanager
    def beat(self, study: optuna.Study, trial: optuna.Trial) -> Iterator[None]:
        if not self.interval:
            yield
            return
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(self.interval):
                with contextlib.suppress(Exception):  # a lost beat is caught up by the next
                    self.storage.record_heartbeat(trial_id(trial))

        thread = threading.Thread(target=run, name=f"heartbeat-{trial.number}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


class JournalGuard(Guard):
    """A journal file: ``flock`` for the claim, and one locked file per live worker."""

    shared = True
    poll = 0.5

    def __init__(self, journal: Path) -> None:
        super().__init__()
        self.folder = Path(f"{journal}.genesynth")
        self.workers = self.folder / "workers"
        self.workers.mkdir(parents=True, exist_ok=True)
        self.me = worker_id()
        self._alive = _hold(self.workers / self.me)
        atexit.register(self._close)

    def _close(self) -> None:
        with contextlib.suppress(OSError):
            (self.workers / self.me).unlink()
            os.close(self._alive)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            fd = os.open(self.folder / "claim.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock

    def reap(self, study: optuna.Study) -> list[int]:
        dead = []
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = TrialRecord.of(t).worker
            dead_owner = owner != self.me and not self._is_alive(owner)
            if dead_owner and _fail_and_retry(study, trial_id(t), retry=True):
                dead.append(t.number)
        return dead

    def holds(self, worker: str) -> bool:
        return worker == self.me or self._is_alive(worker)

    def _is_alive(self, owner: Any) -> bool:
        # Adoption happens under the claim lock: a RUNNING trial seen without an owner under
        # the lock belongs to a process that died between creating and adopting it.
        if not isinstance(owner, str) or "/" in owner or not owner:
            return False
        try:
            fd = os.open(self.workers / owner, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            (self.workers / owner).unlink()
        return False

    def adopt(self, study: optuna.Study, trial: optuna.Trial) -> None:
        record(trial, worker=self.me)


class Watch:
    """Whether the holders of claims (study user attrs ``{"worker": ..., "beat": ...}``) are
    alive, as this process sees them: ``guard.holds`` the worker and, where claims beat
    (``guard.beat_interval`` > 0), the claim changed within two intervals of this process's
    clock (a claim first seen now is given those two intervals)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self._seen: dict[str, tuple[Any, float]] = {}  # attr -> (worker, beat), first seen

    def alive(self, attr: str, claim: Any) -> bool:
        worker = claim.get("worker") if isinstance(claim, dict) else None
        if not isinstance(worker, str) or not worker or not self.guard.holds(worker):
            return False
        interval = self.guard.beat_interval
        if not interval:
            return True
        now, state = time.monotonic(), (worker, claim.get("beat"))
        seen = self._seen.get(attr)
        if seen is None or seen[0] != state:
            self._seen[attr] = (state, now)
            return True
        return now - seen[1] <= 2 * interval


def _hold(path: Path) -> int:
    """Open ``path`` and lock it for the life of this process; the descriptor."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _fail_and_retry(study: optuna.Study, tid: int, retry: bool) -> bool:
    """Fail a running trial and, if ``retry``, queue its choices again; False if it finished."""
    try:
        if not storage_of(study).set_trial_state_values(tid, state=TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    if retry:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            Retry(max_retry=MAX_RETRY)(study, storage_of(study).get_trial(tid))
    return True


_GUARDS: dict[Any, tuple[BaseStorage, Guard]] = {}


def guard_for(study: optuna.Study) -> Guard:
    """The guard of ``study``'s storage: one per study and storage (per journal file) and
    process, kept for the life of the process."""
    storage = storage_of(study)
    backend = backend_of(storage)  # optuna's cache wraps RDB
    journal = journal_file(storage) if isinstance(storage, JournalStorage) else None
    key: Any = ("journal", str(journal.resolve())) if journal else (id(storage), study.study_name)
    if key not in _GUARDS:
        guard: Guard
        if journal is not None:
            guard = JournalGuard(journal)
        elif isinstance(backend, RDBStorage) and backend.engine.dialect.name in (
            "postgresql", "mysql"
        ):
            guard = RDBGuard(backend, storage, study.study_name)
        else:
            guard = Guard()
        _GUARDS[key] = (storage, guard)  # the storage is kept so that its id stays its own
    return _GUARDS[key][1]
