"""The decoded-data cache: slow formats (image folders) are decoded once, then read back.

An entry is one ``.npz`` file (no pickle: it is read with ``allow_pickle=False``) named by a
key made of the format, the requested input shape, the path as given and a fingerprint of
the files (every file's relative path, size and modification time), so changing, adding or
removing an image makes a new entry. Each entry holds a sha256 of its arrays; an entry that
cannot be read or does not match it is ignored with a warning and decoded again, never
trusted. Entries are written to a temporary file and renamed, so a killed process or a
second worker never leaves half an entry. Decoding CIFAR-10 took 53 s on the development
machine; reading its entry back takes a few seconds.

Where: ``$GENESYNTH_DATA_CACHE``, else ``$XDG_CACHE_HOME/genesynth/data``, else
``~/.cache/genesynth/data`` (beside the evaluation cache of :mod:`genesynth.evaluate.cache`);
``GENESYNTH_DATA_CACHE=off`` turns it off. The folder may be moved (point the variable at
it) or deleted at any time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from stat import S_ISDIR

import numpy as np

from genesynth.data.source import Source

CACHE_ENV = "GENESYNTH_DATA_CACHE"
OFF = ("off", "none", "0")
VERSION = 1  # bump when the decoding changes
_ARRAYS = ("x", "y", "x_test", "y_test", "x_val", "y_val")
_log = logging.getLogger(__name__)


def cache_dir() -> Path | None:
    """The cache folder, or None when ``GENESYNTH_DATA_CACHE`` turns the cache off."""
    chosen = os.environ.get(CACHE_ENV, "").strip()
    if chosen.lower() in OFF:
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base).expanduser() / "genesynth" / "data"


def entry_key(path: Path, data_format: str, shape: tuple[int, int, int] | None) -> str:
    """A key that changes whenever a file under ``path``, the path as given (it names the
    data in run.json), the format or the shape does."""
    digest = hashlib.sha256(json.dumps([VERSION, str(path), data_format, shape]).encode())
    for relative, size, mtime in sorted(_files(str(path), "")):
        digest.update(f"{relative}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()[:24]


MAX_DEPTH = 2
"""Folders entered below the data's root: the deepest file the readers look at is
``root/train/<class>/<image>``; deeper ones (and symlinked folders that loop back, or lead to
``/``) are not part of the data."""


def _files(root: str, prefix: str, seen: frozenset[tuple[int, int]] = frozenset()
           ) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime_ns) of every file under ``root`` (scandir: one stat each);
    a directory met again through a symlink (a loop) is not entered twice, and a link that
    cannot be followed counts as the link itself."""
    found: list[tuple[str, int, int]] = []
    try:
        here = os.stat(root)
        entries = list(os.scandir(root))
    except OSError:
        return found
    seen = seen | {(here.st_dev, here.st_ino)}
    for entry in entries:
        try:
            stat = entry.stat()
        except OSError:  # a dangling link, or one that loops on itself
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:  # gone since it was listed
                continue
        if S_ISDIR(stat.st_mode):
            if (stat.st_dev, stat.st_ino) not in seen and prefix.count("/") < MAX_DEPTH:
                found += _files(entry.path, f"{prefix}{entry.name}/", seen)
        else:
            found.append((prefix + entry.name, stat.st_size, stat.st_mtime_ns))
    return found


def cached(path: Path, data_format: str, shape: tuple[int, int, int] | None,
           decode: Callable[[], Source], folder: Path | None = None) -> Source:
    """``decode()``'s Source, read from the cache when a sound entry exists, else decoded
    and stored (when the cache folder is writable)."""
    folder = folder if folder is not None else cache_dir()
    if folder is None:
        return decode()
    entry = folder / f"{data_format}-{entry_key(path, data_format, shape)}.npz"
    if entry.is_file():  # a FIFO or a device in the cache is no entry
        source = _read(entry)
        if source is not None:
            return source
    source = decode()
    _write(entry, source)
    return source


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _write(entry: Path, source: Source) -> None:
    arrays = {name: getattr(source, name) for name in _ARRAYS if getattr(source, name) is not None}
    arrays["class_names"] = np.array(source.class_names, dtype=np.str_)
    arrays["name"] = np.array(source.name, dtype=np.str_)
    arrays["format"] = np.array(source.format, dtype=np.str_)
    arrays["sha256"] = np.array(_digest(arrays), dtype=np.str_)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{entry.name}.", dir=entry.parent)
    except OSError as exc:
        _log.warning("could not write the decoded-data cache in %s (%s)", entry.parent,
                     exc.strerror or exc)
        return
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
        os.replace(temp, entry)  # readers see the whole entry or none
    except OSError as exc:
        _log.warning("could not write the decoded-data cache %s (%s)", entry,
                     exc.strerror or exc)
        Path(temp).unlink(missing_ok=True)


def _read(entry: Path) -> Source | None:
    """The entry's Source, or None (with a warning) when it is damaged in any way."""
    try:
        with np.load(entry, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        expected = str(arrays.pop("sha256"))
        if _digest(arrays) != expected:
            raise ValueError("its arrays do not match their checksum")
        present = {name: arrays.get(name) for name in _ARRAYS}
        return Source(
            name=str(arrays["name"]), format=str(arrays["format"]),
            class_names=tuple(str(n) for n in arrays["class_names"]), **present,  # type: ignore[arg-type]
        )
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        _log.warning("ignored a damaged decoded-data cache entry %s (%s); decoding the data "
                     "again", entry, exc)
        return None
