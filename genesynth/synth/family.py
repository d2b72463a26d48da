"""The family: K networks of clearly decreasing complexity (AttoNet-A ... D).

What the family promises: each member has at most ``1 - MIN_GAP`` (80 %) of the MACs of the
one above, and no member is beaten or equalled on every measure (top-1, params and MACs) by
another member.

Selection keeps the feasible candidates that no other candidate beats or equals on validation
top-1, params and MACs (the Pareto front), splits their MACs range into K bands of equal
width on a log scale and takes the best utility in each, each member clearly smaller than the
last. Each member is then retrained with the full budget by the evaluator's ``retrain`` (when
it has one), measured on the test split, and re-checked against the constraint. Test top-1
can reorder what validation ranked: a retrained member that another member now beats or
equals on every measure is replaced by the next candidate of its band (at most
``REPLACEMENTS`` times) or dropped, and the members below it move up a letter; each such step
is an event (``MemberDropped``, ``MemberRenamed``).
"""

from __future__ import annotations

import math
import shutil
import string
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import optuna
from optuna.trial import TrialState

from genesynth.arch import Architecture
from genesynth.dsl.writer import architecture_to_text
from genesynth.evaluate.base import Evaluator, Measurement
from genesynth.events import (
    FamilyStarted,
    Listener,
    MemberDone,
    MemberDropped,
    MemberEpoch,
    MemberRenamed,
    MemberStarted,
)
from genesynth.record.family import (
    Member,
    file_digest,
    parse_family,
    read_family,
    write_family,
)
from genesynth.record.layout import MEMBER_ARCH, MEMBER_TEXT, MEMBER_WEIGHTS, member_path
from genesynth.record.trial import TrialRecord

__all__ = ["MIN_GAP", "Candidate", "Member", "alternates", "beats", "candidates", "labels",
           "parse_family", "read_family", "retrain_family", "select", "write_family"]


@dataclass(frozen=True)
class Candidate:
    """A finished, feasible search trial."""

    trial: int
    arch: Architecture
    accuracy: float
    params: int
    macs: int
    utility: float


def candidates(study: optuna.Study) -> list[Candidate]:
    """Feasible complete trials, one per distinct architecture (the first trial of each)."""
    seen: set[str] = set()
    found: list[Candidate] = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        rec = TrialRecord.of(t)
        if rec.feasible is not True or rec.key in seen:
            continue
        if rec.key is None or rec.arch is None or rec.accuracy is None or rec.params is None \
                or rec.macs is None or rec.utility is None:
            continue  # not written by genesynth's objective
        seen.add(rec.key)
        found.append(Candidate(
            t.number, Architecture.from_json(rec.arch), rec.accuracy, rec.params, rec.macs,
            rec.utility,
        ))
    return found


MIN_GAP = 0.2  # each member has at most 80 % of the MACs of the one above
REPLACEMENTS = 1  # retrainings of the next candidate of a band, per dominated member


class Measured(Protocol):
    """What dominance compares: top-1 accuracy, params and MACs (Candidate and Member)."""

    @property
    def accuracy(self) -> float: ...
    @property
    def params(self) -> int: ...
    @property
    def macs(self) -> int: ...


def beats(a: Measured, b: Measured) -> bool:
    """``a`` beats or equals ``b`` on every measure: top-1, params and MACs."""
    return a.accuracy >= b.accuracy and a.params <= b.params and a.macs <= b.macs


def front(found: list[Candidate]) -> list[Candidate]:
    """The candidates no other one beats or equals on every measure (of equal ones, the
    first trial)."""

    def loses(c: Candidate, o: Candidate) -> bool:
        return o is not c and beats(o, c) and (not beats(c, o) or o.trial < c.trial)

    return [c for c in found if not any(loses(c, o) for o in found)]


def bands(found: list[Candidate], size: int) -> list[list[Candidate]]:
    """The Pareto front in ``size`` log-MACs bands, largest first, best utility first."""
    kept = front(found)
    if not kept or size < 1:
        return []
    low = math.log(min(c.macs for c in kept))
    high = math.log(max(c.macs for c in kept))
    width = (high - low) / size or 1.0
    split: list[list[Candidate]] = [[] for _ in range(size)]
    for c in kept:
        split[min(size - 1, int((high - math.log(c.macs)) / width))].append(c)
    return [sorted(band, key=lambda c: (-c.utility, c.trial)) for band in split]


def select(found: list[Candidate], size: int = 4, min_gap: float = MIN_GAP) -> list[Candidate]:
    """Best utility per log-MACs band of the Pareto front, largest first, each clearly
    smaller than the last."""
    chosen: list[Candidate] = []
    for band in bands(found, size):
        for c in band:
            if not chosen or c.macs <= (1 - min_gap) * chosen[-1].macs:
                chosen.append(c)
                break
    return chosen


def alternates(found: list[Candidate], chosen: list[Candidate], size: int
               ) -> list[list[Candidate]]:
    """For each chosen member, the other candidates of its band, best utility first."""
    by_band = bands(found, size)
    return [next(([o for o in band if o is not c] for band in by_band if c in band), [])
            for c in chosen]


def labels(count: int) -> list[str]:
    return list(string.ascii_uppercase[:count])


