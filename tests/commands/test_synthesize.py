from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
import torch

from genesynth.cli import main
from genesynth.commands.synthesize import family_lines, resume_command
from genesynth.record.layout import study_url
from genesynth.storage import open_storage
from tests.synth.test_engine import TINY


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    proto = tmp_path / "tiny.gs"
    proto.write_text(TINY)
    rules = tmp_path / "rules.toml"
    rules.write_text("[bounds]\nmin_accuracy = 10.0\n")
    return proto, rules


def test_plain_run_prints_one_line_per_event_and_the_family(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proto, rules = files
    code = main(["synthesize", str(proto), "--constraint", str(rules), "--trials", "3",
                 "--epochs", "1", "--full-epochs", "1", "--family", "1",
                 "--out", str(tmp_path / "run"), "--plain"])
    out = capsys.readouterr().out
    assert code == 0
    assert "\x1b" not in out
    assert out.count("\ntrial ") + out.startswith("trial ") >= 3
    assert f"run directory: {tmp_path / 'run'}\n  A: top-1 " in out


def test_a_second_start_in_the_same_directory_is_refused(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proto, rules = files
    args = ["synthesize", str(proto), "--constraint", str(rules), "--trials", "1", "--epochs",
            "1", "--full-epochs", "1", "--family", "1", "--out", str(tmp_path / "run"), "--plain"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'run'} already holds a run; pass --resume to continue it, "
        "or choose another --out\n"
    )
    # said before anything is loaded (today: after decoding the data, 49 s on CIFAR-10)
    assert main([*args, "--data", str(tmp_path / "no-such-data")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(
        f"error: {tmp_path / 'run'} already holds a run;")


def test_a_missing_constraint_file_is_a_clear_error(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proto, _ = files
    code = main(["synthesize", str(proto), "--constraint", str(tmp_path / "nope.toml"),
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {tmp_path / 'nope.toml'}: ")
    assert "Traceback" not in err


def test_ctrl_c_keeps_finished_trials_and_says_how_to_resume(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    proto, rules = files
    # More networks than trials: on a loaded machine the interrupt may come late, and tiny's
    # 32 networks would all be tried (the search ends, the family is made) before it does.
    proto.write_text(TINY.replace("block(out=[16, 32])", "block(out=[16, 20, 24, 28, 32])"))
    out = tmp_path / "run"
    command = [sys.executable, "-m", "genesynth.cli", "synthesize", str(proto), "--constraint",
               str(rules), "--trials", "50", "--epochs", "3", "--out", str(out), "--plain"]
    # Ctrl-C as a terminal sends it: SIGINT handled by default in the child even when this test
    # runs in a background job, whose shell ignores SIGINT (the child would inherit that).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_default_sigint)
    try:
        _wait_for_finished_trials(out / "events.jsonl", 2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"interrupted: finished trials are kept in {out}." in stderr
    assert "resume with: genesynth synthesize" in stderr and f"--resume --out {out}" in stderr
    assert stderr.count("--out") == 1
    study = optuna.load_study(study_name="genesynth", storage=open_storage(study_url(out)))
    assert len([t for t in study.trials if "state" in t.user_attrs]) >= 2
    last = json.loads((out / "events.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "RunFinished" and last["interrupted"] is True


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_finished_trials(events: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if events.exists() and events.read_text().count('"TrialFinished"') >= count:
            return
        time.sleep(0.05)
    raise AssertionError("no trials finished in time")


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--epochs", "error: `--epochs` must be a positive integer, but got --epochs=0\n"),
        ("--full-epochs",
         "error: `--full-epochs` must be a positive integer, but got --full-epochs=0\n"),
        ("--family", "error: `--family` must be a positive integer, but got --family=0\n"),
        ("--trials", "error: `--trials` must be a positive integer, but got --trials=0\n"),
    ],
)
def test_a_zero_budget_is_refused_before_anything_runs(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str,
    message: str,
) -> None:
    proto, rules = files
    code = main(["synthesize", str(proto), "--constraint", str(rules), flag, "0",
                 "--out", str(tmp_path / "run")])
    assert (code, capsys.readouterr().err) == (2, message)
    assert not (tmp_path / "run").exists()


def test_a_table_that_matches_none_of_the_prototypes_networks_is_refused(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proto, rules = files
    table = tmp_path / "table.json"
    table.write_text(json.dumps({"0123456789abcdef": 91.0}))
    code = main(["synthesize", str(proto), "--constraint", str(rules), "--table", str(table),
                 "--out", str(tmp_path / "run"), "--plain"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: {table}: none of 256 networks sampled from the prototype 'tiny' at input "
        "1x8x8 is in the table (1 keys); was it made for this prototype and input? (a table "
        "maps Architecture.key of each network, at the input it was made for, to its "
        "accuracy)\n"
    )


def test_help_states_epoch_defaults_per_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    from genesynth.evaluate.train import BUDGETS, DEFAULT_BUDGET

    with pytest.raises(SystemExit):
        main(["synthesize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name, (proxy, full) in BUDGETS.items():
        assert f"{name} {proxy.epochs}" in text and f"{name} {full.epochs}" in text
    assert f"other data {DEFAULT_BUDGET[0].epochs}" in text
    assert "--verbose" in text


def test_the_resume_hint_names_the_run_directory_once() -> None:
    assert resume_command(["synthesize", "p.gs", "--out", "runs/x", "--trials", "9"],
                          Path("runs/x")) == (
        "genesynth synthesize p.gs --trials 9 --resume --out runs/x")
    assert resume_command(["synthesize", "p.gs", "--out=my run", "--resume"],
                          Path("my run")) == (
        "genesynth synthesize p.gs --resume --out 'my run'")


def test_resuming_a_finished_run_says_where_its_family_is(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proto, rules = files
    out = tmp_path / "run"
    args = ["synthesize", str(proto), "--constraint", str(rules), "--trials", "1", "--epochs",
            "1", "--full-epochs", "1", "--family", "1", "--out", str(out), "--plain"]
    assert main(args) == 0
    first = capsys.readouterr().out
    events = (out / "events.jsonl").read_text()
    assert main([*args, "--resume"]) == 0
    again = capsys.readouterr().out
    member = first[first.index("  A: top-1"):]
    assert again == (f"the run in {out} is finished (1 trial); its family is in "
                     f"{out / 'family.json'}\nrun directory: {out}\n{member}")
    assert (out / "events.jsonl").read_text() == events


def test_warm_start_and_cache_on_the_command_line(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proto, rules = files
    common = ["--constraint", str(rules), "--trials", "2", "--epochs", "1", "--full-epochs",
              "1", "--family", "1", "--plain", "--cache", str(tmp_path / "cache")]
    assert main(["synthesize", str(proto), "--out", str(tmp_path / "a"), *common]) == 0
    capsys.readouterr()
    assert main(["synthesize", str(proto), "--out", str(tmp_path / "b"), "--seed", "3",
                 "--warm-start", str(tmp_path / "a"), *common]) == 0
    out = capsys.readouterr().out
    warm = [line for line in out.splitlines() if line.startswith("warm start: ")]
    assert len(warm) == 1  # the plain log says it once; nothing repeats it after the run
    assert "reused: " not in out  # another seed: the cache has none of these measurements
    assert any(p.suffix == ".json" for p in (tmp_path / "cache").rglob("*"))
    assert main(["synthesize", str(proto), "--out", str(tmp_path / "c"), "--seed", "3",
                 "--warm-start", str(tmp_path / "a"), *common]) == 0
    # b measured them; the origin shown is the entry genesynth found, not what it says
    assert f"reused: evaluation cache {tmp_path / 'cache'}/search/" in capsys.readouterr().out


@pytest.mark.parametrize(("flags", "message"), [
    (["--device", "tpu"], "error: `device` must be one of auto, cpu, cuda, cuda:N, mps, but got "
                          "device='tpu'\n"),
    (["--augment", "standard"], "error: `augment` 'standard' (random crop with 4-pixel padding "
     "and horizontal flip) needs images of at least 16x16, but the data is 1x8x8; use "
     "--augment none\n"),
])
def test_training_options_that_cannot_apply_are_clear_errors(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    flags: list[str], message: str,
) -> None:
    proto, rules = files
    code = main(["synthesize", str(proto), "--constraint", str(rules), "--trials", "1",
                 "--out", str(tmp_path / "run"), "--plain", *flags])
    assert code == 2
    assert capsys.readouterr().err == message


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a CPU-only machine")
def test_device_cuda_without_cuda_is_a_clear_error(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proto, rules = files
    code = main(["synthesize", str(proto), "--constraint", str(rules), "--trials", "1",
                 "--out", str(tmp_path / "run"), "--plain", "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: `device` is 'cuda', but CUDA is not available here (")
    assert not (tmp_path / "run").exists()


def test_the_device_and_augmentation_are_recorded_and_shown(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proto, rules = files
    code = main(["synthesize", str(proto), "--constraint", str(rules), "--trials", "1",
                 "--epochs", "1", "--full-epochs", "1", "--family", "1", "--device", "cpu",
                 "--out", str(tmp_path / "run"), "--plain"])
    assert code == 0
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (run["device"], run["compile"]) == ("cpu", False)
    assert run["evaluator"]["proxy"]["augment"] == run["evaluator"]["full"]["augment"] == "none"
    assert " device cpu\n" in capsys.readouterr().out


def test_family_lines_name_the_constraints_utility(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proto, rules = files
    rules.write_text("[bounds]\nmin_accuracy = 10.0\nmax_latency_ms = 100.0\n"
                     '[utility]\nkind = "mnas"\n')
    code = main(["synthesize", str(proto), "--constraint", str(rules), "--trials", "2",
                 "--epochs", "1", "--full-epochs", "1", "--family", "1",
                 "--out", str(tmp_path / "run"), "--plain"])
    family = capsys.readouterr().out.split("run directory:")[1]
    assert code == 0
    assert "  MnasReward " in family and "NetScore" not in family


def test_the_last_lines_name_the_members_retraining_dropped() -> None:
    # The main job (seed 0): retrained, member D (332K MACs) reached A's top-1 and beat the
    # three above it; the log said so member by member, the last lines only "1 family member".
    member = SimpleNamespace(label="A", accuracy=98.5185, params=30_066, macs=332_296,
                             utility=99.7412, feasible=True, reused=None)
    result = SimpleNamespace(out=Path("runs/attonet16"), family=[member], utility="NetScore",
                             family_here=True, finished_before=False)
    assert family_lines(result, [50, 4, 28]) == [
        "run directory: runs/attonet16",
        "  A: top-1 98.52%  params 30,066  MACs 332,296  NetScore 99.74  feasible",
        "  dropped after retraining: trials 50, 4, 28 (a smaller member beats or equals each "
        "on test top-1, params and MACs)"]
    assert family_lines(result, [7])[-1] == ("  dropped after retraining: trial 7 (a smaller "
                                             "member beats or equals it on test top-1, params "
                                             "and MACs)")
    assert len(family_lines(result, [])) == 2
