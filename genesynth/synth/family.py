"""The family: K networks of clearly decreasing complexity (AttoNet-A ... D).

Selection splits the feasible candidates' MACs range into K bands of equal width on a log
scale and takes the best utility in each; members must be at least ``min_gap`` apart in MACs
(each at most ``1 - min_gap`` of the one above). Each member is then retrained with the full
budget by the evaluator's ``retrain`` (when it has one), measured on the test split, and
re-checked against the constraint.
"""

from __future__ import annotations

import json
import math
import string
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from genesynth.arch import Architecture
from genesynth.evaluate.base import Measurement
from genesynth.events import FamilyStarted, Listener, MemberDone, MemberEpoch, MemberStarted


@dataclass(frozen=True)
class Candidate:
    """A finished, feasible search trial."""

    trial: int
    arch: Architecture
    accuracy: float
    params: int
    macs: int
    utility: float


@dataclass(frozen=True)
class Member:
    """One retrained family member, as written to family.json."""

    label: str
    trial: int
    key: str
    accuracy: float  # test top-1 after full retraining, percent
    val_accuracy: float  # validation top-1 in the search
    params: int
    macs: int
    latency_ms: float | None
    utility: float
    feasible: bool
    arch: str
    text: str
    weights: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def candidates(study: optuna.Study) -> list[Candidate]:
    """Feasible complete trials, one per distinct architecture (the first trial of each)."""
    seen: set[str] = set()
    found: list[Candidate] = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        attrs = t.user_attrs
        if not attrs.get("feasible") or attrs.get("key") in seen:
            continue
        seen.add(attrs["key"])
        found.append(Candidate(
            t.number, Architecture.from_json(attrs["arch"]), float(attrs["accuracy"]),
            int(attrs["params"]), int(attrs["macs"]), float(attrs["utility"]),
        ))
    return found


MIN_GAP = 0.2  # each member has at most 80 % of the MACs of the one above


def select(found: list[Candidate], size: int = 4, min_gap: float = MIN_GAP) -> list[Candidate]:
    """Best utility per log-MACs band, largest first, each clearly smaller than the last."""
    if not found or size < 1:
        return []
    low = math.log(min(c.macs for c in found))
    high = math.log(max(c.macs for c in found))
    width = (high - low) / size or 1.0
    bands: list[list[Candidate]] = [[] for _ in range(size)]
    for c in found:
        bands[min(size - 1, int((high - math.log(c.macs)) / width))].append(c)
    chosen: list[Candidate] = []
    for band in bands:
        for c in sorted(band, key=lambda c: -c.utility):
            if not chosen or c.macs <= (1 - min_gap) * chosen[-1].macs:
                chosen.append(c)
                break
    return chosen


def labels(count: int) -> list[str]:
    return list(string.ascii_uppercase[:count])


def retrain_family(
    chosen: list[Candidate], evaluator: Any, constraint: Any, out: Path, emit: Listener,
    epochs: int, latency: Any = None,
) -> list[Member]:
    """Retrain and measure each chosen candidate; writes family/<L>/ and family.json."""
    names = labels(len(chosen))
    emit(FamilyStarted(tuple(names), epochs, time.time()))
    members = [
        _retrain_one(label, c, evaluator, constraint, out, emit, epochs, latency)
        for label, c in zip(names, chosen, strict=True)
    ]
    write_family(out, members)
    return members


def _retrain_one(label: str, c: Candidate, evaluator: Any, constraint: Any, out: Path,
                 emit: Listener, epochs: int, latency: Any) -> Member:
    emit(MemberStarted(label, c.trial, c.params, c.macs, epochs, time.time()))
    folder = out / "family" / label
    folder.mkdir(parents=True, exist_ok=True)

    def report(epoch: int, loss: float, accuracy: float) -> None:
        emit(MemberEpoch(label, epoch, epochs, loss, accuracy, time.time()))

    weights: str | None = None
    if hasattr(evaluator, "retrain"):
        m, state = evaluator.retrain(c.arch, report)
        if state is not None:
            from safetensors.torch import save_file

            save_file({k: v.contiguous() for k, v in state.items()},
                      str(folder / "weights.safetensors"))
            weights = f"family/{label}/weights.safetensors"
    else:
        m = Measurement(c.accuracy, c.params, c.macs)
    ms = float(latency(c.arch)) if latency is not None else m.latency_ms
    m = Measurement(m.accuracy, c.params, c.macs, ms, m.curve, m.loss, m.seconds)
    (folder / "arch.json").write_text(c.arch.to_json() + "\n")
    (folder / "arch.gs").write_text(c.arch.to_text())
    member = Member(
        label, c.trial, c.arch.key, m.accuracy, c.accuracy, c.params, c.macs, ms,
        float(constraint.utility(m)), bool(constraint.feasible(m)),
        f"family/{label}/arch.json", f"family/{label}/arch.gs", weights,
    )
    emit(MemberDone(label, c.trial, member.accuracy, member.params, member.macs,
                    member.latency_ms, member.utility, member.feasible, time.time()))
    return member


def write_family(out: Path, members: list[Member]) -> None:
    data = {"members": [m.to_dict() for m in members]}
    (out / "family.json").write_text(json.dumps(data, indent=2) + "\n")
