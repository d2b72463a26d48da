"""Widening a short family, the way AttoNets were made: search again where a member is missing.

After the search, a family with fewer members than asked for gets up to ``family_size - 1``
further phases of ``max(4, trials // family_size)`` trials each:

- **below**: the MACs bound tightened to ``1 - MIN_GAP`` of the smallest member -- or, when
  the prototype cannot make a network under that bound (its cost range,
  :meth:`Prototype.cost_range`, and the smallest network any trial built), to ``1 - MIN_GAP``
  of the member above the widest gap between two members that has room for one more;
- **above**, when there is no room below (or a phase below found nothing): networks with at
  least ``1 / (1 - MIN_GAP)`` of member A's MACs, up to the constraint's bound. The family
  starts at its most accurate candidate, A; the search favours small networks (the utility
  does), so it may have met few networks larger than A. One above A that is more accurate
  becomes the new A, and the old A and the members below it make room for the rest.

A phase that adds no member ends the search in its direction; with no room in either, or
both tried, the run says why (``SearchNotExtended``), naming what the phases measured.

What was planned is recorded in the study (user attr ``widening``), so a run killed during a
phase continues that phase on resume instead of planning another, and a family made again
(``genesynth family``, or a resume after ``family.json`` was deleted) never searches again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import optuna

from genesynth import fmt
from genesynth.events import Listener, SearchExtended, SearchNotExtended
from genesynth.record.layout import PLANNED_ATTR
from genesynth.record.selection import Measured
from genesynth.record.trial import TrialRecord
from genesynth.synth import family as fam
from genesynth.synth.trials import done_count

if TYPE_CHECKING:
    from genesynth.space import Prototype
    from genesynth.synth.setup import Setup

#: Study user attr: ``{"budget": trials, "phases": [Phase, ...], "fruitless": {number: what it
#: measured}, "done": bool}`` (``fruitless``: the phases that added no member).
WIDENING_ATTR = "widening"

UNBOUNDED = 2**62
"""The MACs bound of a phase above member A when neither the constraint nor the prototype
bounds MACs."""


@dataclass(frozen=True)
class Phase:
    """One widening phase: search until the study counts ``trials``, MACs ≤ ``max_macs``
    (and ≥ ``min_macs`` for a phase above member A)."""

    number: int  # 1, 2, ...
    trials: int
    max_macs: int
    members: int  # family members before it
    min_macs: int | None = None  # a phase above member A: its lower bound
    #: The choices of a network inside the phase's bound that no trial built (found by a
    #: descent on MACs): measured first, so the search has a network there to start from.
    start: dict[str, Any] | None = None
    #: Planned on the retrained family (:func:`widen_retrained`), not on the search's top-1.
    retrained: bool = False

    @property
    def above(self) -> bool:
        """A phase above member A (a phase between retrained members has a floor too)."""
        return self.min_macs is not None and not self.retrained


Search = Callable[[Phase], str | None]  # runs one phase; why it stopped early, if it did


def widen_family(study: optuna.Study, setup: Setup, emit: Listener, search: Search
                 ) -> list[fam.Candidate]:
    """The family's candidates, after the phases a short family needs (``search`` runs one)."""
    size = setup.spec.family_size
    record = _load(study, setup.spec.trials)
    chosen = first_family(study, setup)
    if record["done"]:
        return chosen
    phases = [Phase(**p) for p in record["phases"]]
    pending = phases[-1] if phases and phases[-1].trials > done_count(study) else None
    # each phase that added no member, and what it measured (kept for a resume)
    fruitless = [(p, record["fruitless"][str(p.number)]) for p in phases
                 if str(p.number) in record["fruitless"]]
    while True:
        phase = pending or _plan(study, setup, chosen, phases, fruitless, emit)
        pending = None
        if phase is None:
            break
        if phase not in phases:
            phases.append(phase)
            _save(study, setup.spec.trials, phases, fruitless, done=False)
            study.set_user_attr(PLANNED_ATTR, phase.trials)  # for `genesynth watch`
            if phase.start is not None:
                study.enqueue_trial(phase.start)
            emit(SearchExtended(phase.trials, phase.max_macs, phase.members, phase.number,
                                time.time(), wanted=size, min_macs=phase.min_macs))
        stopped = search(phase)
        top = chosen[0] if chosen else None
        chosen = first_family(study, setup)
        if len(chosen) <= phase.members:
            fruitless.append((phase, _found_none(study, phase, top, stopped, chosen)))
            _save(study, setup.spec.trials, phases, fruitless, done=False)
    _save(study, setup.spec.trials, phases, fruitless, done=True)
    return chosen


