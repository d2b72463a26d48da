"""How many family members a prototype and its data can give, measured: networks spread
over the constraint's MACs range, each retrained with the family's own full budget (the
evaluator and epochs a run's members get), their test top-1, and the longest family the
rule allows among them: members at least 20 % apart in MACs (``selection.MIN_GAP``), none
beating or equalling another on top-1, params and MACs (the promise a run's retrained
family keeps).

When the longest such family is short over every training seed, a run cannot give more
members whatever its search does: the data does not reward the prototype's larger networks.

    OMP_NUM_THREADS=1 python bench/family_front.py prototypes/attonet16.gs \\
        --constraint constraints/digits.toml --networks 16 --seeds 0 1
"""

from __future__ import annotations

import argparse
import math
import random
import time
from dataclasses import replace
from typing import Any

import torch

from genesynth.data import load_data
from genesynth.evaluate.train import TrainingEvaluator
from genesynth.goal.constraint import load_constraint
from genesynth.record.fidelity import kendall_tau
from genesynth.record.selection import MIN_GAP, beats
from genesynth.space import load_prototype
from genesynth.space.pool import Entry, MutatingChooser, Pool


def spread(entries: list[Entry], count: int) -> list[Entry]:
    """``count`` entries at evenly spaced log-MACs over the range (distinct, smallest first)."""
    ranked = sorted(entries, key=lambda e: (e.macs, e.key))
    low, high = math.log(ranked[0].macs), math.log(ranked[-1].macs)
    chosen: dict[str, Entry] = {}
    for i in range(count):
        target = low + (high - low) * i / max(1, count - 1)
        best = min((e for e in ranked if e.key not in chosen),
                   key=lambda e: abs(math.log(e.macs) - target))
        chosen[best.key] = best
    return sorted(chosen.values(), key=lambda e: e.macs)


def longest_family(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The longest family the rule could form from ``rows``: A the most accurate (ties: fewer
    MACs), then members each at most 80 % of the MACs of the one above, no member beating or
    equalling another (dynamic programming over MACs, largest first)."""
    if not rows:
        return []
    top = min(rows, key=lambda r: (-r["top1"], r["macs"]))
    order = [top] + sorted((r for r in rows if r["macs"] <= (1 - MIN_GAP) * top["macs"]),
                           key=lambda r: -r["macs"])
    best: list[list[dict[str, Any]]] = [[top]]
    for i, row in enumerate(order[1:], start=1):
        chains = [best[j] for j in range(i)
                  if row["macs"] <= (1 - MIN_GAP) * order[j]["macs"]
                  and not any(_beats(row, m) or _beats(m, row) for m in best[j])]
        best.append(max(chains, key=len, default=[]) + [row] if chains else [])
    return max(best, key=len)


def _beats(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return beats(_M(a), _M(b))


class _M:
    def __init__(self, row: dict[str, Any]) -> None:
        self.accuracy, self.params, self.macs = row["top1"], row["params"], row["macs"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prototype")
    parser.add_argument("--constraint", required=True)
    parser.add_argument("--data", default="digits")
    parser.add_argument("--networks", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--pool", type=int, default=4000, help="networks drawn to spread from")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = load_data(args.data)
    proto = load_prototype(args.prototype, dataset.input_shape, dataset.classes)
    rule = load_constraint(args.constraint)
    pool = Pool(proto, random.Random(0), start=args.pool)
    inside = pool.inside(rule)
    picked = spread(inside, args.networks)
    print(f"{proto.name} on {dataset.name}: {len(inside)} of {len(pool.entries)} drawn "
          f"networks inside the bounds, MACs {min(e.macs for e in inside):,}.."
          f"{max(e.macs for e in inside):,}; {len(picked)} spread over them")
    by_seed: dict[int, list[float]] = {}
    for seed in args.seeds:
        evaluator = TrainingEvaluator(dataset, device="cpu")
        evaluator.full = replace(evaluator.full, seed=seed)
        rows = []
        began = time.perf_counter()
        for entry in picked:
            arch = proto.sample(chooser=MutatingChooser(entry.values, random.Random(0), 0.0))

            measured, _ = evaluator.retrain(arch, lambda *_: None)
            rows.append({"macs": entry.macs, "params": entry.params, "top1": measured.accuracy,
                         "feasible": rule.feasible(measured)})
            print(f"  seed {seed}  MACs {entry.macs:>10,}  params {entry.params:>7,}  "
                  f"test top-1 {measured.accuracy:6.2f}%", flush=True)
        by_seed[seed] = [r["top1"] for r in rows]
        print(f"seed {seed}: Kendall tau of test top-1 against MACs "
              f"{kendall_tau([float(e.macs) for e in picked], by_seed[seed]):.2f}")
        family = longest_family([r for r in rows if r["feasible"]])
        print(f"seed {seed}: {len(rows)} networks retrained ({evaluator.full.epochs} epochs) in "
              f"{time.perf_counter() - began:.0f} s; longest family: {len(family)} member(s): "
              + ", ".join(f"{r['macs']:,} MACs {r['top1']:.2f}%" for r in family))
    agreement(by_seed)


def agreement(by_seed: dict[int, list[float]]) -> None:
    """How far one training seed's ranking of the networks agrees with another's."""
    seeds = sorted(by_seed)
    for a, b in zip(seeds, seeds[1:], strict=False):
        diffs = [abs(x - y) for x, y in zip(by_seed[a], by_seed[b], strict=True)]
        print(f"seeds {a} and {b}: Kendall tau {kendall_tau(by_seed[a], by_seed[b]):.2f}; "
              f"the same network's top-1 differs by {sum(diffs) / len(diffs):.2f} points on "
              f"average, {max(diffs):.2f} at most")


if __name__ == "__main__":
    main()
