"""Warm start: earlier runs' family members and best candidates first in a new search.

Each earlier architecture is offered to the new prototype by its choices: the earlier trial's
choice values whose names the new space has (a refined prototype keeps the slot names
``m01`` ... and the template paths) are replayed, and the architecture fits when the replay
builds the same network (equal canonical key). Those that fit are queued with Optuna's
``enqueue_trial``, members first, so the new search measures them before it samples — and an
evaluation cache then gives their measurements back without training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from genesynth.errors import GenesynthError, RunError
from genesynth.net.arch import Value
from genesynth.record.trial import TrialRecord

if TYPE_CHECKING:
    from genesynth.space import Prototype

BEST = 8  # best complete candidates offered from each earlier run, besides its family


@dataclass(frozen=True)
class Offer:
    """One earlier architecture: where it came from, and its choices in the new space."""

    run: str
    trial: int
    key: str
    label: str  # family label, or "" for another candidate
    params: dict[str, Value] | None  # None: it does not fit the new space


@dataclass(frozen=True)
class WarmStart:
    offers: tuple[Offer, ...]

    @property
    def fitting(self) -> list[Offer]:
        return [o for o in self.offers if o.params is not None]

    def message(self) -> str:
        """``warm start: 5 of 12 earlier architectures fit this prototype (runs/a: 5 of 12)``."""
        runs = list(dict.fromkeys(o.run for o in self.offers))
        parts = []
        for run in runs:
            mine = [o for o in self.offers if o.run == run]
            fit = sum(o.params is not None for o in mine)
            parts.append(f"{run}: {fit} of {len(mine)}")
        head = (f"warm start: {len(self.fitting)} of {len(self.offers)} earlier architectures "
                f"fit this prototype's space ({'; '.join(parts)})")
        if self.offers and not self.fitting:
            head += ("; none fits: the earlier runs searched another prototype family. "
                     "Running without them")
        return head


def plan(prototype: Prototype, runs: list[Path]) -> WarmStart:
    """Offer each run's family members, then its best candidates, to ``prototype``."""
    offers: list[Offer] = []
    seen: set[str] = set()
    for run in runs:
        for trial, label in _earlier(run):
            key = TrialRecord.of(trial).key or ""
            if key in seen:
                continue
            seen.add(key)
            offers.append(Offer(str(run), trial.number, key, label,
                                _fit(prototype, trial.params, key)))
    return WarmStart(tuple(offers))


def enqueue(study: optuna.Study, warm: WarmStart) -> int:
    """Queue the fitting architectures (skipping any the study already holds)."""
    for offer in warm.fitting:
        record_ = TrialRecord(warm_start=f"{offer.run} trial {offer.trial}")
        study.enqueue_trial(dict(offer.params or {}), user_attrs=record_.to_attrs(),
                            skip_if_exists=True)
    return len(warm.fitting)


def _fit(prototype: Prototype, params: dict[str, Any], key: str) -> dict[str, Value] | None:
    """The new space's choices that rebuild the architecture ``key``, or None."""
    from genesynth.space import FixedChooser

    names = {c.name for c in prototype.choices()}
    given = {name: value for name, value in params.items() if name in names}
    try:
        arch, used = prototype.sample_with_choices(chooser=FixedChooser(given))
    except GenesynthError:
        return None
    return used if arch.key == key else None


def _earlier(run: Path) -> list[tuple[FrozenTrial, str]]:
    """The family members' trials (with their labels), then the best other candidates."""
    from genesynth.record.reader import locate

    source = locate(run)
    study = source.load_study()
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    chosen: list[tuple[FrozenTrial, str]] = []
    for member in (source.family() or {}).get("members") or []:
        number = member.get("trial") if isinstance(member, dict) else None
        trial = trials.get(number) if isinstance(number, int) else None
        if trial is not None and TrialRecord.of(trial).key:
            chosen.append((trial, str(member.get("label", ""))))
    utility = {n: TrialRecord.of(t).utility for n, t in trials.items()
               if t.state == TrialState.COMPLETE}
    complete = [trials[n] for n, u in utility.items() if u is not None]
    complete.sort(key=lambda t: -(utility[t.number] or 0.0))
    chosen += [(t, "") for t in complete[:BEST]]
    if not chosen:
        raise RunError(f"{run}: the run has no measured architecture to start from")
    return chosen
