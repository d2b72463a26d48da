"""The shared-study parts without subprocesses: storage URLs, the exact budget claim, stale
trials of dead workers, the one-time family claim, and a worker refused for a different run."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import genesynth
from genesynth.cli import main
from genesynth.errors import RunError
from genesynth.evaluate.table import TableEvaluator
from genesynth.record.trial import record
from genesynth.space import load_prototype
from genesynth.storage import open_storage
from genesynth.synth.api import Request, make_setup
from genesynth.synth.engine import open_study
from genesynth.synth.locks import guard_for, worker_id
from genesynth.synth.trials import (
    FAMILY_ATTR,
    Claim,
    Tally,
    claim_family,
    claim_trial,
    done_count,
    family_claim,
)
from genesynth.synth.worker import produce_family, work
from tests.synth.test_distributed import CONSTRAINT, PROTOTYPE, _inputs, _trials


def _finish(study: optuna.Study, trial: optuna.Trial) -> None:
    trial.set_user_attr("state", "complete")
    study.tell(trial, 1.0)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[optuna.Study]:
    url = f"journal://{tmp_path / 'run.log'}"
    yield optuna.create_study(study_name="s", storage=open_storage(url))


def test_the_last_slot_goes_to_one_claim_and_the_others_wait(journal: optuna.Study) -> None:
    guard = guard_for(journal)
    first, second = claim_trial(journal, 2, guard), claim_trial(journal, 2, guard)
    assert isinstance(first, optuna.Trial) and isinstance(second, optuna.Trial)
    assert claim_trial(journal, 2, guard) is Claim.WAIT  # 0 counted + 2 running
    _finish(journal, first)
    assert claim_trial(journal, 2, guard) is Claim.WAIT  # 1 + 1
    _finish(journal, second)
    assert claim_trial(journal, 2, guard) is Claim.DONE
    assert Tally.of(journal.get_trials()) == Tally(counted=2, running=0, waiting=0)


def test_a_dead_workers_trial_is_retried_once_and_counted_once(journal: optuna.Study) -> None:
    guard = guard_for(journal)
    orphan = claim_trial(journal, 2, guard)
    assert isinstance(orphan, optuna.Trial)
    orphan.suggest_categorical("x", [1, 2, 3])
    record(orphan, worker="elsewhere-1-dead")  # no live worker holds that name
    retry = claim_trial(journal, 2, guard)
    assert isinstance(retry, optuna.Trial)
    trials = journal.get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.RUNNING]
    assert retry.number == 1 and retry.params == trials[0].params
    assert trials[1].system_attrs["retry_history"] == [0]
    _finish(journal, retry)
    last = claim_trial(journal, 2, guard)
    assert isinstance(last, optuna.Trial)
    _finish(journal, last)
    assert claim_trial(journal, 2, guard) is Claim.DONE
    assert done_count(journal) == 2 and len(journal.get_trials()) == 3


def test_the_family_is_claimed_once_and_only_when_the_budget_is_spent(
    journal: optuna.Study,
) -> None:
    trial = claim_trial(journal, 1, guard_for(journal))
    assert isinstance(trial, optuna.Trial)
    assert claim_family(journal, 1) is False  # still running
    _finish(journal, trial)
    assert [claim_family(journal, 1), claim_family(journal, 1)] == [True, False]
    assert claim_family(journal, 1, force=True) is True
    more = claim_trial(journal, 2, guard_for(journal))  # a resume raised the budget to 2
    assert isinstance(more, optuna.Trial)
    _finish(journal, more)
    assert [claim_family(journal, 2), claim_family(journal, 2)] == [True, False]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_bad_urls_and_unreachable_databases_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(RunError) as error:
        open_storage("redis://localhost/0")
    assert str(error.value) == (
        "unsupported storage URL 'redis://localhost/0'; expected postgresql://…, mysql://…, "
        "journal:///path/to/run.log or sqlite:///path/to/study.db"
    )
    with pytest.raises(RunError) as error:
        open_storage(f"journal://{tmp_path}/none.log", create=False)
    assert str(error.value) == (
        f"journal://{tmp_path}/none.log: the journal file {tmp_path}/none.log does not exist"
    )
    port = _free_port()
    with pytest.raises(RunError) as error:
        open_storage(f"postgresql://me:secret@127.0.0.1:{port}/db")
    assert str(error.value).startswith(
        f"cannot open the storage postgresql://me:***@127.0.0.1:{port}/db: "
    )
    assert "secret" not in str(error.value)


def test_a_worker_refuses_sqlite(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="SQLite holds a study for one process only"):
        work(f"sqlite:///{tmp_path / 'study.db'}", "s")


def _start(tmp_path: Path) -> str:
    """A shared study holding a run (nothing run yet), as `synthesize --storage` makes it."""
    (tmp_path / "tiny.gs").write_text(PROTOTYPE)
    (tmp_path / "c.toml").write_text(CONSTRAINT)
    proto = load_prototype(tmp_path / "tiny.gs")
    table = {proto.sample(seed=seed).key: 50.0 for seed in range(20)}  # made for this space
    (tmp_path / "table.json").write_text(json.dumps(table))
    url = f"journal://{tmp_path / 'run.log'}"
    setup = make_setup(Request(tmp_path / "tiny.gs", tmp_path / "c.toml", "digits", 4,
                               tmp_path / "run", "random",
                               evaluator=TableEvaluator(tmp_path / "table.json"), storage=url,
                               study="tiny", family_size=2))
    open_study(setup)
    return url


def test_a_worker_with_another_prototype_or_constraint_is_refused(tmp_path: Path) -> None:
    url = _start(tmp_path)
    other = tmp_path / "other.gs"
    other.write_text(PROTOTYPE.replace("kernel=[1, 3, 5]", "kernel=[3, 5]"))
    rule = tmp_path / "other.toml"
    rule.write_text("[bounds]\nmin_accuracy = 70.0\nmax_params = 5000\n")
    with pytest.raises(RunError) as error:
        work(url, "tiny", prototype=other, constraint=rule)
    assert str(error.value) == (
        "this worker differs from the run stored in study 'tiny':\n"
        f"  prototype: {other} is not the run's prototype ({tmp_path / 'tiny.gs'}): line 12 "
        "is 'conv(kernel=[3, 5], stride=stride, groups=[1, 2]) bn relu' here, "
        "'conv(kernel=[1, 3, 5], stride=stride, groups=[1, 2]) bn relu' in the run\n"
        "  constraint bounds.max_params: 5000 here, None in the run\n"
        "  constraint bounds.min_accuracy: 70.0 here, 50.0 in the run\n"
        "start it without --prototype/--constraint to use the stored run"
    )


def test_a_missing_study_and_an_unfinished_family_are_refused(tmp_path: Path) -> None:
    url = _start(tmp_path)
    with pytest.raises(RunError, match=r"no study 'other' \(studies found: 'tiny'\)"):
        work(url, "other")
    with pytest.raises(RunError) as error:
        produce_family(url, "tiny")
    assert str(error.value) == (
        "study 'tiny' has 0 of its 4 trials; start workers to finish it "
        "(genesynth worker --storage URL --study tiny), they make the family"
    )
    study = optuna.load_study(study_name="tiny", storage=open_storage(url))
    stored = study.user_attrs["run"]
    assert (stored["shared_out"], stored["heartbeat"]) == (str((tmp_path / "run").resolve()), 10)
    assert stored["evaluator"] == {"kind": "table", "path": str(tmp_path / "table.json")}


def _shared_run(tmp_path: Path, family_size: int = 2) -> str:
    """A finished 6-trial study on a journal file (table evaluator), its family made."""
    proto, rule, table = _inputs(tmp_path)
    url = f"journal://{tmp_path / 'run.log'}"
    genesynth.synthesize(proto, rule, trials=6, out=tmp_path / "run", sampler="random",
                         evaluator=TableEvaluator(table), storage=url, study="tiny",
                         family_size=family_size)
    return url


def test_family_force_selects_and_retrains_without_adding_trials(tmp_path: Path) -> None:
    url = _shared_run(tmp_path, family_size=4)
    before = len(_trials(url))
    made = produce_family(url, "tiny", force=True)
    assert made.made_now and made.family
    assert len(_trials(url)) == before


def test_a_family_claim_whose_worker_is_gone_is_taken_over(tmp_path: Path) -> None:
    url = _shared_run(tmp_path)
    study = optuna.load_study(study_name="tiny", storage=open_storage(url))
    made = json.loads((tmp_path / "run" / "family.json").read_text())["members"]
    study.set_user_attr(FAMILY_ATTR, {"worker": "elsewhere-1-dead", "time": 0.0, "trials": 6,
                                      "done": False})  # killed while retraining
    (tmp_path / "run" / "family.json").unlink()
    again = produce_family(url, "tiny")
    assert again.made_now and not again.by
    assert [(m.label, m.trial) for m in again.family] == [(m["label"], m["trial"]) for m in made]
    assert family_claim(study, 6) == {**study.user_attrs[FAMILY_ATTR], "done": True}
    assert produce_family(url, "tiny").made_now is False  # made now: not again


def test_a_live_workers_family_claim_is_left_to_it(tmp_path: Path) -> None:
    url = _shared_run(tmp_path)
    study = optuna.load_study(study_name="tiny", storage=open_storage(url))
    study.set_user_attr(FAMILY_ATTR, {"worker": worker_id(), "time": 0.0, "trials": 6,
                                      "done": False})
    busy = produce_family(url, "tiny")
    assert (busy.made_now, busy.in_progress, busy.by) == (False, True, worker_id())


def test_a_worker_joining_a_finished_study_says_where_its_family_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    url = _shared_run(tmp_path)
    before = (tmp_path / "run" / "events.jsonl").read_text()
    assert main(["worker", "--storage", url, "--study", "tiny", "--plain"]) == 0
    assert capsys.readouterr().out == (
        f"study 'tiny' is done (6 of 6 trials); its family is in "
        f"{(tmp_path / 'run').resolve() / 'family.json'}, made by worker {_maker(url)}\n"
    )
    assert (tmp_path / "run" / "events.jsonl").read_text() == before
    assert len(_trials(url)) == 6


def _maker(url: str) -> str:
    study = optuna.load_study(study_name="tiny", storage=open_storage(url))
    return str(study.user_attrs[FAMILY_ATTR]["worker"])
