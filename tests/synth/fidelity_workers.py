"""``python -m tests.synth.fidelity_workers synthesize|worker ...``: a process of a shared run
whose evaluator scores like a supernet (``stand_alone = False``), for the tests of the
fidelity check across workers (``test_fidelity_workers.py``).

The kind ``slowscores`` is registered when this module runs as the process's main (a worker
rebuilds the run's evaluator by its kind): a candidate's score is computed from its key, its
own accuracy (trained alone, and retrained) from its MACs; each training alone lasts
``delay`` seconds and, once finished, appends ``<pid> <key>`` to the file ``log``. The
family's retraining waits until the file ``gate`` exists (the test opens it once the workers
have joined).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import genesynth
from genesynth.evaluate.base import DataLoader, Evaluator, Measurement, Report
from genesynth.evaluate.registry import EVALUATORS, Entry

KIND = "slowscores"


def own(arch: Any) -> float:
    """A candidate's own top-1 trained alone: it grows with its MACs."""
    return 40.0 + 10.0 * math.log10(genesynth.cost(arch).macs)


class SlowScores(Evaluator):
    stand_alone = False
    prunable = False
    needs_data = False

    def __init__(self, delay: float, log: str, checks: int, gate: str) -> None:
        self.delay, self.log, self.checks, self.gate = delay, log, checks, gate

    def evaluate(self, arch: Any, report: Report) -> Measurement:
        c = genesynth.cost(arch)
        return Measurement(40.0 + int(arch.key[:6], 16) % 4000 / 100, c.params, c.macs)

    def retrain(self, arch: Any, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, None]:
        deadline = time.monotonic() + 60
        while not Path(self.gate).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        c = genesynth.cost(arch)
        return Measurement(own(arch) + 1.0, c.params, c.macs), None

    def train_alone(self, arch: Any, report: Report) -> Measurement:
        time.sleep(self.delay)
        with Path(self.log).open("a") as stream:
            stream.write(f"{os.getpid()} {arch.key}\n")
        c = genesynth.cost(arch)
        return Measurement(own(arch), c.params, c.macs)

    def describe(self) -> dict[str, Any]:
        return {"kind": KIND, "delay": self.delay, "log": self.log, "checks": self.checks,
                "gate": self.gate}

    @classmethod
    def from_description(cls, described: Mapping[str, Any], data: DataLoader) -> SlowScores:
        return cls(float(described["delay"]), str(described["log"]), int(described["checks"]),
                   str(described["gate"]))


def synthesize(folder: Path, url: str, study: str, trials: int, checks: int, delay: float
               ) -> None:
    """The first process: starts the shared study (its prototype and constraint in
    ``folder``), works, and makes the family when it spends the budget."""
    from genesynth.dashboard.plain import PlainLog

    evaluator = {"kind": KIND, "delay": delay, "log": str(folder / "alone.log"),
                 "checks": checks, "gate": str(folder / "gate")}
    genesynth.synthesize(folder / "tiny.gs", folder / "c.toml", trials=trials,
                         out=folder / "run", sampler="random", evaluator=evaluator,
                         storage=url, study=study, family_size=2, heartbeat=1, cache=None,
                         listeners=[PlainLog(sys.stdout)])


if __name__ == "__main__":  # registered in this process only (tests import `own`)
    EVALUATORS[KIND] = Entry("tests.synth.fidelity_workers:SlowScores")
    role, *rest = sys.argv[1:]
    if role == "synthesize":
        folder, url, study, trials, checks, delay = rest
        synthesize(Path(folder), url, study, int(trials), int(checks), float(delay))
    else:
        from genesynth.cli import main

        sys.exit(main([role, *rest]))
