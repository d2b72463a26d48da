"""Benchmark: how well the supernet ranks networks, against ground truth (NAS-Bench-Macro).

    OMP_NUM_THREADS=1 nice -n 10 python bench/fidelity.py --data ../shared/cifar10 \\
        --table ../shared/benchmarks/nas-bench-macro/nas-bench-macro_cifar10.json \\
        --input-shape 3x16x16 --limit 5000 --supernet-epochs 2 --candidates 300

Trains the supernet of ``prototypes/nasbench_macro.gs`` on CIFAR-10 (``--input-shape`` and
``--limit`` are the data settings users have: ``--input-shape`` and the subset of
docs/datasets.md) within the budget given, scores ``--candidates`` distinct random networks of
the space on it, and prints Kendall tau-b against the benchmark's mean test accuracy (each
encoding trained to the end three times; a network's accuracy is the mean over the encodings
that build it): over all of them, within the top 10 % (by the benchmark), and among those
under a MACs bound (``--max-macs``, by default the median of the candidates) -- beside the
free rankings on the same candidates: MACs alone, params alone, and minus the number of
identity layers. ``--proxy-seconds S`` also proxy-trains candidates (stand-alone, the
training evaluator, ``--proxy-epochs`` of the data's proxy budget each, 1 by default, at
``--proxy-batch``) for ``S`` seconds of CPU in total (give it the supernet's), and ranks
those it reached, beside the supernet and MACs on the same networks, with the supernet's
tau against the networks trained alone (a subset it reached fewer than 3 networks of gets no
proxy figure). At the supernet's own epochs and batch this asks whether the supernet ranks
worse than its own scale allows: docs/supernet.md, *What ranks as well as the scale allows*.
Every figure is printed with the settings that gave it; ``--json`` keeps them.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

import genesynth
from genesynth.data import load_data
from genesynth.evaluate.supernet import SupernetEvaluator
from genesynth.evaluate.supernet.evaluator import default_config
from genesynth.evaluate.train import TrainingEvaluator, budgets_of
from genesynth.events import SupernetProgress
from genesynth.record.fidelity import tau_interval
from genesynth.space import FixedChooser

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
from bench.search_efficiency import nasbench_table  # noqa: E402


def _progress(event: Any) -> None:
    if isinstance(event, SupernetProgress) and not event.steps and event.loss is not None:
        print(f"  supernet epoch {event.epoch}/{event.epochs} loss {event.loss:.4f} largest "
              f"val {event.accuracy:.2f}% [{event.seconds:.0f} s]", flush=True)


def candidates(proto: Any, count: int, seed: int) -> list[tuple[dict[str, int], Any]]:
    """``count`` distinct networks of the space (by canonical key), drawn uniformly from the
    benchmark's encodings, with the choices that make them."""
    names = [c.name for c in proto.choices()]
    rng = random.Random(seed)
    found: dict[str, tuple[dict[str, int], Any]] = {}
    for _ in range(count * 20):
        if len(found) == count:
            break
        values = {n: rng.randrange(3) for n in names}
        arch = proto.sample(chooser=FixedChooser(values))
        found.setdefault(arch.key, (values, arch))
    return list(found.values())


def shuffled(dataset: Any, seed: int) -> Any:
    """``dataset`` with its train and validation splits in a random (seeded) order."""
    rng = np.random.default_rng(seed)

    def mixed(split: Any) -> Any:
        order = rng.permutation(len(split.y))
        return replace(split, x=split.x[order], y=split.y[order])

    return replace(dataset, train=mixed(dataset.train), val=mixed(dataset.val))


def identities(values: dict[str, int]) -> int:
    """Identity layers (option 2, ``skip``, of a slot): the benchmark's best free ranking is
    minus their count."""
    return sum(value == 2 for value in values.values())


def _rounded(found: tuple[float, float, float]) -> tuple[float, float, float]:
    tau, low, high = found
    return round(tau, 3), round(low, 3), round(high, 3)


