"""One synthesis shared by three worker processes, one of them killed mid-trial.

For PostgreSQL (a throwaway server started here from the installed binaries) and for a
journal file: ``genesynth synthesize --storage --study`` starts the study and works, two
``genesynth worker`` processes join; one worker is SIGKILLed while its trial is being
evaluated (the table evaluator's ``delay`` makes every evaluation last ``DELAY`` seconds).
Then the study must hold exactly its budget of counted trials, the killed trial must have been
retried once, trial numbers must be unique, and the family must have been made exactly once.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from genesynth.errors import ShapeError
from genesynth.space import FixedChooser, load_prototype
from genesynth.storage import open_storage
from genesynth.synth.trials import FAMILY_ATTR, Tally, counted, replaced

PROTOTYPE = """network tiny {
  input 1x8x8
  classes 10
  stem { conv(out=8) bn relu }
  modules {
    block(out=[8, 16])
    block(out=[16, 24], stride=2)
  }
  head { gap linear(out=classes) softmax }
}
module block(out, stride=1): residual(shortcut=auto) {
  conv(kernel=[1, 3, 5], stride=stride, groups=[1, 2]) bn relu
  pwconv(out=out) bn
} then { relu }
"""
CONSTRAINT = "[bounds]\nmin_accuracy = 50.0\n"
BUDGET = 12
DELAY = 1.0  # seconds per evaluation: a SIGKILL lands mid-trial, not between trials
HEARTBEAT = 1  # PostgreSQL: a dead worker's trial is stale after 2 s
STUDY = "tiny"
TIMEOUT = 60.0

Spawn = Callable[[list[str], Path], subprocess.Popen[bytes]]


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start ``python -m genesynth.cli ARGS`` with its output in a log; all killed at the end."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "genesynth.cli", *args],
                                       stdout=out, stderr=subprocess.STDOUT)
        process.log = log  # type: ignore[attr-defined]
        started.append((process, log))
        return process

    yield start
    for process, _ in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own on 127.0.0.1, with an empty database ``genesynth``."""
    binaries, as_user, home = postgres_home()
    data, port = home / "data", _free_port()
    try:
        _pg(as_user, [str(binaries / "initdb"), "-D", str(data), "--auth=trust", "-U",
                      "postgres", "-E", "UTF8", "--no-sync"])
        _pg(as_user, [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(home / "log"),
                      "-w", "-t", "30", "-o",
                      f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off",
                      "start"])
        _pg(as_user, [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                      "postgres", "genesynth"])
        yield f"postgresql://postgres@127.0.0.1:{port}/genesynth"
    finally:
        subprocess.run(_as(as_user, [str(binaries / "pg_ctl"), "-D", str(data), "-m",
                                     "immediate", "-w", "stop"]), capture_output=True,
                       timeout=30, check=False)
        shutil.rmtree(home, ignore_errors=True)


def postgres_home() -> tuple[Path, bool, Path]:
    """The server binaries, whether to run them as ``postgres``, and a fresh home folder the
    server may write; skips the test (saying what to install) where a server cannot run."""
    binaries = _postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
                    "install them with: apt-get install -y postgresql")
    if importlib.util.find_spec("psycopg2") is None:
        pytest.skip("psycopg2 is not installed: pip install 'genesynth[postgres]'")
    as_user = _postgres_user()
    home = Path(tempfile.mkdtemp(prefix="genesynth-pg-"))
    if as_user:
        entry = pwd.getpwnam("postgres")
        os.chown(home, entry.pw_uid, entry.pw_gid)
    return binaries, as_user, home


def _postgres_binaries() -> Path | None:
    found = shutil.which("initdb")
    candidates = [Path(found).parent] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "createdb")):
            return folder
    return None


def _postgres_user() -> bool:
    """Whether to run the server as the ``postgres`` user (it refuses to run as root)."""
    if os.geteuid() != 0:
        return False
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run the server as")
    return True


def _as(as_user: bool, command: list[str]) -> list[str]:
    if not as_user:
        return command
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *command]
    return ["su", "postgres", "-c", " ".join(command)]


