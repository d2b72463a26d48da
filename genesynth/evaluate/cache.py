"""The evaluation cache: a network measured once is not trained again, in any later run.

An entry is keyed by what makes a measurement repeatable: the architecture's canonical key,
the data (its description, fingerprint included, without the path it was read from), the
evaluator's settings (``describe()``) and the seed. Entries are JSON files (never pickle) in
a folder that users may share between runs and workers, move, or clear at any time::

    <cache>/search/ab/ab12…ef.json           a search measurement (accuracy, curve, loss)
    <cache>/retrain/cd/cd34…01.json          a family retraining (test top-1, curve)
    <cache>/retrain/cd/cd34…01.safetensors   and its weights

The default folder is ``$GENESYNTH_CACHE``, else ``$XDG_CACHE_HOME/genesynth`` (else
``~/.cache/genesynth``). Writers are safe together: each file is written to a temporary name
in the same folder and moved into place with ``os.replace``, so two writers of one entry both
succeed (the last one wins; both wrote the same measurement) and a killed writer leaves no
half entry. An entry that cannot be read, or does not match its key, is ignored with a
:class:`CacheWarning` and never trusted.

A cache can be written by whoever can write its folder, so it is trusted no further than
that (as ssh trusts a key): a cache folder that other users may write to, or that another
user owns, is refused (:class:`CacheError`); an entry file or folder inside it that others
may write is ignored. A reused family retraining is checked by a forward pass: its weights
must score the test top-1 the entry claims (within ``RETRAIN_TOLERANCE`` points), or the
entry is ignored and the member retrained. What a view shows as a result's origin is the
entry's place in the cache, as genesynth found it, never a text the entry holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from genesynth.errors import GenesynthError
from genesynth.evaluate.base import Evaluator
from genesynth.limits import MAX_BUILD_PARAMS, open_regular, read_text
from genesynth.net.measurement import Measurement

FORMAT = 1
SEARCH, RETRAIN = "search", "retrain"
#: Test top-1 points by which a reused retraining's weights may differ from what its entry
#: claims (another device may flip a prediction or two; a forged entry is off by far more).
RETRAIN_TOLERANCE = 0.5
#: The largest weights file read: a network genesynth may build, in float32, and a header.
MAX_WEIGHTS_BYTES = 4 * MAX_BUILD_PARAMS + 2**20


class CacheError(GenesynthError):
    """The cache folder cannot be trusted (others may write to it)."""


class CacheWarning(UserWarning):
    """A cache entry was ignored (unreadable, damaged, or not the entry its name says)."""


def default_cache_dir() -> Path:
    """``$GENESYNTH_CACHE``, else ``$XDG_CACHE_HOME/genesynth``, else ``~/.cache/genesynth``."""
    explicit = os.environ.get("GENESYNTH_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "genesynth"


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def context_of(data: Mapping[str, Any], evaluator: Mapping[str, Any], seed: int
               ) -> dict[str, Any]:
    """What, besides the architecture, a measurement depends on.

    The data's ``spec`` (the path or name it was loaded from) is left out: the same data read
    from another place gives the same measurement, and its fingerprint says it is the same.
    """
    return {"data": {k: v for k, v in data.items() if k != "spec"},
            "evaluator": dict(evaluator), "seed": seed}


@dataclass(frozen=True)
class Reused:
    """A measurement found in the cache, and where it was first made."""

    measurement: Measurement
    source: str  # e.g. "runs/digits trial 12"


class EvaluationCache:
    """A cache folder bound to one context (data, evaluator settings, seed)."""

    def __init__(self, root: str | Path, context: Mapping[str, Any]) -> None:
        self.root = Path(root)
        self.context = dict(context)
        self.context_key = _digest(self.context)
        problem = _untrusted(self.root)
        if problem:
            raise CacheError(
                f"{self.root}: the evaluation cache {problem}, who could make it lie about a "
                f"network's accuracy; refusing to use it (chmod go-w {self.root}, choose "
                "another --cache, or pass --no-cache)")

    def entry_key(self, kind: str, arch_key: str) -> str:
        return _digest({"kind": kind, "arch": arch_key, "context": self.context_key})[:32]

    def path(self, kind: str, arch_key: str, suffix: str = ".json") -> Path:
        key = self.entry_key(kind, arch_key)
        return self.root / kind / key[:2] / f"{key}{suffix}"

    # -- search measurements --------------------------------------------------------------------

    def lookup(self, arch_key: str, kind: str = SEARCH) -> Reused | None:
        """The stored measurement of ``arch_key``, or None (absent or not to be trusted)."""
        entry = self._read(kind, arch_key)
        return None if entry is None else _reused(entry, self.path(kind, arch_key))

    def _read(self, kind: str, arch_key: str) -> dict[str, Any] | None:
        path = self.path(kind, arch_key)
        if not path.exists() and not path.is_symlink():
            return None
        try:  # a regular file of at most MAX_TEXT_BYTES: a FIFO here would block forever
            text = read_text(path, "cache entry")
        except GenesynthError as exc:
            return _ignored(path, str(exc).split(": ", 1)[-1])
        for place in (path, path.parent, path.parent.parent):
            problem = _untrusted(place)
            if problem:
                return _ignored(path, f"{place} {problem}")
        try:
            entry = json.loads(text)
        except json.JSONDecodeError as exc:
            return _ignored(path, f"not valid JSON ({exc.msg})")
        problem = self._check(entry, kind, arch_key)
        return _ignored(path, problem) if problem else entry

    def store(self, arch_key: str, m: Measurement, source: str, kind: str = SEARCH,
              extra: Mapping[str, Any] | None = None) -> Path:
        """Write the entry of ``arch_key`` atomically; returns its path."""
        entry = {**(extra or {}),
            "format": FORMAT, "kind": kind, "arch": arch_key, "context": self.context,
            "source": source,
            "measurement": {"accuracy": m.accuracy, "params": m.params, "macs": m.macs,
                            "curve": list(m.curve), "loss": m.loss, "seconds": m.seconds},
        }
        path = self.path(kind, arch_key)
        try:
            write_atomic(path, (json.dumps(entry, indent=1) + "\n").encode())
        except OSError as exc:  # a full or read-only cache costs reuse, never the run
            _ignored(path, f"cannot write it ({exc.strerror})", "not stored")
        return path

    # -- family retraining (measurement and weights) ---------------------------------------------

    def holds_retrain(self, arch_key: str) -> bool:
        """Whether a retraining of ``arch_key`` is stored (its weights are checked on use)."""
        entry = self._read(RETRAIN, arch_key)
        return entry is not None and self.path(RETRAIN, arch_key, ".safetensors").exists()

    def lookup_retrain(self, arch_key: str) -> tuple[Reused, dict[str, Any]] | None:
        """A stored retraining of ``arch_key`` with its weights, or None."""
        entry = self._read(RETRAIN, arch_key)
        if entry is None:
            return None
        weights = self.path(RETRAIN, arch_key, ".safetensors")
        if not weights.exists():
            return _ignored(weights, "the weights file is missing")
        try:
            if file_sha256(weights) != entry.get("weights_sha256"):
                return _ignored(weights, "the weights are not the ones the entry recorded")
            from safetensors.torch import load_file

            return _reused(entry, self.path(RETRAIN, arch_key)), dict(load_file(str(weights)))
        except FileNotFoundError:
            return _ignored(weights, "the weights file is missing")
        except Exception as exc:  # a damaged safetensors file, in the user's words
            return _ignored(weights, f"cannot read the weights ({exc})")

    def store_retrain(self, arch_key: str, m: Measurement, state: Mapping[str, Any],
                      source: str) -> Path:
        """Write the weights, then the entry that names their checksum (the commit point)."""
        from safetensors.torch import save

        data = save({k: v.detach().contiguous() for k, v in state.items()})
        weights = self.path(RETRAIN, arch_key, ".safetensors")
        try:
            write_atomic(weights, data)
        except OSError as exc:
            _ignored(weights, f"cannot write it ({exc.strerror})", "not stored")
            return weights
        extra = {"weights_sha256": hashlib.sha256(data).hexdigest()}
        return self.store(arch_key, m, source, RETRAIN, extra)

    def _check(self, entry: Any, kind: str, arch_key: str) -> str:
        if not isinstance(entry, dict) or entry.get("format") != FORMAT:
            return f"not a format-{FORMAT} cache entry"
        if entry.get("kind") != kind or entry.get("arch") != arch_key:
            return "it holds another architecture than its name says"
        if _digest(entry.get("context")) != self.context_key:
            return "it was measured under other settings than its name says"
        m = entry.get("measurement")
        if not isinstance(m, dict):
            return "the measurement is missing"
        numbers = [m.get(k) for k in ("accuracy", "params", "macs")]
        curve = m.get("curve")
        if not all(_is_number(v) for v in numbers) or not isinstance(curve, list) or not all(
                _is_number(v) for v in curve):
            return "the measurement is incomplete"
        if not 0.0 <= float(m["accuracy"]) <= 100.0:
            return f"the accuracy {m['accuracy']!r} is not a percentage"
        return ""


def _untrusted(path: Path) -> str:
    """Why ``path`` may have been written by another user ("" when only its owner, this user
    or root, can write it; a path that does not exist yet is the writer's own)."""
    try:
        info = path.stat()
    except OSError:
        return ""
    if info.st_uid not in (0, os.getuid()):
        return f"is owned by another user (uid {info.st_uid})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"is writable by other users (mode {stat.S_IMODE(info.st_mode):04o})"
    return ""


def _reused(entry: dict[str, Any], path: Path) -> Reused:
    m = entry["measurement"]
    measurement = Measurement(
        float(m["accuracy"]), int(m["params"]), int(m["macs"]), None,
        tuple(float(v) for v in m["curve"]), _float_or_none(m.get("loss")),
        float(m["seconds"]) if _is_number(m.get("seconds")) else 0.0,
    )
    return Reused(measurement, f"evaluation cache {path}")  # where genesynth found it


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _float_or_none(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def _ignored(path: Path, why: str, what: str = "ignored") -> Any:
    """Warn that the entry at ``path`` is not used; returns None for the caller to return."""
    warnings.warn(f"evaluation cache: {what} {path}: {why}", CacheWarning, stacklevel=3)
    return None


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path, "weights", GenesynthError, MAX_WEIGHTS_BYTES) as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class CachedRetrain(Evaluator):
    """An evaluator whose ``retrain`` goes through the cache (the engine's family step).

    ``evaluate``, ``epochs`` and ``describe`` are the wrapped evaluator's.
    """

    def __init__(self, evaluator: Evaluator, cache: EvaluationCache, source: str) -> None:
        self.evaluator = evaluator
        self.cache = cache
        self.source = source
        self.reused: dict[str, str] = {}  # architecture key -> where its retraining came from

    @property
    def epochs(self) -> int:
        return self.evaluator.epochs

    def describe(self) -> dict[str, Any]:
        return self.evaluator.describe()

    def holds(self, arch: Any) -> bool:
        """Whether ``retrain(arch)`` will come from the cache (told before the family trains)."""
        return self.cache.holds_retrain(arch.key)

    def evaluate(self, arch: Any, report: Any) -> Measurement:
        result: Measurement = self.evaluator.evaluate(arch, report)
        return result

    def retrain(self, arch: Any, report: Any, searched: Measurement | None = None
                ) -> tuple[Measurement, Any]:
        found = self.cache.lookup_retrain(arch.key)
        if found is not None:
            reused, weights = found
            claimed = reused.measurement.accuracy
            measured = self.evaluator.test_accuracy(arch, weights)
            if measured is not None and abs(measured - claimed) <= RETRAIN_TOLERANCE:
                self.reused[arch.key] = reused.source
                return replace(reused.measurement, accuracy=measured), weights
            why = ("its weights cannot be checked (they do not fit the network, or the "
                   "evaluator has no test split)" if measured is None else
                   f"it claims test top-1 {claimed:.2f}% but its weights score {measured:.2f}%")
            _ignored(self.cache.path(RETRAIN, arch.key), why)
        m, state = self.evaluator.retrain(arch, report, searched)
        if state is not None:
            self.cache.store_retrain(arch.key, m, state, self.source)
        return m, state
