"""``genesynth watch``: read a real run directory (SQLite study) without changing it."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from pathlib import Path

import optuna
import pytest
from rich.console import Console

from genesynth.cli import main
from genesynth.commands import watch
from genesynth.dashboard.plain import summary_lines
from genesynth.errors import RunError
from genesynth.events import SupernetProgress, event_to_dict
from genesynth.record.reader import SupernetLog, locate, state_from_study
from tests.commands.demo_runs import copy_run


def terminal() -> Console:
    return Console(width=120, height=40, record=True, file=io.StringIO(), force_terminal=True)


def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    watch.add(parser.add_subparsers())
    return parser.parse_args(["watch", *argv])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_from_study_reads_user_attrs(tmp_path: Path) -> None:
    run = copy_run(tmp_path)
    source = locate(run)
    state = state_from_study(source.load_study(), source.run, source.family())
    assert state.finished and state.planned == 12 and state.prototype == "prototypes/atto.gs"
    assert state.counts == {"complete": 7, "pruned": 1, "infeasible": 1, "failed": 1,
                            "duplicate": 1, "invalid": 1}
    assert [m for m in state.family] == ["A", "B", "C", "D"]
    assert state.best is not None and state.best.number == 0
    assert state.elapsed > 0 and state.mean_seconds is not None


def test_running_trial_is_the_candidate(tmp_path: Path) -> None:
    run = copy_run(tmp_path, finished=False)
    source = locate(run)
    state = state_from_study(source.load_study().get_trials(), source.run, now=2e9)
    cand = state.candidate
    assert not state.finished and cand is not None and cand.state == "running"
    assert (cand.number, cand.epoch, cand.epochs, cand.accuracy) == (12, 2, 4, 84.25)
    assert cand.modules[0].startswith("m01 atto") and cand.params


def test_plain_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = copy_run(tmp_path)
    before = digest(run / "study.db")
    assert main(["watch", str(run), "--plain"]) == 0
    out = capsys.readouterr().out
    assert "finished: 12/12 trials" in out and "complete 7 pruned 1" in out
    assert "member A done" in out and "\x1b" not in out
    assert digest(run / "study.db") == before


def test_dashboard_of_a_finished_run_shows_once(tmp_path: Path) -> None:
    run = copy_run(tmp_path)
    console = terminal()
    assert watch.run(args(str(run)), console=console) == 0
    text = console.export_text()
    assert "finished" in text and "12/12 trials" in text and "family · 6 epochs" in text


def test_polls_until_the_study_is_finished(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    run = copy_run(tmp_path, finished=False)
    polls: list[float] = []

    def sleep(seconds: float) -> None:  # the engine finishes the run during the second poll
        polls.append(seconds)
        if len(polls) == 2:
            study = optuna.load_study(study_name="genesynth", storage=f"sqlite:///{run}/study.db")
            study.set_user_attr("finished", True)

    monkeypatch.setattr(watch.time, "sleep", sleep)
    console = terminal()
    assert watch.run(args(str(run), "--interval", "0.5"), console=console) == 0
    assert polls == [0.5, 0.5]
    text = console.export_text()
    assert "running" in text and "finished" in text


def test_storage_and_study_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = copy_run(tmp_path)
    url = f"sqlite:///{run / 'study.db'}"
    assert main(["watch", "--storage", url, "--study", "genesynth", "--plain"]) == 0
    assert "prototypes/atto.gs" in capsys.readouterr().out  # run.json from the study's attrs
    assert main(["watch", "--storage", url, "--study", "other", "--plain"]) == 2
    assert "no study 'other'; studies found: 'genesynth'" in capsys.readouterr().err


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "does not exist"),
    (lambda p: p.mkdir(), "run.json is missing"),
    (lambda p: (p.mkdir(), (p / "run.json").write_text("{}")), "study.log does not exist"),
])
def test_missing_pieces_are_clear_errors(tmp_path: Path, setup: object, message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "run"
    setup(folder)  # type: ignore[operator]
    assert main(["watch", str(folder)]) == 2
    assert message in capsys.readouterr().err
    assert not (folder / "study.db").exists()  # nothing was created


def test_missing_storage_file() -> None:
    with pytest.raises(RunError, match="does not exist"):
        locate(storage="sqlite:////nonexistent/study.db")


def _extend(run: Path, phase_trials: int, planned: int, finished: bool) -> None:
    """Add trials of an extra search phase to the demo run's study, as the engine does."""
    study = optuna.load_study(study_name="genesynth", storage=f"sqlite:///{run}/study.db")
    study.set_user_attr("planned", planned)
    study.set_user_attr("finished", finished)
    for _ in range(phase_trials):
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.COMPLETE, value=60.0,
            user_attrs={"state": "complete", "phase": 1, "accuracy": 91.0, "params": 900,
                        "macs": 90_000, "utility": 60.0, "feasible": True, "seconds": 2.0},
        ))


@pytest.mark.parametrize(("finished", "planned", "shown"),
                         [(True, 14, "14/14 trials"), (False, 16, "14/16 trials")])
