"""Benchmark: what an analytically rejected candidate costs, per storage.

    python bench/rejection.py [--trials 40]

Runs the same AttoNet-16 trials (sample, cost, store the trial's attributes; no training) on
Optuna's SQLite and journal-file storages directly, on genesynth's LocalStorage over each
(a run directory uses LocalStorage over its journal, study.log), and in memory, interleaved
round by round so the machine's load affects all alike. Prints milliseconds per trial and
the ratios.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.study import StudyDirection

import genesynth
from genesynth.synth.objective import TrialChooser
from genesynth.synth.writebehind import LocalStorage

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    proto = genesynth.load_prototype(ROOT / "prototypes" / "attonet16.gs", input_shape=(1, 8, 8))

    def rejected(trial: optuna.Trial) -> float:
        arch, _ = proto.sample_with_choices(chooser=TrialChooser(trial))
        c = genesynth.cost(arch)
        for key, value in (("key", arch.key), ("arch", arch.to_json(indent=None)),
                           ("params", c.params), ("macs", c.macs), ("state", "infeasible")):
            trial.set_user_attr(key, value)
        trial.set_constraint("max_macs", 1.0)
        raise optuna.TrialPruned()

    def sqlite(d: Path) -> optuna.storages.BaseStorage:
        return optuna.storages.RDBStorage(f"sqlite:///{d / 'study.db'}")

    def journal(d: Path) -> optuna.storages.BaseStorage:
        return JournalStorage(JournalFileBackend(str(d / "study.log")))

    storages: dict[str, Callable[[Path], optuna.storages.BaseStorage]] = {
        "sqlite": sqlite,
        "journal": journal,
        "local+sqlite": lambda d: LocalStorage(sqlite(d), "bench", [StudyDirection.MAXIMIZE]),
        "local+journal": lambda d: LocalStorage(journal(d), "bench", [StudyDirection.MAXIMIZE]),
        "memory": lambda d: optuna.storages.InMemoryStorage(),
    }
    totals = dict.fromkeys(storages, 0.0)
    for _ in range(args.rounds):
        for name, make in storages.items():
            with tempfile.TemporaryDirectory() as folder:
                study = optuna.create_study(storage=make(Path(folder)), study_name="bench",
                                            load_if_exists=True,
                                            sampler=optuna.samplers.RandomSampler(seed=0))
                start = time.perf_counter()
                study.optimize(rejected, n_trials=args.trials)
                totals[name] += time.perf_counter() - start
    per = {name: 1000 * t / (args.trials * args.rounds) for name, t in totals.items()}
    for name, ms in per.items():
        print(f"{name:<14} {ms:8.1f} ms per rejected trial  {per['sqlite'] / ms:6.1f}x vs sqlite")


if __name__ == "__main__":
    main()
