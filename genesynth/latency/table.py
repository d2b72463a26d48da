"""A latency table: milliseconds per op on one target, and the correction for whole networks.

The table (JSON, docs/latency.md) maps each op key (:mod:`genesynth.latency.ops`) to the
op's milliseconds on the target, with the runtime's cost of one call taken out. A network's
predicted latency is::

    scale * sum(ops[key] for each op the network runs) + offset_ms

where ``scale`` and ``offset_ms`` (the ``correction``) are fitted to whole networks measured
on the same target: the ops of a whole network run back to back, sharing caches and one
call, which the sum of separately timed ops does not see. A table filled by hand (TFLite's or
TensorRT's per-op profile) may leave the correction out: then scale 1 and offset 0.

:func:`fit_table` makes a table from a results file (``run_latency.py``'s output);
:func:`load_table` reads one; :meth:`LatencyTable.predict` predicts a network.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from genesynth.errors import GenesynthError
from genesynth.latency.ops import ops_of
from genesynth.latency.settings import STATISTICS
from genesynth.limits import load_json, read_text

TABLE_FORMAT = "genesynth-latency-table"
TABLE_VERSION = 1
RESULTS_FORMAT = "genesynth-latency-results"
#: The least an op's time may be after the call's cost is taken out (ms): nothing is free.
FLOOR_MS = 1e-4
#: A calibration network this many scaled median absolute deviations off the first fit is
#: left out of the second (timed while the device was busy).
OUTLIER_MADS = 3.0


class LatencyTableError(GenesynthError):
    """A latency table or results file is not what it must be, or lacks an op."""


@dataclass(frozen=True)
class Correction:
    """Predicted = ``scale`` * (sum of the ops) + ``offset_ms``."""

    scale: float = 1.0
    offset_ms: float = 0.0

    def apply(self, total: float) -> float:
        return self.scale * total + self.offset_ms


@dataclass(frozen=True)
class LatencyTable:
    """Per-op milliseconds on one target, and the whole-network correction."""

    ops: Mapping[str, float]
    correction: Correction = Correction()
    target: Mapping[str, Any] = field(default_factory=dict)  # runtime, threads, machine, ...
    path: str = ""

    def predict(self, arch: Any) -> float:
        """Predicted milliseconds of one forward pass of ``arch`` at batch 1 on the target."""
        keys = [op.key for op in ops_of(arch)]
        missing = [key for key in keys if key not in self.ops]
        if missing:
            shape = "x".join(str(n) for n in arch.input_shape)
            raise LatencyTableError(
                f"{self.path or 'the latency table'} has no entry for {len(set(missing))} op(s) "
                f"of this {shape} network, e.g. '{missing[0]}'; make the kit for this "
                "prototype at this input size and inside these bounds (genesynth latency kit "
                "PROTOTYPE --input ... --constraint ...)")
        return self.correction.apply(sum(self.ops[key] for key in keys))

    def describe(self) -> dict[str, Any]:
        """What run.json records of the table: where it is and what it was made on."""
        return {"path": self.path, "ops": len(self.ops), **dict(self.target)}


def load_table(path: str | Path) -> LatencyTable:
    """Read a latency table file; LatencyTableError naming the file and the key."""
    name = str(path)
    data = load_json(read_text(path, "latency table", LatencyTableError), name,
                     LatencyTableError)
    return table_from_dict(data, name)


def cached_table(path: str | Path) -> LatencyTable:
    """:func:`load_table`, read once per file version (path, size and modification time):
    the sampler and the trials of a run share one table."""
    try:
        stat = Path(path).stat()
    except OSError as exc:
        raise LatencyTableError(f"{path}: cannot read the latency table: "
                                f"{exc.strerror or exc}") from None
    return _cached(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _cached(path: str, size: int, mtime: int) -> LatencyTable:
    return load_table(path)


def table_from_dict(data: Any, name: str = "<table>") -> LatencyTable:
    if not isinstance(data, dict) or data.get("format") != TABLE_FORMAT:
        raise LatencyTableError(f"{name}: not a latency table (expected \"format\": "
                                f"\"{TABLE_FORMAT}\")")
    if data.get("version") != TABLE_VERSION:
        raise LatencyTableError(f"{name}: version: expected {TABLE_VERSION}, got "
                                f"{data.get('version')!r}")
    ops = data.get("ops")
    if not isinstance(ops, dict) or not ops:
        raise LatencyTableError(f"{name}: ops: expected an object of op key -> milliseconds")
    for key, ms in ops.items():
        _positive(ms, f"{name}: ops.{key}")
    raw = data.get("correction", {})
    if not isinstance(raw, dict):
        raise LatencyTableError(f"{name}: correction: expected an object")
    scale = _positive(raw.get("scale", 1.0), f"{name}: correction.scale")
    offset = raw.get("offset_ms", 0.0)
    if isinstance(offset, bool) or not isinstance(offset, int | float) or not math.isfinite(
            offset):
        raise LatencyTableError(f"{name}: correction.offset_ms: expected a number, got "
                                f"{offset!r}")
    target = {k: data[k] for k in ("runtime", "runtime_version", "threads", "machine",
                                   "made_for") if k in data}
    return LatencyTable({str(k): float(v) for k, v in ops.items()},
                        Correction(float(scale), float(offset)), target, name)


def _positive(value: Any, where: str) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or value <= 0):
        raise LatencyTableError(f"{where}: expected a positive number of milliseconds, got "
                                f"{value!r}")
    return float(value)


# -- fitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """A fitted table and how well it explains the calibration networks."""

    table: dict[str, Any]
    errors: tuple[float, ...]  # (predicted - measured) / measured, per calibration network


def fit_table(results: Any, source: str = "<results>", statistic: str = "median") -> Fit:
    """The latency table of one results file (``run_latency.py``'s, or ``profile``'s), from
    each model's ``statistic`` (:data:`STATISTICS`)."""
    if statistic not in STATISTICS:
        raise LatencyTableError(f"`statistic` must be one of {', '.join(STATISTICS)}, but got "
                                f"statistic={statistic!r}")
    key = f"{statistic}_ms"
    if not isinstance(results, dict) or results.get("format") != RESULTS_FORMAT:
        raise LatencyTableError(f"{source}: not a latency results file (expected \"format\": "
                                f"\"{RESULTS_FORMAT}\")")
    models = results.get("models")
    if not isinstance(models, list):
        raise LatencyTableError(f"{source}: models: expected a list")
    overhead = [_time(m, source, key) for m in models if m.get("role") == "overhead"]
    call = overhead[0] if overhead else 0.0
    ops = {str(m["key"]): max(_time(m, source, key) - call, FLOOR_MS)
           for m in models if m.get("role") == "op"}
    if not ops:
        raise LatencyTableError(f"{source}: no op was measured")
    nets = [m for m in models if m.get("role") == "network"]
    sums, measured = [], []
    for net in nets:
        keys = net.get("ops", [])
        missing = [k for k in keys if k not in ops]
        if missing:
            raise LatencyTableError(f"{source}: network {net.get('file')} runs '{missing[0]}', "
                                    "which no op of the results measures")
        sums.append(sum(ops[k] for k in keys))
        measured.append(_time(net, source, key))
    correction = fit_correction(sums, measured)
    errors = tuple((correction.apply(s) - m) / m for s, m in zip(sums, measured, strict=True))
    table = {
        "format": TABLE_FORMAT, "version": TABLE_VERSION, "unit": "ms",
        "statistic": statistic,
        "runtime": results.get("runtime", ""), "runtime_version": results.get("runtime_version"),
        "threads": results.get("threads"), "machine": results.get("machine", {}),
        "made_for": results.get("kit", {}), "load_average": results.get("load_average"),
        "overhead_ms": call,
        "correction": {"scale": correction.scale, "offset_ms": correction.offset_ms,
                       "networks": len(nets),
                       "median_abs_error": _median_abs(errors), "max_abs_error": _max_abs(errors)},
        "ops": ops,
    }
    return Fit(table, errors)


