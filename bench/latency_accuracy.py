"""Benchmark: how well a latency table predicts whole networks it was not fitted to.

    python bench/latency_accuracy.py prototypes/attonet16.gs --constraint constraints/digits.toml \
        --input 1x8x8 --runtime onnxruntime --held-out 200 --out /tmp/attonet16-ort.json

Makes the table on this machine as ``genesynth latency profile`` does (timed: the cost of a
table), then samples ``--held-out`` networks of the space inside the constraint's bounds that
are none of the calibration networks, times each whole network the way the kit's runner does,
and compares: the share predicted within +-10 % of measured, Kendall's tau between predicted
and measured, and the median and 90th percentile of the absolute relative error. With
``--table`` an existing table is checked instead (no profiling). The machine's load average
before and after is printed: on a shared machine latency is noisy, and the figures say so.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from genesynth.goal.constraint import load_constraint
from genesynth.latency.kit import Bounds, sample_networks
from genesynth.latency.profile import measure, measure_networks
from genesynth.latency.table import fit_table, load_table, table_from_dict, write_table
from genesynth.space import load_prototype


def kendall_tau(a: list[float], b: list[float]) -> float:
    """Kendall's tau-b of two equally long lists (ties counted out of both sides)."""
    x, y = np.asarray(a), np.asarray(b)
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    upper = np.triu_indices(len(x), k=1)
    concordant = float((dx * dy)[upper].sum())
    pairs_x = float(np.abs(dx)[upper].sum())
    pairs_y = float(np.abs(dy)[upper].sum())
    return concordant / np.sqrt(pairs_x * pairs_y) if pairs_x and pairs_y else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("prototype")
    p.add_argument("--constraint")
    p.add_argument("--input", help="CxHxW")
    p.add_argument("--runtime", default="onnxruntime")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--networks", type=int, default=24, help="calibration networks")
    p.add_argument("--held-out", type=int, default=200)
    p.add_argument("--table", help="check this table instead of making one")
    p.add_argument("--out", help="write the figures and every network's pair here (JSON)")
    p.add_argument("--statistic", default="median", choices=("median", "min"),
                   help="each model's timings as their median or minimum (table and held-out)")
    args = p.parse_args()
    shape = tuple(int(v) for v in args.input.split("x")) if args.input else None
    proto = load_prototype(args.prototype, input_shape=shape)  # type: ignore[arg-type]
    bounds = Bounds()
    if args.constraint:
        rule = load_constraint(args.constraint)
        bounds = Bounds(rule.max_macs, rule.max_params)
    load_before = os.getloadavg()
    began = time.perf_counter()
    if args.table:
        table, made_in, calibration = load_table(args.table), None, set()
    else:
        results = measure(proto, args.runtime, bounds, args.threads, args.networks)
        fit = fit_table(results, statistic=args.statistic)
        made_in = time.perf_counter() - began
        table = table_from_dict(fit.table)
        calibration = {m["key"] for m in results["models"] if m["role"] == "network"}
        if args.out:  # the table, and the timings it was fitted to (to fit again)
            write_table(fit.table, Path(args.out).with_suffix(".table.json"))
            Path(args.out).with_suffix(".results.json").write_text(json.dumps(results) + "\n")
    held = sample_networks(proto, bounds, args.held_out, seed=12345,
                           exclude=frozenset(calibration))
    measured = measure_networks(held, args.runtime, args.threads)
    by_key = {m["key"]: m[f"{args.statistic}_ms"] for m in measured["models"]}
    pred = [table.predict(a) for a in held]
    real = [by_key[a.key] for a in held]
    error = np.abs(np.asarray(pred) - np.asarray(real)) / np.asarray(real)
    figures = {
        "prototype": proto.name, "input": list(proto.input_shape), "runtime": args.runtime,
        "statistic": args.statistic,
        "threads": args.threads, "ops": len(table.ops), "held_out": len(held),
        "within_10pct": float(np.mean(error <= 0.10)), "kendall_tau": kendall_tau(pred, real),
        "median_abs_error": float(np.median(error)),
        "p90_abs_error": float(np.percentile(error, 90)),
        "table_seconds": None if made_in is None else round(made_in, 1),
        "measured_ms_range": [float(min(real)), float(max(real))],
        "load_average": {"before": load_before, "after": os.getloadavg()},
    }
    print(json.dumps(figures, indent=1))
    if args.out:
        pairs = [{"key": a.key, "predicted_ms": p_, "measured_ms": r}
                 for a, p_, r in zip(held, pred, real, strict=True)]
        Path(args.out).write_text(json.dumps({**figures, "networks": pairs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
