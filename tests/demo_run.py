"""A made-up run, for looking at the dashboard and for tests of the views that read runs.

``python -m tests.demo_run [--plain] [--delay S]`` replays :func:`demo_events`
through :func:`genesynth.dashboard.open_view`. :func:`write_demo_run` writes a small but real
run directory (``run.json``, an Optuna SQLite study with the documented ``user_attrs``,
``family.json`` and ``family/<L>/arch.json``, ``baselines.json``) without training anything.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

from genesynth.events import (
    EpochDone,
    Event,
    FamilyStarted,
    MemberDone,
    MemberEpoch,
    MemberStarted,
    RunFinished,
    RunStarted,
    TrialFinished,
    TrialStarted,
)
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec
from genesynth.net.costs import cost
from genesynth.net.summary import module_lines

T0 = 1_700_000_000.0
MAX_MACS = 1_500_000
STATES = ("complete", "complete", "infeasible", "complete", "pruned", "complete", "duplicate",
          "complete", "failed", "complete", "invalid", "complete")
REASONS = {"infeasible": "MACs 2.31M > 1.50M", "pruned": "below the median at epoch 2",
           "duplicate": "same network as trial 1", "failed": "RuntimeError: out of memory",
           "invalid": "m02: groups=3 must divide 8 channels"}


def tiny_architecture(width: int = 8, modules: int = 1, name: str = "tiny") -> Architecture:
    """Stem conv+bn+relu, ``modules`` residual modules (pw > dw > pw), head gap+linear."""
    layer = LayerSpec.of
    body = tuple(
        ModuleSpec(
            "atto", "residual",
            ((layer("pwconv", out=width * 2, bias=False), layer("bn"), layer("relu"),
              layer("dwconv", kernel=3, bias=False), layer("bn"), layer("relu"),
              layer("pwconv", out=width, bias=False), layer("bn")),),
            "identity", (layer("relu"),),
        )
        for _ in range(modules)
    )
    return Architecture(
        name, (1, 16, 16), 10,
        (layer("conv", out=width, kernel=3, bias=False), layer("bn"), layer("relu")),
        body, (layer("gap"), layer("linear", out=10)),
    )


@dataclass(frozen=True)
class DemoTrial:
    number: int
    state: str
    arch: Architecture
    curve: tuple[float, ...]
    accuracy: float | None
    utility: float | None
    feasible: bool
    seconds: float


def netscore(accuracy: float, params: int, macs: int) -> float:
    return 20 * math.log10(accuracy**2 / ((params / 1e6) ** 0.5 * (macs / 1e6) ** 0.5))


def demo_trials(epochs: int = 4, seed: int = 0) -> list[DemoTrial]:
    """Twelve trials in every state, deterministic for a ``seed``."""
    rng = random.Random(seed)
    trials = []
    for number, state in enumerate(STATES):
        arch = tiny_architecture(width=8 * (1 + number % 5), modules=1 + number % 3)
        c = cost(arch)
        final = 72.0 + 2.8 * math.log(c.params) + rng.uniform(-2.0, 2.0)
        done = {"complete": epochs, "pruned": 2, "duplicate": 0}.get(state, 0)
        curve = tuple(round(final - 12.0 / (e + 1), 2) for e in range(done))
        measured = state == "complete"
        accuracy = curve[-1] if measured else None
        utility = netscore(accuracy, c.params, c.macs) if accuracy is not None else None
        feasible = measured and (accuracy or 0) >= 85.0 and c.macs <= MAX_MACS
        seconds = round(0.2 + 0.6 * len(curve) + rng.uniform(0, 0.3), 2)
        trials.append(DemoTrial(number, state, arch, curve, accuracy, utility, feasible, seconds))
    return trials


def _trial_events(trial: DemoTrial, epochs: int, clock: list[float]) -> list[Event]:
    c = cost(trial.arch)
    out: list[Event] = [TrialStarted(trial.number, trial.arch.key, module_lines(trial.arch),
                                     c.params, c.macs, epochs, time=clock[0])]
    for epoch, acc in enumerate(trial.curve, 1):
        clock[0] += trial.seconds / max(1, len(trial.curve))
        out.append(EpochDone(trial.number, epoch, epochs, round(2.3 / (epoch + 1), 4), acc,
                             time=clock[0]))
    clock[0] += 0.05
    out.append(TrialFinished(
        trial.number, trial.state, trial.arch.key, trial.accuracy, c.params, c.macs, None,
        trial.utility, trial.feasible, REASONS.get(trial.state, ""), trial.seconds,
        time=clock[0],
    ))
    return out


def demo_family(trials: list[DemoTrial], size: int = 4) -> list[DemoTrial]:
    """The best feasible trials by utility, most complex first (A, B, ...)."""
    feasible = sorted((t for t in trials if t.feasible), key=lambda t: -(t.utility or 0))
    return sorted(feasible[:size], key=lambda t: -cost(t.arch).macs)


def demo_events(epochs: int = 4, family_epochs: int = 6, seed: int = 0) -> list[Event]:
    """A whole run: start, twelve trials with epochs, the family retrained, the end."""
    trials = demo_trials(epochs, seed)
    clock = [T0]
    events: list[Event] = [RunStarted("prototypes/atto.gs", "constraints/digits.toml", "digits",
                                      "tpe", seed, "runs/demo", len(trials), time=T0)]
    for trial in trials:
        events += _trial_events(trial, epochs, clock)
    family = demo_family(trials)
    labels = tuple("ABCD"[: len(family)])
    events.append(FamilyStarted(labels, family_epochs, time=clock[0]))
    for label, trial in zip(labels, family, strict=True):
        c = cost(trial.arch)
        events.append(MemberStarted(label, trial.number, c.params, c.macs, family_epochs,
                                    time=clock[0]))
        for epoch in range(1, family_epochs + 1):
            clock[0] += 1.0
            acc = round((trial.accuracy or 0) - 8.0 / epoch + 1.0, 2)
            events.append(MemberEpoch(label, epoch, family_epochs, 1.5 / epoch, acc,
                                      time=clock[0]))
        test = round((trial.accuracy or 0) + 0.5, 2)
        events.append(MemberDone(label, trial.number, test, c.params, c.macs, 0.12,
                                 netscore(test, c.params, c.macs), True, time=clock[0]))
    events.append(RunFinished("runs/demo", len(family), time=clock[0] + 0.1))
    return events


def write_demo_run(out: Path, epochs: int = 4, finished: bool = True) -> Path:
    """Write a small, real run directory in ``out`` (made if missing); returns ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    trials = demo_trials(epochs)
    run = {
        "prototype_path": "prototypes/atto.gs", "prototype_text": "network atto { ... }",
        "input_shape": [1, 16, 16], "classes": 10,
        "constraint": {"path": "constraints/digits.toml",
                       "bounds": {"min_accuracy": 85.0, "max_macs": MAX_MACS},
                       "latency": {"threads": 1},
                       "utility": {"kind": "netscore", "alpha": 2.0, "beta": 0.5, "gamma": 0.5}},
        "data": {"spec": "digits"}, "seed": 0, "sampler": "tpe",
        "evaluator": {"kind": "train", "epochs": epochs}, "trials": len(trials),
        "family_size": 4, "full_epochs": 6, "storage": "", "study": "", "extra": {},
    }
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    write_study(out, trials, run, finished)
    if finished:
        _write_family(out, demo_family(trials))
    return out


