"""Benchmark: a fixed synthesis on the embedded digits data, next to fixed baselines.

    python bench/synthesis.py [--trials 40] [--out runs/bench-synthesis] [--no-baselines]

Prints trials per minute; the share of trials rejected analytically, pruned, de-duplicated
and invalid; and the family's accuracy / MACs / params / NetScore next to MobileNetV1/V2,
ShuffleNetV2 and ResNet-18 trained with the family's full budget on the same splits. Every
figure comes from one run on one machine, so the rows compare side by side.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import optuna
from baselines import measure_baselines

import genesynth
from genesynth.evaluate.train import TrainingEvaluator, budgets_of

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ("mobilenetv1", "mobilenetv2", "shufflenetv2", "resnet18")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-synthesis")
    parser.add_argument("--prototype", default=str(ROOT / "prototypes" / "attonet16.gs"))
    parser.add_argument("--constraint", default=str(ROOT / "constraints" / "digits.toml"))
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    shutil.rmtree(args.out, ignore_errors=True)

    start = time.perf_counter()
    result = genesynth.synthesize(args.prototype, args.constraint, trials=args.trials,
                                  out=args.out, seed=0)
    seconds = time.perf_counter() - start
    search_seconds = sum(t.user_attrs.get("seconds", 0.0) for t in result.trials)
    states = Counter(t.user_attrs.get("state", "interrupted") for t in result.trials)
    total = len(result.trials)
    print(f"\nsynthesis: {total} trials in {search_seconds:.0f} s of search "
          f"({60 * total / max(search_seconds, 1e-9):.1f} trials/min); {seconds:.0f} s with "
          "the family retrained")
    for state in ("complete", "infeasible", "pruned", "duplicate", "invalid", "failed"):
        print(f"  {state:<10} {states[state]:>4}  {100 * states[state] / total:5.1f} %")

    rows = [_member_row(m) for m in result.family]
    if not args.no_baselines:
        evaluator = result_evaluator(args, result)
        paths = [ROOT / "prototypes" / f"{name}.gs" for name in BASELINES]
        constraint = genesynth.load_constraint(args.constraint)
        rows += [_baseline_row(b) for b in measure_baselines(paths, evaluator, constraint,
                                                             out=args.out)]
    print(f"\n{'network':<14}{'top-1 %':>9}{'params':>12}{'MACs':>14}{'NetScore':>10}  feasible")
    for name, acc, params, macs, score, ok in rows:
        print(f"{name:<14}{acc:>9.2f}{params:>12,}{macs:>14,}{score:>10.2f}  {ok}")
    genesynth.write_report(args.out)


def result_evaluator(args: argparse.Namespace, result: genesynth.SynthesisResult
                     ) -> TrainingEvaluator:
    """The same data and full budget the family was retrained with."""
    data = genesynth.load_data("digits", seed=0)
    proxy, full = budgets_of(data)
    return TrainingEvaluator(data, replace(proxy, seed=0), replace(full, seed=0))


def _member_row(m: genesynth.Member) -> tuple[str, float, int, int, float, bool]:
    return (f"AttoNet-{m.label}", m.accuracy, m.params, m.macs, m.utility, m.feasible)


def _baseline_row(b: dict) -> tuple[str, float, int, int, float, bool]:
    return (b["name"], b["accuracy"], b["params"], b["macs"], b["utility"], b["feasible"])


if __name__ == "__main__":
    main()
