"""Benchmark: a network's supernet score against the same network trained alone (issue 26).

    python bench/supernet_teacher.py --space nasbench_macro --data ../shared/cifar10 \\
        --input-shape 3x16x16 --limit 10000 --val-images 1000 --epochs 5 --batch 128
    python bench/supernet_teacher.py --space attonet16 --data digits --epochs 12 --batch 32

The supernet of ``prototypes/<space>.gs`` is trained by ``SupernetEvaluator.prepare`` with the
defaults of ``SupernetConfig`` except ``--epochs`` and ``--batch`` (and the flags that state an
ablation), then each network is scored by the evaluator (inherited weights, batch-norm
recalibration, the first ``--val-images`` validation images) and trained **alone** by
``TrainingEvaluator`` for the same epochs, at the same batch size, on the same training images
(the dataset's proxy learning rate), measured on the same validation images. The networks:
the space's largest (the sandwich's teacher) and smallest, and three others (NAS-Bench-Macro:
fixed encodings; other spaces: seeded random samples). Goal (issue 26): the largest network's
score within 3 points of its stand-alone top-1, every other network within 10. Met with
three supernet seeds at the first command's scale and on digits at 12 epochs (a digits run's
own supernet epochs), not at digits' 4 (docs/supernet.md, *A step per network*).

The gap depends on where the networks alone are on their own curve: ``--epochs 3, 6, 12``
give it against epochs, and ``--alone-epochs N`` trains the networks alone for N epochs
instead (e.g. half the supernet's: docs/supernet.md, *What the rest of the gap is*).
One training alone is itself a sample: at the issue's scale a network's top-1 moves by up to
3.6 points between training seeds. ``--alone-seeds 0,1,2`` trains each network alone with
each seed; the column is their mean, with the range beside it, and the gap is to the mean.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import genesynth
from genesynth.data import load_data, stratified_order
from genesynth.evaluate.base import EvaluatorContext
from genesynth.evaluate.supernet import SupernetConfig, SupernetEvaluator
from genesynth.evaluate.supernet.evaluator import default_config
from genesynth.evaluate.supernet.plan import extreme
from genesynth.evaluate.train import TrainingEvaluator, budgets_of
from genesynth.space.choosers import FixedChooser, RandomChooser

ROOT = Path(__file__).resolve().parent.parent
#: NAS-Bench-Macro encodings (digit d of a layer is option (d + 2) % 3 of the prototype).
ENCODINGS = ("22222222", "11111111", "21211100", "12120210", "00000000")
SHARED = next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared")
               if p.is_dir()), ROOT.parent / "shared")  # beside the clone, or a worktree's
BENCHMARK = SHARED / "benchmarks" / "nas-bench-macro" / "nas-bench-macro_cifar10.json"


def networks(proto: Any, space: str, seed: int) -> dict[str, Any]:
    """Name -> architecture: the largest and smallest first, then three others."""
    if space == "nasbench_macro":
        names = [c.name for c in proto.choices()]
        return {code: proto.sample(chooser=FixedChooser(
            {n: (int(d) + 2) % 3 for n, d in zip(names, code, strict=True)})) for code in ENCODINGS}
    found = {"largest": extreme(proto, largest=True), "smallest": extreme(proto, largest=False)}
    index = 0
    while len(found) < 5:
        arch = proto.sample(chooser=RandomChooser(seed * 7919 + index))
        index += 1
        if arch.key not in {a.key for a in found.values()}:
            found[f"random {len(found) - 1}"] = arch
    return found


def benchmark_accuracy(space: str) -> dict[str, float]:
    """NAS-Bench-Macro's mean CIFAR-10 accuracy (full training) by encoding, when at hand."""
    if space != "nasbench_macro" or not BENCHMARK.exists():
        return {}
    table = json.loads(BENCHMARK.read_text())
    return {code: float(table[code]["mean_acc"]) for code in ENCODINGS if code in table}


def supernet_scores(dataset: Any, proto: Any, archs: dict[str, Any], config: SupernetConfig
                    ) -> tuple[dict[str, float], float]:
    evaluator = SupernetEvaluator(dataset, config)
    began = time.perf_counter()
    context = EvaluatorContext(proto, dataset, None, config.seed, _progress, device="cpu")
    evaluator.prepare(context)
    seconds = time.perf_counter() - began
    return {name: evaluator.evaluate(arch, lambda *_: None).accuracy
            for name, arch in archs.items()}, seconds