def _pg(as_user: bool, command: list[str]) -> None:
    done = subprocess.run(_as(as_user, command), capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{done.stdout.decode()}{done.stderr.decode()}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the run --------------------------------------------------------------------------------------


def _inputs(folder: Path) -> tuple[Path, Path, Path]:
    """The prototype, the constraint, and a table holding every architecture of the space."""
    proto_path, rule_path, table_path = (folder / "tiny.gs", folder / "c.toml",
                                         folder / "table.json")
    proto_path.write_text(PROTOTYPE)
    rule_path.write_text(CONSTRAINT)
    proto = load_prototype(proto_path)
    names = [c.name for c in proto.choices()]
    table = {}
    for values in itertools.product(*(c.options for c in proto.choices())):
        try:
            arch = proto.sample(chooser=FixedChooser(dict(zip(names, values, strict=True))))
        except ShapeError:
            continue
        table[arch.key] = 60.0 + int(arch.key[:6], 16) % 3900 / 100
    table_path.write_text(json.dumps(table))
    return proto_path, rule_path, table_path


def _trials(url: str) -> list[FrozenTrial]:
    study = optuna.load_study(study_name=STUDY, storage=open_storage(url, create=False))
    return study.get_trials(deepcopy=False)


def _wait(what: str, ready: Callable[[], object], processes: list[subprocess.Popen[bytes]]
          ) -> object:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        got = ready()
        if got is not None:
            return got
        for p in processes:
            if p.poll() is not None:
                raise AssertionError(f"{p.args!r} ended (status {p.returncode}) while waiting "
                                     f"for {what}:\n{_log_of(p)}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _log_of(process: subprocess.Popen[bytes]) -> str:
    log = getattr(process, "log", None)
    return log.read_text() if isinstance(log, Path) else ""


def _study_started(url: str) -> bool | None:
    try:
        study = optuna.load_study(study_name=STUDY, storage=open_storage(url, create=False))
    except Exception:  # not created yet
        return None
    return True if "run" in study.user_attrs else None


def _mid_trial(url: str, workers: list[subprocess.Popen[bytes]], seen: dict[int, float]
               ) -> tuple[subprocess.Popen[bytes], int] | None:
    """A worker and its trial, seen RUNNING for 0.3 s: it is inside the evaluator's delay."""
    now = time.monotonic()
    for t in _trials(url):
        owner = str(t.user_attrs.get("worker"))
        for worker in workers:
            mine = t.state == TrialState.RUNNING and f"-{worker.pid}-" in owner
            if mine and now - seen.setdefault(t.number, now) >= 0.3:
                return worker, t.number
    return None


def _stopped_mid_trial(url: str, workers: list[subprocess.Popen[bytes]], seen: dict[int, float]
                       ) -> tuple[subprocess.Popen[bytes], int] | None:
    """A worker frozen (SIGSTOP) while it runs a trial, and that trial. The trial seen running
    may have ended by the time a slow poll returns, so the worker is stopped first and its
    running trial read again; one between trials is let go on (SIGCONT)."""
    found = _mid_trial(url, workers, seen)
    if found is None:
        return None
    worker = found[0]
    worker.send_signal(signal.SIGSTOP)
    running = [t.number for t in _trials(url) if t.state == TrialState.RUNNING
               and f"-{worker.pid}-" in str(t.user_attrs.get("worker"))]
    if len(running) == 1:
        return worker, running[0]
    worker.send_signal(signal.SIGCONT)
    return None


def _distributed_run(url: str, folder: Path, spawn: Spawn) -> int:
    """Three workers on one study; one SIGKILLed mid-trial. Returns the killed trial."""
    proto, rule, table = _inputs(folder)
    first = spawn(["synthesize", str(proto), "--constraint", str(rule), "--table", str(table),
                   "--table-delay", str(DELAY), "--trials", str(BUDGET), "--family", "2",
                   "--storage", url, "--study", STUDY, "--heartbeat", str(HEARTBEAT),
                   "--sampler", "random", "--out", str(folder / "run"), "--plain"],
                  folder / "synthesize.log")
    _wait("the study", lambda: _study_started(url), [first])
    command = ["worker", "--storage", url, "--study", STUDY, "--plain"]
    workers = [spawn(command, folder / f"worker{i}.log") for i in (1, 2)]
    seen: dict[int, float] = {}
    found = _wait("a trial of a worker", lambda: _stopped_mid_trial(url, workers, seen),
                  [first, *workers])
    assert isinstance(found, tuple)
    victim, killed = found
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=10) == -signal.SIGKILL
    for process in (first, *workers):
        if process is not victim:
            code = process.wait(timeout=TIMEOUT)
            assert code == 0, _log_of(process)
    return killed


def _check(url: str, out: Path, killed: int) -> None:
    everything = _trials(url)
    numbers = [t.number for t in everything]
    assert sorted(numbers) == list(range(len(everything)))  # unique, no gaps
    # Trials that widen a short family come after the search, from the family maker alone.
    trials = [t for t in everything if "phase" not in t.user_attrs]
    assert all(counted(t) or t.user_attrs["state"] == "skipped"  # outside the phase's bound
               for t in everything if "phase" in t.user_attrs)
    gone = replaced(trials)
    assert gone == {killed}
    dead = trials[killed]
    assert dead.state == TrialState.FAIL and "state" not in dead.user_attrs
    retries = [t for t in trials if t.system_attrs.get("retry_history") == [killed]]
    assert len(retries) == 1 and counted(retries[0], gone)
    assert retries[0].params == dead.params
    assert Tally.of(trials) == Tally(counted=BUDGET, running=0, waiting=0)
    assert len(trials) == BUDGET + 1
    assert all(counted(t, gone) or t.number == killed for t in trials)
    study = optuna.load_study(study_name=STUDY, storage=open_storage(url, create=False))
    assert study.user_attrs["finished"] is True and study.user_attrs[FAMILY_ATTR]["worker"]
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert sum(e["event"] == "FamilyStarted" for e in events) == 1
    made = [e for e in events if e["event"] == "RunFinished" and e["family"] > 0]
    assert len(made) == 1
    family = json.loads((out / "family.json").read_text())
    assert len(family["members"]) == made[0]["family"]


def test_postgresql_workers_share_one_budget_and_survive_a_killed_worker(
    postgres_url: str, tmp_path: Path, spawn: Spawn,
) -> None:
    killed = _distributed_run(postgres_url, tmp_path, spawn)
    _check(postgres_url, tmp_path / "run", killed)


def test_journal_workers_share_one_budget_and_survive_a_killed_worker(
    tmp_path: Path, spawn: Spawn,
) -> None:
    url = f"journal://{tmp_path / 'study.log'}"
    killed = _distributed_run(url, tmp_path, spawn)
    _check(url, tmp_path / "run", killed)
