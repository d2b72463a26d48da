"""Widening a short family, the way AttoNets were made: search again below the smallest member.

After the search, a family with fewer members than asked for gets up to ``family_size - 1``
further phases of ``max(4, trials // family_size)`` trials each, with the MACs bound tightened
to ``1 - MIN_GAP`` of the smallest member -- or, when the prototype cannot make a network
under that bound (its cost range, :meth:`Prototype.cost_range`, and the smallest network any
trial built), to ``1 - MIN_GAP`` of the member above the widest gap between two members that
has room for one more. With no room anywhere the run says why (``SearchNotExtended``);
widening stops when a phase adds no member.

What was planned is recorded in the study (user attr ``widening``), so a run killed during a
phase continues that phase on resume instead of planning another, and a family made again
(``genesynth family``, or a resume after ``family.json`` was deleted) never searches again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import optuna

from genesynth.events import Listener, SearchExtended, SearchNotExtended
from genesynth.record.layout import PLANNED_ATTR
from genesynth.record.trial import TrialRecord
from genesynth.synth import family as fam
from genesynth.synth.trials import done_count

if TYPE_CHECKING:
    from genesynth.space import Prototype
    from genesynth.synth.setup import Setup

#: Study user attr: ``{"budget": trials, "phases": [Phase, ...], "done": bool}``.
WIDENING_ATTR = "widening"


@dataclass(frozen=True)
class Phase:
    """One widening phase: search until the study counts ``trials``, MACs ≤ ``max_macs``."""

    number: int  # 1, 2, ...
    trials: int
    max_macs: int
    members: int  # family members before it


Search = Callable[[Phase], str | None]  # runs one phase; why it stopped early, if it did


def widen_family(study: optuna.Study, setup: Setup, emit: Listener, search: Search
                 ) -> list[fam.Candidate]:
    """The family's candidates, after the phases a short family needs (``search`` runs one)."""
    size = setup.spec.family_size
    record = _load(study, setup.spec.trials)
    chosen = fam.select(fam.candidates(study), size)
    if record["done"]:
        return chosen
    phases = [Phase(**p) for p in record["phases"]]
    pending = phases[-1] if phases and phases[-1].trials > done_count(study) else None
    while True:
        phase = pending or _plan(study, setup, chosen, phases, emit)
        pending = None
        if phase is None:
            break
        if phase not in phases:
            phases.append(phase)
            _save(study, setup.spec.trials, phases, done=False)
            study.set_user_attr(PLANNED_ATTR, phase.trials)  # for `genesynth watch`
            emit(SearchExtended(phase.trials, phase.max_macs, phase.members, phase.number,
                                time.time(), wanted=size))
        stopped = search(phase)
        chosen = fam.select(fam.candidates(study), size)
        if len(chosen) <= phase.members:
            why = f": {stopped}" if stopped else ""
            emit(SearchNotExtended(len(chosen), size, f"phase {phase.number} found no new "
                                   f"member{why}", time.time()))
            break
    _save(study, setup.spec.trials, phases, done=True)
    return chosen


def _plan(study: optuna.Study, setup: Setup, chosen: list[fam.Candidate], phases: list[Phase],
          emit: Listener) -> Phase | None:
    """The next phase, or None (with the reason told, where it is not obvious)."""
    size = setup.spec.family_size
    if not chosen or len(chosen) >= size or len(phases) >= size - 1:
        return None
    smallest, exact = smallest_macs(study, setup.prototype)
    cap = _room(chosen, smallest, setup.constraint.max_macs)
    if cap is None:
        below = int((1 - fam.MIN_GAP) * chosen[-1].macs)
        about = "" if exact else "about "
        reason = (f"a smaller member needs MACs <= {below:,}, but the prototype's smallest "
                  f"network has {about}{smallest:,} MACs")
        if len(chosen) > 1:
            reason += (f"; the members' MACs ({', '.join(f'{c.macs:,}' for c in chosen)}) "
                       f"leave no room between them for one {fam.MIN_GAP:.0%} apart from both")
        emit(SearchNotExtended(len(chosen), size, reason, time.time()))
        return None
    per_phase = max(4, setup.spec.trials // size)
    number = len(phases) + 1
    return Phase(number, done_count(study) + per_phase, cap, len(chosen))


def _room(chosen: list[fam.Candidate], smallest: int, bound: int | None) -> int | None:
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


def smallest_macs(study: optuna.Study, prototype: Prototype) -> tuple[int, bool]:
    """The fewest MACs a network of the space has, and whether that is exact: the prototype's
    cost range (exact when enumerated), or the smallest network a trial built, if smaller."""
    space = prototype.cost_range()
    records = (TrialRecord.of(t) for t in study.get_trials(deepcopy=False))
    built = [rec.macs for rec in records if rec.macs is not None]
    if built and min(built) < space.min_macs:
        return min(built), False
    return space.min_macs, space.exact


def _load(study: optuna.Study, budget: int) -> dict[str, Any]:
    record = study.user_attrs.get(WIDENING_ATTR)
    if not isinstance(record, dict) or record.get("budget") != budget:
        return {"budget": budget, "phases": [], "done": False}
    return record


def _save(study: optuna.Study, budget: int, phases: list[Phase], done: bool) -> None:
    study.set_user_attr(WIDENING_ATTR, {"budget": budget, "done": done,
                                        "phases": [asdict(p) for p in phases]})
