"""Storage URLs: turn what the user typed into an Optuna storage, with clear errors.

=============================  ==============================================================
URL                            storage
=============================  ==============================================================
``postgresql://…``,            :class:`optuna.storages.RDBStorage` with heartbeats: a trial
``mysql://…``                  whose process stops beating for ``2 × heartbeat`` seconds is
                               failed and queued again (``RetryHeartbeatStaleTrialCallback``).
                               Many processes on many machines.
``journal:///path/run.log``    :class:`optuna.storages.JournalStorage` on a log file. Optuna
                               has no heartbeats for it; genesynth detects dead workers with
                               file locks instead (see :mod:`genesynth.synth.locks`). Processes
                               on one machine, or on a shared file system with POSIX locks.
``sqlite:///path/study.db``    :class:`optuna.storages.RDBStorage`; one process only.
=============================  ==============================================================
"""

from __future__ import annotations

import importlib.util
import warnings
import weakref
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalStorage

from genesynth.errors import RunError
from genesynth.storage.journal import check_journal
from genesynth.storage.retry import RetryingRDBStorage, described
from genesynth.urls import redact, scrub

#: Seconds between two heartbeats of a running trial (RDB storages); a trial is declared dead
#: after two missed intervals.
DEFAULT_HEARTBEAT = 10
#: How many times the trial of a dead worker is tried again before its choices are given up.
MAX_RETRY = 3
JOURNAL = "journal://"
SHARED_RDB = ("postgresql", "mysql")
_JOURNALS: weakref.WeakKeyDictionary[JournalStorage, Path] = weakref.WeakKeyDictionary()
KINDS = "postgresql://…, mysql://…, journal:///path/to/run.log or sqlite:///path/to/study.db"


def kind(url: str) -> str:
    """``"postgresql"``, ``"mysql"``, ``"journal"`` or ``"sqlite"``; RunError otherwise."""
    if url.startswith(JOURNAL):
        return "journal"
    scheme = url.split("://", 1)[0] if "://" in url else ""
    dialect = scheme.split("+", 1)[0]
    if dialect in (*SHARED_RDB, "sqlite"):
        return dialect
    raise RunError(f"unsupported storage URL {redact(url)!r}; expected {KINDS}")


def is_shared(url: str) -> bool:
    """Whether several processes may work on a study in this storage at once."""
    return kind(url) != "sqlite"


def check_shared(url: str) -> None:
    """Refuse a storage that cannot hold several workers (SQLite), naming the alternatives."""
    if not is_shared(url):
        raise RunError(
            f"{redact(url)}: SQLite holds a study for one process only; to share a study "
            "between workers use postgresql://… or mysql://… (many machines) or "
            "journal:///path/to/run.log (one machine or a shared file system)"
        )


def open_storage(url: str, heartbeat: int | None = None, create: bool = True) -> BaseStorage:
    """The Optuna storage for ``url``.

    ``heartbeat`` (seconds) turns on Optuna's heartbeats for PostgreSQL and MySQL, with
    retries of the trials of dead workers; leave it None to only read a study. ``create=False``
    refuses a journal file or SQLite database that does not exist yet, instead of creating an
    empty one. Raises RunError for a bad URL, a missing driver or an unreachable database.
    """
    which = kind(url)
    if which == "journal":
        return _journal(url, create)
    if which == "sqlite" and not create:
        _check_sqlite_file(url)
    if heartbeat is not None and (not isinstance(heartbeat, int) or heartbeat < 1):
        raise RunError(f"`heartbeat` must be a positive integer, but got heartbeat={heartbeat!r}")
    beat = heartbeat if which in SHARED_RDB else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = (RetryingRDBStorage if which in SHARED_RDB else RDBStorage)(
                _with_driver(url), heartbeat_interval=beat, grace_period=2 * beat if beat else None,
                heartbeat_stale_trial_callback=(
                    RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY) if beat else None
                ),
                engine_kwargs={"pool_pre_ping": True} if which in SHARED_RDB else None,
            )
            if isinstance(storage, RetryingRDBStorage):  # a server that restarts is waited for
                described(storage, url)
            return storage
    except ImportError:
        driver = "pip install 'genesynth[postgres]'" if which == "postgresql" else (
            "pip install pymysql" if which == "mysql" else "its Python driver")
        raise RunError(f"{redact(url)}: the database driver is not installed; install it: "
                       f"{driver}") from None
    except Exception as exc:  # SQLAlchemy's errors: bad URL, refused connection, bad login
        raise RunError(f"cannot open the storage {redact(url)}: "
                       f"{scrub(_first_line(exc), url)}") from None


#: Drivers SQLAlchemy can use for a URL that names none, in order of preference.
DRIVERS = {"postgresql": ("psycopg", "psycopg2"), "mysql": ("MySQLdb", "pymysql")}


def _with_driver(url: str) -> str:
    """``postgresql://`` → ``postgresql+psycopg2://`` when only psycopg2 is installed, etc.

    SQLAlchemy picks one default driver per database (psycopg 3 for PostgreSQL since 2.1);
    the user should not have to know which one this machine has.
    """
    scheme, rest = url.split("://", 1)
    if scheme not in DRIVERS:
        return url
    for module in DRIVERS[scheme]:
        if importlib.util.find_spec(module) is not None:
            return f"{scheme}+{module.lower()}://{rest}"
    return url


def journal_path(url: str) -> Path:
    """The log file of a ``journal://`` URL (``journal:///abs/run.log`` or ``journal://rel``)."""
    path = url[len(JOURNAL):]
    if not path:
        raise RunError(f"{url!r}: name the journal file, e.g. journal:///shared/run.log")
    return Path(path)


def _journal(url: str, create: bool) -> JournalStorage:
    path = journal_path(url)
    if (path.exists() or path.is_symlink()) and not path.is_file():  # a FIFO would block
        raise RunError(f"{url}: the journal {path} is not a regular file")
    if not path.is_file():
        if not create:
            raise RunError(f"{url}: the journal file {path} does not exist")
        if not path.parent.is_dir():
            raise RunError(f"{url}: the folder {path.parent} does not exist")
    check_journal(path, repair=create)
    try:
        storage = JournalStorage(JournalFileBackend(str(path)))
    except OSError as exc:
        raise RunError(f"{url}: cannot open the journal file {path}: {exc.strerror}") from None
    except (KeyError, TypeError, ValueError, AssertionError, IndexError) as exc:
        raise RunError(f"{path}: damaged journal: an entry does not fit the study it belongs "
                       f"to ({type(exc).__name__}: {exc})") from None
    _JOURNALS[storage] = path
    return storage


def journal_file(storage: BaseStorage) -> Path | None:
    """The log file of a journal storage made by :func:`open_storage` (else None)."""
    return _JOURNALS.get(storage) if isinstance(storage, JournalStorage) else None


def _check_sqlite_file(url: str) -> None:
    file = url.split(":///", 1)[-1].split("?", 1)[0]
    if file and file != ":memory:" and not Path(file).is_file():
        raise RunError(f"{url}: the database file {file} does not exist")


def _first_line(exc: Exception) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__