def write_study(out: Path, trials: list[DemoTrial], run: dict[str, object],
                finished: bool) -> None:
    """``out/study.db`` with one Optuna trial per demo trial (and one RUNNING if unfinished)."""
    import datetime

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=f"sqlite:///{out / 'study.db'}", study_name="genesynth",
                                direction="maximize")
    study.set_user_attr("run", run)
    states = {"complete": optuna.trial.TrialState.COMPLETE,
              "failed": optuna.trial.TrialState.FAIL}
    start = datetime.datetime.fromtimestamp(T0)
    for trial in trials:
        c = cost(trial.arch)
        attrs: dict[str, object] = {
            "state": trial.state, "key": trial.arch.key, "arch": trial.arch.to_json(indent=None),
            "params": c.params, "macs": c.macs, "feasible": trial.feasible,
            "reason": REASONS.get(trial.state, ""), "curve": list(trial.curve),
            "seconds": trial.seconds,
        }
        if trial.accuracy is not None:
            attrs.update(accuracy=trial.accuracy, utility=trial.utility)
        state = states.get(trial.state, optuna.trial.TrialState.PRUNED)
        frozen = optuna.trial.create_trial(
            state=state, value=trial.utility if state == states["complete"] else None,
            user_attrs=attrs, intermediate_values=dict(enumerate(trial.curve, 1)),
        )
        frozen.datetime_start = start
        start += datetime.timedelta(seconds=trial.seconds)
        frozen.datetime_complete = start
        study.add_trial(frozen)
    if finished:
        study.set_user_attr("finished", True)
    else:
        running = tiny_architecture(width=12, modules=2)
        c = cost(running)
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.RUNNING,
            user_attrs={"key": running.key, "arch": running.to_json(indent=None),
                        "params": c.params, "macs": c.macs},
            intermediate_values={1: 71.5, 2: 84.25},
        ))


def _write_family(out: Path, family: list[DemoTrial]) -> None:
    members = []
    for label, trial in zip("ABCD", family, strict=False):
        folder = out / "family" / label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "arch.json").write_text(trial.arch.to_json())
        c = cost(trial.arch)
        test = round((trial.accuracy or 0) + 0.5, 2)
        members.append({
            "label": label, "trial": trial.number, "key": trial.arch.key, "accuracy": test,
            "val_accuracy": trial.accuracy, "params": c.params, "macs": c.macs,
            "latency_ms": 0.12, "utility": netscore(test, c.params, c.macs), "feasible": True,
            "arch": f"family/{label}/arch.json", "text": f"family/{label}/arch.gs",
            "weights": f"family/{label}/weights.safetensors",
        })
    (out / "family.json").write_text(json.dumps({"members": members}, indent=2) + "\n")
    baselines = [
        {"name": "MobileNet-ish", "accuracy": 96.1, "params": 52_000, "macs": 2_410_000,
         "latency_ms": 0.35, "utility": netscore(96.1, 52_000, 2_410_000), "feasible": False},
        {"name": "LeNet-5", "accuracy": 95.4, "params": 61_706, "macs": 1_416_520,
         "latency_ms": 0.21, "utility": netscore(95.4, 61_706, 1_416_520), "feasible": True},
    ]
    (out / "baselines.json").write_text(json.dumps({"baselines": baselines}, indent=2) + "\n")


def main() -> None:
    from genesynth.dashboard import open_view

    parser = argparse.ArgumentParser(description="replay a made-up run through the dashboard")
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds between events")
    args = parser.parse_args()
    with open_view(args.plain or None) as listener:
        for event in demo_events():
            listener(dataclasses.replace(event, time=time.time()))
            time.sleep(args.delay)


if __name__ == "__main__":
    main()
