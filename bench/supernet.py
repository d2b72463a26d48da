"""Benchmark: the weight-sharing supernet against stand-alone proxy training.

    python bench/supernet.py --data digits --candidates 30
    python bench/supernet.py --data ../shared/cifar10 --limit 5000 --candidates 30 \\
        --supernet-epochs 2 --proxy-epochs 1
    python bench/supernet.py --data ../shared/cifar10 --limit 5000 --part c --trials 300
    python bench/supernet.py --data digits --part abf --proxy-seeds 2 --members 5

(a) rank fidelity: Kendall tau-b between the supernet's top-1 and stand-alone proxy-trained
top-1 over ``--candidates`` distinct random AttoNet-16 samples that meet the constraint's static
bounds; (b) the cost of one candidate's score against its proxy training, both measured in this
run on the same candidates, as a ratio; (c) an end-to-end synthesis with the supernet evaluator
and ``--trials`` trials: wall time of its search phase (supernet training + trials).
With ``--proxy-seeds 2`` part (a) also proxy-trains every candidate with a second seed and
reports the seed-to-seed Kendall tau of the proxy itself: the most a score can agree with one
proxy run. Part (f) retrains ``--members`` candidates with the full budget from scratch and
fine-tuned from their inherited weights: test top-1 and time of each.
Every size is a flag; the figures are printed with the settings that gave them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import genesynth
from genesynth.data import load_data
from genesynth.errors import ShapeError
from genesynth.evaluate.supernet import SupernetConfig, SupernetEvaluator, weights
from genesynth.evaluate.supernet.evaluator import DEFAULT_SUPERNET, SUPERNET_BUDGETS
from genesynth.evaluate.supernet.train import spread
from genesynth.evaluate.train import Tensors, TrainingEvaluator, budgets_of
from genesynth.events import SupernetProgress
from genesynth.record.fidelity import kendall_tau
from genesynth.space.choosers import RandomChooser

ROOT = Path(__file__).resolve().parent.parent


def _context(prototype: Any, dataset: Any, run_dir: Any, seed: int, emit: Any) -> Any:
    """What the evaluator contract's prepare(context) passes (EvaluatorContext)."""
    return SimpleNamespace(prototype=prototype, dataset=dataset, run_dir=run_dir, seed=seed,
                           emit=emit, device=None, compile=None, constraint=None)


def candidates(proto: Any, rule: Any, count: int, seed: int) -> list[Any]:
    """``count`` distinct random samples that meet the static bounds."""
    found: dict[str, Any] = {}
    for index in range(count * 200):
        if len(found) == count:
            break
        try:
            arch = proto.sample(chooser=RandomChooser(seed * 7919 + index))
        except ShapeError:
            continue
        c = genesynth.cost(arch)
        if not list(rule.static_violations(c.params, c.macs)):
            found.setdefault(arch.key, arch)
    return list(found.values())


def fidelity(args: argparse.Namespace, dataset: Any, proto: Any, rule: Any) -> dict[str, Any]:
    """Parts (a) and (b)."""
    config = _supernet_config(args, dataset)
    full_default = budgets_of(dataset)[1]
    full = replace(full_default, epochs=args.full_epochs or full_default.epochs, seed=args.seed)
    supernet = SupernetEvaluator(_spread(dataset, args.supernet_limit, args.seed), config, full)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(args.run_dir or tmp)  # --run-dir keeps the checkpoint; a rerun loads it
        supernet.prepare(_context(proto, dataset, run_dir, args.seed, _progress))
    train_seconds = time.perf_counter() - began
    proxy_default = budgets_of(dataset)[0]
    proxy = replace(proxy_default, epochs=args.proxy_epochs or proxy_default.epochs)
    seeds = [replace(proxy, seed=args.seed + extra) for extra in range(args.proxy_seeds)]
    cache = ProxyCache(args.proxy_cache, dataset)
    rows = []
    archs = candidates(proto, rule, args.candidates, args.seed)
    for number, arch in enumerate(archs):
        scored = supernet.evaluate(arch, lambda *_: None)
        runs = [cache.run(arch, budget) for budget in seeds]
        rows.append({"key": arch.key, "macs": scored.macs, "supernet": scored.accuracy,
                     "proxy": runs[0]["accuracy"], "score_s": scored.seconds,
                     "proxy_s": runs[0]["seconds"], "proxy_cached": runs[0]["cached"],
                     "proxy_seeds": [r["accuracy"] for r in runs]})
        others = " ".join(f"{r['accuracy']:6.2f}%" for r in runs[1:])
        cached = " cached" if runs[0]["cached"] else ""
        print(f"  {number + 1:3d} {arch.key} MACs {scored.macs:>10,} supernet "
              f"{scored.accuracy:6.2f}% ({scored.seconds:6.2f} s)  proxy "
              f"{runs[0]['accuracy']:6.2f}% ({runs[0]['seconds']:7.2f} s{cached}) {others}",
              flush=True)
    figures = _fidelity_figures(rows)
    figures.update({"supernet_train_s": round(train_seconds, 1), "proxy_epochs": seeds[0].epochs,
                    "supernet": config.to_dict(), "supernet_limit": args.supernet_limit,
                    "rows": rows})
    if "f" in args.part:
        figures["members"] = members(supernet, archs[: args.members])
    return figures