def fit_correction(sums: Sequence[float], measured: Sequence[float]) -> Correction:
    """``scale`` and ``offset_ms`` minimising the squared *relative* errors over the networks
    (at least three; fewer give scale 1, offset 0).

    Robust to a network timed while the device was busy: after a first fit, networks whose
    relative error is further from the median than ``OUTLIER_MADS`` scaled median absolute
    deviations (and more than 5 %) are left out and the fit is made again. A fit that would
    predict a non-positive latency for the smallest network keeps the offset at 0 (a scale
    only); a non-positive scale gives scale 1 and the median difference as the offset.
    """
    if len(sums) < 3:
        return Correction()
    s, m = np.asarray(sums, dtype=float), np.asarray(measured, dtype=float)
    first = _least_squares(s, m)
    error = (first.scale * s + first.offset_ms) / m - 1.0
    spread = max(OUTLIER_MADS * 1.4826 * float(np.median(np.abs(error - np.median(error)))),
                 0.05)
    keep = np.abs(error - np.median(error)) <= spread
    fit = _least_squares(s[keep], m[keep]) if 3 <= keep.sum() < len(s) else first
    if not fit.scale > 0:
        return Correction(1.0, float(np.median(m - s)))
    if fit.apply(float(s.min())) <= 0:
        ratio = s[keep] / m[keep]
        return Correction(float(ratio.sum() / (ratio**2).sum()), 0.0)
    return fit


def _least_squares(s: np.ndarray, m: np.ndarray) -> Correction:
    design = np.stack([s / m, 1.0 / m], axis=1)
    (scale, offset), *_ = np.linalg.lstsq(design, np.ones_like(m), rcond=None)
    return Correction(float(scale), float(offset))


def _time(model: Mapping[str, Any], source: str, key: str) -> float:
    return _positive(model.get(key), f"{source}: {model.get('file', '?')}: {key}")


def _median_abs(errors: Sequence[float]) -> float | None:
    return float(np.median(np.abs(errors))) if errors else None


def _max_abs(errors: Sequence[float]) -> float | None:
    return float(np.max(np.abs(errors))) if errors else None


def load_results(path: str | Path) -> Any:
    name = str(path)
    return load_json(read_text(path, "latency results file", LatencyTableError), name,
                     LatencyTableError)


def write_table(table: Mapping[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(table, indent=1, sort_keys=False) + "\n", encoding="utf-8")
