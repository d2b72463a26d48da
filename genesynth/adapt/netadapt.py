"""NetAdapt (Yang et al., 2018) on a trained network, resumable after a kill.

Each iteration sets a goal a step below the current resource (:class:`~.target.Schedule`);
for each channel group (:mod:`.channels`) it proposes the narrowest cut that meets the goal --
the widest width whose network's resource is at most the goal, found by bisection over the
group's allowed widths -- fine-tunes each proposal for a set number of steps, and keeps the
most accurate on the validation split (ties: the lower resource, then network order). When no
single group can meet the step, the step is halved until one can. It stops when the target is
met. Resources are exact where they can be (analytic MACs and params); latency is what the
``resource`` function returns (a table, or a measurement).

After every iteration the network and its weights are written to ``folder`` (``state.json``
and ``weights-<k>.safetensors``), so a killed adapt goes on from the last iteration done, and
every fine-tune is seeded by (seed, iteration, group), so it ends where an unbroken one would.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesynth.adapt.channels import (
    Unit,
    channel_units,
    cut_state,
    keep_channels,
    narrowed,
)
from genesynth.adapt.target import AdaptError, Schedule, Target
from genesynth.adapt.tuner import State, Tuner
from genesynth.events import AdaptStep, Listener
from genesynth.net.arch import Architecture

STATE_FILE = "state.json"
Resource = Callable[[Architecture], float]
HALVINGS = 40  # a step halved this often is below any one channel's cost


@dataclass(frozen=True)
class Proposal:
    unit: Unit
    width: int
    arch: Architecture
    resource: float
    accuracy: float
    state: State = field(repr=False, compare=False)


@dataclass
class Progress:
    """What ``state.json`` holds: the network so far and the iterations that made it."""

    settings: dict[str, Any]
    start: float
    arch: Architecture
    iteration: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0  # spent in iterations, for the estimate of what is left


def floor(arch: Architecture, resource: Resource, multiple: int = 1) -> float:
    """The resource of ``arch`` with every group cut to its narrowest: the least adapt can
    reach from it."""
    while (unit := next((u for u in channel_units(arch, multiple) if u.cuttable), None)
           ) is not None:
        arch = narrowed(arch, unit, unit.quantum)  # a cut may make a grouped conv depthwise
    return resource(arch)


def widest_meeting(arch: Architecture, unit: Unit, goal: float, resource: Resource
                   ) -> tuple[int, Architecture, float] | None:
    """The widest width of ``unit`` (a cut of at least one quantum) whose network meets
    ``goal``, with that network and its resource; None when even the narrowest does not."""
    q = unit.quantum
    low, high = 1, unit.cuttable // q  # cut sizes, in quanta
    if high < 1:
        return None
    found = None
    while low <= high:  # the smallest cut that meets the goal (the resource falls with a cut)
        mid = (low + high) // 2
        small = narrowed(arch, unit, unit.width - mid * q)
        value = resource(small)
        if value <= goal:
            found, high = (unit.width - mid * q, small, value), mid - 1
        else:
            low = mid + 1
    return found


def propose(arch: Architecture, state: State, goal: float, resource: Resource, tuner: Tuner,
            steps: int, iteration: int, seed: int, multiple: int = 1) -> list[Proposal]:
    """For each group that can meet ``goal``: its narrowest cut, fine-tuned and measured."""
    proposals = []
    for unit in channel_units(arch, multiple):
        if not unit.cuttable:
            continue
        met = widest_meeting(arch, unit, goal, resource)
        if met is None:
            continue
        width, small, value = met
        cut = cut_state(unit, state, keep_channels(unit, state, width))
        tuned, acc = tuner.short(small, cut, steps, iteration, _seed(seed, iteration, unit))
        proposals.append(Proposal(unit, width, small, value, acc, tuned))
    return proposals


def _seed(seed: int, iteration: int, unit: Unit) -> int:
    return (seed * 1_000_003 + iteration * 1009 + unit.index) % 2**31


def best(proposals: list[Proposal]) -> Proposal:
    return min(proposals, key=lambda p: (-p.accuracy, p.resource, p.unit.index))


def iterate(progress: Progress, state: State, target: Target, schedule: Schedule,
            resource: Resource, tuner: Tuner, steps: int, seed: int, folder: Path,
            emit: Listener, label: str, eta_tail: Callable[[Progress], float],
            multiple: int = 1) -> tuple[Architecture, State]:
    """Run iterations until the target is met, saving after each; returns the network."""
    arch = progress.arch
    current = resource(arch)
    while current > target.value:
        began = time.perf_counter()
        step = schedule.step(progress.iteration, progress.start)
        goal = max(target.value, current - step)
        proposals = propose(arch, state, goal, resource, tuner, steps, progress.iteration, seed,
                            multiple)
        halvings = 0
        while not proposals:
            halvings += 1
            if halvings > HALVINGS:
                raise AdaptError(f"no channel group of {arch.name} can be cut any further "
                                 f"({target.show(current)}, target {target.show()})")
            goal = current - (current - goal) / 2
            proposals = propose(arch, state, goal, resource, tuner, steps,
                                progress.iteration, seed, multiple)
        kept = best(proposals)
        arch, state, current = kept.arch, kept.state, kept.resource
        progress.iteration += 1
        progress.arch = arch
        progress.seconds += time.perf_counter() - began
        progress.history.append({
            "iteration": progress.iteration, "unit": kept.unit.name, "width": kept.unit.width,
            "new_width": kept.width, "goal": goal, "resource": current,
            "accuracy": kept.accuracy, "proposals": len(proposals),
        })
        save(folder, progress, state)
        left = schedule.remaining(progress.iteration, progress.start, current, target.value)
        per = progress.seconds / max(1, len(progress.history))
        emit(AdaptStep(label, progress.iteration, kept.unit.name, kept.unit.width, kept.width,
                       target.resource, current, goal, kept.accuracy, len(proposals), left,
                       left * per + eta_tail(progress), time.time()))
    return arch, state


# -- the checkpoint --------------------------------------------------------------------------


def save(folder: Path, progress: Progress, state: State) -> None:
    """Weights of iteration k, then ``state.json`` naming them (each replaced whole), then
    the older weights go: a kill at any point leaves a consistent pair."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    weights = f"weights-{progress.iteration}.safetensors"
    partial = folder / f".{weights}.{os.getpid()}"
    save_file({k: v.contiguous() for k, v in state.items()}, str(partial))
    os.replace(partial, folder / weights)
    data = {"settings": progress.settings, "start": progress.start,
            "iteration": progress.iteration, "arch": progress.arch.to_dict(),
            "history": progress.history, "seconds": progress.seconds, "weights": weights}
    partial = folder / f".{STATE_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(partial, folder / STATE_FILE)
    for old in folder.glob("weights-*.safetensors"):
        if old.name != weights:
            old.unlink(missing_ok=True)


def load(folder: Path, settings: dict[str, Any]) -> tuple[Progress, State] | None:
    """The saved progress when it was made with the same ``settings``; None when there is
    none. A checkpoint of other settings is an error (choose another label, or remove it)."""
    path = folder / STATE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        stored = data["settings"]
        arch = Architecture.from_dict(data["arch"], where=str(path))
        from safetensors.torch import load_file

        state = load_file(str(folder / str(data["weights"])))
        progress = Progress(stored, float(data["start"]), arch, int(data["iteration"]),
                            list(data["history"]), float(data.get("seconds", 0.0)))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AdaptError(f"{path}: the saved progress is damaged ({exc}); remove {folder} "
                         "to start again") from None
    if stored != settings:
        changed = sorted(k for k in set(stored) | set(settings) if stored.get(k) != settings.get(k))
        raise AdaptError(f"{folder} holds an adapt with other settings ({', '.join(changed)} "
                         "differ); pass another --label, or remove it to start again")
    return progress, state
