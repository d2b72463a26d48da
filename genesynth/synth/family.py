"""The family: K networks of clearly decreasing complexity (AttoNet-A ... D).

What the family promises: it spans the feasible trade-off the search found, from the most
accurate candidate (A) down to the smallest; each member has at most ``1 - MIN_GAP`` (80 %)
of the MACs of the one above; and no member is beaten or equalled on every measure (top-1,
params and MACs) by another member.

Selection is :mod:`genesynth.record.selection` (the same rule the dashboard's "family
forming" panel uses): the front of the feasible candidates, A its most accurate, then the best
utility of each log-MACs band below A. Each member is then retrained with the full budget by
the evaluator's ``retrain`` (when it has one), measured on the test split, and re-checked
against the constraint. Test top-1 can reorder what validation ranked: a retrained member
that another member now beats or equals on every measure is replaced by the next candidate
of its band that keeps the MACs gaps (never the same trial, never another member; at most
``REPLACEMENTS`` times) or dropped, and the members below it move up a letter; each such step
is an event (``MemberDropped``, ``MemberRenamed``).

A run interrupted while retraining keeps what it finished: each member's record is written to
``family/<L>/member.json`` when its retraining ends (removed once ``family.json`` holds it),
and a resumed run keeps a member whose record is the same trial and architecture with the
weights written (``MemberDone.kept``); the member that was retraining starts again from epoch
1 (``MemberStarted.restarted``, with the epochs ``progress.json`` says it had done).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from genesynth.dsl.writer import architecture_to_text
from genesynth.errors import RunError
from genesynth.evaluate.base import Evaluator
from genesynth.evaluate.cache import CachedRetrain
from genesynth.events import (
    FamilyStarted,
    Listener,
    MemberDone,
    MemberDropped,
    MemberEpoch,
    MemberRenamed,
    MemberStarted,
)
from genesynth.net.arch import Architecture
from genesynth.net.measurement import Measurement
from genesynth.record.family import (
    Member,
    check_family,
    file_digest,
    labels,
    members_of,
    parse_family,
    read_family,
    verified_weights,
    write_family,
)
from genesynth.record.layout import (
    MEMBER_ARCH,
    MEMBER_PROGRESS,
    MEMBER_RECORD,
    MEMBER_TEXT,
    MEMBER_WEIGHTS,
    member_path,
)
from genesynth.record.selection import MIN_GAP, bands, beats, fill, front, select, spares
from genesynth.record.trial import TrialRecord

if TYPE_CHECKING:
    from genesynth.goal.constraint import Constraint

__all__ = ["MIN_GAP", "Candidate", "Member", "alternates", "bands", "beats", "candidates",
           "fill", "front", "labels", "parse_family", "read_family", "retrain_family", "select",
           "write_family"]


@dataclass(frozen=True)
class Candidate:
    """A finished, feasible search trial."""

    trial: int
    arch: Architecture
    accuracy: float
    params: int
    macs: int
    utility: float


def candidates(study: optuna.Study, leave: Collection[int] = ()) -> list[Candidate]:
    """Feasible complete trials, one per distinct architecture (the first trial of each);
    ``leave``: the widening phases whose trials are left out (numbers, 1, 2, ...)."""
    seen: set[str] = set()
    found: list[Candidate] = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        rec = TrialRecord.of(t)
        if rec.feasible is not True or rec.key in seen or rec.phase in leave:
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


REPLACEMENTS = 1  # retrainings of the next candidate of a band, per dominated member


def alternates(found: list[Candidate], chosen: list[Candidate], size: int
               ) -> list[list[Candidate]]:
    """For each chosen member, the other candidates of its band in the band's order (never
    the member itself nor another member; :func:`genesynth.record.selection.spares`)."""
    return spares(found, chosen, size)


def retrain_family(
    chosen: list[Candidate], spares: list[list[Candidate]], evaluator: Evaluator,
    constraint: Constraint, out: Path, emit: Listener, epochs: int,
    latency: Callable[[Architecture], float] | None = None, done: Sequence[Member] = (),
    dropped_before: Sequence[dict[str, Any]] = (),
) -> list[Member]:
    """Retrain and measure each chosen candidate (``spares``: the rest of its band, see
    :func:`alternates`); replace or drop dominated members; writes family/<L>/ and
    family.json. ``done``: members retrained earlier in this run (before a phase searched
    below them), taken as they are where a chosen candidate is the same trial (moved down a
    letter where a new one is placed above it); ``dropped_before``: what earlier retrainings
    dropped (family.json says it too)."""
    names = labels(len(chosen))
    earlier = _carried(done, chosen, names, out, emit)
    again = tuple(earlier)
    holds = getattr(evaluator, "holds", None)  # the evaluation cache's retrainings
    kept = tuple(n for n, c in zip(names, chosen, strict=True)
                 if n not in again and kept_member(out, n, c))
    cached = tuple(n for n, c in zip(names, chosen, strict=True)
                   if n not in again + kept and holds and holds(c.arch))
    emit(FamilyStarted(tuple(names), epochs, time.time(), cached, kept, again))

    def retrain(label: str, c: Candidate) -> Member:
        if label in earlier:
            return earlier[label]
        return _retrain_one(label, c, evaluator, constraint, out, emit, epochs, latency)

    members = [retrain(label, c) for label, c in zip(names, chosen, strict=True)]
    spare = [list(s) for s in spares] + [[] for _ in range(len(chosen) - len(spares))]
    tries = [0] * len(members)
    dropped = list(dropped_before)  # family.json says what was dropped, and why
    while (pair := _dominated(members)) is not None:
        i, j = pair
        loser, winner = members[i], members[j]
        above = members[i - 1].macs if i else None
        below = members[i + 1].macs if i + 1 < len(members) else 0
        taken = {m.trial for m in members}
        nxt = _fits(spare[i], above, below, taken) if tries[i] < REPLACEMENTS else None
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
    for member in members:  # family.json says it now (and adapt, export may change it there)
        (out / member_path(member.label, MEMBER_RECORD)).unlink(missing_ok=True)
    return members


def kept_member(out: Path, label: str, c: Candidate) -> Member | None:
    """The member ``label`` as a run interrupted while retraining its family recorded it
    (``family/<label>/member.json``), when it is ``c`` retrained and its weights are the ones
    written; None otherwise (then it is retrained)."""
    record = out / member_path(label, MEMBER_RECORD)
    if not record.is_file():
        return None
    try:
        entry = json.loads(record.read_text())
        found = members_of(check_family({"members": [entry]}, str(record)))
        member = found[0] if found else None
        if member is None or (member.label, member.trial, member.key) != (label, c.trial,
                                                                         c.arch.key):
            return None
        weights = verified_weights(out, member, label)  # RunError when changed
    except (OSError, ValueError, RunError):
        return None
    return member if weights is None or weights.is_file() else None


def _reached(folder: Path, c: Candidate) -> int | None:
    """The epochs an interrupted retraining of ``c`` in ``folder`` had finished (None: none
    of ``c`` had begun there)."""
    try:
        progress = json.loads((folder / MEMBER_PROGRESS).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(progress, dict) or progress.get("trial") != c.trial:
        return None
    epoch = progress.get("epoch")
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 0


def _dominated(members: list[Member]) -> tuple[int, int] | None:
    """The first member (largest first) that another beats or equals on every measure, and
    that other one."""
    for i, loser in enumerate(members):
        for j, winner in enumerate(members):
            if i != j and beats(winner, loser):
                return i, j
    return None


def _fits(spare: list[Candidate], above: int | None, below: int, taken: set[int]
          ) -> Candidate | None:
    """The best spare that keeps the MACs gap to the members above and below and is no
    member's trial (never the dominated member itself)."""
    for c in spare:
        if c.trial in taken:
            continue
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
            member = _renamed(member, label, out, emit)
        renamed.append(member)
    return renamed


