"""A damaged journal is never made worse: a cut last line is dropped before appending (and
said), other damage is a located error, and readers never see a decoder's traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import optuna
import pytest

from genesynth.errors import RunError
from genesynth.storage import open_storage
from genesynth.storage.journal import check_journal


def _journal(tmp_path: Path, trials: int = 3) -> tuple[str, Path]:
    path = tmp_path / "study.log"
    url = f"journal://{path}"
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    for i in range(trials):
        study.enqueue_trial({"x": float(i)})
        study.optimize(lambda t: t.suggest_float("x", 0, 10), n_trials=1)
    return url, path


def _values(url: str, create: bool) -> list[float]:
    study = optuna.load_study(study_name="s", storage=open_storage(url, create=create))
    return [t.params["x"] for t in study.trials]


def test_a_cut_last_line_is_read_then_dropped_before_appending(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url, path = _journal(tmp_path)
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op_code":4,"worker_id":"w","study_id":0,"datetime_st')
    assert _values(url, create=False) == [0.0, 1.0, 2.0]  # a reader skips it
    assert path.read_bytes().endswith(b"datetime_st")  # and leaves it alone
    with caplog.at_level(logging.WARNING):
        storage = open_storage(url)  # about to append: the fragment goes, and it is said
    assert path.read_bytes() == whole
    assert "dropped a partial last line (54 bytes)" in caplog.text
    study = optuna.load_study(study_name="s", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 5, 5), n_trials=1)
    assert _values(url, create=False) == [0.0, 1.0, 2.0, 5.0]


def test_a_whole_journal_is_not_touched(tmp_path: Path) -> None:
    _, path = _journal(tmp_path)
    before = path.read_bytes()
    assert check_journal(path, repair=True) == 0
    assert path.read_bytes() == before


NOT_JSON = "damaged journal line: not a JSON object"
NOT_OP = "damaged journal line: not an Optuna journal operation"


@pytest.mark.parametrize(("line", "expected"), [
    (b"this is not json\n", NOT_JSON),
    (b"\xff\xfe\x00garbage\n", NOT_JSON),
    (b'{"op_code": 99, "worker_id": "w"}\n', f"{NOT_OP} (op_code 99)"),
    (b'{"op_code": "4", "worker_id": "w"}\n', f"{NOT_OP} (op_code '4')"),
    (b"[1, 2]\n", f"{NOT_OP} (op_code None)"),
])
@pytest.mark.parametrize("create", [False, True])
def test_a_damaged_line_is_a_located_error(tmp_path: Path, line: bytes, expected: str,
                                           create: bool) -> None:
    url, path = _journal(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2]) + line + b"".join(lines[2:]))
    before = path.read_bytes()
    with pytest.raises(RunError) as error:
        open_storage(url, create=create)
    assert str(error.value).startswith(f"{path}:3: {expected}")
    assert path.read_bytes() == before  # never made worse


def test_an_entry_that_fits_no_study_is_a_clear_error(tmp_path: Path) -> None:
    url, path = _journal(tmp_path, trials=1)
    path.write_bytes(path.read_bytes() + b'{"op_code":4,"worker_id":"w"}\n')
    with pytest.raises(RunError, match=r"study.log: damaged journal: an entry does not fit"):
        open_storage(url, create=False)


def test_a_run_whose_journal_was_cut_resumes_and_reports(tmp_path: Path) -> None:
    import genesynth
    from genesynth.cli import main
    from tests.synth.test_engine import FAST, TINY

    rule = genesynth.Constraint(min_accuracy=10.0, max_macs=None, max_params=None,
                                max_latency_ms=None)
    data = genesynth.load_data("digits", limit=200)
    settings = dict(data=data, out=tmp_path / "run", family_size=1, seed=0, **FAST)
    proto = genesynth.parse_prototype(TINY)
    genesynth.synthesize(proto, rule, trials=3, **settings)
    log = tmp_path / "run" / "study.log"
    log.write_bytes(log.read_bytes()[:-25])  # killed while writing its last entry
    assert main(["report", str(tmp_path / "run")]) == 0  # readable as it is
    result = genesynth.synthesize(proto, rule, trials=5, resume=True, **settings)
    assert len(result.trials) == 5
    assert main(["report", str(tmp_path / "run")]) == 0
    study = optuna.load_study(study_name="genesynth", storage=open_storage(f"journal://{log}"))
    assert len(study.trials) == 5


def test_a_journal_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    """Issue 25: a FIFO as study.log would block forever."""
    import os

    from genesynth.errors import RunError

    fifo = tmp_path / "study.log"
    os.mkfifo(fifo)
    with pytest.raises(RunError, match=r"the journal .*study.log is not a regular file"):
        open_storage(f"journal://{fifo}")
