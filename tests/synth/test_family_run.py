"""The family a whole run makes: never a member beaten or equalled on every measure by
another, whichever sampler searched, with an evaluator that retrains or one that does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import genesynth
from genesynth.evaluate.base import Evaluator, Report
from genesynth.goal.constraint import Constraint
from genesynth.net.measurement import Measurement
from tests.synth.test_engine import FAST, TINY


class HashTop1(Evaluator):
    """A table-like evaluator: top-1 from the architecture's key, unrelated to its cost."""

    def evaluate(self, arch: Any, report: Report) -> Measurement:
        c = genesynth.cost(arch)
        return Measurement(60.0 + int(arch.key[:6], 16) % 3900 / 100, c.params, c.macs)


class Retrained(HashTop1):
    """Retraining reorders the search's ranking: test top-1 from another part of the key."""

    def retrain(self, arch: Any, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, None]:
        c = genesynth.cost(arch)
        return Measurement(60.0 + int(arch.key[6:12], 16) % 3900 / 100, c.params, c.macs), None


@pytest.fixture(scope="module")
def digits() -> Any:
    return genesynth.load_data("digits", limit=300)


@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "random"])
@pytest.mark.parametrize("evaluator", [HashTop1, Retrained])
def test_no_member_is_dominated_by_another(
    tmp_path: Path, digits: Any, sampler: str, evaluator: type[HashTop1]
) -> None:
    result = genesynth.synthesize(
        genesynth.parse_prototype(TINY), Constraint(min_accuracy=50.0), data=digits,
        out=tmp_path / "run", trials=16, family_size=4, seed=0, sampler=sampler,
        evaluator=evaluator(), **FAST,
    )
    family = result.family
    assert family and [m.label for m in family] == list("ABCD"[: len(family)])
    for m in family:
        for o in family:
            assert o is m or not (o.accuracy >= m.accuracy and o.params <= m.params
                                  and o.macs <= m.macs), (o, m)
    macs = [m.macs for m in family]
    assert all(b <= 0.8 * a for a, b in zip(macs, macs[1:], strict=False))