class ProxyCache:
    """Proxy trainings by (data, candidate, budget), kept in a JSON-lines file between runs
    (``--proxy-cache``): a bench that changes the supernet reuses the proxies of the last one.
    A cached run's seconds are not this run's: the cost ratio counts fresh runs only."""

    def __init__(self, path: str | None, dataset: Any) -> None:
        self.path = Path(path) if path else None
        self.dataset = dataset
        self.data = json.dumps(dataset.describe(), sort_keys=True)
        self.found: dict[str, dict[str, Any]] = {}
        if self.path is not None and self.path.exists():
            for line in self.path.read_text().splitlines():
                entry = json.loads(line)
                self.found[entry["id"]] = entry

    def run(self, arch: Any, budget: Any) -> dict[str, Any]:
        token = json.dumps([self.data, arch.key, budget.to_dict()], sort_keys=True)
        key = hashlib.sha256(token.encode()).hexdigest()[:24]
        if key in self.found:
            return {**self.found[key], "cached": True}
        measured = TrainingEvaluator(self.dataset, budget).evaluate(arch, lambda *_: None)
        entry = {"id": key, "key": arch.key, "accuracy": measured.accuracy,
                 "seconds": measured.seconds}
        self.found[key] = entry
        if self.path is not None:
            with self.path.open("a") as handle:
                handle.write(json.dumps(entry) + "\n")
        return {**entry, "cached": False}


def _spread(dataset: Any, count: int | None, seed: int) -> Any:
    """``dataset`` with ``count`` of its training images, every class in proportion (the
    supernet's; proxies train on all of them), or itself. Not the first ``count``: an image
    folder's split is sorted by class (CIFAR-10's first 5,000 are airplanes)."""
    if not count:
        return dataset
    train = spread(Tensors.of(dataset.train), count, seed)
    return replace(dataset, train=replace(dataset.train, x=train.x.numpy(), y=train.y.numpy()))


