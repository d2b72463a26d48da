"""int8 export: a member quantized on its run's training images, measured beside the float
file on the test split, recorded for the report, and run without genesynth."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import genesynth
from genesynth.cli import main
from genesynth.evaluate.train import TrainConfig
from genesynth.export.exporters import export_quantized
from genesynth.goal.constraint import Constraint
from genesynth.record.family import read_family

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

PROTOTYPE = """network q { input 1x8x8 classes 10 stem { conv(out=16) bn relu }
modules { m(out=16) m(out=32, stride=2) } head { gap linear(out=classes) softmax } }
module m(out, stride=1): residual(shortcut=auto) {
  pwconv(out=in) bn relu conv(kernel=3, stride=stride, groups=4) bn relu pwconv(out=out) bn
} then { relu }
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("quantize") / "run"
    genesynth.synthesize(  # the bound is on the int8 model: the family measures it
        genesynth.parse_prototype(PROTOTYPE), Constraint(min_accuracy=20.0, accuracy_of="int8"),
        data=genesynth.load_data("digits", limit=600), trials=1, out=out, family_size=1,
        proxy=TrainConfig(epochs=3, batch_size=32), full=TrainConfig(epochs=8, batch_size=32))
    return out


def test_a_bound_on_the_int8_model_is_checked_by_the_family(run: Path) -> None:
    (member,) = read_family(run) or []
    q = member.quantized
    assert q is not None and q["file"] == "family/A/model.int8.onnx"
    assert (run / q["file"]).is_file() and (run / q["float_file"]).is_file()
    assert member.feasible == (q["accuracy"] >= 20.0)
    report = genesynth.write_report(run)[0].read_text()
    assert "## int8" in report
    assert f"| **A** | {q['float_accuracy']:.2f} % | {q['accuracy']:.2f} % |" in report


def test_accuracy_of_names_a_model() -> None:
    with pytest.raises(genesynth.GenesynthError) as error:
        Constraint.from_dict({"bounds": {"min_accuracy": 90, "accuracy_of": "int4"}}, "c.toml")
    assert str(error.value) == ('c.toml: bounds.accuracy_of: expected "float", "int8" (the '
                                'model min_accuracy bounds), got "int4"')
    rule = Constraint.from_dict({"bounds": {"min_accuracy": 90, "accuracy_of": "int8"}})
    assert Constraint.from_dict(rule.describe()) == rule


def test_int8_is_measured_beside_float_and_recorded(run: Path, capsys: pytest.CaptureFixture
                                                    ) -> None:
    assert main(["export", str(run), "--format", "onnx", "--quantize", "int8", "--force"]) == 0
    lines = capsys.readouterr().out.splitlines()
    folder = run / "family" / "A"
    assert lines[:2] == [f"wrote {folder / 'model.onnx'}", f"wrote {folder / 'model.int8.onnx'}"]
    entry = json.loads((run / "family.json").read_text())["members"][0]
    q = entry["quantized"]
    assert q["file"] == "family/A/model.int8.onnx" and q["float_file"] == "family/A/model.onnx"
    assert q["bytes"] == (folder / "model.int8.onnx").stat().st_size
    assert abs(q["float_accuracy"] - entry["accuracy"]) < 0.5  # ORT and torch agree
    assert abs(q["accuracy"] - q["float_accuracy"]) <= 3.0
    assert lines[2] == (f"test top-1: float {q['float_accuracy']:.2f}%, int8 {q['accuracy']:.2f}% "
                        f"({q['accuracy'] - q['float_accuracy']:+.2f} points); size: float "
                        f"{q['float_bytes'] / 1024:,.1f} KiB, int8 {q['bytes'] / 1024:,.1f} KiB "
                        f"({q['float_bytes'] / q['bytes']:.1f}x smaller); weights: float "
                        f"{q['float_weight_bytes'] / 1024:,.1f} KiB, int8 "
                        f"{q['weight_bytes'] / 1024:,.1f} KiB "
                        f"({q['float_weight_bytes'] / q['weight_bytes']:.1f}x smaller)")
    assert q["float_weight_bytes"] > 2 * q["weight_bytes"]  # 8-bit kernels, fp32 scales
    model = onnx.load(str(folder / "model.int8.onnx"))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["genesynth.test_top1_int8"] == f"{q['accuracy']:.4f}"
    assert meta["genesynth.test_top1_float"] == f"{q['float_accuracy']:.4f}"
    kinds = {n.op_type for n in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= kinds
    weights = [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.INT8]
    assert len(weights) >= 6  # every convolution's kernel is stored in 8 bits


RUNNER = """
import sys
sys.path[:0] = [p for p in sys.argv[3:]]
try:
    import genesynth  # noqa: F401
    raise SystemExit("genesynth is importable here")
except ImportError:
    pass
import numpy as np, onnxruntime
x = np.load(sys.argv[2])
session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
print(" ".join(str(int(i)) for i in session.run(None, {"input": x})[0].argmax(1)))
"""


def test_the_int8_file_runs_without_genesynth(run: Path, tmp_path: Path) -> None:
    files, q = export_quantized(run, "A", out=tmp_path / "net.onnx")
    assert [f.name for f in files] == ["net.onnx", "net.int8.onnx"]
    data = genesynth.load_data("digits", limit=600)
    raw = data.test.x[:16] * np.asarray(data.std)[:, None, None] + np.asarray(data.mean)[
        :, None, None]
    np.save(tmp_path / "x.npy", raw.astype(np.float32))
    sites = sorted({str(Path(m.__file__).resolve().parents[1]) for m in (np, ort, onnx)})
    (tmp_path / "runner.py").write_text(RUNNER)
    done = subprocess.run(  # -S: no site, so no .pth file installs the editable genesynth
        [sys.executable, "-S", "runner.py", str(files[1]), "x.npy", *sites], cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    session = ort.InferenceSession(str(files[1]), providers=["CPUExecutionProvider"])
    want = session.run(None, {"input": raw.astype(np.float32)})[0].argmax(1)
    assert done.stdout.split() == [str(int(i)) for i in want]


def test_quantize_needs_onnx(run: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["export", str(run), "--format", "pytorch", "--quantize", "int8"]) == 2
    assert capsys.readouterr().err == "error: --quantize int8 needs --format onnx, but got " \
        "--format pytorch\n"
