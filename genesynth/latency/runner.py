"""Time every model of a genesynth latency kit with ONNX Runtime; write the results file.

This file is copied into each kit as ``run_latency.py`` and runs on the target device with
only Python (>= 3.8), NumPy and ONNX Runtime installed — no torch, no genesynth::

    python run_latency.py KIT_DIR --threads 1 --out results.json

For each model of ``KIT_DIR/manifest.json`` it opens one session (all graph optimizations
on, ``--threads`` intra-op threads, one inter-op thread, sequential execution), then in each
of ``--rounds`` rounds (every round visits the models in a new random order, so a change of
the device's load falls on all of them alike) runs it ``--warmup`` times untimed and then at
least ``--min-runs`` times and for at least ``--min-time`` seconds, timing each call. The
results file holds, per model, the count of timed runs and their mean, standard deviation,
median and minimum in milliseconds, plus the runtime's version, the threads, the machine and
its load average. ``genesynth latency fit`` turns it into a latency table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

FORMAT = "genesynth-latency-results"
VERSION = 1


def _load(kit: Path) -> dict[str, Any]:
    manifest = kit / "manifest.json"
    if not manifest.is_file():
        raise SystemExit(f"{kit}: not a latency kit (no manifest.json)")
    data: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
    if data.get("format") != "genesynth-latency-kit":
        raise SystemExit(f"{manifest}: not a genesynth latency kit manifest")
    return data


def _session(ort: Any, path: Path, threads: int) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _feeds(np: Any, session: Any, rng: Any) -> dict[str, Any]:
    feeds = {}
    for item in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in item.shape]
        feeds[item.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def _time(session: Any, feeds: dict[str, Any], args: argparse.Namespace) -> list[float]:
    for _ in range(args.warmup):
        session.run(None, feeds)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < args.min_runs or time.perf_counter() - start < args.min_time:
        t0 = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
        if len(times) >= args.max_runs:
            break
    return times


def stats(times: list[float]) -> dict[str, Any]:
    ordered = sorted(times)
    n = len(ordered)
    mean = sum(ordered) / n
    std = (sum((t - mean) ** 2 for t in ordered) / (n - 1)) ** 0.5 if n > 1 else 0.0
    middle = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    return {"count": n, "mean_ms": mean, "std_ms": std, "median_ms": middle,
            "min_ms": ordered[0]}


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # not on every platform
        return None


def run(kit: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Time every model of ``kit``; the results as a JSON-able dict."""
    import numpy as np
    import onnxruntime as ort

    manifest = _load(kit)
    models = manifest["models"]
    rng = np.random.default_rng(0)
    sessions = [_session(ort, kit / m["file"], args.threads) for m in models]
    feeds = [_feeds(np, s, rng) for s in sessions]
    times: list[list[float]] = [[] for _ in models]
    order = list(range(len(models)))
    shuffle = random.Random(args.seed)
    load_before, began = load_average(), time.time()
    for round_ in range(args.rounds):
        shuffle.shuffle(order)
        for done, i in enumerate(order, start=1):
            times[i] += _time(sessions[i], feeds[i], args)
            if args.progress and done % 100 == 0:
                print(f"round {round_ + 1}/{args.rounds}: {done}/{len(models)} models",
                      file=sys.stderr, flush=True)
    results = []
    for model, measured in zip(models, times):  # noqa: B905 - runs on Python < 3.10 too
        entry = {k: v for k, v in model.items() if k != "inputs"}
        results.append({**entry, **stats(measured)})
    return {
        "format": FORMAT, "version": VERSION, "runtime": "onnxruntime",
        "runtime_version": ort.__version__, "threads": args.threads,
        "kit": {k: manifest.get(k) for k in ("prototype", "input_shape", "classes", "bounds")},
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average": {"before": load_before, "after": load_average()},
        "settings": {"rounds": args.rounds, "warmup": args.warmup, "min_runs": args.min_runs,
                     "min_time_s": args.min_time},
        "seconds": round(time.time() - began, 1), "models": results,
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Time the models of a genesynth latency kit "
                                            "with ONNX Runtime.")
    p.add_argument("kit", type=Path, help="the kit folder (holds manifest.json)")
    p.add_argument("--out", type=Path, default=Path("results.json"), help="results file")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    p.add_argument("--rounds", type=int, default=2, help="passes over all models (default 2)")
    p.add_argument("--warmup", type=int, default=5, help="untimed runs per model and round")
    p.add_argument("--min-runs", type=int, default=20, help="timed runs per model and round")
    p.add_argument("--max-runs", type=int, default=5000, help="most timed runs per round")
    p.add_argument("--min-time", type=float, default=0.03,
                   help="least seconds of timed runs per model and round (default 0.03)")
    p.add_argument("--seed", type=int, default=0, help="seed of the visiting order")
    p.add_argument("--quiet", dest="progress", action="store_false", help="no progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for name in ("threads", "rounds", "min_runs", "max_runs"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0 or not args.min_time >= 0:
        raise SystemExit("--warmup and --min-time must not be negative")
    results = run(args.kit, args)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"{len(results['models'])} models timed in {results['seconds']} s: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