def first_family(study: optuna.Study, setup: Setup) -> list[fam.Candidate]:
    """The family as the search's top-1 chooses it, before any retraining: of the trials of
    the search and of its widening phases, never those of a phase planned on the retrained
    family (which a resume must not let change the family they were planned on)."""
    return fam.select(fam.candidates(study, retrained_phases(study, setup)),
                      setup.spec.family_size)


def retrained_phases(study: optuna.Study, setup: Setup, after: int = 0) -> set[int]:
    """The numbers of the phases planned on the retrained family, after phase ``after``."""
    record = _load(study, setup.spec.trials)
    return {p["number"] for p in record["phases"] if p.get("retrained") and p["number"] > after}


#: Retrains ``chosen`` (``spares``: the rest of each one's band), taking the members
#: retrained before (``done``) as they are; returns the family as retraining leaves it.
Retrain = Callable[[list[fam.Candidate], list[list[fam.Candidate]], list[fam.Member]],
                   list[fam.Member]]


def widen_retrained(study: optuna.Study, setup: Setup, emit: Listener,
                    members: list[fam.Member], retrain: Retrain, search: Search | None
                    ) -> list[fam.Member]:
    """After a retraining that dropped members: while the family is short, a phase searches
    below its smallest retrained member (or in the widest gap between two, 20 % apart from
    both), where top-1 falls once networks are fully trained, and the networks that fit there
    are retrained beside the members, which are kept as they are. (The search's top-1, a few
    epochs, ranks larger networks above smaller ones that equal them once retrained, so a
    family planned on it alone loses its larger members to retraining with no phase left to
    search below.)

    Up to ``family_size - 1`` such phases, until the prototype has no network under the
    bound (its cost range, or a descent on MACs: :func:`smallest_macs`) or a phase adds no
    network to retrain (none feasible, or none 20 % apart from the members). The phases
    recorded in the study are run again first, in order (their trials done, their members'
    retraining the evaluation cache's); ``search`` None (the family made again) runs only
    those."""
    size = setup.spec.family_size
    record = _load(study, setup.spec.trials)
    phases = [Phase(**p) for p in record["phases"]]
    fruitless = [(p, record["fruitless"][str(p.number)]) for p in phases
                 if str(p.number) in record["fruitless"]]
    replay = [p for p in phases if p.retrained]
    while len(members) < size:
        phase = replay.pop(0) if replay else None
        if phase is None and search is not None:
            phase = _plan_retrained(study, setup, members, phases, fruitless, emit)
        if phase is None:
            break
        new = phase not in phases
        if new:
            phases.append(phase)
            _save(study, setup.spec.trials, phases, fruitless, done=True)
            study.set_user_attr(PLANNED_ATTR, phase.trials)
            if phase.start is not None:
                study.enqueue_trial(phase.start)
        if new or (search is not None and phase.trials > done_count(study)):  # (resumed)
            emit(SearchExtended(phase.trials, phase.max_macs, len(members), phase.number,
                                time.time(), wanted=size, min_macs=phase.min_macs,
                                retrained=True))
        stopped = search(phase) if search is not None else None
        chosen, spares = _grown(study, setup, members, phase)
        if len(chosen) > len(members):
            members = retrain(chosen, spares, members)
        elif all(p != phase for p, _ in fruitless):
            fruitless.append((phase, _none_fits(study, phase, stopped)))
            _save(study, setup.spec.trials, phases, fruitless, done=True)
    return members


