"""Widening the retrained family (genesynth/synth/widen.py, ``widen_retrained``): after the
family's retraining drops larger members that smaller ones equal once fully trained, a phase
searches below the smallest retrained member and retrains only what it adds. A real Optuna
study, real architectures of a four-network space, the real ``retrain_family`` writing its
run directory; the evaluator's retraining is a table of test top-1 per width."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import optuna
import pytest

import genesynth
from genesynth.dashboard.plain import PlainLog
from genesynth.evaluate.base import Evaluator, Report
from genesynth.events import FamilyStarted, MemberRenamed, SearchExtended, SearchNotExtended
from genesynth.net.measurement import Measurement
from genesynth.synth import family as fam
from genesynth.synth.widen import Phase, first_family, widen_retrained
from tests.record.test_snapshot import build
from tests.synth.test_widen import PROTO, RULE, _add, _arch, macs


def _width(arch: Any) -> int:
    return next(w for w in (8, 16, 32, 64) if _arch(w).key == arch.key)


class Table(Evaluator):
    """Retraining gives the test top-1 of ``tested`` (width -> top-1), and counts its calls."""

    def __init__(self, tested: dict[int, float]) -> None:
        self.tested = tested
        self.retrained: list[int] = []

    def evaluate(self, arch: Any, report: Report) -> Measurement:
        raise AssertionError("the search is a stand-in here")

    def retrain(self, arch: Any, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, None]:
        c = genesynth.cost(arch)
        self.retrained.append(_width(arch))
        return Measurement(self.tested[_width(arch)], c.params, c.macs), None


def _run(tmp_path: Path, study: optuna.Study, tested: dict[int, float],
         phases: Callable[[Phase], dict[int, float]] | None, size: int = 3
         ) -> tuple[list[int], list[Any], Table]:
    """Widths of the family after retraining the search's family of ``study`` and widening
    it (``phases(phase)``: the trials a phase adds, width -> searched top-1; None: the family
    made again, no search)."""
    setup = SimpleNamespace(spec=SimpleNamespace(family_size=size, trials=2),
                            prototype=PROTO, constraint=RULE)
    events: list[Any] = []
    table = Table(tested)
    tmp_path.mkdir(parents=True, exist_ok=True)

    def retrain(chosen: list[fam.Candidate], spares: list[list[fam.Candidate]],
                done: list[fam.Member]) -> list[fam.Member]:
        before = json.loads((tmp_path / "family.json").read_text()).get("dropped", []) \
            if done else []
        return fam.retrain_family(chosen, spares, table, RULE, tmp_path, events.append, 1,
                                  done=done, dropped_before=before)

    def search(phase: Phase) -> None:
        for width, accuracy in (phases(phase) if phases else {}).items():
            _add(study, width, accuracy, phase.number)

    chosen = first_family(study, setup)  # type: ignore[arg-type]
    members = retrain(chosen, [[] for _ in chosen], [])
    assert len(members) < len(chosen)  # as the engine calls it: retraining dropped members
    members = widen_retrained(study, setup, events.append, members,  # type: ignore[arg-type]
                              retrain, search if phases else None)
    return [_width(_arch_of(tmp_path, m)) for m in members], events, table


def _arch_of(out: Path, member: fam.Member) -> Any:
    from genesynth.net.arch import Architecture

    return Architecture.from_json((out / member.arch).read_text())


def _study(found: dict[int, float]) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    for width, accuracy in found.items():
        _add(study, width, accuracy)
    return study


def test_members_retraining_drops_are_found_again_below_the_smallest_retrained_one(
        tmp_path: Path) -> None:
    # the search ranks 64 above 32; fully trained they are equal, so 64 is dropped
    study = _study({64: 95.0, 32: 94.0})
    tested = {64: 97.0, 32: 97.0, 16: 96.0, 8: 94.0}
    family, events, table = _run(tmp_path, study, tested, lambda phase: {16: 93.0, 8: 91.0})
    assert family == [32, 16, 8]
    assert table.retrained == [64, 32, 16, 8]  # 32 is not retrained again
    [phase] = [e for e in events if isinstance(e, SearchExtended)]
    assert (phase.retrained, phase.members, phase.max_macs) == (True, 1, int(0.8 * macs(32)))
    started = [e for e in events if isinstance(e, FamilyStarted)]
    assert [(s.members, s.retrained) for s in started] == [(("A", "B"), ()),
                                                           (("A", "B", "C"), ("A",))]
    written = json.loads((tmp_path / "family.json").read_text())
    assert [m["trial"] for m in written["members"]] == [1, 2, 3]
    assert [d["trial"] for d in written["dropped"]] == [0]  # the first retraining's drop, kept
    assert sorted(p.name for p in (tmp_path / "family").iterdir()) == ["A", "B", "C"]


def test_a_network_that_takes_a_members_place_moves_the_family_down_and_the_search_goes_on(
        tmp_path: Path) -> None:
    # fully trained, 16 equals 32 and 64: each phase's network takes the place of the one
    # above it; as many phases as places after A (two), then the run says so
    study = _study({64: 95.0, 32: 94.0})
    tested = {64: 97.0, 32: 97.0, 16: 97.0, 8: 96.0}
    found = {1: {16: 93.0}, 2: {8: 91.0}}
    family, events, table = _run(tmp_path, study, tested, lambda phase: found[phase.number])
    assert family == [16, 8] and table.retrained == [64, 32, 16, 8]
    assert [(e.members, e.max_macs) for e in events if isinstance(e, SearchExtended)] == [
        (1, int(0.8 * macs(32))), (1, int(0.8 * macs(16)))]
    [why] = [e for e in events if isinstance(e, SearchNotExtended)]
    assert (why.members, why.reason) == (2, "phases 1, 2 searched below the retrained "
                                            "members, as many as the family has places after A")
    written = json.loads((tmp_path / "family.json").read_text())
    assert [d["trial"] for d in written["dropped"]] == [0, 1]


def test_with_no_room_below_a_phase_searches_between_two_members_20_percent_from_both(
        tmp_path: Path) -> None:
    study = _study({64: 95.0, 32: 94.0, 8: 90.0})
    tested = {64: 98.0, 32: 98.0, 16: 95.0, 8: 90.0}  # 64 is dropped; 8 is the smallest
    found = {1: {16: 92.0}, 2: {}}
    family, events, table = _run(tmp_path, study, tested, lambda phase: found[phase.number],
                                 size=4)
    assert family == [32, 16, 8]
    # 8 moves down a letter for 16, with its folder, and is not retrained again
    assert table.retrained == [64, 32, 8, 16]
    assert ("B", "C") in [(e.label, e.new) for e in events if isinstance(e, MemberRenamed)]
    assert [m["arch"] for m in json.loads((tmp_path / "family.json").read_text())["members"]
            ] == ["family/A/arch.json", "family/B/arch.json", "family/C/arch.json"]
    # then in the widest gap left, 16 to 8 (the prototype has no network there; its cost
    # range is all the planner knows of it)
    [phase, again] = [e for e in events if isinstance(e, SearchExtended)]
    assert (again.min_macs, again.max_macs) == (-(-macs(8) * 5 // 4), int(0.8 * macs(16)))
    floor = -(-macs(8) * 5 // 4)
    assert (phase.min_macs, phase.max_macs) == (floor, int(0.8 * macs(32)))
    stream = io.StringIO()
    PlainLog(stream)(phase)
    assert stream.getvalue() == (
        "family: search extended (phase 1): the retrained family has 2 of 4 members; up to "
        f"trial {phase.trials} with MACs from {floor:,} to {int(0.8 * macs(32)):,}, between its "
        "members\n")
    [why] = [e for e in events if isinstance(e, SearchNotExtended)]
    assert why.reason == (f"phase 2 searched from {again.min_macs:,} to {again.max_macs:,} "
                          "MACs and measured no network there")


def test_a_phase_that_finds_no_network_to_retrain_ends_the_search_and_says_why(
        tmp_path: Path) -> None:
    study = _study({64: 95.0, 32: 94.0})
    family, events, _ = _run(tmp_path, study, {64: 97.0, 32: 97.0}, lambda phase: {16: 40.0})
    assert family == [32]
    [why] = [e for e in events if isinstance(e, SearchNotExtended)]
    assert why.reason == (
        f"phase 1 searched below {int(0.8 * macs(32)):,} MACs: of the 1 network measured "
        "there, none is feasible (the best: 40.00%)")


def test_no_room_below_the_retrained_members_is_said_and_nothing_is_searched(
        tmp_path: Path) -> None:
    study = _study({16: 95.0, 8: 94.0})
    family, events, _ = _run(tmp_path, study, {16: 97.0, 8: 97.0}, lambda phase: {32: 1.0})
    assert family == [8] and not [e for e in events if isinstance(e, SearchExtended)]
    [why] = [e for e in events if isinstance(e, SearchNotExtended)]
    assert why.reason == (f"a smaller member needs MACs <= {int(0.8 * macs(8)):,}, but the "
                          f"prototype's smallest network has {macs(8):,} MACs")


def test_the_family_made_again_replays_the_phases_without_searching(tmp_path: Path) -> None:
    study = _study({64: 95.0, 32: 94.0})
    tested = {64: 97.0, 32: 97.0, 16: 96.0, 8: 94.0}
    first, _, _ = _run(tmp_path / "one", study, tested, lambda phase: {16: 93.0, 8: 91.0})
    trials = len(study.trials)
    # the phase's networks do not change the first family: 64 and 32 again, then the phase
    again, events, table = _run(tmp_path / "two", study, tested, None)
    assert again == first == [32, 16, 8] and len(study.trials) == trials
    assert table.retrained == [64, 32, 16, 8]
    assert not [e for e in events if isinstance(e, SearchExtended)]


class Plateau(Evaluator):
    """The search's top-1 grows with MACs; fully trained, every network of 100K MACs or more
    reaches 95 % and smaller ones fall with their MACs (digits' plateau, made exact)."""

    def __init__(self, stop_below: int = 0) -> None:
        self.stop_below = stop_below  # Ctrl-C at the first network under these MACs
        self.retrained: list[int] = []

    def evaluate(self, arch: Any, report: Report) -> Measurement:
        c = genesynth.cost(arch)
        if c.macs < self.stop_below:
            raise KeyboardInterrupt
        return Measurement(60.0 + c.macs / 20_000, c.params, c.macs)

    def retrain(self, arch: Any, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, None]:
        c = genesynth.cost(arch)
        self.retrained.append(c.macs)
        return Measurement(min(95.0, 80.0 + 15.0 * c.macs / 100_000), c.params, c.macs), None

    def describe(self) -> dict[str, Any]:
        return {"kind": "plateau", "version": 1}


def _synthesize(out: Path, evaluator: Plateau, cache: Path, resume: bool = False
                ) -> tuple[Any, list[Any]]:
    from tests.synth.test_engine import TINY

    events: list[Any] = []
    try:
        result = genesynth.synthesize(
            genesynth.parse_prototype(TINY), RULE, data="digits", trials=8, family_size=3,
            out=out, evaluator=evaluator, cache=cache, resume=resume, sampler="random",
            listeners=[events.append])
    except genesynth.RunInterrupted:
        result = None
    return result, events


SMALL = int(0.8 * 24_224)  # the phase's bound: under 80 % of the smallest retrained member


def test_a_run_whose_retraining_drops_members_searches_below_those_it_kept(
        tmp_path: Path) -> None:
    plateau = Plateau()
    result, events = _synthesize(tmp_path / "run", plateau, tmp_path / "cache")
    # the search's family: 496K, 136K, 24K; retrained, 136K equals 496K (and its spare,
    # 431K): 2 members left, and the phase below 24K finds the smallest network
    assert [(m.macs, m.accuracy) for m in result.family] == [
        (135_840, 95.0), (24_224, pytest.approx(83.6336)), (16_032, pytest.approx(82.4048))]
    assert plateau.retrained == [496_448, 135_840, 24_224, 430_912, 16_032]  # none twice
    [phase] = [e for e in events if isinstance(e, SearchExtended)]
    assert (phase.retrained, phase.members, phase.max_macs) == (True, 2, SMALL)
    written = json.loads((tmp_path / "run" / "family.json").read_text())
    assert len(written["dropped"]) == 2 and len(written["members"]) == 3


def test_a_run_interrupted_in_that_phase_resumes_it_and_makes_the_same_family(
        tmp_path: Path) -> None:
    whole, _ = _synthesize(tmp_path / "whole", Plateau(), tmp_path / "c1")
    first, _ = _synthesize(tmp_path / "run", Plateau(stop_below=SMALL), tmp_path / "c2")
    assert first is None  # Ctrl-C in the phase below the retrained members
    again = Plateau()
    result, events = _synthesize(tmp_path / "run", again, tmp_path / "c2", resume=True)
    # the same networks (the interrupted trial's network came back as a later trial)
    assert [(m.key, m.accuracy) for m in result.family] == [
        (m.key, m.accuracy) for m in whole.family]
    # the first retraining again (no weights here, so the cache keeps none), then the phase's
    assert again.retrained == [496_448, 135_840, 24_224, 430_912, 16_032]
    # the phase goes on (the views search again), and no other is planned
    [phase] = [e for e in events if isinstance(e, SearchExtended)]
    assert (phase.phase, phase.retrained) == (1, True)
    assert build(events).below_family is False  # retrained after it
    assert build(events[:events.index(phase) + 1]).below_family is True
    # family.json deleted: the family is made again, the phase replayed, nothing searched
    (tmp_path / "run" / "family.json").unlink()
    trials = len(result.trials)
    remade, _ = _synthesize(tmp_path / "run", Plateau(), tmp_path / "c2", resume=True)
    assert [m.trial for m in remade.family] == [m.trial for m in result.family]
    assert len(remade.trials) == trials
