"""Benchmark: the generator's own time -- seconds per proposal of ``bayes``, and its share of a run.

    python bench/sampler_cost.py [--at 100,300,1000]
        [--spaces nasbench,attonet16,mobilenetv2_space] [--busy 2]
    python bench/sampler_cost.py --profile RUN.prof          # the sampler's share of a run
    python bench/sampler_cost.py --compare BEFORE.txt AFTER.txt   # search_efficiency, per seed

The first form drives :class:`~genesynth.synth.samplers.bayes.BayesSampler` through Optuna's
ask/tell (no engine, no storage: the figures are the sampler's own) on each space:
``nasbench`` is ``prototypes/nasbench_macro.gs`` scored by the NAS-Bench-Macro table (needs
``shared/benchmarks/nas-bench-macro``), the others the prototype at the digits input (1x8x8,
10 classes) under ``constraints/digits.toml`` (attonet16; an accuracy bound only for the
others), scored by a stand-in evaluator (a smooth function of the log costs plus a fixed
per-network offset). Two samplers run side by
side, trial by trial, so both see the same load: one with the sampler's BLAS limit (one
thread) and one with NumPy's default threads, while ``--busy`` other processes keep the
cores busy. At each checkpoint trial T the two studies first take T - 20 random networks (the
same for both; a model-guided run to T costs hours on a busy 2-core machine), then 25
proposals: the first fits the model afresh (``refit s``: grid search, factor, every
candidate's projection -- a run does this when its data have grown by a tenth), the other 24
extend it (``s/proposal``, their ``max``, the process's ``cpu s`` apart from the machine's
load, and the ``pool s`` part: growing and filtering the candidates). ``amortised`` is the
mean with one fresh fit every T/10 trials, beside the goal (<= 0.2 s at 1,000 trials, busy or
not). ``pool`` is the pool's size: a run's grows with its trials (to 20,000 on attonet16),
the random start's by what 25 proposals add.

``--profile`` reads a cProfile file of a whole run (``python -m cProfile -o RUN.prof -m
genesynth.cli synthesize ...``) and prints the sampler's time (``before_trial`` and ``bind``)
as a share of the run's, beside the goal (<= 3 %). ``--compare`` reads two outputs of
``bench/search_efficiency.py --per-seed`` and prints, per problem, each seed's evaluations
until the optimum before and after, and the worst change (goal: no seed worse by more
than 2).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

import genesynth
from genesynth.goal.constraint import Constraint, load_constraint
from genesynth.net.measurement import Measurement
from genesynth.record.trial import record
from genesynth.synth.objective import TrialChooser
from genesynth.synth.samplers.bayes import BayesSampler

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT.parent / "shared" / "benchmarks" / "nas-bench-macro" / "nas-bench-macro_cifar10.json"
GOAL_SECONDS = 0.2
GOAL_SHARE = 0.03


class Timed(BayesSampler):
    """The default sampler, timing each proposal and the pool's part of it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.proposal: list[float] = []
        self.cpu: list[float] = []  # this process's CPU seconds (all its threads)
        self.pool: list[float] = []

    def _propose(self, problem: Any, trials: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return super()._propose(problem, trials)
        finally:
            self.proposal.append(time.perf_counter() - start)
            self.cpu.append(time.process_time() - cpu)

    def _candidates(self, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return super()._candidates(*args)
        finally:
            self.pool.append(time.perf_counter() - start)


def nasbench(table: Path) -> tuple[genesynth.Prototype, Constraint, Callable[[Any], float]]:
    """The NAS-Bench-Macro space, a constraint of search_efficiency.py, and the table's
    accuracy (mean over the encodings that build a network)."""
    from genesynth.space import FixedChooser

    proto = genesynth.load_prototype(ROOT / "prototypes" / "nasbench_macro.gs")
    names = [c.name for c in proto.choices()]
    accuracy: dict[str, list[float]] = {}
    for encoding, row in json.loads(table.read_text()).items():
        values = {n: (int(d) + 2) % 3 for n, d in zip(names, encoding, strict=True)}
        key = proto.sample(chooser=FixedChooser(values)).key
        accuracy.setdefault(key, []).append(float(row["mean_acc"]))
    means = {key: statistics.fmean(v) for key, v in accuracy.items()}
    return proto, Constraint(min_accuracy=92.0), lambda arch: means[arch.key]


def stand_in(name: str) -> tuple[genesynth.Prototype, Constraint, Callable[[Any], float]]:
    """A prototype at the digits input, the README's constraint (attonet16; a bound on
    accuracy only for the others, whose smallest networks exceed its params), and a smooth
    accuracy."""
    proto = genesynth.load_prototype(ROOT / "prototypes" / f"{name}.gs",
                                     input_shape=(1, 8, 8), classes=10)

    def accuracy(arch: Any) -> float:
        c = genesynth.cost(arch)
        offset = int(hashlib.sha256(arch.key.encode()).hexdigest()[:8], 16) / 16**8 - 0.5
        return min(99.0, 60.0 + 3.0 * math.log(c.macs) + 1.5 * math.log(c.params) + offset)

    rule = (load_constraint(ROOT / "constraints" / "digits.toml") if name == "attonet16"
            else Constraint(min_accuracy=90.0))
    return proto, rule, accuracy


def _tell(study: optuna.Study, trial: optuna.Trial, proto: Any, rule: Constraint,
          accuracy: Callable[[Any], float]) -> None:
    """What the engine records of a trial, in short."""
    arch = proto.sample(chooser=TrialChooser(trial))
    c = genesynth.cost(arch)
    if rule.static_violations(c.params, c.macs):
        record(trial, state="skipped", key=arch.key, params=c.params, macs=c.macs)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return
    m = Measurement(accuracy(arch), c.params, c.macs)
    record(trial, state="complete", key=arch.key, params=c.params, macs=c.macs,
           accuracy=m.accuracy)
    study.tell(trial, rule.utility(m))


def run_space(name: str, at: int, table: Path) -> dict[str, Timed]:
    """Proposals around trial ``at`` of a one-thread and a default-threads sampler, side by
    side: ``at - 20`` trials drawn at random first (the same for both), then 25 proposals,
    the first of which fits the model afresh (as a real run does when its data have grown
    by a tenth)."""
    proto, rule, accuracy = nasbench(table) if name == "nasbench" else stand_in(name)
    samplers = {"1 thread": Timed(seed=0), "default": Timed(seed=0, blas_threads=None)}
    studies = {}
    for label, sampler in samplers.items():
        sampler.bind(proto, rule)
        studies[label] = optuna.create_study(direction="maximize", sampler=sampler)
    for label, study in studies.items():
        sampler = samplers[label]
        problem, sampler._problem = sampler._problem, None  # unbound: random samples
        for _ in range(at - 20):
            _tell(study, study.ask(), proto, rule, accuracy)
        sampler._problem = problem
    for _ in range(25):
        for study in studies.values():
            _tell(study, study.ask(), proto, rule, accuracy)
    return samplers


def _busy(stop: Any) -> None:
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x = (x + i * i) % 1_000_003


def proposals(args: argparse.Namespace) -> None:
    checkpoints = [int(a) for a in args.at.split(",")]
    stop = multiprocessing.Event()
    workers = [multiprocessing.Process(target=_busy, args=(stop,), daemon=True)
               for _ in range(args.busy)]
    for worker in workers:
        worker.start()
    print(f"{os.cpu_count()} cores; {args.busy} busy processes beside; load average "
          f"{os.getloadavg()[0]:.1f} at the start")
    print(f"{'space':<18} {'BLAS':<9} {'trial':>6} {'pool':>6} {'refit s':>8} "
          f"{'s/proposal':>10} {'max':>6} {'cpu s':>6} {'pool s':>6} {'amortised':>9} "
          f"{'goal':>10}")
    try:
        for name in args.spaces.split(","):
            for at in checkpoints:
                for label, sampler in run_space(name, at, args.table).items():
                    print(_row(name, label, at, sampler), flush=True)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def _row(name: str, label: str, at: int, sampler: Timed) -> str:
    """The first proposal fits afresh (``refit``); the rest extend the model. Amortised: with
    a fresh fit every ``at / 10`` trials, as the model does."""
    refit, rest = sampler.proposal[0], sampler.proposal[1:]
    mean = statistics.fmean(rest)
    every = max(1, at // 10)
    amortised = (refit + (every - 1) * mean) / every
    goal = ""
    if at >= 1000:
        goal = f"<={GOAL_SECONDS:g} " + ("met" if amortised <= GOAL_SECONDS else "MISSED")
    pool = len(sampler._problem[0].entries) if sampler._problem else 0
    return (f"{name:<18} {label:<9} {at:>6} {pool:>6} {refit:>8.3f} {mean:>10.3f} "
            f"{max(rest):>6.3f} {statistics.fmean(sampler.cpu[1:]):>6.3f} "
            f"{statistics.fmean(sampler.pool[1:]):>6.3f} {amortised:>9.3f} {goal:>10}")


def share(path: Path) -> None:
    """The sampler's share of a profiled run."""
    stats = pstats.Stats(str(path))
    total = stats.total_tt  # type: ignore[attr-defined]
    sampler = 0.0
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if filename.endswith("bayes.py") and function in ("before_trial", "bind"):
            sampler += row[3]  # cumulative seconds
    verdict = "met" if sampler / total <= GOAL_SHARE else "MISSED"
    print(f"sampler {sampler:.1f} s of {total:.1f} s: {100 * sampler / total:.1f} % "
          f"(goal <= {100 * GOAL_SHARE:g} %: {verdict})")


def _per_seed(path: Path) -> dict[str, list[int | None]]:
    found: dict[str, list[int | None]] = {}
    problem = ""
    for line in path.read_text().splitlines():
        if line and not line.startswith((" ", "problem")):
            problem = line.split()[0]
        elif "evaluations until the optimum" in line:
            found[problem] = [None if v == "-" else int(v) for v in line.split(":")[1].split()]
    return found


def compare(before: Path, after: Path) -> None:
    old, new = _per_seed(before), _per_seed(after)
    worst_all = -math.inf
    for problem in old:
        if problem not in new:
            continue
        pairs = list(zip(old[problem], new[problem], strict=False))
        change = [(b or 10**6) - (a or 10**6) for a, b in pairs]
        worst = max(change)
        worst_all = max(worst_all, worst)
        print(f"{problem:<16} before {' '.join(str(a or '-') for a, _ in pairs)}")
        print(f"{'':<16} after  {' '.join(str(b or '-') for _, b in pairs)}")
        print(f"{'':<16} worst change {worst:+d}, same {sum(c == 0 for c in change)}"
              f"/{len(change)}, better {sum(c < 0 for c in change)}")
    print(f"worst seed change {worst_all:+g} evaluations (goal <= +2: "
          f"{'met' if worst_all <= 2 else 'MISSED'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--at", default="100,300,1000", help="checkpoints (trial numbers)")
    parser.add_argument("--spaces", default="nasbench,attonet16,mobilenetv2_space")
    parser.add_argument("--busy", type=int, default=2, help="processes keeping cores busy")
    parser.add_argument("--table", type=Path, default=TABLE, help="nas-bench-macro_cifar10.json")
    parser.add_argument("--profile", type=Path, help="a cProfile file of a whole run")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if args.profile:
        share(args.profile)
    elif args.compare:
        compare(*args.compare)
    else:
        if "nasbench" in args.spaces and not args.table.is_file():
            sys.exit(f"{args.table}: not found (see /work/shared/benchmarks/nas-bench-macro)")
        proposals(args)


if __name__ == "__main__":
    main()