def _carried(done: Sequence[Member], chosen: list[Candidate], names: list[str], out: Path,
             emit: Listener) -> dict[str, Member]:
    """The members retrained before that are chosen again, by their label in this family: a
    network placed above one moves it (and its folder) down a letter, the last one first, so
    each target is free."""
    at = {c.trial: label for label, c in zip(names, chosen, strict=True)}
    carried: dict[str, Member] = {}
    for member in sorted(done, key=lambda m: m.label, reverse=True):
        label = at.get(member.trial)
        if label is None:
            continue
        if label != member.label:
            shutil.rmtree(out / member_path(label), ignore_errors=True)  # (never a member's)
            member = _renamed(member, label, out, emit)
        carried[label] = member
    return dict(sorted(carried.items()))


def _renamed(member: Member, label: str, out: Path, emit: Listener) -> Member:
    """``member`` under ``label``: its folder renamed, its record's paths with it."""
    (out / member_path(member.label)).rename(out / member_path(label))
    emit(MemberRenamed(member.label, label, member.trial, time.time()))
    weights = member_path(label, MEMBER_WEIGHTS) if member.weights else None
    return replace(member, label=label, arch=member_path(label, MEMBER_ARCH),
                   text=member_path(label, MEMBER_TEXT), weights=weights,
                   quantized=_moved(member.quantized, member_path(member.label),
                                    member_path(label)))


