"""A database that stops answering (issue 25): connection errors are tried again while the
server comes back; a server gone for good is one line with the resume command, not a
StorageInternalError traceback. Each test starts a throwaway PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest

import genesynth.storage.retry as retry
from genesynth.cli import main
from genesynth.evaluate.train import TrainingEvaluator
from genesynth.storage import StorageLost, open_storage
from tests.commands.test_synthesize import files  # noqa: F401  (a fixture)
from tests.synth.test_distributed import (
    _as,
    _free_port,
    _pg,
    postgres_home,
)


class Server:
    """A throwaway PostgreSQL server on 127.0.0.1 that a test stops and starts again."""

    def __init__(self) -> None:
        self.binaries, self.as_user, self.home = postgres_home()
        self.data, self.port = self.home / "data", _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/genesynth"
        _pg(self.as_user, [str(self.binaries / "initdb"), "-D", str(self.data), "--auth=trust",
                           "-U", "postgres", "-E", "UTF8", "--no-sync"])
        self.start()
        _pg(self.as_user, [str(self.binaries / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                           "-U", "postgres", "genesynth"])

    def start(self) -> None:
        _pg(self.as_user, [str(self.binaries / "pg_ctl"), "-D", str(self.data), "-l",
                           str(self.home / "log"), "-w", "-t", "30", "-o",
                           f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 "
                           "-c fsync=off", "start"])

    def stop(self) -> None:
        subprocess.run(_as(self.as_user, [str(self.binaries / "pg_ctl"), "-D", str(self.data),
                                          "-m", "immediate", "-w", "stop"]),
                       capture_output=True, timeout=30, check=False)


@pytest.fixture(scope="module")
def one_server() -> Iterator[Server]:
    running = Server()
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(running.home, ignore_errors=True)


@pytest.fixture
def server(one_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The module's server, running; retries shortened to 0.2 + 0.4 + 0.8 s."""
    monkeypatch.setattr(retry.RetryingRDBStorage, "waits", (0.2, 0.4, 0.8))
    yield one_server
    one_server.stop()
    one_server.start()


def test_a_server_that_restarts_is_waited_for(server: Server) -> None:
    storage = open_storage(server.url, heartbeat=10)
    optuna.create_study(storage=storage, study_name="s")
    server.stop()
    later = threading.Timer(0.3, server.start)
    later.start()
    try:
        assert "s" in [s.study_name for s in storage.get_all_studies()]
    finally:
        later.join()


def test_a_server_gone_for_good_is_one_clear_error(server: Server) -> None:
    storage = open_storage(server.url, heartbeat=10)
    optuna.create_study(storage=storage, study_name="t")
    server.stop()
    with pytest.raises(StorageLost) as info:
        storage.get_all_studies()
    message = str(info.value)
    assert message.startswith(f"the study storage {server.url} stopped answering (")
    assert message.endswith("; get_all_studies tried 4 times over 1.4 s)")


def test_a_run_whose_server_stops_says_how_to_resume(
    server: Server, files: tuple[Path, Path], tmp_path: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = TrainingEvaluator.evaluate
    calls = []

    def evaluate(self: TrainingEvaluator, arch: Any, report: Any) -> Any:
        calls.append(arch)
        if len(calls) == 2:
            server.stop()  # the server goes away during the second trial
        return original(self, arch, report)

    monkeypatch.setattr(TrainingEvaluator, "evaluate", evaluate)
    proto, rules = files
    out = tmp_path / "run"
    argv = ["synthesize", str(proto), "--constraint", str(rules), "--trials", "4",
            "--epochs", "1", "--full-epochs", "1", "--family", "1", "--storage", server.url,
            "--out", str(out), "--plain"]
    monkeypatch.setattr(sys, "argv", ["genesynth", *argv])
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: the study storage {server.url} stopped answering (")
    assert err.endswith(
        f"; finished trials are kept there; once it is back, resume with: genesynth synthesize "
        f"{proto} --constraint {rules} --trials 4 --epochs 1 --full-epochs 1 --family 1 "
        f"--storage {server.url} --plain --resume --out {out}\n")