def alone(dataset: Any, archs: dict[str, Any], epochs: int, batch: int, seeds: list[int]
          ) -> dict[str, list[float]]:
    """Each network's top-1 trained alone, once per training seed."""
    proxy = budgets_of(dataset)[0]
    found: dict[str, list[float]] = {name: [] for name in archs}
    for seed in seeds:
        budget = replace(proxy, epochs=epochs, batch_size=batch, seed=seed)
        evaluator = TrainingEvaluator(dataset, budget, device="cpu")
        for name, arch in archs.items():
            found[name].append(evaluator.evaluate(arch, lambda *_: None).accuracy)
            print(f"  alone {name} (seed {seed}): {found[name][-1]:.2f}%", flush=True)
    return found


def _progress(event: Any) -> None:
    if getattr(event, "loss", None) is not None and getattr(event, "accuracy", None) is not None:
        print(f"  supernet epoch {event.epoch}/{event.epochs} loss {event.loss:.3f} largest "
              f"{event.accuracy:.2f}% ({event.seconds:.0f} s)", flush=True)


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of ``rows``; ``alone`` is the mean of the top-1 trained alone over
    the seeds in ``alone_runs`` (their range beside it when there are several); a row whose
    ``alone`` is None (``--skip-alone``) shows ``-`` for it and the gap, as one without a
    benchmark figure does."""
    lines = ["| network | benchmark top-1 | MACs | supernet score | trained alone | gap |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        bench = f"{r['benchmark']:.2f}" if r.get("benchmark") is not None else "-"
        runs = r.get("alone_runs") or []
        spread = f" ({min(runs):.1f}-{max(runs):.1f})" if len(runs) > 1 else ""
        alone, gap = ((f"{r['alone']:.1f} %{spread}", f"{r['alone'] - r['score']:+.1f}")
                      if r.get("alone") is not None else ("-", "-"))
        lines.append(f"| {r['network']} | {bench} | {r['macs'] / 1e6:.1f} M | "
                     f"{r['score']:.1f} % | {alone} | {gap} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="attonet16", help="a prototype in prototypes/")
    parser.add_argument("--data", default="digits", help="digits or a dataset path")
    parser.add_argument("--input-shape", default=None, help="CxHxW, e.g. 3x16x16")
    parser.add_argument("--limit", type=int, default=None, help="training images")
    parser.add_argument("--val-images", type=int, default=None,
                        help="validation images both are measured on (default: all)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=None, help="default: the supernet's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="another SupernetConfig setting (an ablation), e.g. lr=0.004")
    parser.add_argument("--alone-epochs", type=int, default=None,
                        help="epochs of the networks trained alone (default: --epochs)")
    parser.add_argument("--alone-seeds", default="0",
                        help="training seeds of the networks alone, e.g. 0,1,2 (the mean counts)")
    parser.add_argument("--skip-alone", action="store_true", help="only the supernet's scores")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.input_shape.split("x")) if args.input_shape else None
    dataset = load_data(args.data, shape, seed=args.seed, limit=args.limit)  # type: ignore[arg-type]
    if args.val_images:  # every class in proportion: an image folder's split is sorted
        keep = stratified_order(dataset.val.y, np.random.default_rng(args.seed))
        keep = np.sort(keep[: args.val_images])
        dataset = replace(dataset, val=replace(dataset.val, x=dataset.val.x[keep],
                                               y=dataset.val.y[keep]))
    proto = genesynth.load_prototype(ROOT / "prototypes" / f"{args.space}.gs").with_overrides(
        input_shape=dataset.input_shape, classes=dataset.classes)
    base = default_config(dataset)
    settings = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    config = replace(base, **{"epochs": args.epochs, "batch_size": args.batch or base.batch_size,
                              "seed": args.seed, "score_images": None, **settings})
    print(f"{args.space} on {dataset.name} {dataset.input_shape}: train {len(dataset.train)} "
          f"val {len(dataset.val)}; supernet {config}", flush=True)
    archs = networks(proto, args.space, args.seed)
    scores, seconds = supernet_scores(dataset, proto, archs, config)
    seeds = [int(v) for v in args.alone_seeds.split(",")]
    stand = ({} if args.skip_alone else
             alone(dataset, archs, args.alone_epochs or config.epochs, config.batch_size, seeds))
    bench = benchmark_accuracy(args.space)
    rows = [{"network": name, "macs": genesynth.cost(arch).macs, "score": scores[name],
             "alone": float(np.mean(stand[name])) if name in stand else None,
             "alone_runs": stand.get(name), "benchmark": bench.get(name)}
            for name, arch in archs.items()]
    print(f"supernet trained in {seconds:.0f} s")
    print(table(rows), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"config": config.to_dict(), "rows": rows,
                                               "alone_epochs": args.alone_epochs or config.epochs,
                                               "supernet_s": seconds}, indent=1))


if __name__ == "__main__":
    main()
