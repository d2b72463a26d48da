"""How long the whole job still takes: the rest of the search, then the family's retraining.

The estimate is made from what training has cost in this run so far, never from a guess:

- **Trials that trained.** A finished trial that trained took ``seconds`` for ``epochs``
  epochs of a network of ``macs`` MACs. Trials rejected before training (over an analytic
  bound, duplicates, invalid prototypes) take about 0 s and are left out of every average, so
  they do not make a trial look cheaper than training one is.
- **Cost of an epoch.** An epoch of a network with ``m`` MACs is taken to cost ``a + b·m``
  seconds (a fixed part: data, optimiser, validation; a part that grows with the network),
  fitted by least squares on the trained trials' seconds per epoch. With fewer than two
  distinct MAC counts, or a fit that would make bigger networks cheaper, it is their mean
  seconds per epoch (``b = 0``).
- **The search.** Each planned trial not started yet costs the mean time of a trained trial
  (pruned ones included, as the pruner will stop some of the rest too): the estimate assumes
  the remaining trials train. A running trial costs its remaining epochs at its own measured
  pace (the model's, before its first epoch ends). Extra search phases are counted from the
  moment the engine announces them (``SearchExtended`` raises the planned trials).
- **Retraining.** Each family member still to train costs ``full_epochs`` epochs of the
  model at its MACs; a member in training its remaining epochs at its own pace; a member
  whose retraining the evaluation cache holds (``FamilyStarted.cached``) nothing. Before the
  family is chosen, the members are the family as it would be made now (``forming``, the
  engine's rule), or the family's size before any trial is feasible. While a phase searches
  below the retrained family, each member it may still add costs a retraining at the MACs of
  the smallest member.
- **The evaluation cache.** Trials whose measurement the cache gave took no training; the
  trials not started yet are expected to find the same share there (a re-run of a cached job
  is estimated at its real, short time).
- **A supernet** (``--evaluator supernet``) trains before the search: its epochs left (and
  the rest of the epoch under way) cost its pace in this process, the seconds trained over the
  epochs done, counting an epoch under way by its steps done; before its first step, the
  estimate it made from timed passes of its largest and smallest networks
  (:func:`genesynth.evaluate.supernet.train.estimate_seconds`). A trial is then a score, not a
  training: the search costs a score's mean time, and the scores say nothing of a training
  epoch's cost, so a member still waiting costs the mean epoch of the members measured so far
  (unknown before the first member's first epoch).

Everything is a pure function of a run's progress (:class:`Progress`: what this module reads
of a :class:`~genesynth.record.snapshot.RunState`, which calls it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from genesynth.record.rows import Candidate, Member, SupernetPhase, TrialRow


class Progress(Protocol):
    """What the estimate reads of a run's snapshot."""

    planned: int
    trials: list[TrialRow]
    running: dict[int, Candidate]
    family: dict[str, Member]
    below_family: bool
    family_epochs: int
    family_size: int
    finished: bool
    supernet: SupernetPhase | None

    @property
    def done(self) -> int: ...

    def forming(self, size: int) -> list[TrialRow]: ...


@dataclass(frozen=True)
class EpochCost:
    """Seconds per training epoch of a network with ``macs`` MACs: ``fixed + per_mac·macs``."""

    fixed: float
    per_mac: float = 0.0

    def __call__(self, macs: int | None) -> float:
        return self.fixed + self.per_mac * (macs or 0)


@dataclass(frozen=True)
class Estimate:
    """Seconds left in the search and in the retraining; None where nothing was measured."""

    search: float | None
    family: float | None
    supernet: float | None = 0.0  # the supernet's training left (0: none, or it is done)

    @property
    def total(self) -> float | None:
        if self.search is None or self.family is None or self.supernet is None:
            return None
        return self.supernet + self.search + self.family

    @property
    def at_least(self) -> float:
        """The parts that are known, summed: the job takes at least this long."""
        return sum(part or 0.0 for part in (self.supernet, self.search, self.family))


def trained(rows: Sequence[TrialRow]) -> list[TrialRow]:
    """The finished trials that trained: a measured time and at least one epoch."""
    return [t for t in rows if t.seconds > 0 and t.epochs > 0]


def mean_trial_seconds(rows: Sequence[TrialRow]) -> float | None:
    """Mean wall time of a trial that trained (rejections left out); None before one did."""
    done = trained(rows)
    return sum(t.seconds for t in done) / len(done) if done else None


