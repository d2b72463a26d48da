"""Benchmark: evaluations a sampler needs to find the best feasible network (NAS-Bench-Macro).

    python bench/search_efficiency.py [--seeds 20] [--evaluations 100] [--problems all]
        [--samplers bayes,tpe,gp,random] [--gp-seeds 2]

The NAS-Bench-Macro space is ``prototypes/nasbench_macro.gs`` (its 6,561 encodings' params and
MACs equal the benchmark's; 3,969 distinct networks by canonical key); a network's accuracy is
the mean over the encodings that build it. Every run goes through the public API
(``genesynth.synthesize`` with a ``TableEvaluator``): static bounds, de-duplication and the
budget are the engine's, only the sampler differs. For each problem (maximise NetScore subject
to its bounds) and seed it records, in evaluations (distinct table lookups), when the optimum
was found and the regret (optimum's NetScore minus the best feasible found) after 25, 50 and
100. A run stops once its optimum is found (the regret is then 0) or after ``--evaluations``.
Samplers: ``bayes`` (genesynth's default), plain Optuna TPE and random sampling with the
trial's constraints, and Optuna's GPSampler (needs SciPy; slow, so ``--gp-seeds`` seeds).
Prints one table: ``found<=100`` seeds that found the optimum within the limit, ``median``
and ``max`` evaluations until it (">100": not found), mean regret (``inf``: some seed had
found nothing feasible yet), ``s/eval`` the run's wall time per evaluation (sampler, engine,
lookup; skipped samples included) and ``last10`` the same over its last ten evaluations.
``--no-stop --evaluations 200`` times a sampler late in a 200-evaluation run; ``--per-seed``
also prints each seed's evaluations until the optimum (to compare two versions seed by seed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

import genesynth
from genesynth.evaluate.base import Evaluator, Report
from genesynth.goal.constraint import Constraint
from genesynth.net.measurement import Measurement
from genesynth.space import FixedChooser

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT.parent / "shared" / "benchmarks" / "nas-bench-macro" / "nas-bench-macro_cifar10.json"
PROBLEMS = {
    "acc92": Constraint(min_accuracy=92.0),
    "acc93": Constraint(min_accuracy=93.0),
    "acc91-macs40M": Constraint(min_accuracy=91.0, max_macs=40_000_000),
    "acc92.5-macs60M": Constraint(min_accuracy=92.5, max_macs=60_000_000),
    "acc90-params1M": Constraint(min_accuracy=90.0, max_params=1_000_000),
}
CHECKPOINTS = (25, 50, 100)


class _Stop(Exception):
    """Ends a run: its optimum was found, or its evaluations are spent."""


class Recorder(Evaluator):
    """The table evaluator, recording each lookup; stops the run when it has seen enough."""

    prunable = False

    def __init__(self, table: genesynth.TableEvaluator, optimum: str, limit: int,
                 stop_at_optimum: bool = True) -> None:
        self.table, self.optimum, self.limit = table, optimum, limit
        self.stop_at_optimum = stop_at_optimum
        self.keys: list[str] = []
        self.times: list[float] = []

    def evaluate(self, arch: Any, report: Report) -> Measurement:
        m = self.table.evaluate(arch, report)
        self.keys.append(arch.key)
        self.times.append(time.perf_counter())
        found = arch.key == self.optimum and self.stop_at_optimum
        if found or len(self.keys) >= self.limit:
            raise _Stop
        return m


@dataclass
class Outcome:
    found: int | None  # evaluations until the optimum, None if not within the limit
    regret: dict[int, float]
    seconds_per_trial: float
    seconds_last: float  # per evaluation over the run's last ten


def nasbench_table(proto: genesynth.Prototype, source: Path, folder: Path
                   ) -> tuple[Path, dict[str, Any]]:
    """The benchmark as a genesynth table (key -> mean accuracy), and costs by key."""
    raw = json.loads(source.read_text())
    names = [c.name for c in proto.choices()]
    accuracy: dict[str, list[float]] = {}
    costs: dict[str, tuple[int, int]] = {}
    for encoding, row in raw.items():  # digit d of a layer is option (d + 2) % 3
        values = {n: (int(d) + 2) % 3 for n, d in zip(names, encoding, strict=True)}
        arch = proto.sample(chooser=FixedChooser(values))
        accuracy.setdefault(arch.key, []).append(float(row["mean_acc"]))
        costs[arch.key] = (int(row["params"]), int(row["flops"]))
    table = {key: statistics.fmean(values) for key, values in accuracy.items()}
    path = folder / "nasbench_macro_table.json"
    path.write_text(json.dumps(table))
    return path, {key: (table[key], *costs[key]) for key in table}


def scores(rule: Constraint, networks: dict[str, Any]) -> dict[str, float]:
    """NetScore of every feasible network."""
    out = {}
    for key, (accuracy, params, macs) in networks.items():
        m = Measurement(accuracy, params, macs)
        if rule.feasible(m):
            out[key] = rule.utility(m)
    return out


def samplers() -> dict[str, Callable[[int], Any]]:
    def gp(seed: int) -> Any:
        import scipy  # noqa: F401  GPSampler needs it; genesynth does not

        return optuna.samplers.GPSampler(seed=seed)

    return {
        "bayes": lambda seed: "bayes",
        "tpe": lambda seed: optuna.samplers.TPESampler(seed=seed),
        "gp": gp,
        "random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
    }


def one_run(proto: genesynth.Prototype, rule: Constraint, table: Path, sampler: Any,
            seed: int, feasible: dict[str, float], limit: int, stop: bool = True) -> Outcome:
    optimum = max(feasible, key=feasible.__getitem__)
    recorder = Recorder(genesynth.TableEvaluator(table), optimum, limit, stop)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        try:
            result = genesynth.synthesize(proto, rule, trials=10 * limit, out=Path(folder) / "r",
                                          evaluator=recorder, sampler=sampler, seed=seed,
                                          family_size=1)
            trials = len(result.trials)
        except _Stop:
            trials = len(recorder.keys)
    seconds = (time.perf_counter() - start) / max(1, trials)
    best, regret = float("-inf"), {}
    for n, key in enumerate(recorder.keys, start=1):
        best = max(best, feasible.get(key, float("-inf")))
        if n in CHECKPOINTS:
            regret[n] = feasible[optimum] - best
    found = recorder.keys.index(optimum) + 1 if optimum in recorder.keys else None
    for n in CHECKPOINTS:  # a run that stopped at the optimum has no regret left
        regret.setdefault(n, 0.0 if found is not None else feasible[optimum] - best)
    last = recorder.times[-11:]
    return Outcome(found, regret, seconds, (last[-1] - last[0]) / max(1, len(last) - 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--gp-seeds", type=int, default=2, help="seeds for the slow GPSampler")
    parser.add_argument("--evaluations", type=int, default=100)
    parser.add_argument("--problems", default="acc92,acc93,acc91-macs40M,acc92.5-macs60M",
                        help=f"comma-separated, or 'all': {', '.join(PROBLEMS)}")
    parser.add_argument("--samplers", default="bayes,tpe,gp,random")
    parser.add_argument("--no-stop", action="store_true", help="run every seed to "
                        "--evaluations, past its optimum (to time the sampler late in a run)")
    parser.add_argument("--per-seed", action="store_true", help="also print each seed's "
                        "evaluations until the optimum ('-': not found)")
    parser.add_argument("--table", type=Path, default=TABLE, help="nas-bench-macro_cifar10.json")
    args = parser.parse_args()
    if not args.table.is_file():
        raise SystemExit(f"{args.table}: not found (see /work/shared/benchmarks/nas-bench-macro)")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    problems = list(PROBLEMS) if args.problems == "all" else args.problems.split(",")
    proto = genesynth.load_prototype(ROOT / "prototypes" / "nasbench_macro.gs")
    makers = samplers()
    print(f"{'problem':<16} {'sampler':<7} {'seeds':>5} {'found<=100':>10} {'median':>7} "
          f"{'max':>5} {'regret@25':>9} {'@50':>6} {'@100':>6} {'s/eval':>8} "
          f"{'last10':>7}")
    with tempfile.TemporaryDirectory() as folder:
        table, networks = nasbench_table(proto, args.table, Path(folder))
        for name in problems:
            rule = PROBLEMS[name]
            feasible = scores(rule, networks)
            for sampler_name in args.samplers.split(","):
                seeds = args.gp_seeds if sampler_name == "gp" else args.seeds
                try:
                    runs = [one_run(proto, rule, table, makers[sampler_name](seed), seed,
                                    feasible, args.evaluations, not args.no_stop)
                            for seed in range(seeds)]
                except ImportError as missing:
                    print(f"{name:<16} {sampler_name:<7} skipped: {missing}")
                    continue
                print(_row(name, sampler_name, runs, args.evaluations), flush=True)
                if args.per_seed:
                    print(f"  evaluations until the optimum, seeds 0-{seeds - 1}: "
                          + " ".join(str(r.found) if r.found else "-" for r in runs))


def _row(problem: str, sampler: str, runs: list[Outcome], limit: int) -> str:
    found = [r.found for r in runs if r.found is not None]
    within = sum(1 for n in found if n <= limit)
    # median over all seeds, a seed that never found it counting as "more than the limit"
    ranked = sorted(r.found if r.found is not None else limit + 1 for r in runs)
    median = statistics.median(ranked)
    worst = ranked[-1]
    regret = {n: statistics.fmean(r.regret[n] for r in runs) for n in CHECKPOINTS}
    per_trial = statistics.fmean(r.seconds_per_trial for r in runs)
    last = statistics.fmean(r.seconds_last for r in runs)
    return (f"{problem:<16} {sampler:<7} {len(runs):>5} {within:>4}/{len(runs):<5} "
            f"{_n(median, limit):>7} {_n(worst, limit):>5} {regret[25]:>9.2f} "
            f"{regret[50]:>6.2f} {regret[100]:>6.2f} {per_trial:>8.3f} {last:>7.3f}")


def _n(value: float, limit: int) -> str:
    return f">{limit}" if value > limit else f"{value:g}"


if __name__ == "__main__":
    main()
