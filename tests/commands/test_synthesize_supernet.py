"""``genesynth synthesize --evaluator supernet`` end to end, CI-sized (AttoNet-16 on a 200-image
subset of the embedded digits, one supernet epoch): the supernet trained once and
checkpointed, candidates scored on it, the family retrained stand-alone. ``genesynth family``
of a shared study (a worker's path) rebuilds the same evaluator from the run's description and
loads the same checkpoint; a checkpoint of another prototype or dataset is refused there and
on resume; a ``genesynth worker`` that comes while ``synthesize`` trains the supernet waits on
its lock, then loads it; the flags' mistakes are named."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from genesynth.cli import main
from genesynth.data import load_data
from genesynth.evaluate.supernet.evaluator import DEFAULT_SUPERNET, SUPERNET_BUDGETS
from genesynth.evaluate.supernet.plan import (
    MAX_SHARED_PARAMS,
    plan,
    plan_samples,
    prototype_hash,
)
from genesynth.evaluate.supernet.train import train_supernet
from genesynth.evaluate.supernet.weights import read_checkpoint
from genesynth.events import event_from_dict
from genesynth.space import load_prototype
from tests.evaluate.test_supernet import TINY

ROOT = Path(__file__).resolve().parents[2]
ATTONET = str(ROOT / "prototypes" / "attonet16.gs")


def _events(run: Path) -> list[Any]:
    lines = (run / "events.jsonl").read_text().splitlines()
    return [event_from_dict(json.loads(line)) for line in lines]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 200-image digits subset as an npz, and the digits bounds with no accuracy floor (a
    supernet trained one epoch scores candidates far below 90 %; the family must form)."""
    folder = tmp_path_factory.mktemp("inputs")
    digits = load_data("digits", limit=200)
    splits = (digits.train, digits.val, digits.test)
    np.savez(folder / "digits200.npz", x=np.concatenate([s.x for s in splits]),
             y=np.concatenate([s.y for s in splits]))
    rules = folder / "rules.toml"
    rules.write_text('[bounds]\nmin_accuracy = 0.0\nmax_macs = "5M"\nmax_params = "200K"\n')
    return folder / "digits200.npz", rules


