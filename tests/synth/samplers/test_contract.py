"""Every registered sampler through the same checks, parametrised over ``SAMPLERS``.

Each is built from its name, runs a short synthesis of a tiny space (an evaluator that scores
from the cost, no training), proposes the same networks again from the same seed, other ones
from another seed, and is recorded by its name in ``run.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

import genesynth
from genesynth.errors import GenesynthError
from genesynth.evaluate.base import Evaluator, Report
from genesynth.goal.constraint import Constraint
from genesynth.net.measurement import Measurement
from genesynth.record.trial import TrialRecord
from genesynth.synth.samplers import SAMPLERS, is_multi_objective, resolve_sampler
from tests.synth.test_engine import TINY

RULE = Constraint(min_accuracy=None, max_macs=None, max_params=None, max_latency_ms=None)
TRIALS = 5


class _ByCost(Evaluator):
    """A deterministic accuracy from the cost: smaller networks score a little lower."""

    def evaluate(self, arch: genesynth.Architecture, report: Report) -> Measurement:
        c = genesynth.cost(arch)
        return Measurement(50.0 + (c.macs % 997) / 20.0, c.params, c.macs)


def _keys(name: str, seed: int, out: Path) -> list[str]:
    result = genesynth.synthesize(genesynth.parse_prototype(TINY), RULE, trials=TRIALS, out=out,
                                  sampler=name, seed=seed, evaluator=_ByCost(), family_size=1)
    records = [TrialRecord.of(t) for t in result.trials]
    return [str(r.key) for r in records if r.finished]


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_a_sampler_is_built_from_its_name(name: str) -> None:
    sampler, recorded = resolve_sampler(name, seed=0, trials=TRIALS)
    assert isinstance(sampler, optuna.samplers.BaseSampler) and recorded == name
    assert is_multi_objective(name) == (name == "nsga2")


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_a_sampler_runs_seeded_and_is_recorded(name: str, tmp_path: Path) -> None:
    first = _keys(name, 0, tmp_path / "a")
    assert len(first) == TRIALS
    assert _keys(name, 0, tmp_path / "b") == first
    assert _keys(name, 1, tmp_path / "c") != first
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run["sampler"] == name and run["seed"] == 0


def test_an_unknown_sampler_names_the_known_ones() -> None:
    with pytest.raises(GenesynthError) as info:
        resolve_sampler("annealing", seed=0, trials=TRIALS)
    assert str(info.value) == (
        f"unknown sampler 'annealing'; expected one of {', '.join(SAMPLERS)}"
    )
