"""A run interrupted while retraining its family: the resumed run shows what the run holds
(the trials, the members already retrained) and says what starts again."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import genesynth
from genesynth.dashboard.panels import family_panel, header_panel
from genesynth.dashboard.plain import PlainLog
from genesynth.evaluate.base import Report
from genesynth.net.measurement import Measurement
from genesynth.record.snapshot import RunState
from genesynth.synth import RunInterrupted
from tests.dashboard.recorded import render
from tests.synth.test_engine import TINY
from tests.synth.test_reuse import RULE, Counting


class Retrains(Counting):
    """Counting's search; a retraining of 3 epochs that stops (Ctrl-C) in the epoch after
    ``stop`` epochs of the retrainings, counted over all members (None: never)."""

    def __init__(self, stop: int | None = None) -> None:
        super().__init__()
        self.stop, self.done = stop, 0
        self.retrained: list[str] = []

    def retrain(self, arch: Any, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, None]:
        for epoch in (1, 2, 3):
            if self.done == self.stop:
                raise KeyboardInterrupt
            self.done += 1
            report(epoch, 1.0, 90.0)
        self.retrained.append(arch.key)
        c = genesynth.cost(arch)
        return Measurement(60.0 + int(arch.key[:2], 16) / 10, c.params, c.macs), None


def _run(out: Path, evaluator: Any, resume: bool = False) -> tuple[Any, RunState, str]:
    stream = io.StringIO()
    log = PlainLog(stream)
    events: list[Any] = []
    try:
        result = genesynth.synthesize(
            genesynth.parse_prototype(TINY), RULE, data="digits", trials=6, family_size=2,
            full_epochs=3, out=out, evaluator=evaluator, cache=None, resume=resume,
            listeners=[log, events.append])
    except RunInterrupted:
        result = None
    state = RunState()
    for event in events:
        state.apply(event)
    return result, state, stream.getvalue()


def test_a_resume_in_retraining_shows_the_run_and_keeps_the_members_done(
        tmp_path: Path) -> None:
    first, before, _ = _run(tmp_path / "run", Retrains(stop=4))  # in B's 2nd epoch
    assert first is None and [m.status for m in before.family.values()] == ["done", "training"]
    again = Retrains()
    result, after, log = _run(tmp_path / "run", again, resume=True)
    # the trials as they were, not "complete 0 ... no feasible candidate yet"
    assert after.counts == before.counts and after.done == before.done == 6
    assert after.best is not None and after.best.number == before.best.number
    assert [t.number for t in after.leaderboard()] == [t.number for t in before.leaderboard()]
    complete = before.counts["complete"]
    feasible = len(before.leaderboard(limit=99))
    lines = log.splitlines()
    assert lines[1] == (f"resumed after 6 trials ({complete} complete"
                        + "".join(f", {n} {s}" for s, n in before.counts.items()
                                  if n and s != "complete")
                        + f"; {feasible} feasible, best trial {before.best.number})")
    # A is kept, not retrained; B starts again from epoch 1, and says so
    a, b = result.family
    assert again.retrained == [b.key]
    assert lines[2] == "family: retraining B for 3 epochs; A kept (retrained before the interrupt)"
    assert f"member A done (trial {a.trial})" in lines[3] and lines[3].endswith(
        "(kept: retrained before the interrupt)")
    assert lines[4].endswith("; B restarts from epoch 1 (its retraining was interrupted after "
                             "epoch 1 of 3; a member's retraining keeps no per-epoch checkpoint)")
    assert lines[5].startswith("member B epoch 1/3")
    assert (a.accuracy, b.accuracy) == (before.family["A"].accuracy, 60.0 + int(b.key[:2], 16) / 10)
    # the dashboard says the same, and shows A as kept
    header = render(header_panel(after, 140), 140)
    assert "B restarts from epoch 1" in header and "A kept (retrained before" in header
    assert "kept" in render(family_panel(after), 100)
    assert not list((tmp_path / "run" / "family").glob("*/member.json"))  # family.json holds it


def test_a_kept_record_of_another_trial_is_retrained(tmp_path: Path) -> None:
    _run(tmp_path / "run", Retrains(stop=4))
    record = tmp_path / "run" / "family" / "A" / "member.json"
    record.write_text(record.read_text().replace('"trial": ', '"trial": 1000', 1))
    again = Retrains()
    result, after, log = _run(tmp_path / "run", again, resume=True)
    assert again.retrained == [m.key for m in result.family]
    assert "member A start" in log and "restarts" not in log.split("member B")[0]
