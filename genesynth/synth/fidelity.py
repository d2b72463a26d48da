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
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import optuna

from genesynth.events import FidelityChecked, FidelityStarted, Listener
from genesynth.record.fidelity import FIDELITY_ATTR, FidelityCheck, Pair, check_of, write_fidelity
from genesynth.synth import family as fam

if TYPE_CHECKING:
    from genesynth.synth.setup import Setup


def check_evaluator(study: optuna.Study, setup: Setup, members: Sequence[fam.Member],
                    emit: Listener) -> FidelityCheck | None:
    """Train the check's candidates, record and announce the check; None where the evaluator
    is stand-alone or its ``checks`` is 0."""
    evaluator = setup.evaluator
    count = int(getattr(evaluator, "checks", 0) or 0)
    if evaluator.stand_alone or count <= 0:
        return None
    family = {m.key for m in members}
    chosen = spread([c for c in fam.candidates(study) if c.arch.key not in family], count)
    epochs = int(getattr(getattr(evaluator, "proxy", None), "epochs", 1))
    emit(FidelityStarted(len(chosen), epochs, time.time()))
    pairs = []
    for c in chosen:
        alone = evaluator.train_alone(c.arch, lambda *_: None)
        pairs.append(Pair(c.arch.key, c.accuracy, alone.accuracy, c.macs, "check"))
    pairs += [Pair(m.key, m.val_accuracy, m.accuracy, m.macs, "family") for m in members]
    check = check_of(pairs, setup.spec.seed)
    write_fidelity(setup.out, check)
    study.set_user_attr(FIDELITY_ATTR, check.to_dict())
    emit(FidelityChecked(check.tau, check.tau_low, check.tau_high, check.macs_tau,
                         check.macs_low, check.macs_high, len(pairs), len(chosen),
                         check.warning, time.time()))
    return check


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