def taus(rows: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    truth = [r["truth"] for r in rows]
    out = {}
    for name, values in (("supernet", [r["score"] for r in rows]),
                         ("MACs", [float(r["macs"]) for r in rows]),
                         ("params", [float(r["params"]) for r in rows]),
                         ("-identities", [-float(r["identities"]) for r in rows]),
                         *((("proxy", [r["proxy"] for r in rows]),) if all(
                             "proxy" in r for r in rows) else ())):
        out[name] = _rounded(tau_interval(values, truth, seed))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(SHARED / "cifar10"))
    parser.add_argument("--table", default=str(
        SHARED / "benchmarks" / "nas-bench-macro" / "nas-bench-macro_cifar10.json"))
    parser.add_argument("--input-shape", default="3x16x16")
    parser.add_argument("--limit", type=int, default=5000, help="training subset (images)")
    parser.add_argument("--val-fraction", type=float, default=None)
    parser.add_argument("--supernet-epochs", type=int, default=2)
    parser.add_argument("--supernet-batch", type=int, default=128)
    parser.add_argument("--score-images", type=int, default=None,
                        help="validation images a score reads (default: all)")
    parser.add_argument("--calibration-batches", type=int, default=4)
    parser.add_argument("--shuffle-splits", action="store_true",
                        help="put the train and validation splits in a random order first (an "
                             "image folder's splits are sorted by class; until issue 26's "
                             "fix, batch norm calibrated on the first batches saw one class)")
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--max-macs", type=int, default=None)
    parser.add_argument("--proxy-seconds", type=float, default=0.0)
    parser.add_argument("--proxy-epochs", type=int, default=1)
    parser.add_argument("--proxy-batch", type=int, default=None,
                        help="default: the data's proxy budget's")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", default=None, help="keep (and reuse) the checkpoint here")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.input_shape.split("x"))
    fraction = {"val_fraction": args.val_fraction} if args.val_fraction else {}
    dataset = load_data(args.data, shape, seed=args.seed, limit=args.limit,  # type: ignore[arg-type]
                        **fraction)
    if args.shuffle_splits:
        dataset = shuffled(dataset, args.seed)
    proto = genesynth.load_prototype(ROOT / "prototypes" / "nasbench_macro.gs").with_overrides(
        input_shape=dataset.input_shape, classes=dataset.classes)
    full = genesynth.load_prototype(ROOT / "prototypes" / "nasbench_macro.gs")
    with tempfile.TemporaryDirectory() as tmp:
        _, table = nasbench_table(full, Path(args.table), Path(tmp))
    print(f"data {dataset.name} {dataset.input_shape} train {len(dataset.train)} val "
          f"{len(dataset.val)}; {len(table)} networks in the table", flush=True)
    config = replace(default_config(dataset), epochs=args.supernet_epochs,  # the run's lr
                     batch_size=args.supernet_batch, score_images=args.score_images,
                     threads=args.threads, calibration_batches=args.calibration_batches,
                     seed=args.seed)
    evaluator = SupernetEvaluator(dataset, config, checks=0)
    began, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(args.run_dir or tmp)
        run_dir.mkdir(parents=True, exist_ok=True)
        evaluator.prepare(SimpleNamespace(prototype=proto, dataset=dataset, run_dir=run_dir,
                                          seed=args.seed, emit=_progress, constraint=None,
                                          device=None, compile=None))
    train_s, train_cpu = time.perf_counter() - began, time.process_time() - cpu
    print(f"supernet trained: {train_s:.0f} s wall, {train_cpu:.0f} s CPU", flush=True)
    rows = score_all(args, proto, full, table, evaluator)
    if args.proxy_seconds > 0:
        proxy_rows(args, dataset, proto, rows)
    report(args, rows, {"supernet_train_wall_s": round(train_s), "supernet_train_cpu_s":
                        round(train_cpu), "supernet": config.to_dict(), "limit": args.limit,
                        "input_shape": args.input_shape})


