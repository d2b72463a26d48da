"""The kit -> fit -> synthesize path as a user runs it: the kit's runner works with neither
torch nor genesynth, the fit makes a table, and a constraint naming the table makes latency a
static bound the default sampler ranks by."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import genesynth
from genesynth.cli import main
from genesynth.dashboard.panels import family_panel
from genesynth.dashboard.plain import PlainLog
from genesynth.latency.kit import make_kit
from genesynth.latency.ops import ops_of
from genesynth.latency.space import space_ops
from genesynth.latency.table import load_table
from genesynth.record.family import read_family
from tests.synth.samplers.test_bayes import Smooth
from tests.synth.test_engine import TINY

PROTO = genesynth.parse_prototype(TINY)
#: The runner as a device runs it: importing torch or genesynth fails.
WITHOUT = ("import runpy, sys\n"
           "sys.modules['torch'] = None\n"
           "sys.modules['genesynth'] = None\n"
           "sys.argv = sys.argv[1:]\n"
           "runpy.run_path(sys.argv[0], run_name='__main__')\n")
FAST = ["--rounds", "1", "--warmup", "1", "--min-runs", "3", "--min-time", "0", "--quiet"]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("latency")
    manifest = make_kit(PROTO, folder / "kit", networks=4)
    results = folder / "results.json"
    done = subprocess.run([sys.executable, "-c", WITHOUT, str(folder / "kit/run_latency.py"),
                           str(manifest.parent), "--out", str(results), *FAST],
                          capture_output=True, text=True, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert main(["latency", "fit", str(results), "--out", str(folder / "table.json")]) == 0
    return folder / "table.json"


def test_the_kit_holds_one_model_per_op_and_the_calibration_networks(table: Path) -> None:
    manifest = json.loads((table.parent / "kit/manifest.json").read_text())
    roles = [m["role"] for m in manifest["models"]]
    ops = [m["key"] for m in manifest["models"] if m["role"] == "op"]
    assert ops == [op.key for op in space_ops(PROTO).ops]
    assert roles.count("overhead") == 1 and roles.count("network") == 4
    for model in manifest["models"]:
        assert (table.parent / "kit" / model["file"]).is_file()


def test_the_results_file_has_the_runtime_threads_and_each_models_statistics(table: Path
                                                                             ) -> None:
    results = json.loads((table.parent / "results.json").read_text())
    import onnxruntime

    assert results["runtime"] == "onnxruntime"
    assert results["runtime_version"] == onnxruntime.__version__ and results["threads"] == 1
    for model in results["models"]:
        assert model["count"] >= 3
        assert 0 < model["min_ms"] <= model["median_ms"] and model["std_ms"] >= 0
        assert model["mean_ms"] > 0


def test_the_table_covers_every_network_of_the_space(table: Path) -> None:
    loaded = load_table(table)
    for seed in range(10):
        arch = PROTO.sample(seed)
        assert loaded.predict(arch) > 0
        assert all(op.key in loaded.ops for op in ops_of(arch))


def _constraint(folder: Path, bound: float, utility: str = "") -> Path:
    path = folder / "rule.toml"
    path.write_text(f'[bounds]\nmin_accuracy = 45.0\nmax_latency_ms = {bound!r}\n'
                    f'[latency]\ntable = "table.json"\n{utility}')
    return path


def _synthesize(table: Path, tmp_path: Path, bound: float, utility: str = "",
                log: PlainLog | None = None) -> Any:
    (tmp_path / "table.json").write_text(table.read_text())
    rule = genesynth.load_constraint(_constraint(tmp_path, bound, utility))
    return genesynth.synthesize(PROTO, rule, trials=5, out=tmp_path / "run",
                                evaluator=Smooth(), family_size=2,
                                listeners=[log] if log is not None else [])


def test_a_latency_bound_from_a_table_is_static_and_bayes_stays_inside_it(
        table: Path, tmp_path: Path) -> None:
    loaded = load_table(table)
    predicted = sorted(loaded.predict(PROTO.sample(seed)) for seed in range(20))
    bound = predicted[len(predicted) // 2]
    stream = io.StringIO()
    log = PlainLog(stream)
    result = _synthesize(table, tmp_path, bound, log=log)
    import onnxruntime

    lines = stream.getvalue().splitlines()
    assert lines[0].endswith(
        f" latency predicted by table.json (onnxruntime {onnxruntime.__version__}, 1 thread)")
    done = [line for line in lines if line.startswith("member A done")]
    assert len(done) == 1 and re.search(r" latency [\d.]+ ms predicted \(here [\d.]+ ms\) ",
                                        done[0])
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(family_panel(log.state))
    shown = console.export_text()
    assert "pred. latency" in shown and "here" in shown
    records = [genesynth.record.trial.TrialRecord.of(t) for t in result.study.trials]
    assert [r.state for r in records].count("skipped") == 0  # bayes draws only inside
    for trial, rec in zip(result.study.trials, records, strict=True):
        arch = genesynth.Architecture.from_json(rec.arch)
        assert rec.latency_ms == pytest.approx(loaded.predict(arch))
        assert rec.latency_ms <= bound
        assert trial.system_attrs.get("genesynth:key") == rec.key  # bayes chose it
    run = json.loads((tmp_path / "run/run.json").read_text())
    assert run["latency_table"]["ops"] == len(loaded.ops)
    assert run["constraint"]["latency"]["table"] == str((tmp_path / "table.json").absolute())
    members = read_family(tmp_path / "run")
    assert members and all(m.latency_ms is not None and m.latency_ms <= bound for m in members)
    assert all(m.measured_latency_ms is not None and m.measured_latency_ms > 0 for m in members)


def test_the_mnas_reward_reads_the_predicted_latency_and_bayes_ranks_by_it(
        table: Path, tmp_path: Path) -> None:
    loaded = load_table(table)
    bound = max(loaded.predict(PROTO.sample(seed)) for seed in range(20))
    result = _synthesize(table, tmp_path, bound, '[utility]\nkind = "mnas"\n')
    for trial in result.study.trials:
        rec = genesynth.record.trial.TrialRecord.of(trial)
        assert trial.system_attrs.get("genesynth:key") == rec.key  # not random sampling
        if rec.state == "complete":
            want = rec.accuracy * (rec.latency_ms / bound) ** -0.07
            assert rec.utility == pytest.approx(want)


def test_the_report_shows_the_targets_latency_beside_the_one_measured_here(
        table: Path, tmp_path: Path) -> None:
    loaded = load_table(table)
    bound = max(loaded.predict(PROTO.sample(seed)) for seed in range(20))
    _synthesize(table, tmp_path, bound)
    assert main(["report", str(tmp_path / "run")]) == 0
    text = (tmp_path / "run/report.md").read_text()
    assert "| Latency (target) | Latency (here) |" in text
    assert "latency (target) predicted by table.json (onnxruntime " in text