def _plan_retrained(study: optuna.Study, setup: Setup, members: list[fam.Member],
                    phases: list[Phase], fruitless: list[tuple[Phase, str]], emit: Listener
                    ) -> Phase | None:
    """The next phase below (or between) the retrained members, or None (with the reason
    told)."""
    size = setup.spec.family_size
    if not members:
        return None
    mine = [p for p in phases if p.retrained]
    reasons = [why for p, why in fruitless if p.retrained]
    below = int((1 - fam.MIN_GAP) * members[-1].macs)
    smallest, exact, start = smallest_macs(study, setup.prototype, below)
    cap = _room(members, smallest, setup.constraint.max_macs)
    if cap is None:
        reasons.append(_no_room(members, smallest, exact))
    if not reasons and len(mine) >= size - 1:
        numbers = ", ".join(str(p.number) for p in mine)
        reasons.append(f"phases {numbers} searched below the retrained members, as many as "
                       "the family has places after A")
    if reasons or cap is None:  # (no cap: a reason says why)
        emit(SearchNotExtended(len(members), size, "; ".join(reasons), time.time()))
        return None
    per_phase = max(4, setup.spec.trials // size)
    under = [m.macs for m in members if m.macs < cap]  # between two members: 20 % above both
    floor = math.ceil(max(under) / (1 - fam.MIN_GAP)) if under else None
    return Phase(len(phases) + 1, done_count(study) + per_phase, cap, len(members),
                 min_macs=floor, start=start if cap == below else None, retrained=True)


def _grown(study: optuna.Study, setup: Setup, members: list[fam.Member], phase: Phase
           ) -> tuple[list[fam.Candidate], list[list[fam.Candidate]]]:
    """The family to retrain after ``phase``: the members, then the candidates within its
    MACs bounds that fit between or below them, 20 % apart from both neighbours, best
    utility first (:func:`genesynth.record.selection.fill`); each new one's spares are the
    rest of them. Trials of later phases are left out (a resume runs the phases again)."""
    found = fam.candidates(study, retrained_phases(study, setup, after=phase.number))
    by_trial = {c.trial: c for c in found}
    if any(m.trial not in by_trial for m in members):
        return [], []
    ours = [by_trial[m.trial] for m in members]
    taken = {m.trial for m in members}
    floor = phase.min_macs or 0
    rest = fam.front([c for c in found if floor <= c.macs <= phase.max_macs  # (the front of
                      and c.trial not in taken])  # those: one outside must not hide them)
    chosen = fam.fill(ours, rest, setup.spec.family_size)
    left = sorted((c for c in rest if c not in chosen), key=lambda c: (-c.utility, c.trial))
    return chosen, [[] if c in ours else left for c in chosen]


def _none_fits(study: optuna.Study, phase: Phase, stopped: str | None) -> str:
    """What a phase below the retrained members that gave no network to retrain measured."""
    why = f" ({stopped})" if stopped else ""
    records = [rec for t in study.get_trials(deepcopy=False)
               if (rec := TrialRecord.of(t)).phase == phase.number and rec.accuracy is not None]
    where = (f"phase {phase.number} searched below {phase.max_macs:,} MACs"
             if phase.min_macs is None else f"phase {phase.number} searched from "
             f"{phase.min_macs:,} to {phase.max_macs:,} MACs")
    if not records:
        return f"{where} and measured no network there{why}"
    best = f" (the best: {max(r.accuracy or 0.0 for r in records):.2f}%)"
    head = f"{where}: of the {fmt.plural(len(records), 'network')} measured there, "
    if not any(r.feasible for r in records):
        return f"{head}none is feasible{best}{why}"
    return f"{head}none is 20% apart in MACs from the members{best}{why}"


def _found_none(study: optuna.Study, phase: Phase, top: fam.Candidate | None,
                stopped: str | None, chosen: list[fam.Candidate]) -> str:
    """What a phase that added no member measured, for the run's last word on the family."""
    mine: dict[str | None, float] = {}
    trials: set[int] = set()
    for t in study.get_trials(deepcopy=False):
        rec = TrialRecord.of(t)
        if rec.phase == phase.number and rec.accuracy is not None:
            mine[rec.key] = rec.accuracy
            trials.add(t.number)
    why = f" ({stopped})" if stopped else ""
    where = (f"above member A (MACs >= {phase.min_macs:,})" if phase.above
             else f"below {phase.max_macs:,} MACs")
    if not mine:
        return f"phase {phase.number} searched {where} and measured no network there{why}"
    measured = (f"phase {phase.number} searched {where}: of the "
                f"{fmt.plural(len(mine), 'network')} measured there, ")
    best = f" (the best: {max(mine.values()):.2f}%)"
    joined = [c.trial for c in chosen if c.trial in trials]
    if joined:  # it took the place of members it beats on every measure
        one, names = len(joined) == 1, ", ".join(str(n) for n in joined)
        return (f"{measured}{'trial' if one else 'trials'} {names} replaced "
                f"{'a member it beats' if one else 'members they beat'} on every measure, and "
                f"the family did not grow{best}{why}")
    if phase.above and top is not None:
        return (f"{measured}none is feasible and more accurate than A's "
                f"{top.accuracy:.2f}%{best}{why}")
    return f"{measured}none became a member{best}{why}"


def _plan(study: optuna.Study, setup: Setup, chosen: list[fam.Candidate], phases: list[Phase],
          fruitless: list[tuple[Phase, str]], emit: Listener) -> Phase | None:
    """The next phase: below the members where there is room and no phase below was
    fruitless, else above member A where there is room and no phase above was fruitless; or
    None (with the reason told, where it is not obvious)."""
    size = setup.spec.family_size
    if not chosen or len(chosen) >= size:
        return None
    if len(phases) >= size - 1:
        if fruitless:
            emit(SearchNotExtended(len(chosen), size, "; ".join(f for _, f in fruitless),
                                   time.time()))
        return None
    tried = {p.above for p, _ in fruitless}
    per_phase = max(4, setup.spec.trials // size)
    trials, number = done_count(study) + per_phase, len(phases) + 1
    reasons = [f for _, f in fruitless]
    if False not in tried:  # below: not tried yet, or it found a member
        below = int((1 - fam.MIN_GAP) * chosen[-1].macs)
        smallest, exact, start = smallest_macs(study, setup.prototype, below)
        cap = _room(chosen, smallest, setup.constraint.max_macs)
        if cap is not None:
            return Phase(number, trials, cap, len(chosen), start=start if cap == below else None)
        reasons.append(_no_room(chosen, smallest, exact))
    largest = _largest_macs(setup)
    floor = math.ceil(chosen[0].macs / (1 - fam.MIN_GAP))
    if True not in tried and floor <= largest:
        return Phase(number, trials, largest, len(chosen), min_macs=floor)
    if True not in tried and floor > largest:
        reasons.append(f"a more accurate member above A needs MACs >= {floor:,}, but the "
                       f"space inside the bounds ends at {largest:,}")
    emit(SearchNotExtended(len(chosen), size, "; ".join(reasons), time.time()))
    return None


def _no_room(chosen: Sequence[Measured], smallest: int, exact: bool) -> str:
    below = int((1 - fam.MIN_GAP) * chosen[-1].macs)
    reason = (f"a smaller member needs MACs <= {below:,}, but the prototype's smallest "
              f"network has {smallest:,} MACs" if exact else
              f"a smaller member needs MACs <= {below:,}, but the fewest MACs found in the "
              f"prototype's space are {smallest:,}")
    if len(chosen) > 1:
        reason += (f"; the members' MACs ({', '.join(f'{c.macs:,}' for c in chosen)}) "
                   f"leave no room between them for one {fam.MIN_GAP:.0%} apart from both")
    return reason


def _largest_macs(setup: Setup) -> int:
    """The most MACs a network of the search may have: the constraint's bound, or less where
    the prototype's largest network (found exactly) has less; without either, no bound."""
    space = setup.prototype.cost_range()
    bounds = [b for b in (setup.constraint.max_macs, space.max_macs if space.exact else None)
              if b is not None]
    return min(bounds, default=UNBOUNDED)


def _room(chosen: Sequence[Measured], smallest: int, bound: int | None) -> int | None:
    """The MACs bound of the next phase: below the smallest member when the prototype can
    make a network there; else below the member above the widest gap between two members
    that has room for one more, ``MIN_GAP`` apart from both; None when there is no room."""
    keep = 1 - fam.MIN_GAP
    caps = [int(keep * chosen[-1].macs)] if smallest <= keep * chosen[-1].macs else []
    gaps = sorted(((b.macs / a.macs, a) for a, b in zip(chosen, chosen[1:], strict=False)
                   if b.macs <= keep * keep * a.macs), key=lambda g: g[0])
    caps += [int(keep * a.macs) for _, a in gaps]
    caps = [cap if bound is None else min(bound, cap) for cap in caps]
    return caps[0] if caps else None


def smallest_macs(study: optuna.Study, prototype: Prototype, below: int | None = None
                  ) -> tuple[int, bool, dict[str, Any] | None]:
    """The fewest MACs a network of the space has, whether that is exact, and the choices of a
    network with at most ``below`` MACs where one was found by descent: the prototype's cost
    range where it is exact (enumerated); else the fewest of its estimate, the networks the
    trials built, and a descent from the smallest of those (one choice at a time, until a
    network with at most ``below`` MACs is found: :meth:`Prototype.fewer_macs`)."""
    space = prototype.cost_range()
    if space.exact:
        return space.min_macs, True, None
    built = [(rec.macs, t.params) for t in study.get_trials(deepcopy=False)
             if (rec := TrialRecord.of(t)).macs is not None and t.params]
    if not built:
        return space.min_macs, False, None
    macs, values = min(built, key=lambda b: b[0])
    found = prototype.fewer_macs(values, below) if macs > (below or 0) else None
    if found is None or found[0] >= min(macs, space.min_macs):
        return min(macs, space.min_macs), False, None
    witness = found[1] if below is not None and found[0] <= below else None
    return found[0], False, witness


def _load(study: optuna.Study, budget: int) -> dict[str, Any]:
    record = study.user_attrs.get(WIDENING_ATTR)
    if not isinstance(record, dict) or record.get("budget") != budget:
        return {"budget": budget, "phases": [], "fruitless": {}, "done": False}
    fruitless = record.get("fruitless")  # absent in runs before phases above A
    return {**record, "fruitless": fruitless if isinstance(fruitless, dict) else {}}


def _save(study: optuna.Study, budget: int, phases: list[Phase],
          fruitless: list[tuple[Phase, str]], done: bool) -> None:
    study.set_user_attr(WIDENING_ATTR, {
        "budget": budget, "done": done, "phases": [asdict(p) for p in phases],
        "fruitless": {str(p.number): why for p, why in fruitless}})