def epoch_cost(rows: Sequence[TrialRow]) -> EpochCost | None:
    """The least-squares ``a + b·MACs`` model of an epoch's seconds (see the module doc)."""
    points = [(float(t.macs or 0), t.seconds / t.epochs) for t in trained(rows)]
    if not points:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread <= 0:
        return EpochCost(mean_y)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    fixed = mean_y - slope * mean_x
    if slope <= 0:
        return EpochCost(mean_y)
    if fixed < 0:  # the fit crosses zero: keep it through the origin instead
        return EpochCost(0.0, sum(x * y for x, y in points) / sum(x * x for x, _ in points))
    return EpochCost(fixed, slope)


def _own_pace(started: float, updated: float, epoch: int) -> float | None:
    """Seconds per epoch measured on the network itself, once an epoch has ended."""
    if epoch < 1 or not started or updated <= started:
        return None
    return (updated - started) / epoch


def search_left(state: Progress, cost: EpochCost | None) -> float | None:
    """Seconds until the last planned trial ends (0 once the search is over)."""
    over = state.family and not state.below_family  # the family is retraining
    if state.finished or over or (state.planned and state.done >= state.planned):
        return 0.0
    mean = mean_trial_seconds(state.trials)
    waiting = max(0, state.planned - state.done - len(state.running))
    left = 0.0
    for cand in state.running.values():
        pace = _own_pace(cand.started, cand.updated, cand.epoch)
        if pace is None and cost is None:
            return None
        pace = pace if pace is not None else cost(cand.macs) if cost else 0.0
        left += pace * max(0, cand.epochs - cand.epoch)
    share = reuse_share(state.trials)
    if waiting and mean is None and share < 1.0:
        return None
    return left + waiting * (1.0 - share) * (mean or 0.0)


def reuse_share(trials: Sequence[TrialRow]) -> float:
    """The share of the finished trials the evaluation cache gave (no training): the rest of
    the search is expected to find the same share there."""
    return sum(t.reused for t in trials) / len(trials) if trials else 0.0


def family_left(state: Progress, cost: EpochCost | None) -> float | None:
    """Seconds of retraining left: members in training, then those still waiting."""
    if state.finished:
        return 0.0
    epochs = state.family_epochs
    if not epochs or not (state.family or state.family_size):
        return None  # the plan is not known (a run recorded before it was)
    leaders = [row.macs for row in state.forming(state.family_size or len(state.family))]
    size = len(state.family) or len(leaders) or state.family_size
    members = list(state.family.values())
    if state.below_family and members:  # the members the phase below them may add
        size, leaders = max(size, state.family_size), [min(m.macs or 0 for m in members)]
    left = 0.0
    for index in range(size):
        member = members[index] if index < len(members) else None
        if member is not None and (member.reused or member.kept):
            continue  # the evaluation cache holds its retraining, or an earlier process did it
        if member is None or member.status == "waiting":
            macs, todo, pace = _pick(leaders, index), epochs, None
        elif member.status == "training":
            macs, todo = member.macs, max(0, member.epochs - member.epoch)
            pace = _own_pace(member.started, member.updated, member.epoch)
        else:
            continue
        if pace is None and cost is None:
            return None
        left += todo * (pace if pace is not None else cost(macs) if cost else 0.0)
    return left


def _pick(macs: list[int | None], index: int) -> int | None:
    """The ``index``-th leader's MACs; past the last leader, the smallest one's."""
    if not macs:
        return None
    return macs[min(index, len(macs) - 1)]


def supernet_left(state: Progress) -> float | None:
    """Seconds of the supernet's training left, at its pace in this process (module doc)."""
    phase = state.supernet
    if phase is None or phase.ready or state.finished:
        return 0.0
    under_way = phase.step / phase.steps if phase.steps else 0.0
    done = phase.epoch - phase.first + under_way
    if done <= 0:  # before its first step: the estimate made from timed passes, if any
        return phase.estimate
    return phase.seconds / done * max(0.0, phase.epochs - phase.epoch - under_way)


def member_cost(state: Progress) -> EpochCost | None:
    """The mean seconds per epoch of the members measured so far (None before one was)."""
    paces = [pace for m in state.family.values()
             if (pace := _own_pace(m.started, m.updated, m.epoch)) is not None]
    return EpochCost(sum(paces) / len(paces)) if paces else None


def estimate(state: Progress) -> Estimate:
    """The time left in the supernet's training, the search and the retraining (module doc)."""
    cost = epoch_cost(state.trials)
    if state.supernet is None:
        return Estimate(search_left(state, cost), family_left(state, cost))
    return Estimate(search_left(state, cost), family_left(state, member_cost(state)),
                    supernet_left(state))