def test_an_extended_search_is_counted_as_the_run_counts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], finished: bool, planned: int, shown: str
) -> None:
    run = copy_run(tmp_path, finished=False)  # 12 trials planned and done, and one running
    _extend(run, 2, planned, finished)  # an extra phase: two more done
    assert main(["watch", str(run), "--plain"]) == 0
    assert shown in capsys.readouterr().out


def test_a_shared_study_shows_its_family_from_any_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import genesynth
    from tests.synth.test_api import RULE, _Fixed
    from tests.synth.test_engine import TINY

    url = f"journal:///{tmp_path / 'shared.log'}"
    result = genesynth.synthesize(genesynth.parse_prototype(TINY), RULE, trials=3,
                                  out=tmp_path / "maker", evaluator=_Fixed(), family_size=1,
                                  storage=url, study="shared")
    assert len(result.family) == 1
    assert main(["watch", "--storage", url, "--study", "shared", "--plain"]) == 0
    out = capsys.readouterr().out
    assert "finished: 3/3 trials" in out
    assert f"member A done (trial {result.family[0].trial}) acc 80.00%" in out


def _supernet_events(run: Path, *events: SupernetProgress, tail: str = "") -> None:
    with (run / "events.jsonl").open("a") as stream:
        for event in events:
            stream.write(json.dumps(event_to_dict(event)) + "\n")
        stream.write(tail)


def test_the_supernet_phase_is_read_from_the_events_file(tmp_path: Path) -> None:
    run = copy_run(tmp_path, finished=False)
    _supernet_events(run, SupernetProgress(0, 12, time=1.0),
                     SupernetProgress(3, 12, loss=0.668, accuracy=84.81, seconds=622.0),
                     SupernetProgress(3, 12, seconds=650.0, step=6, steps=45),
                     tail='{"event": "SupernetProgress", "epoch": 4, "epo')  # being written
    source = locate(run)
    log = SupernetLog(source.run_dir)
    phase = watch.snapshot(source, source.load_study(), log).supernet
    assert phase is not None and not phase.ready
    assert (phase.epoch, phase.epochs, phase.step, phase.steps) == (3, 12, 6, 45)
    assert summary_lines(watch.snapshot(source, source.load_study(), log))[2] == (
        "supernet: epoch 3/12, step 6/45, loss 0.6680, largest val 84.81%")
    with (run / "events.jsonl").open("a") as stream:  # the line is finished, then the phase
        stream.write('chs": 12, "loss": 0.5}\n')
        stream.write(json.dumps(event_to_dict(SupernetProgress(12, 12, seconds=2650.0,
                                                               ready=True))) + "\n")
    phase = watch.snapshot(source, source.load_study(), log).supernet
    assert phase is not None and phase.ready and phase.epoch == 12
    assert [e.epoch for e in log.events] == [0, 3, 3, 4, 12]
    assert summary_lines(watch.snapshot(source, source.load_study(), log))[2] == (
        "supernet: trained in 44m 10s (12 epochs)")


def test_watch_plain_shows_the_supernet_and_a_run_without_one_has_no_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = copy_run(tmp_path)
    assert main(["watch", str(run), "--plain"]) == 0
    assert "supernet" not in capsys.readouterr().out
    _supernet_events(run, SupernetProgress(12, 12, ready=True, loaded=True),
                     tail="not json at all\n")
    assert main(["watch", str(run), "--plain"]) == 0
    assert "supernet: loaded from the run directory (12 epochs)" in capsys.readouterr().out


def test_watch_of_a_supernet_run_interrupted_before_its_first_trial() -> None:
    # Today: "elapsed 0.0 s", "input –", and after the interrupt still "training the
    # supernet ... ETA ~75h".
    from genesynth.dashboard import panels
    from genesynth.events import RunFinished, RunStarted
    from genesynth.record.reader import apply_log
    from tests.dashboard.recorded import render

    run = {"prototype_path": "p.gs", "trials": 300, "input_shape": [3, 16, 16],
           "declared_input_shape": [3, 32, 32], "extra": {"device": "cpu (1 thread)"}}
    state = state_from_study([], run, now=10_000.0)
    apply_log(state, [RunStarted("p.gs", "c.toml", "cifar10", "bayes", 0, "runs/c", 300,
                                 time=100.0),
                      SupernetProgress(0, 12, time=101.0),
                      SupernetProgress(0, 12, seconds=60.0, step=3, steps=2813, time=160.0),
                      RunFinished("runs/c", 0, interrupted=True, time=170.0)])
    assert (state.elapsed, state.input_shape) == (
        70.0, "3x16x16 (the data's; the prototype declares 3x32x32)")
    assert state.interrupted
    lines = summary_lines(state)
    assert lines[1] == "interrupted: 0/300 trials, elapsed 1m 10s"
    text = render(panels.header_panel(state)) + render(panels.progress_panel(state)) + render(
        panels.supernet_panel(state))
    assert "interrupted" in text and "training the supernet" not in text
    assert "ETA ~" not in text and "input 3x16x16" in text
    # a resume after the interrupt: going on again
    fresh = state_from_study([], run, now=10_000.0)
    apply_log(fresh, [RunFinished("runs/c", 0, interrupted=True, time=170.0),
                      RunStarted("p.gs", "c.toml", "cifar10", "bayes", 0, "runs/c", 300,
                                 time=200.0)])
    assert not fresh.interrupted
