"""Check an Optuna journal file before it is read or appended to.

A journal (``study.log``) is one JSON object per line, appended under a lock. A process killed
mid-append leaves a last line without its newline; Optuna skips it when reading, but an append
after it glues the next entry onto the fragment, and from then on every read fails. Any other
damage (a line that is not JSON, or not a journal operation) makes Optuna fail with
``JSONDecodeError`` or ``AssertionError``. :func:`check_journal` finds both first: it names the
file and line of real damage, and — when the caller is about to append — cuts a partial last
line off, under the journal's own lock so that no live writer is mid-append.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from optuna.storages.journal import JournalFileSymlinkLock

from genesynth.errors import RunError
from genesynth.storage.optuna_private import journal_lock, journal_operations

_log = logging.getLogger(__name__)
_OPERATIONS = journal_operations()


def check_journal(path: Path, repair: bool) -> int:
    """Raise RunError at the first damaged line; with ``repair``, drop a partial last line.

    Returns the number of bytes dropped (0 when the file was whole). Without ``repair`` a
    partial last line is left alone: readers skip it, as Optuna does.
    """
    if not path.is_file():
        return 0
    if not repair:
        _check_lines(path)
        return 0
    with journal_lock(JournalFileSymlinkLock(str(path))):
        whole = _check_lines(path)
        size = path.stat().st_size
        if whole == size:
            return 0
        with open(path, "r+b") as file:
            file.truncate(whole)
            file.flush()
            os.fsync(file.fileno())
    _log.warning("%s: dropped a partial last line (%d bytes) left by a process that was "
                 "killed while writing; the trials before it are intact", path, size - whole)
    return size - whole


def _check_lines(path: Path) -> int:
    """The length in bytes of the file's complete lines; RunError at a damaged one."""
    whole = 0
    try:
        with open(path, "rb") as file:
            for number, line in enumerate(file, start=1):
                if not line.endswith(b"\n"):
                    break  # a partial last line: only the last line can lack its newline
                _check_entry(path, number, line)
                whole += len(line)
    except OSError as exc:
        raise RunError(f"{path}: cannot read the journal file: {exc.strerror}") from None
    return whole


def _check_entry(path: Path, number: int, line: bytes) -> None:
    try:
        entry = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise RunError(f"{path}:{number}: damaged journal line: not a JSON object; the "
                       "study cannot be read past it (restore the file from a copy, or "
                       "delete the lines from here on to keep the trials before)") from None
    op = entry.get("op_code") if isinstance(entry, dict) else None
    if type(op) is not int or op not in _OPERATIONS or "worker_id" not in entry:
        raise RunError(f"{path}:{number}: damaged journal line: not an Optuna journal "
                       f"operation (op_code {op!r}); the study cannot be read past it")