def _fidelity_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Kendall tau of the scores against the first proxy seed and against the mean of the
    seeds, of the proxy seeds against each other (the ceiling), of both against MACs (what
    ranking by size alone would give), and the cost ratio over the fresh proxy runs."""
    scores = [r["supernet"] for r in rows]
    mean = [sum(r["proxy_seeds"]) / len(r["proxy_seeds"]) for r in rows]
    macs = [float(r["macs"]) for r in rows]
    fresh = [r for r in rows if not r["proxy_cached"]]
    score_s = sum(r["score_s"] for r in rows) / len(rows)
    found: dict[str, Any] = {
        "candidates": len(rows),
        "kendall_tau": round(kendall_tau(scores, [r["proxy"] for r in rows]), 3),
        "kendall_tau_proxy_mean": round(kendall_tau(scores, mean), 3),
        "kendall_tau_macs": {"supernet": round(kendall_tau(scores, macs), 3),
                             "proxy_mean": round(kendall_tau(mean, macs), 3)},
        "score_s": round(score_s, 3)}
    if fresh:
        proxy_s = sum(r["proxy_s"] for r in fresh) / len(fresh)
        found.update({"proxy_s": round(proxy_s, 2), "fresh_proxies": len(fresh),
                      "score_vs_proxy": round(proxy_s / score_s, 1)})
    seeds = len(rows[0]["proxy_seeds"])
    if seeds > 1:
        runs = [[r["proxy_seeds"][i] for r in rows] for i in range(seeds)]
        found["proxy_seed_tau"] = [round(kendall_tau(runs[0], run), 3) for run in runs[1:]]
        found["supernet_tau_per_seed"] = [round(kendall_tau(scores, run), 3) for run in runs]
    return found


def members(supernet: SupernetEvaluator, archs: list[Any]) -> list[dict[str, Any]]:
    """Part (f): each member retrained with the full budget, from scratch and fine-tuned from
    its inherited weights; test top-1 and seconds of each."""
    found = []
    for arch in archs:
        row: dict[str, Any] = {"key": arch.key}
        for how, finetune in (("scratch", False), ("finetune", True)):
            supernet.finetune = finetune
            measured, _ = supernet.retrain(arch, lambda *_: None)
            row[how] = round(measured.accuracy, 2)
            row[f"{how}_s"] = round(measured.seconds, 1)
        print(f"  member {arch.key} scratch {row['scratch']:6.2f}% ({row['scratch_s']} s) "
              f"fine-tuned {row['finetune']:6.2f}% ({row['finetune_s']} s)", flush=True)
        found.append(row)
    supernet.finetune = False
    return found


def end_to_end(args: argparse.Namespace, dataset: Any, proto: Any, rule: Any) -> dict[str, Any]:
    """Part (c): the search phase of a synthesis with the supernet evaluator."""
    marks: dict[str, float] = {}

    def listen(event: Any) -> None:
        if isinstance(event, SupernetProgress):
            _progress(event)
            if event.ready:
                marks["supernet"] = time.perf_counter()
        name = type(event).__name__
        if name in ("FamilyStarted", "RunFinished") and "search" not in marks:
            marks["search"] = time.perf_counter()

    evaluator = SupernetEvaluator(dataset, _supernet_config(args, dataset),
                                  replace(budgets_of(dataset)[1], epochs=1))
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = genesynth.synthesize(proto, rule, dataset, trials=args.trials, out=tmp,
                                      evaluator=evaluator, seed=args.seed, listeners=[listen],
                                      family_size=1)
    search = marks.get("search", time.perf_counter()) - began
    supernet = marks.get("supernet", began) - began
    return {"trials": args.trials, "search_phase_s": round(search, 1),
            "supernet_s": round(supernet, 1), "trials_s": round(search - supernet, 1),
            "per_trial_s": round((search - supernet) / args.trials, 3),
            "family": len(getattr(result, "family", []) or [])}


def _supernet_config(args: argparse.Namespace, dataset: Any) -> SupernetConfig:
    base = SUPERNET_BUDGETS.get(dataset.name, DEFAULT_SUPERNET)
    return replace(base, epochs=args.supernet_epochs or base.epochs,
                   plan_samples=args.plan_samples, seed=args.seed,
                   random=base.random if args.random is None else args.random,
                   calibration_batches=args.calibration_batches or base.calibration_batches)


def _progress(event: Any) -> None:
    if isinstance(event, SupernetProgress) and event.loss is not None:
        print(f"  supernet epoch {event.epoch}/{event.epochs} loss {event.loss:.3f} largest "
              f"{event.accuracy:.2f}% ({event.seconds:.0f} s, ETA {event.eta or 0:.0f} s)",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="digits", help="digits or a dataset path")
    parser.add_argument("--limit", type=int, default=None, help="use at most N source images")
    parser.add_argument("--val-fraction", type=float, default=0.15,
                        help="fraction of the source held out for validation (CIFAR-10: the "
                             "validation images are most of a score's cost)")
    parser.add_argument("--input-shape", default=None, help="CxHxW, e.g. 3x32x32")
    parser.add_argument("--constraint", default=None, help="default: digits.toml for digits")
    parser.add_argument("--candidates", type=int, default=30)
    parser.add_argument("--supernet-epochs", type=int, default=None)
    parser.add_argument("--proxy-epochs", type=int, default=None)
    parser.add_argument("--plan-samples", type=int, default=256)
    parser.add_argument("--random", type=int, default=None,
                        help="random samples per supernet step besides the largest and smallest")
    parser.add_argument("--calibration-batches", type=int, default=None)
    parser.add_argument("--run-dir", default=None,
                        help="keep the supernet checkpoint here (a rerun loads it)")
    parser.add_argument("--proxy-seeds", type=int, default=1,
                        help="proxy-train each candidate with this many seeds (2: the ceiling)")
    parser.add_argument("--members", type=int, default=5, help="members of part (f)")
    parser.add_argument("--full-epochs", type=int, default=None, help="members' full budget")
    parser.add_argument("--trials", type=int, default=300, help="trials of part (c)")
    parser.add_argument("--part", default="ab",
                        help="a/b (fidelity, cost), f (members: fine-tune vs scratch), c")
    parser.add_argument("--proxy-cache", default=None,
                        help="keep proxy results in this JSON-lines file and reuse them")
    parser.add_argument("--supernet-limit", type=int, default=None,
                        help="train the supernet on N training images only, every class in "
                             "proportion (the proxies train on all: part (b) at full scale "
                             "on this CPU)")
    parser.add_argument("--no-identity-shortcuts", action="store_true",
                        help="ablation: projecting shortcuts start random, not as the identity")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.no_identity_shortcuts:
        weights._projects = lambda name, size: False
    shape = tuple(int(v) for v in args.input_shape.split("x")) if args.input_shape else None
    dataset = load_data(args.data, shape, seed=args.seed, limit=args.limit,  # type: ignore[arg-type]
                        val_fraction=args.val_fraction)
    proto = genesynth.load_prototype(ROOT / "prototypes" / "attonet16.gs").with_overrides(
        input_shape=dataset.input_shape, classes=dataset.classes)
    constraint = args.constraint or ROOT / "constraints" / (
        "digits.toml" if dataset.name == "digits" else "imagenet50.toml")
    rule = genesynth.load_constraint(constraint)
    print(f"data {dataset.name} {dataset.input_shape} train {len(dataset.train)} val "
          f"{len(dataset.val)}; constraint {constraint}", flush=True)
    figures: dict[str, Any] = {"data": dataset.name, "limit": args.limit}
    if any(part in args.part for part in "abf"):
        figures["fidelity"] = fidelity(args, dataset, proto, rule)
        shown = {k: v for k, v in figures["fidelity"].items() if k != "rows"}
        print(json.dumps(shown, indent=1), flush=True)
    if "c" in args.part:
        figures["end_to_end"] = end_to_end(args, dataset, proto, rule)
        print(json.dumps(figures["end_to_end"], indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
