"""Benchmark: how close the ETA is to the time the job really took, from one real run.

    python bench/eta.py [--trials 12] [--epochs N] [--full-epochs N] [--family 4]
                        [--out runs/bench-eta]

Runs a digits synthesis and, after every finished trial and every retrained member, notes
what the dashboard's ETA said (the whole job: search, announced extra phases, retraining,
``genesynth.record.eta``) next to the earlier search-only estimate (mean time of every trial,
rejections included, times the trials left). When the run is over, prints each estimate
against the time that was really left, as a ratio (1.00 is exact), at the checkpoints where
a person reads it: a quarter, half and three quarters of the way, and at the last trial of
the search. Every figure comes from the one run.
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import genesynth
from genesynth.events import Event, MemberDone, TrialFinished
from genesynth.record.snapshot import RunState
from genesynth.record.trial import TrialState

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Reading:
    at: float  # seconds since the start
    what: str
    eta: float | None  # the whole job's ETA now shown
    old: float | None  # the search-only ETA shown before


def search_only_eta(state: RunState) -> float | None:
    """The estimate the dashboard showed before: every trial's mean time, the search only."""
    if not state.trials or state.done >= state.planned:
        return 0.0
    mean = sum(t.seconds for t in state.trials) / len(state.trials)
    return mean * (state.planned - state.done)


class Recorder:
    """A listener that keeps a RunState and reads both estimates after each trial/member."""

    def __init__(self) -> None:
        self.state = RunState()
        self.start = time.time()
        self.readings: list[Reading] = []

    def __call__(self, event: Event) -> None:
        self.state.apply(event)
        if isinstance(event, TrialFinished) and event.state != TrialState.SKIPPED:
            what = f"trial {event.number} ({self.state.done}/{self.state.planned})"
        elif isinstance(event, MemberDone):
            what = f"member {event.label} retrained"
        else:
            return
        reading = Reading(time.time() - self.start, what, self.state.eta,
                          search_only_eta(self.state))
        self.readings.append(reading)
        print(f"{reading.at:6.0f} s  {what:<28} ETA {_seconds(reading.eta):>5} s   "
              f"old ETA {_seconds(reading.old):>5} s", flush=True)


def ratio(estimate: float | None, actual: float) -> str:
    if estimate is None:
        return "  –  "
    return f"{estimate / actual:5.2f}" if actual > 0 else "  –  "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, help="proxy epochs (default: the digits budget)")
    parser.add_argument("--full-epochs", type=int, help="retraining epochs (default: digits')")
    parser.add_argument("--family", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-eta")
    parser.add_argument("--prototype", default=str(ROOT / "prototypes" / "attonet16.gs"))
    parser.add_argument("--constraint", default=str(ROOT / "constraints" / "digits.toml"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)

    recorder = Recorder()
    genesynth.synthesize(args.prototype, args.constraint, trials=args.trials, out=args.out,
                         seed=0, family_size=args.family, epochs=args.epochs,
                         full_epochs=args.full_epochs, listeners=[recorder])
    total = time.time() - recorder.start
    search_end = max((r.at for r in recorder.readings if r.what.startswith("trial")),
                     default=0.0)
    print(f"\njob: {total:.0f} s in all, search {search_end:.0f} s, retraining and the rest "
          f"{total - search_end:.0f} s ({100 * (total - search_end) / total:.0f} %)")
    print(f"{'reading':<28} {'at':>6} {'left':>6} {'ETA':>6} {'ratio':>6} "
          f"{'old ETA':>8} {'ratio':>6}")
    for reading in _checkpoints(recorder.readings, total, search_end):
        left = total - reading.at
        print(f"{reading.what:<28} {reading.at:6.0f} {left:6.0f} "
              f"{_seconds(reading.eta):>6} {ratio(reading.eta, left):>6} "
              f"{_seconds(reading.old):>8} {ratio(reading.old, left):>6}")


def _checkpoints(readings: list[Reading], total: float, search_end: float) -> list[Reading]:
    """The readings nearest a quarter, half and three quarters of the job, and the last
    trial of the search."""
    picked: list[Reading] = []
    for moment in (0.25 * total, 0.5 * total, 0.75 * total, search_end):
        nearest = min(readings, key=lambda r: abs(r.at - moment), default=None)
        if nearest is not None and nearest not in picked and nearest.at < total:
            picked.append(nearest)
    return sorted(picked, key=lambda r: r.at)


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


if __name__ == "__main__":
    main()