def test_a_synthesis_scored_by_the_supernet(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    data, _ = inputs
    rules = tmp_path / "floor.toml"  # a floor no supernet score of this run reaches
    rules.write_text('[bounds]\nmin_accuracy = 99.0\nmax_macs = "5M"\nmax_params = "200K"\n')
    run = tmp_path / "run"
    code = main(["synthesize", ATTONET, "--constraint", str(rules), "--data", str(data),
                 "--evaluator", "supernet", "--supernet-epochs", "1", "--supernet-batch", "64",
                 "--trials", "3", "--family", "1", "--full-epochs", "1", "--seed", "3",
                 "--sampler", "random", "--out", str(run), "--plain", "--no-cache"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "supernet: training for 1 epoch before the search; about " in out  # an estimate
    header, _ = read_checkpoint(run / "supernet.safetensors")
    assert header["epoch"] == 1
    described = json.loads((run / "run.json").read_text())["evaluator"]
    assert described["kind"] == "supernet" and described["finetune"] is False
    assert (described["supernet"]["epochs"], described["supernet"]["batch_size"],
            described["supernet"]["seed"]) == (1, 64, 3)
    assert (described["full"]["epochs"], described["full"]["seed"]) == (1, 3)
    events = _events(run)
    scored = [e for e in events if type(e).__name__ == "TrialFinished" and e.state == "complete"]
    assert len(scored) == 3 and all(0.0 <= e.accuracy <= 100.0 for e in scored)
    # a score ranks, the accuracy bound is not its to judge: within the static bounds it is
    # feasible, and the family forms; the member is judged by the whole constraint on test
    assert all(e.accuracy < 99.0 and e.feasible and not e.reason for e in scored)
    # the member is trained stand-alone (its epochs) and measured on the test split
    member = json.loads((run / "family.json").read_text())["members"][0]
    epochs = [e for e in events if type(e).__name__ == "MemberEpoch"]
    done = [e for e in events if type(e).__name__ == "MemberDone"]
    assert [(e.label, e.epoch, e.epochs) for e in epochs] == [("A", 1, 1)]
    assert [(e.label, e.accuracy) for e in done] == [("A", member["accuracy"])]
    assert member["accuracy"] < 99.0 and member["feasible"] is False
    # the run checks its scores: the 2 other candidates trained alone, and the member
    check = json.loads((run / "run.json").read_text())["fidelity"]
    assert [p["source"] for p in check["pairs"]] == ["check", "check", "family"]
    assert "fidelity check: training 2 candidates alone for 5 epochs (the proxy budget)\n" in out
    assert "fidelity check: scores vs trained alone: Kendall tau " in out


def test_the_shared_studys_family_loads_the_checkpoint_and_refuses_a_foreign_one(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    data, rules = inputs
    ours, theirs = tmp_path / "ours.gs", tmp_path / "theirs.gs"
    ours.write_text(TINY)
    theirs.write_text(TINY.replace("kernel=[3, 5]", "kernel=[3, 7]"))
    common = ["--constraint", str(rules), "--data", str(data), "--evaluator", "supernet",
              "--supernet-epochs", "1", "--family", "1", "--full-epochs", "1", "--sampler",
              "random", "--plain", "--no-cache"]
    url = f"journal://{tmp_path / 'study.log'}"
    shared = ["--storage", url, "--study", "s"]
    assert main(["synthesize", str(ours), "--out", str(tmp_path / "ours"), "--trials", "1",
                 *shared, *common]) == 0
    assert main(["synthesize", str(theirs), "--out", str(tmp_path / "theirs"), "--trials", "1",
                 *common]) == 0
    checkpoint = tmp_path / "ours" / "supernet.safetensors"
    before = checkpoint.read_bytes()
    capsys.readouterr()
    # what a worker does: the evaluator from the run's description, the run's checkpoint
    assert main(["family", "--storage", url, "--study", "s", "--force", "--plain"]) == 0
    again = capsys.readouterr().out
    assert ("supernet: loaded from the run directory (1 epoch trained before; trained for "
            "MACs <= 5M, params <= 200K)\n") in again
    assert "supernet: epoch" not in again and checkpoint.read_bytes() == before

    # checkpoints of another prototype, and of the same prototype on other data
    other = tmp_path / "other.npz"
    with np.load(data) as full:
        np.savez(other, x=full["x"][:150], y=full["y"][:150])
    assert main(["synthesize", str(ours), "--out", str(tmp_path / "other"), "--trials", "1",
                 *common, "--data", str(other)]) == 0
    capsys.readouterr()
    header = read_checkpoint(checkpoint)[0]
    for command in (["family", "--storage", url, "--study", "s", "--force", "--plain"],
                    ["synthesize", str(ours), "--out", str(tmp_path / "ours"), "--resume",
                     "--trials", "2", *shared, *common]):
        for source, key in (("theirs", "prototype"), ("other", "dataset")):
            shutil.copy(tmp_path / source / "supernet.safetensors", checkpoint)
            found = read_checkpoint(checkpoint)[0][key]
            assert main(command) == 2
            assert capsys.readouterr().err == (
                f"error: {checkpoint}: this supernet checkpoint was trained for another {key} "
                f"({found!r}, this run has {header[key]!r}); delete it or use another run "
                "directory\n")
    assert header["prototype"] == prototype_hash(
        load_prototype(ours, input_shape=(1, 8, 8), classes=10))


@pytest.mark.parametrize(("flags", "message"), [
    (["--supernet-epochs", "2"], "error: `--supernet-epochs` applies to --evaluator supernet "
                                 "only\n"),
    (["--evaluator", "train", "--supernet-batch", "8"],
     "error: `--supernet-batch` applies to --evaluator supernet only\n"),
    (["--evaluator", "supernet", "--epochs", "2"],
     "error: `--epochs` sets the proxy training, which --evaluator supernet does not do: its "
     "budget is --supernet-epochs\n"),
    (["--fidelity-checks", "2"], "error: `--fidelity-checks` applies to --evaluator supernet "
                                 "only\n"),
    (["--evaluator", "supernet", "--supernet-epochs", "0"],
     "error: `--supernet-epochs` must be a positive integer, but got --supernet-epochs=0\n"),
])
def test_supernet_flags_that_cannot_apply_are_named(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    flags: list[str], message: str,
) -> None:
    _, rules = inputs
    code = main(["synthesize", ATTONET, "--constraint", str(rules), "--out",
                 str(tmp_path / "run"), "--plain", *flags])
    assert (code, capsys.readouterr().err) == (2, message)
    assert not (tmp_path / "run").exists()


def test_help_states_the_supernet_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["synthesize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    digits, other = SUPERNET_BUDGETS["digits"], DEFAULT_SUPERNET
    assert (f"supernet before the search (default per dataset: digits {digits.epochs}, "
            f"other data {other.epochs})") in text
    assert (f"(default per dataset: digits {digits.batch_size}, other data "
            f"{other.batch_size})") in text


def test_a_prototype_too_wide_to_share_is_named_before_any_training(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    data, _ = inputs
    rules = tmp_path / "unbounded.toml"  # no MACs or params bound: the supernet spans the space
    rules.write_text("[bounds]\nmin_accuracy = 0.0\n")
    wide = tmp_path / "wide.gs"
    wide.write_text(TINY.replace("blk(out=[8, 16])", "blk(out=[8, 4096])"))
    code = main(["synthesize", str(wide), "--constraint", str(rules), "--data", str(data),
                 "--evaluator", "supernet", "--trials", "1", "--out", str(tmp_path / "run"),
                 "--plain", "--no-cache"])
    # the evaluator's plan: the data's default budget's samples (npz: DEFAULT_SUPERNET)
    proto = load_prototype(wide, input_shape=(1, 8, 8), classes=10)
    held = plan(plan_samples(proto, DEFAULT_SUPERNET.plan_samples, 0), limit=10**12).num_params
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: {wide}: the supernet of this prototype would hold {held:,} parameters (at "
        f"most {MAX_SHARED_PARAMS:,}); the largest shared tensor is the conv at m01.3 "
        "(4096x4096x5x5): narrow its choices\n")
    assert not (tmp_path / "run" / "supernet.safetensors").exists()


def test_a_worker_waits_for_the_supernet_another_process_trains_then_loads_it(
    inputs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``synthesize`` and ``genesynth worker`` on one shared study and run directory: the
    worker comes while the supernet trains, waits on supernet.lock, then loads it."""
    data, rules = inputs
    proto = tmp_path / "tiny.gs"
    proto.write_text(TINY)
    url = f"journal://{tmp_path / 'study.log'}"
    trained, go = threading.Event(), threading.Event()

    def held_training(*args: Any) -> None:  # trains, then holds the lock until go
        train_supernet(*args)
        trained.set()
        go.wait(60)

    monkeypatch.setattr("genesynth.evaluate.supernet.evaluator.train_supernet", held_training)
    codes: dict[str, int] = {}
    run = threading.Thread(target=lambda: codes.setdefault("synthesize", main([
        "synthesize", str(proto), "--constraint", str(rules), "--data", str(data),
        "--evaluator", "supernet", "--supernet-epochs", "1", "--trials", "4", "--family", "1",
        "--full-epochs", "1", "--sampler", "random", "--out", str(tmp_path / "run"),
        "--storage", url, "--study", "s", "--plain", "--no-cache"])))
    run.start()
    assert trained.wait(60)
    worker = threading.Thread(target=lambda: codes.setdefault("worker", main([
        "worker", "--storage", url, "--study", "s", "--plain"])))
    worker.start()
    worker.join(1.0)
    assert worker.is_alive()  # waiting on the lock
    go.set()
    run.join(120)
    worker.join(120)
    out = capsys.readouterr().out
    assert codes == {"synthesize": 0, "worker": 0}
    assert out.count("supernet: training for 1 epoch before the search; about ") == 1
    assert out.count("supernet: loaded from the run directory (1 epoch trained before; "
                     "trained for MACs <= 5M, params <= 200K)\n") == 1


def test_a_subset_and_a_smaller_input_from_the_command_line_and_the_time_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    proto = tmp_path / "tiny.gs"
    proto.write_text(TINY)
    rules = tmp_path / "rules.toml"
    rules.write_text("[bounds]\nmin_accuracy = 0.0\n")
    code = main(["synthesize", str(proto), "--constraint", str(rules), "--evaluator", "supernet",
                 "--supernet-epochs", "1", "--supernet-batch", "32", "--limit", "120",
                 "--input", "1x6x6", "--trials", "2", "--family", "1", "--full-epochs", "1",
                 "--fidelity-checks", "1", "--out", str(tmp_path / "run"), "--plain"])
    said = capsys.readouterr()
    out = said.out
    assert code == 0, said.err
    data = json.loads((tmp_path / "run" / "run.json").read_text())["data"]
    assert (data["limit"], data["input_shape"], data["sizes"]["train"]) == (120, [1, 6, 6], 120)
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("supernet: training"))
    assert lines[start].startswith("supernet: training for 1 epoch before the search; about ")
    assert lines[start].endswith(" on this device (an estimate from timed passes of its largest "
                                 "and smallest networks)")
    assert lines[start + 1].startswith("supernet: epoch 1/1 ")
    assert " input 1x6x6" in lines[0]


def test_a_subset_without_data_is_refused(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "table.json"
    table.write_text('{"entries": []}')
    code = main(["synthesize", ATTONET, "--constraint", str(ROOT / "constraints/digits.toml"),
                 "--table", str(table), "--limit", "100", "--out", str(tmp_path / "run")])
    assert code == 2
    assert capsys.readouterr().err == ("error: `limit` and `input_shape` (--limit, --input) "
                                       "choose the data, but this evaluator measures without "
                                       "any\n")
