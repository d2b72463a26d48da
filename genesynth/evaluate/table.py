"""Table evaluator: accuracy looked up in a JSON benchmark file, no training.

The file maps an architecture key (``Architecture.key``, the canonical hash) to top-1
accuracy in percent, either directly or as ``{"accuracy": ...}``::

    {"3f2a9c0d1e4b5a67": 93.1, "0a1b2c3d4e5f6071": {"accuracy": 88.4}}

so that search strategies can be compared on tabular NAS benchmarks at no training cost.
``delay`` makes each lookup take that many seconds, to stand in for training time (to
rehearse a distributed run, or to compare samplers in wall-clock terms).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesynth.errors import DataError
from genesynth.evaluate.base import CandidateFailed, DataLoader, Evaluator, Report
from genesynth.limits import MAX_SECONDS, read_text
from genesynth.net.arch import Architecture
from genesynth.net.costs import cost
from genesynth.net.measurement import Measurement

if TYPE_CHECKING:
    from genesynth.space import Prototype

MAX_TABLE_BYTES = 2**30  # NAS-Bench tables run to a few hundred MB

#: Networks sampled from the prototype when checking that the table was made for its space.
CHECK_SAMPLES = 256


class TableEvaluator(Evaluator):
    """Looks each candidate up by its canonical key; an absent key fails the candidate.

    It needs no data (the prototype keeps its own input) and has no intermediate steps worth
    pruning on: a lookup is a finished measurement.
    """

    prunable = False
    needs_data = False

    def __init__(self, path: str | Path, delay: float = 0.0) -> None:
        if isinstance(delay, bool) or not isinstance(delay, int | float) \
                or not 0 <= delay <= MAX_SECONDS:  # nan and inf too: sleep(inf) overflows
            raise DataError(f"`delay` must be seconds from 0 to {MAX_SECONDS:,}, but got "
                            f"delay={delay!r}")
        self.path = Path(path)
        self.delay = float(delay)
        self.table = _read_table(self.path)

    def evaluate(self, arch: Architecture, report: Report) -> Measurement:
        start = time.perf_counter()
        if self.delay:
            time.sleep(self.delay)
        if arch.key not in self.table:
            raise CandidateFailed(f"architecture {arch.key} is not in {self.path}")
        accuracy = self.table[arch.key]
        report(1, None, accuracy)  # nothing trained: no loss
        c = cost(arch)
        return Measurement(
            accuracy=accuracy, params=c.params, macs=c.macs, curve=(accuracy,),
            seconds=time.perf_counter() - start,
        )

    def check_space(self, prototype: Prototype) -> None:
        """Raise DataError when none of a few hundred networks sampled from ``prototype``
        is in the table: it was made for another space or input shape, and every lookup
        would fail."""
        from genesynth.errors import ShapeError
        from genesynth.space import RandomChooser

        tried = 0
        for seed in range(CHECK_SAMPLES):
            try:
                arch = prototype.sample(chooser=RandomChooser(seed))
            except ShapeError:
                continue
            tried += 1
            if arch.key in self.table:
                return
        shape = "x".join(str(n) for n in prototype.input_shape)
        raise DataError(
            f"{self.path}: none of {tried} networks sampled from the prototype "
            f"'{prototype.name}' at input {shape} is in the table ({len(self.table)} keys); "
            "was it made for this prototype and input? (a table maps Architecture.key of "
            "each network, at the input it was made for, to its accuracy)"
        )

    def retrain(self, arch: Architecture, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, None]:
        """A table has no weights: the family member keeps the table's accuracy."""
        return self.evaluate(arch, report), None

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"kind": "table", "path": str(self.path)}
        if self.delay:
            described["delay"] = self.delay
        return described

    @classmethod
    def from_description(cls, described: Mapping[str, Any], data: DataLoader) -> TableEvaluator:
        if not described.get("path"):
            raise DataError("the table evaluator needs the `path` of its JSON table")
        return cls(str(described["path"]), delay=described.get("delay", 0.0))


def _read_table(path: Path) -> dict[str, float]:
    text = read_text(path, "benchmark table", DataError, max_bytes=MAX_TABLE_BYTES)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected an object mapping architecture keys to accuracy")
    table: dict[str, float] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            value = value.get("accuracy")
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 100:
            raise DataError(
                f"{path}: {key}: expected an accuracy in percent (0..100), got {value!r}"
            )
        table[key] = float(value)
    return table
