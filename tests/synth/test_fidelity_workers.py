"""The fidelity check's candidates trained by the run's workers (real processes).

``synthesize`` runs a shared study whose evaluator scores like a supernet
(``tests/synth/fidelity_workers.py``: each training alone lasts ``DELAY`` seconds) and makes
its family (or a worker does); two ``genesynth worker`` processes join and wait for the
check while the family is retrained (``gate``). One
worker is SIGKILLed while it trains a candidate for the check. Then every candidate of the
check must have been trained exactly once to the end, the killed one by another process; the
two processes left must both have trained some; and the check in ``run.json`` must be the one
a single process computes from the same candidates.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from genesynth.net.arch import Architecture
from genesynth.record.fidelity import Pair, check_of
from genesynth.record.trial import TrialRecord
from genesynth.storage import open_storage
from genesynth.synth.checks import CHECK_PREFIX, PLAN_ATTR
from genesynth.synth.trials import FAMILY_ATTR
from tests.synth.fidelity_workers import own
from tests.synth.test_distributed import (
    CONSTRAINT,
    PROTOTYPE,
    Spawn,
    _log_of,
    _wait,
    postgres_url,  # noqa: F401 (a fixture)
)

STUDY = "checks"
TRIALS = 12
CHECKS = 5
DELAY = 3.0  # seconds per candidate trained alone: a SIGKILL lands mid-check (at 1 s a
# worker under load could finish its checks and leave between two polls of the study)
TIMEOUT = 90.0


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """``python -m tests.synth.fidelity_workers ARGS``, output in a log; all killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "tests.synth.fidelity_workers",
                                        *args], stdout=out, stderr=subprocess.STDOUT)
        process.log = log  # type: ignore[attr-defined]
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _study(url: str) -> optuna.Study:
    return optuna.load_study(study_name=STUDY, storage=open_storage(url, create=False))


def _attrs(url: str) -> dict[str, object] | None:
    try:
        return _study(url).user_attrs
    except Exception:  # not created yet
        return None


def _claimed(url: str, worker: subprocess.Popen[bytes], seen: dict[str, float]
             ) -> str | None:
    """A check candidate ``worker`` has held claimed (not done) for 0.3 s."""
    now = time.monotonic()
    for name, value in (_attrs(url) or {}).items():
        mine = (name.startswith(CHECK_PREFIX) and isinstance(value, dict)
                and not value.get("done") and f"-{worker.pid}-" in str(value.get("worker")))
        if mine and now - seen.setdefault(name, now) >= 0.3:
            return name[len(CHECK_PREFIX):]
    return None


def _stopped_mid_check(url: str, worker: subprocess.Popen[bytes], seen: dict[str, float]
                       ) -> str | None:
    """The candidate ``worker`` trains, with the worker frozen (SIGSTOP) while it does."""
    key = _claimed(url, worker, seen)
    if key is None:
        return None
    worker.send_signal(signal.SIGSTOP)
    held = (_attrs(url) or {}).get(CHECK_PREFIX + key)
    if isinstance(held, dict) and not held.get("done"):
        return key
    worker.send_signal(signal.SIGCONT)
    return None


def _expected(url: str, run: Path) -> dict[str, object]:
    """The check one process computes from the plan's candidates and the family."""
    study = _study(url)
    trials = {t.number: TrialRecord.of(t) for t in study.get_trials(deepcopy=False)}
    pairs = []
    for number, key in study.user_attrs[PLAN_ATTR]["candidates"]:
        rec = trials[number]
        assert rec.key == key and rec.arch is not None and rec.accuracy is not None
        pairs.append(Pair(key, rec.accuracy, own(Architecture.from_json(rec.arch)),
                          int(rec.macs or 0), "check"))
    for m in json.loads((run / "family.json").read_text())["members"]:
        pairs.append(Pair(m["key"], m["val_accuracy"], m["accuracy"], m["macs"], "family"))
    return check_of(pairs, seed=0).to_dict()


def _checks_shared_by_workers(url: str, folder: Path, spawn: Spawn) -> None:
    (folder / "tiny.gs").write_text(PROTOTYPE)
    (folder / "c.toml").write_text(CONSTRAINT)
    first = spawn(["synthesize", str(folder), url, STUDY, str(TRIALS), str(CHECKS), str(DELAY)],
                  folder / "synthesize.log")
    _wait("the study", lambda: True if "run" in (_attrs(url) or {}) else None, [first])
    workers = [spawn(["worker", "--storage", url, "--study", STUDY, "--plain"],
                     folder / f"worker{i}.log") for i in (1, 2)]
    everyone = [first, *workers]
    claim = _wait("the family's claim", lambda: (_attrs(url) or {}).get(FAMILY_ATTR), everyone)
    maker = next(p for p in everyone if f"-{p.pid}-" in str(claim["worker"]))  # type: ignore[index]
    _wait("the workers", lambda: all(_log_of(w) for w in workers) or None, everyone)
    (folder / "gate").touch()  # the family is retrained, then its check is published
    victim = next(w for w in workers if w is not maker)
    left = [p for p in everyone if p is not victim]
    seen: dict[str, float] = {}
    killed = _wait("a check trained by a worker", lambda: _stopped_mid_check(url, victim, seen),
                   everyone)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=10) == -signal.SIGKILL
    for process in left:
        assert process.wait(timeout=TIMEOUT) == 0, _log_of(process)

    plan = [key for _, key in _study(url).user_attrs[PLAN_ATTR]["candidates"]]
    assert len(plan) == CHECKS and killed in plan
    trained = [line.split() for line in (folder / "alone.log").read_text().splitlines()]
    assert sorted(key for _, key in trained) == sorted(plan)  # each once, to the end
    by = {key: int(pid) for pid, key in trained}
    assert by[killed] in {p.pid for p in left}  # taken over
    assert {p.pid for p in left} <= set(by.values())  # split (the victim may have done one)
    for worker in (w for w in workers if w in left and w is not maker):
        mine = sum(pid == worker.pid for pid in by.values())
        assert f"worker trained {mine} of the fidelity check's candidates alone" in _log_of(worker)
    run = folder / "run"
    assert json.loads((run / "run.json").read_text())["fidelity"] == _expected(url, run)
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events if e["event"].startswith("Fidelity")] == [
        "FidelityStarted", "FidelityChecked"]


def test_journal_workers_share_the_check_and_take_over_a_killed_ones(
    tmp_path: Path, spawn: Spawn,
) -> None:
    _checks_shared_by_workers(f"journal://{tmp_path / 'study.log'}", tmp_path, spawn)


def test_postgresql_workers_share_the_check_and_take_over_a_killed_ones(
    postgres_url: str, tmp_path: Path, spawn: Spawn,  # noqa: F811 (the fixture)
) -> None:
    _checks_shared_by_workers(postgres_url, tmp_path, spawn)
