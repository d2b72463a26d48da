"""The run's check of its evaluator: a few searched candidates trained alone.

Where the evaluator's scores are not the candidates' own accuracies (``stand_alone =
False``: a supernet), :func:`check_evaluator` runs after the family is retrained: it trains
``evaluator.checks`` searched candidates alone with the proxy budget
(:meth:`Evaluator.train_alone`), spread over the feasible MACs range and not already in the
family, adds the family's members (their stand-alone top-1 after the full budget), and
records how well the scores ranked them beside MACs alone (:mod:`genesynth.record.fidelity`)
in ``run.json`` (``fidelity``), the study (user attr ``fidelity``) and the event log
(``FidelityChecked``: the dashboard and the report show it, with a warning when the scores
ranked no better than MACs).

The candidates are trained by every process of the run that is free
(:mod:`genesynth.synth.checks`): the family's maker publishes them and claims them one by one;
a worker that finished the trials waits for them (:func:`help_checks`) and claims too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import optuna

from genesynth.events import FidelityChecked, FidelityStarted, Listener
from genesynth.record.fidelity import FIDELITY_ATTR, FidelityCheck, Pair, check_of, write_fidelity
from genesynth.synth import checks as shared
from genesynth.synth import family as fam
from genesynth.synth.locks import Watch, guard_for
from genesynth.synth.trials import family_claim

if TYPE_CHECKING:
    from genesynth.evaluate.base import Evaluator
    from genesynth.synth.setup import Setup


def check_evaluator(study: optuna.Study, setup: Setup, members: Sequence[fam.Member],
                    emit: Listener) -> FidelityCheck | None:
    """Train the check's candidates, record and announce the check; None where the evaluator
    is stand-alone or its ``checks`` is 0."""
    evaluator = setup.evaluator
    count = checks_of(evaluator)
    if count <= 0:
        return None
    family = {m.key for m in members}
    found = fam.candidates(study)
    chosen = spread([c for c in found if c.arch.key not in family], count)
    epochs = int(getattr(getattr(evaluator, "proxy", None), "epochs", 1))
    plan = shared.publish(study, setup.spec.trials, chosen)
    kept = len(shared.results(study, plan))  # trained before an interrupt: not again
    emit(FidelityStarted(len(chosen), epochs, time.time(), kept=kept))
    train = shared.trainer(evaluator, {c.trial: c for c in found})
    done = shared.run_checks(study, plan, train, wait=True)[0] or {}  # every result
    trained = [(c, r.accuracy) for c in chosen
               if (r := done.get(c.arch.key)) is not None and r.accuracy is not None]
    pairs = [Pair(c.arch.key, c.accuracy, accuracy, c.macs, "check") for c, accuracy in trained]
    pairs += [Pair(m.key, m.val_accuracy, m.accuracy, m.macs, "family") for m in members]
    check = check_of(pairs, setup.spec.seed)
    write_fidelity(setup.out, check)
    study.set_user_attr(FIDELITY_ATTR, check.to_dict())
    emit(FidelityChecked(check.tau, check.tau_low, check.tau_high, check.macs_tau,
                         check.macs_low, check.macs_high, len(pairs), len(trained),
                         check.warning, time.time()))
    return check


def checks_of(evaluator: Evaluator) -> int:
    """How many candidates the run trains alone for its check (0 for a stand-alone kind)."""
    if evaluator.stand_alone:
        return 0
    return max(0, int(getattr(evaluator, "checks", 0) or 0))


def help_checks(study: optuna.Study, setup: Setup) -> int:
    """A worker whose trials are done and that does not make the family: wait while a live
    process makes it, then train the check's candidates it can claim. Returns how many it
    trained (0 at once where there is no check, or the budget is not spent)."""
    if checks_of(setup.evaluator) <= 0:
        return 0
    total = setup.spec.trials
    guard = guard_for(study)
    watch = Watch(guard)
    while (plan := shared.read_plan(study, total)) is None:
        claim = family_claim(study, total)
        if claim is None or claim.get("done"):
            return 0
        beat = study.user_attrs.get(shared.FAMILY_BEAT_ATTR)
        if not isinstance(beat, dict) or beat.get("worker") != claim.get("worker"):
            beat = {}  # none yet, or a maker's before
        holder = {"worker": claim.get("worker"), "beat": beat.get("beat")}
        if not watch.alive(shared.FAMILY_BEAT_ATTR, holder):
            return 0  # its maker is gone: `genesynth family` makes it (and the check)
        time.sleep(guard.poll)
    train = shared.trainer(setup.evaluator, {c.trial: c for c in fam.candidates(study)})
    return shared.run_checks(study, plan, train, wait=False)[1]


def spread(found: Sequence[fam.Candidate], count: int) -> list[fam.Candidate]:
    """``count`` candidates evenly spaced over the MACs range (the smallest and the largest
    first among them), each once."""
    ranked = sorted(found, key=lambda c: (c.macs, c.trial))
    if len(ranked) <= count:
        return ranked
    if count == 1:
        return [ranked[len(ranked) // 2]]
    index = sorted({round(i * (len(ranked) - 1) / (count - 1)) for i in range(count)})
    return [ranked[i] for i in index]