def retrain_family(
    chosen: list[Candidate], spares: list[list[Candidate]], evaluator: Any, constraint: Any,
    out: Path, emit: Listener, epochs: int, latency: Any = None,
) -> list[Member]:
    """Retrain and measure each chosen candidate (``spares``: the rest of its band, see
    :func:`alternates`); replace or drop dominated members; writes family/<L>/ and
    family.json."""
    names = labels(len(chosen))
    emit(FamilyStarted(tuple(names), epochs, time.time()))

    def retrain(label: str, c: Candidate) -> Member:
        return _retrain_one(label, c, evaluator, constraint, out, emit, epochs, latency)

    members = [retrain(label, c) for label, c in zip(names, chosen, strict=True)]
    spare = [list(s) for s in spares] + [[] for _ in range(len(chosen) - len(spares))]
    tries = [0] * len(members)
    dropped: list[dict[str, Any]] = []  # family.json says what was dropped, and why
    while (pair := _dominated(members)) is not None:
        i, j = pair
        loser, winner = members[i], members[j]
        above = members[i - 1].macs if i else None
        below = members[i + 1].macs if i + 1 < len(members) else 0
        nxt = _fits(spare[i], above, below) if tries[i] < REPLACEMENTS else None
        event = MemberDropped(loser.label, loser.trial, winner.label, _why(winner, loser),
                              nxt.trial if nxt else None, time.time())
        emit(event)
        dropped.append({"trial": loser.trial, "by_trial": winner.trial, "reason": event.reason,
                        "replaced_by": event.replacement})
        shutil.rmtree(out / member_path(loser.label), ignore_errors=True)
        if nxt is not None:
            spare[i].remove(nxt)
            tries[i] += 1
            members[i] = retrain(loser.label, nxt)
        else:
            del members[i], spare[i], tries[i]
    members = _relabel(members, out, emit)
    write_family(out, members, dropped)
    return members


def _dominated(members: list[Member]) -> tuple[int, int] | None:
    """The first member (largest first) that another beats or equals on every measure, and
    that other one."""
    for i, loser in enumerate(members):
        for j, winner in enumerate(members):
            if i != j and beats(winner, loser):
                return i, j
    return None


def _fits(spare: list[Candidate], above: int | None, below: int) -> Candidate | None:
    """The best spare that keeps the MACs gap to the members above and below."""
    for c in spare:
        fits_above = above is None or c.macs <= (1 - MIN_GAP) * above
        if fits_above and below <= (1 - MIN_GAP) * c.macs:
            return c
    return None


def _why(winner: Member, loser: Member) -> str:
    return (f"{winner.label} has top-1 {winner.accuracy:.2f}% >= {loser.accuracy:.2f}%, params "
            f"{winner.params:,} <= {loser.params:,}, MACs {winner.macs:,} <= {loser.macs:,}")


def _relabel(members: list[Member], out: Path, emit: Listener) -> list[Member]:
    """Consecutive labels again after a drop: folders renamed in order (each target is free)."""
    renamed = []
    for member, label in zip(members, labels(len(members)), strict=True):
        if member.label != label:
            (out / member_path(member.label)).rename(out / member_path(label))
            emit(MemberRenamed(member.label, label, member.trial, time.time()))
            weights = member_path(label, MEMBER_WEIGHTS) if member.weights else None
            member = replace(member, label=label, arch=member_path(label, MEMBER_ARCH),
                             text=member_path(label, MEMBER_TEXT), weights=weights)
        renamed.append(member)
    return renamed


def _retrain_one(label: str, c: Candidate, evaluator: Evaluator, constraint: Any, out: Path,
                 emit: Listener, epochs: int, latency: Any) -> Member:
    emit(MemberStarted(label, c.trial, c.params, c.macs, epochs, time.time()))
    folder = out / member_path(label)
    folder.mkdir(parents=True, exist_ok=True)

    def report(epoch: int, loss: float, accuracy: float) -> None:
        emit(MemberEpoch(label, epoch, epochs, loss, accuracy, time.time()))

    weights: str | None = None
    digest: str | None = None
    m, state = evaluator.retrain(c.arch, report, Measurement(c.accuracy, c.params, c.macs))
    if state is not None:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(folder / MEMBER_WEIGHTS))
        weights = member_path(label, MEMBER_WEIGHTS)
        digest = file_digest(folder / MEMBER_WEIGHTS)  # export, report, diff check it
    ms = float(latency(c.arch)) if latency is not None else m.latency_ms
    here = (_measured_here(c.arch, constraint)
            if getattr(constraint, "predicts_latency", False) else None)
    m = Measurement(m.accuracy, c.params, c.macs, ms, m.curve, m.loss, m.seconds)
    (folder / MEMBER_ARCH).write_text(c.arch.to_json() + "\n")
    (folder / MEMBER_TEXT).write_text(architecture_to_text(c.arch))
    member = Member(
        label, c.trial, c.arch.key, m.accuracy, c.accuracy, c.params, c.macs, ms,
        float(constraint.utility(m)), bool(constraint.feasible(m)),
        member_path(label, MEMBER_ARCH), member_path(label, MEMBER_TEXT), weights, digest,
        measured_latency_ms=here,
    )
    emit(MemberDone(label, c.trial, member.accuracy, member.params, member.macs,
                    member.latency_ms, member.utility, member.feasible, time.time()))
    return member


def _measured_here(arch: Any, constraint: Any) -> float | None:
    """A member's latency measured on this machine with the runtime and threads its latency
    table was made with (None when this machine lacks that runtime), beside the latency the
    table predicts for the target."""
    from genesynth.latency_profile import measure_here
    from genesynth.latency_table import cached_table

    target = cached_table(constraint.latency_table).target
    threads = target.get("threads")
    return measure_here(arch, str(target.get("runtime", "")),
                        threads if isinstance(threads, int) and threads >= 1 else 1)
