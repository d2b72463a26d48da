"""``genesynth report``: report.md, pareto.png and history.png from a real run directory."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from genesynth.cli import main
from genesynth.errors import RunError
from genesynth.report.markdown import write_report
from tests.commands.demo_runs import copy_run
from tests.demo_run import demo_family, demo_trials

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], str]:
    run = copy_run(tmp_path_factory.mktemp("report"))
    paths = write_report(run)
    return run, paths, (run / "report.md").read_text()


def test_writes_the_three_files(report: tuple[Path, list[Path], str]) -> None:
    run, paths, _ = report
    assert paths == [run / "report.md", run / "pareto.png", run / "history.png"]
    for png in paths[1:]:
        data = png.read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000


def test_header_and_search(report: tuple[Path, list[Path], str]) -> None:
    text = report[2]
    assert text.startswith("# genesynth report:")
    assert "| prototype | `prototypes/atto.gs` |" in text
    assert ("| constraint | `constraints/digits.toml: top-1 ≥ 85 %, MACs ≤ 1.50M; utility "
            "netscore (alpha 2, beta 0.5, gamma 0.5)` |") in text
    assert "| trials | `12 of 12 planned` |" in text
    assert "| complete | 7 |" in text and "| invalid | 1 |" in text and "| **total** | 12 |" in text
    assert "Best feasible trial: 0, NetScore" in text
    assert "![accuracy against MACs](pareto.png)" in text


def test_family_table_next_to_baselines(report: tuple[Path, list[Path], str]) -> None:
    text = report[2]
    assert "| Network | Top-1 | Params | MACs | Latency | NetScore | Feasible |" in text
    family = demo_family(demo_trials())
    rows = [line for line in text.splitlines() if line.startswith("| **")]
    assert [row.split()[1] for row in rows if "(trial" in row] == [
        f"**{label}**" for label in "ABCD"]
    assert f"(trial {family[0].number})" in rows[0] and "0.12 ms" in rows[0]
    assert "| LeNet-5 (baseline) | 95.40 % | 61.7K | 1.42M | 0.21 ms |" in text
    assert "| MobileNet-ish (baseline) |" in text and "| **no** |" in text


def test_module_tables(report: tuple[Path, list[Path], str]) -> None:
    text = report[2]
    assert "| Module | Kind | Layers | Output | Params | MACs |" in text
    assert text.count("### ") == 4
    assert "| stem | stem | 3x3 16 | 16x16x16 | 176 | 36.9K |" in text
    assert "| m01 atto | residual/identity | pw32 > dw3x3 > pw16 | 16x16x16 |" in text
    assert "| head | head | gap > fc10 | 10 | 170 | 160 |" in text


def test_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = copy_run(tmp_path)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    assert write_report(run) == [run / "report.md"]
    assert "pip install 'genesynth[report]'" in (run / "report.md").read_text()
    assert not (run / "pareto.png").exists()


def test_unfinished_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = copy_run(tmp_path, finished=False)
    assert main(["report", str(run)]) == 0
    assert f"wrote {run / 'report.md'}" in capsys.readouterr().out
    text = (run / "report.md").read_text()
    assert "not retrained yet" in text and "not finished" in text


def test_damaged_member_is_a_run_error(tmp_path: Path) -> None:
    run = copy_run(tmp_path)
    (run / "family" / "A" / "arch.json").write_text(json.dumps({"format": 1}))
    with pytest.raises(RunError, match="family member A"):
        write_report(run)


def test_missing_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_baselines_are_mentioned_only_when_there_are_some(tmp_path: Path) -> None:
    run = copy_run(tmp_path)
    (run / "baselines.json").unlink()
    write_report(run)
    text = (run / "report.md").read_text()
    assert "Top-1 on the test split after full retraining" in text
    assert "Baselines were measured" not in text and "(baseline)" not in text


def test_trials_beyond_the_plan_are_explained(tmp_path: Path) -> None:
    import optuna

    run = copy_run(tmp_path)
    study = optuna.load_study(study_name="genesynth", storage=f"sqlite:///{run}/study.db")
    for phase in (1, 1, 2):
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.COMPLETE, value=60.0,
            user_attrs={"state": "complete", "phase": phase, "accuracy": 91.0, "params": 900,
                        "macs": 90_000, "utility": 60.0, "feasible": True, "seconds": 2.0}))
    write_report(run)
    assert ("| trials | `15: 12 planned + 3 in 2 extra phases that searched where a short "
            "family lacked a member (below its smallest member, above A, or below the members "
            "retraining kept)` |") in (run / "report.md").read_text()


def test_pruned_trials_are_said_to_be_left_out_of_the_plot(
    report: tuple[Path, list[Path], str]
) -> None:
    assert ("The accuracy plot shows the trials that finished their training; 1 pruned trial "
            "(partial accuracy) is left out.") in report[2]


def test_names_from_files_are_escaped_in_markdown(tmp_path: Path) -> None:
    """Issue 25: a label with a newline or <script> was copied into report.md. Member labels
    are refused on read (tests/record/test_family.py); other names are escaped."""
    run = copy_run(tmp_path)
    baselines = json.loads((run / "baselines.json").read_text())
    baselines["baselines"][0]["name"] = "Mobile\n| *x* <script>alert(1)</script>"
    (run / "baselines.json").write_text(json.dumps(baselines))
    text = write_report(run)[0].read_text()
    assert "<script>" not in text and "\n| *x*" not in text
    assert ("| Mobile \\| \\*x\\* &lt;script&gt;alert(1)&lt;/script&gt; (baseline) |"
            in text)


def test_a_member_label_that_is_not_a_plain_name_is_refused(tmp_path: Path) -> None:
    run = copy_run(tmp_path)
    family = json.loads((run / "family.json").read_text())
    family["members"][0]["label"] = "A\n<script>alert(1)</script>"
    (run / "family.json").write_text(json.dumps(family))
    with pytest.raises(RunError, match=r"members\[0\]: label must be a label of letters"):
        write_report(run)
    assert not (run / "report.md").exists()


def test_a_supernet_run_stopped_before_its_first_trial(tmp_path: Path) -> None:
    # Today: no word of the supernet phase, and an empty pareto.png
    import genesynth
    from genesynth.events import SupernetProgress
    from genesynth.synth import RunInterrupted
    from tests.evaluate.tiny_space import TINY

    def stop(event: object) -> None:  # Ctrl-C once the supernet is trained
        if isinstance(event, SupernetProgress) and event.ready:
            raise KeyboardInterrupt

    run = tmp_path / "run"
    with pytest.raises(RunInterrupted):
        genesynth.synthesize(genesynth.parse_prototype(TINY), genesynth.Constraint(),
                             data=genesynth.load_data("digits", limit=120), trials=3, out=run,
                             cache=None,
                             evaluator={"kind": "supernet",
                                        "supernet": {"epochs": 1, "batch_size": 32,
                                                     "plan_samples": 8}},
                             listeners=[stop])
    paths = write_report(run)
    assert paths == [run / "report.md"] and not (run / "pareto.png").exists()
    text = (run / "report.md").read_text()
    section = text.split("## Supernet\n", 1)[1].split("\n## ", 1)[0]
    assert "- Training: ready after 1 epoch; " in section
    assert " of training in this run.\n- Its largest network after epoch 1: loss " in section
    size = (run / "supernet.safetensors").stat().st_size / 2**20
    assert f"- Checkpoint: `supernet.safetensors` ({size:,.1f} MiB), epoch 1, trained for the " \
           "whole space; a resumed run goes on from it." in section
    assert "No trial has finished yet." in text
    assert ("No plots: no trial has finished its measurement yet (the run stopped before its "
            "search, in the supernet's training).") in text


def test_the_best_trial_that_is_not_a_member_says_why() -> None:
    from genesynth.record.rows import TrialRow
    from genesynth.record.snapshot import RunState
    from genesynth.report.entries import Entry
    from genesynth.report.markdown import search_section

    state = RunState()
    state.trials = [TrialRow(3, "complete", 97.0, 40_000, 900_000, None, 90.0, True),
                    TrialRow(7, "complete", 96.0, 30_000, 800_000, None, 92.0, True),
                    TrialRow(9, "complete", 95.0, 20_000, 300_000, None, 91.0, True)]
    a = Entry("A", 97.5, 40_000, 900_000, None, 90.0, True, trial=3)
    b = Entry("B", 95.2, 20_000, 300_000, None, 91.0, True, trial=9)
    text = "\n".join(search_section(state, [a, b], {"members": []}))
    assert ("Best feasible trial: 7, NetScore 92.0, top-1 96.00 %, 30.0K params, 800K MACs; "
            "not a family member: its MACs are more than 80 % of member A's (900K, trial 3, "
            "the most accurate candidate), and members are at least 20 % apart in MACs.") in text
    dropped = {"members": [], "dropped": [{"trial": 7, "by_trial": 9, "reason": "B has top-1 "
                                           "95.20% >= 95.00%", "replaced_by": None}]}
    assert ("; not a family member: it was retrained and dropped, dominated after retraining "
            "by trial 9 (B has top-1 95.20% >= 95.00%).") in "\n".join(
                search_section(state, [a], dropped))
    assert "800K MACs (the family is not made yet)." in "\n".join(search_section(state, [a]))
    state.trials = state.trials[:1]
    assert "800K" not in "\n".join(search_section(state, [a], {}))
    assert "900K MACs, family member A." in "\n".join(search_section(state, [a], {}))
