"""Fixed baselines trained with the same budget as the family, for side-by-side tables.

Each baseline is a fully fixed prototype (MobileNetV1/V2, ShuffleNetV2, ResNet-18 ...),
adapted to the data's input shape and classes, trained with the family's full budget and
measured on the same test split. Results go to ``baselines.json`` in the run directory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genesynth.evaluate.train import TrainingEvaluator
from genesynth.net.builder import build
from genesynth.net.costs import cost
from genesynth.net.measurement import Measurement
from genesynth.record.layout import BASELINES_FILE


def measure_baselines(
    paths: Sequence[str | Path], evaluator: TrainingEvaluator, constraint: Any,
    out: Path | None = None, latency_threads: int = 1,
) -> list[dict[str, Any]]:
    """Train and measure each fixed prototype; write ``out/baselines.json`` when ``out``."""
    from genesynth.latency.measure import measure_latency
    from genesynth.space import load_prototype

    data = evaluator.dataset
    rows = []
    for path in paths:
        proto = load_prototype(path, input_shape=data.input_shape, classes=data.classes)
        arch = proto.sample(seed=0)
        m, _ = evaluator.retrain(arch, lambda *_: None)
        c = cost(arch)
        ms = measure_latency(build(arch), arch.input_shape, threads=latency_threads)
        m = Measurement(m.accuracy, c.params, c.macs, ms, m.curve, m.loss, m.seconds)
        rows.append({
            "name": proto.name, "path": str(path), "accuracy": m.accuracy, "params": c.params,
            "macs": c.macs, "latency_ms": ms, "utility": float(constraint.utility(m)),
            "feasible": bool(constraint.feasible(m)), "seconds": m.seconds,
        })
    if out is not None:
        (out / BASELINES_FILE).write_text(json.dumps({"baselines": rows}, indent=2) + "\n")
    return rows