def score_all(args: argparse.Namespace, proto: Any, full: Any, table: dict[str, Any],
              evaluator: SupernetEvaluator) -> list[dict[str, Any]]:
    rows = []
    began = time.perf_counter()
    for values, arch in candidates(proto, args.candidates, args.seed):
        truth_key = full.sample(chooser=FixedChooser(values)).key
        truth, params, macs = table[truth_key]  # the benchmark's own costs (at 32x32)
        m = evaluator.evaluate(arch, lambda *_: None)
        rows.append({"key": truth_key, "score": m.accuracy, "truth": truth, "macs": macs,
                     "params": params, "identities": identities(values), "arch": arch})
        if len(rows) % 50 == 0:
            print(f"  {len(rows)} scored, {time.perf_counter() - began:.0f} s", flush=True)
    print(f"scored {len(rows)} networks: {(time.perf_counter() - began) / len(rows):.2f} s "
          "each", flush=True)
    return rows


def proxy_rows(args: argparse.Namespace, dataset: Any, proto: Any,
               rows: list[dict[str, Any]]) -> None:
    """Proxy-train candidates (``--proxy-epochs`` of the data's proxy budget) until
    ``--proxy-seconds`` are spent; rows it did not reach are left without a proxy figure."""
    default = budgets_of(dataset)[0]
    proxy = replace(default, epochs=args.proxy_epochs,
                    batch_size=args.proxy_batch or default.batch_size,
                    threads=args.threads, seed=args.seed)
    trainer = TrainingEvaluator(dataset, proxy)
    began = time.process_time()
    for row in rows:
        if time.process_time() - began > args.proxy_seconds:
            break
        row["proxy"] = trainer.evaluate(row["arch"], lambda *_: None).accuracy
    done = sum("proxy" in r for r in rows)
    print(f"proxy-trained {done} of {len(rows)} networks in {args.proxy_seconds:.0f} s CPU",
          flush=True)


def report(args: argparse.Namespace, rows: list[dict[str, Any]], facts: dict[str, Any]
           ) -> None:
    ranked = sorted(rows, key=lambda r: r["truth"], reverse=True)
    top = ranked[: max(3, len(rows) // 10)]
    bound = args.max_macs or sorted(r["macs"] for r in rows)[len(rows) // 2]
    under = [r for r in rows if r["macs"] <= bound]
    subsets = {"all": rows, "top 10 %": top, f"MACs <= {bound / 1e6:.0f}M": under}
    figures: dict[str, Any] = {**facts, "candidates": len(rows), "subsets": {}}
    print(f"\nKendall tau-b vs NAS-Bench-Macro mean accuracy (90 % bootstrap interval); "
          f"{facts}")
    for name, subset in subsets.items():
        found = taus(subset, args.seed)
        proxied = [r for r in subset if "proxy" in r]
        if 3 <= len(proxied) < len(subset):  # the proxy and the rest on the networks it reached
            same = taus(proxied, args.seed)
            found.update({"proxy": same["proxy"], "supernet on those": same["supernet"],
                          "MACs on those": same["MACs"], "supernet vs proxy": _rounded(
                              tau_interval([r["score"] for r in proxied],
                                           [r["proxy"] for r in proxied], args.seed)),
                          "proxy_n": len(proxied)})
        figures["subsets"][name] = {"n": len(subset), **found}
        shown = "  ".join(f"{k} {v[0]:+.3f} [{v[1]:+.2f}, {v[2]:+.2f}]" for k, v in found.items()
                          if isinstance(v, tuple))
        print(f"  {name:14s} n={len(subset):3d}  {shown}", flush=True)
    if args.json:
        for row in rows:
            row.pop("arch", None)
        Path(args.json).write_text(json.dumps({**figures, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
