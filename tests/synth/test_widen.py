"""Widening a short family (genesynth/synth/widen.py): where the phases search, and what the
run says when they find nothing. A real Optuna study, real architectures of a four-network
space; each phase's search is a stand-in that adds the trials it is given."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

import genesynth
from genesynth.events import SearchExtended, SearchNotExtended
from genesynth.goal.constraint import Constraint
from genesynth.net.measurement import Measurement
from genesynth.record.trial import TrialRecord
from genesynth.space import FixedChooser
from genesynth.synth.widen import Phase, widen_family

FOUR = """
network four {
  input 3x32x32
  classes 10
  stem { conv(out=8) bn relu }
  modules { block(out=[8, 16, 32, 64]) }
  head { gap linear(out=classes) softmax }
}

module block(out): residual(shortcut=auto) {
  conv(out=out, kernel=3) bn relu
} then { relu }
"""

PROTO = genesynth.parse_prototype(FOUR)
RULE = Constraint(min_accuracy=50.0)


def _arch(width: int) -> Any:
    return PROTO.sample(chooser=FixedChooser({"m01.out": width}))


def _add(study: optuna.Study, width: int, accuracy: float, phase: int | None = None) -> None:
    arch = _arch(width)
    c = genesynth.cost(arch)
    m = Measurement(accuracy, c.params, c.macs)
    rec = TrialRecord(state=TrialState.COMPLETE, key=arch.key, arch=arch.to_json(),
                      params=c.params, macs=c.macs, accuracy=accuracy,
                      utility=float(RULE.utility(m)), feasible=RULE.feasible(m), phase=phase)
    study.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, value=rec.utility,
                                              user_attrs=rec.to_attrs()))


def _widen(found: dict[int, float], phases: Callable[[Phase], dict[int, float]], size: int = 3,
           study: optuna.Study | None = None) -> tuple[list[int], list[Any], list[Phase]]:
    """Widths of the family after widening a study holding ``found`` (width -> top-1); each
    phase adds the trials ``phases(phase)`` gives it."""
    if study is None:
        study = optuna.create_study(direction="maximize")
        for width, accuracy in found.items():
            _add(study, width, accuracy)
    setup = SimpleNamespace(spec=SimpleNamespace(family_size=size, trials=len(found)),
                            prototype=PROTO, constraint=RULE)
    events: list[Any] = []
    ran: list[Phase] = []

    def search(phase: Phase) -> None:
        ran.append(phase)
        for width, accuracy in phases(phase).items():
            _add(study, width, accuracy, phase.number)

    chosen = widen_family(study, setup, events.append, search)  # type: ignore[arg-type]
    widths = {genesynth.cost(_arch(w)).macs: w for w in (8, 16, 32, 64)}
    return [widths[c.macs] for c in chosen], events, ran


def macs(width: int) -> int:
    return genesynth.cost(_arch(width)).macs


def test_no_room_below_a_searches_above_it_and_a_more_accurate_network_makes_room() -> None:
    # the search met only the smallest network: no room below it
    family, events, ran = _widen({8: 90.0}, lambda phase: {32: 95.0} if phase.above else {})
    [above, *rest] = ran
    assert (above.number, above.min_macs, above.max_macs) == (1, -(-macs(8) * 5 // 4), macs(64))
    assert above.min_macs is not None and macs(16) >= above.min_macs  # 20 % above A's MACs
    # the new A (width 32) makes the old one B; then a phase below B finds nothing
    assert family == [32, 8]
    [below] = rest
    assert (below.above, below.max_macs) == (False, int(0.8 * macs(32)))
    assert [e.min_macs for e in events if isinstance(e, SearchExtended)] == [above.min_macs,
                                                                             None]


def test_a_phase_above_that_finds_nothing_more_accurate_says_so_with_what_it_measured() -> None:
    family, events, ran = _widen({8: 90.0}, lambda phase: {16: 89.5, 64: 88.0})
    assert family == [8] and [p.above for p in ran] == [True]
    [why] = [e for e in events if isinstance(e, SearchNotExtended)]
    floor = -(-macs(8) * 5 // 4)
    assert why.reason == (
        f"phase 1 searched above member A (MACs >= {floor:,}): of the 2 networks measured "
        "there, none is feasible and more accurate than A's 90.00% (the best: 89.50%); a "
        f"smaller member needs MACs <= {int(0.8 * macs(8)):,}, but the prototype's smallest "
        f"network has {macs(8):,} MACs")


def test_with_room_below_the_phase_searches_below_first() -> None:
    family, events, ran = _widen({64: 95.0}, lambda phase: {} if phase.above else {16: 92.0})
    assert not ran[0].above and ran[0].max_macs == int(0.8 * macs(64))
    assert family[:2] == [64, 16]


def test_a_phase_below_that_adds_no_member_says_what_it_measured() -> None:
    # 8 fits below 80 % of 16's MACs, but its top-1 misses the constraint's 50 %: no member
    family, events, ran = _widen({64: 95.0, 16: 94.0}, lambda phase: {8: 40.0}, size=3)
    assert family == [64, 16] and not ran[0].above
    [why] = [e for e in events if isinstance(e, SearchNotExtended)]
    assert why.reason.startswith(f"phase 1 searched below {int(0.8 * macs(16)):,} MACs: of the "
                                 "1 network measured there, none became a member (the best: "
                                 "40.00%)")


def test_a_phase_whose_network_replaces_a_member_says_so_not_that_none_joined() -> None:
    # 8 beats member 16 on every measure: it takes 16's place, and the family stays at two
    family, events, ran = _widen({64: 95.0, 16: 60.0},
                                 lambda phase: {8: 70.0} if phase.number == 1 else {}, size=3)
    assert family == [64, 8]
    [why] = [e for e in events if isinstance(e, SearchNotExtended)]
    assert why.reason.startswith(f"phase 1 searched below {int(0.8 * macs(16)):,} MACs: of the "
                                 "1 network measured there, trial 2 replaced a member it beats "
                                 "on every measure, and the family did not grow (the best: "
                                 "70.00%)")


def test_a_resume_keeps_the_directions_that_found_nothing() -> None:
    study = optuna.create_study(direction="maximize")
    _add(study, 16, 90.0)

    def killed(phase: Phase) -> dict[int, float]:
        if phase.above:  # phase 2, above A, after phase 1 below found nothing
            raise KeyboardInterrupt
        return {}

    with pytest.raises(KeyboardInterrupt):
        _widen({}, killed, size=4, study=study)
    family, events, ran = _widen({}, lambda phase: {}, size=4, study=study)
    # the resume finishes phase 2 and, both directions tried, searches no more
    assert family == [16] and [(p.number, p.above) for p in ran] == [(2, True)]
    [why] = [e for e in events if isinstance(e, SearchNotExtended)]
    assert why.reason == (
        f"phase 1 searched below {int(0.8 * macs(16)):,} MACs and measured no network there; "
        f"phase 2 searched above member A (MACs >= {-(-macs(16) * 5 // 4):,}) and measured no "
        "network there")