def _retrain_one(label: str, c: Candidate, evaluator: Evaluator, constraint: Constraint,
                 out: Path, emit: Listener, epochs: int,
                 latency: Callable[[Architecture], float] | None) -> Member:
    folder = out / member_path(label)
    kept = kept_member(out, label, c)
    if kept is not None:  # retrained before the interrupt: not again
        emit(MemberDone(label, c.trial, kept.accuracy, kept.params, kept.macs, kept.latency_ms,
                        kept.utility, kept.feasible, time.time(), kept.measured_latency_ms,
                        kept.reused is not None, kept=True))
        return kept
    reached = _reached(folder, c)
    emit(MemberStarted(label, c.trial, c.params, c.macs, epochs, time.time(),
                       restarted=reached is not None, reached=reached or 0))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MEMBER_RECORD).unlink(missing_ok=True)  # another trial's, from before
    _progress(folder, c, 0)

    def report(epoch: int, loss: float | None, accuracy: float) -> None:
        _progress(folder, c, epoch)
        emit(MemberEpoch(label, epoch, epochs, loss, accuracy, time.time()))

    weights: str | None = None
    digest: str | None = None
    m, state = evaluator.retrain(c.arch, report, Measurement(c.accuracy, c.params, c.macs))
    # the evaluation cache's entry, as genesynth found it (its weights measured again)
    source = evaluator.reused.get(c.arch.key) if isinstance(evaluator, CachedRetrain) else None
    reused = source is not None
    if state is not None:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(folder / MEMBER_WEIGHTS))
        weights = member_path(label, MEMBER_WEIGHTS)
        digest = file_digest(folder / MEMBER_WEIGHTS)  # export, report, diff check it
    ms = float(latency(c.arch)) if latency is not None else m.latency_ms
    here = _measured_here(c.arch, constraint) if constraint.predicts_latency else None
    m = Measurement(m.accuracy, c.params, c.macs, ms, m.curve, m.loss, m.seconds)
    (folder / MEMBER_ARCH).write_text(c.arch.to_json() + "\n")
    (folder / MEMBER_TEXT).write_text(architecture_to_text(c.arch))
    quantized, bounded = _int8(c.arch, state, folder, evaluator, constraint, m)
    member = Member(
        label, c.trial, c.arch.key, m.accuracy, c.accuracy, c.params, c.macs, ms,
        float(constraint.utility(m)), bool(constraint.feasible(bounded)),
        member_path(label, MEMBER_ARCH), member_path(label, MEMBER_TEXT), weights, digest,
        measured_latency_ms=here, quantized=quantized, reused=source,
    )
    (folder / MEMBER_RECORD).write_text(json.dumps(member.to_dict(), indent=2) + "\n")
    (folder / MEMBER_PROGRESS).unlink(missing_ok=True)
    emit(MemberDone(label, c.trial, member.accuracy, member.params, member.macs,
                    member.latency_ms, member.utility, member.feasible, time.time(),
                    member.measured_latency_ms, reused))
    return member


def _progress(folder: Path, c: Candidate, epoch: int) -> None:
    """The epochs of ``c``'s retraining done so far (said when an interrupt restarts it)."""
    (folder / MEMBER_PROGRESS).write_text(json.dumps({"trial": c.trial, "epoch": epoch}) + "\n")


def _int8(arch: Any, state: Any, folder: Path, evaluator: Evaluator, constraint: Constraint,
          m: Measurement) -> tuple[dict[str, Any] | None, Measurement]:
    """With ``accuracy_of = "int8"``: the member's int8 export, measured, and the measurement
    the bound is checked on (the int8 test top-1); else nothing, and ``m`` itself."""
    dataset = getattr(evaluator, "dataset", None)
    if getattr(constraint, "accuracy_of", "float") != "int8" or state is None or dataset is None:
        return None, m
    from genesynth.export.exporters import measure_int8

    q = measure_int8(arch, state, folder, dataset)
    prefix = f"{folder.parent.name}/{folder.name}"
    record = {**q.to_dict(), "file": f"{prefix}/{Path(q.file).name}",
              "float_file": f"{prefix}/{Path(q.float_file).name}"}
    return record, replace(m, accuracy=q.accuracy)


def _moved(quantized: dict[str, Any] | None, old: str, new: str) -> dict[str, Any] | None:
    """A member's int8 record after its folder moved from ``old`` to ``new``."""
    if not quantized:
        return quantized
    return {k: v.replace(old + "/", new + "/", 1) if k in ("file", "float_file") else v
            for k, v in quantized.items()}


def _measured_here(arch: Any, constraint: Constraint) -> float | None:
    """A member's latency measured on this machine with the runtime and threads its latency
    table was made with (None when this machine lacks that runtime), beside the latency the
    table predicts for the target."""
    from genesynth.latency.profile import measure_here
    from genesynth.latency.table import cached_table

    if constraint.latency_table is None:  # measured here already
        return None
    target = cached_table(constraint.latency_table).target
    threads = target.get("threads")
    return measure_here(arch, str(target.get("runtime", "")),
                        threads if isinstance(threads, int) and threads >= 1 else 1)
