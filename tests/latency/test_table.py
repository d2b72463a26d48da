"""The latency table: fitted from a results file, read back, and predicting a network as
scale * sum(ops) + offset; every mistake in a table named by file and key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import genesynth
from genesynth.latency.ops import ops_of
from genesynth.latency.table import (
    Correction,
    LatencyTableError,
    fit_correction,
    fit_table,
    load_table,
    table_from_dict,
)
from tests.synth.test_engine import TINY

PROTO = genesynth.parse_prototype(TINY)


def _results(scale: float, offset: float, call: float = 0.005) -> dict[str, Any]:
    """Results whose op i takes (i + 1) / 100 ms plus the call's cost, and whose networks
    take exactly scale * sum + offset."""
    archs = [PROTO.sample(seed) for seed in range(6)]
    keys = sorted({op.key for a in archs for op in ops_of(a)})
    ms = {key: (i + 1) / 100 for i, key in enumerate(keys)}
    models: list[dict[str, Any]] = [
        {"file": f"ops/{i}.onnx", "role": "op", "key": k, "median_ms": ms[k] + call}
        for i, k in enumerate(keys)]
    models.append({"file": "ops/overhead.onnx", "role": "overhead", "key": "relu@1x1x1",
                   "median_ms": call})
    for i, arch in enumerate(archs):
        run = [op.key for op in ops_of(arch)]
        models.append({"file": f"nets/{i}.onnx", "role": "network", "key": arch.key,
                       "ops": run, "median_ms": scale * sum(ms[k] for k in run) + offset})
    return {"format": "genesynth-latency-results", "version": 1, "runtime": "onnxruntime",
            "runtime_version": "1.0", "threads": 1, "models": models}


def test_the_fit_recovers_the_correction_and_the_ops_without_the_call() -> None:
    fit = fit_table(_results(scale=1.5, offset=0.02))
    table = table_from_dict(json.loads(json.dumps(fit.table)))
    assert table.correction.scale == pytest.approx(1.5)
    assert table.correction.offset_ms == pytest.approx(0.02)
    assert max(abs(e) for e in fit.errors) < 1e-9
    assert min(table.ops.values()) == pytest.approx(0.01)
    arch = PROTO.sample(0)
    total = sum(table.ops[op.key] for op in ops_of(arch))
    assert table.predict(arch) == pytest.approx(1.5 * total + 0.02)


def test_fewer_than_three_networks_leave_the_sum_uncorrected() -> None:
    assert fit_correction([1.0, 2.0], [3.0, 5.0]) == Correction(1.0, 0.0)


def test_a_table_round_trips_through_its_file(tmp_path: Path) -> None:
    fit = fit_table(_results(2.0, 0.0))
    path = tmp_path / "t.json"
    path.write_text(json.dumps(fit.table))
    table = load_table(path)
    assert dict(table.ops) == fit.table["ops"] and table.correction.scale == pytest.approx(2.0)
    assert table.describe() == {"path": str(path), "ops": len(fit.table["ops"]),
                                "runtime": "onnxruntime", "runtime_version": "1.0",
                                "threads": 1, "machine": {}, "made_for": {}}


def test_a_hand_filled_table_needs_only_its_ops(tmp_path: Path) -> None:
    arch = PROTO.sample(0)
    ops = {op.key: 0.5 for op in ops_of(arch)}
    table = table_from_dict({"format": "genesynth-latency-table", "version": 1, "ops": ops})
    assert table.predict(arch) == pytest.approx(0.5 * len(ops_of(arch)))


@pytest.mark.parametrize(("data", "message"), [
    ([], 't.json: not a latency table (expected "format": "genesynth-latency-table")'),
    ({"format": "genesynth-latency-table", "version": 2, "ops": {"a": 1}},
     "t.json: version: expected 1, got 2"),
    ({"format": "genesynth-latency-table", "version": 1, "ops": {}},
     "t.json: ops: expected an object of op key -> milliseconds"),
    ({"format": "genesynth-latency-table", "version": 1, "ops": {"gap@8x1x1": -1}},
     "t.json: ops.gap@8x1x1: expected a positive number of milliseconds, got -1"),
    ({"format": "genesynth-latency-table", "version": 1, "ops": {"a": 1},
      "correction": {"scale": "2"}},
     "t.json: correction.scale: expected a positive number of milliseconds, got '2'"),
])
def test_a_broken_table_is_named_by_file_and_key(tmp_path: Path, data: Any, message: str
                                                 ) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    with pytest.raises(LatencyTableError) as caught:
        load_table(path)
    assert str(caught.value) == message.replace("t.json", str(path))


def test_a_network_with_an_op_the_table_lacks_is_refused_with_the_op() -> None:
    arch = PROTO.sample(0)
    first, *rest = ops_of(arch)
    table = table_from_dict({"format": "genesynth-latency-table", "version": 1,
                             "ops": {op.key: 1.0 for op in rest}}, "phone.json")
    with pytest.raises(LatencyTableError) as caught:
        table.predict(arch)
    assert str(caught.value) == (
        f"phone.json has no entry for 1 op(s) of this 1x8x8 network, e.g. '{first.key}'; make "
        "the kit for this prototype at this input size and inside these bounds (genesynth "
        "latency kit PROTOTYPE --input ... --constraint ...)")


def test_results_that_are_not_a_results_file_are_refused() -> None:
    with pytest.raises(LatencyTableError, match=r"r.json: not a latency results file"):
        fit_table({"format": "x"}, "r.json")


def test_a_network_timed_while_the_device_was_busy_does_not_bend_the_fit() -> None:
    sums = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    measured = [2.0 * s + 0.1 for s in sums]
    measured[3] = 40.0  # one network measured at ten times its time
    fit = fit_correction(sums, measured)
    assert fit.scale == pytest.approx(2.0) and fit.offset_ms == pytest.approx(0.1)


def test_a_fit_never_predicts_a_non_positive_latency() -> None:
    sums = [0.2, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    measured = [5.0] + [3.0 * s - 1.0 for s in sums[1:]]  # the line is negative at 0.2
    fit = fit_correction(sums, measured)
    assert fit.offset_ms == 0.0 and fit.apply(0.2) > 0


def test_a_table_can_be_made_from_each_models_minimum() -> None:
    results = _results(scale=1.0, offset=0.0)
    for model in results["models"]:
        model["min_ms"], model["median_ms"] = model["median_ms"], model["median_ms"] * 3
    fit = fit_table(results, statistic="min")
    assert fit.table["statistic"] == "min"
    assert fit.table["correction"]["scale"] == pytest.approx(1.0)
    with pytest.raises(LatencyTableError, match=r"`statistic` must be one of median, min, but "
                                                r"got statistic='mean'"):
        fit_table(results, statistic="mean")
