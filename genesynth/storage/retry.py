"""A database that stops answering: transient connection errors are tried again, then one
clear error.

A PostgreSQL or MySQL server restarted, failed over or briefly unreachable makes every
statement of that moment fail with a connection error (SQLAlchemy's ``OperationalError``,
wrapped by Optuna in ``StorageInternalError``). :class:`RetryingRDBStorage` tries such a call
again after 0.5, 1, 2 and 4 seconds (the pool's ``pre_ping`` reconnects); when the server is
still gone it raises :class:`StorageLost`, whose message names the storage (without its
password) and what failed: the command line turns it into one line and the resume command.

Only connection errors are tried again: a statement the server refused (a constraint, a bad
value) is not. A statement whose connection broke after the server committed it could in
principle be applied twice; Optuna's own writes are keyed by trial and study ids, and
genesynth's claims are checked after they are written, so a repeat is harmless there.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from optuna.storages import RDBStorage

from genesynth.errors import RunError
from genesynth.urls import redact, scrub

#: Seconds to wait before each new try of a call that lost its connection.
WAITS = (0.5, 1.0, 2.0, 4.0)

F = TypeVar("F", bound=Callable[..., Any])


class StorageLost(RunError):
    """The study's database stopped answering and did not come back within the retries;
    ``out`` is the run directory when a run was going on (set by the engine)."""

    out: Path | None = None


def transient(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) is a lost or refused connection."""
    from sqlalchemy import exc

    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, exc.OperationalError | exc.InterfaceError):
            return True
        if isinstance(error, exc.DisconnectionError):
            return True
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
        seen += 1
    return False


def _retried(method: F) -> F:
    @functools.wraps(method)
    def call(self: RetryingRDBStorage, *args: Any, **kwargs: Any) -> Any:
        for wait in (*self.waits, None):
            try:
                return method(self, *args, **kwargs)
            except Exception as error:  # Optuna's StorageInternalError, SQLAlchemy's own
                if not transient(error):
                    raise
                if wait is None:
                    raise self.lost(method.__name__, error) from None
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    return call  # type: ignore[return-value]


class RetryingRDBStorage(RDBStorage):
    """Optuna's RDBStorage whose public calls survive a database that is briefly gone."""

    waits: tuple[float, ...] = WAITS
    url_shown: str = ""
    url_secret: str = ""

    def lost(self, call: str, error: BaseException) -> StorageLost:
        cause = error.__cause__ or error
        detail = str(getattr(cause, "orig", None) or cause).strip().splitlines()
        said = scrub(detail[0] if detail else type(cause).__name__, self.url_secret)
        tries = len(self.waits) + 1
        return StorageLost(
            f"the study storage {self.url_shown} stopped answering ({said}; {call} tried "
            f"{tries} times over {sum(self.waits):g} s)")


_PUBLIC = [name for name in vars(RDBStorage)
           if not name.startswith("_") and callable(getattr(RDBStorage, name))
           and name not in ("remove_session", "upgrade", "get_heartbeat_interval",
                            "get_heartbeat_stale_trial_callback")]
for _name in _PUBLIC:
    setattr(RetryingRDBStorage, _name, _retried(getattr(RDBStorage, _name)))


def described(storage: RetryingRDBStorage, url: str) -> RetryingRDBStorage:
    """``storage`` told which URL it holds (shown without its password in its errors)."""
    storage.url_shown, storage.url_secret = redact(url), url
    return storage
