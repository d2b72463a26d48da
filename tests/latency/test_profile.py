"""``genesynth latency profile``: kit, time and fit here, with ONNX Runtime or PyTorch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import genesynth
from genesynth.cli import main
from genesynth.errors import GenesynthError
from genesynth.latency.ops import ops_of
from genesynth.latency.profile import measure
from genesynth.latency.table import fit_table, load_table
from tests.synth.test_engine import TINY

PROTO = genesynth.parse_prototype(TINY)


def test_torch_times_every_op_and_network_and_the_fit_covers_the_space() -> None:
    results = measure(PROTO, "torch", networks=3, rounds=1)
    assert results["runtime"] == "torch" and results["runtime_version"] == torch.__version__
    roles = [m["role"] for m in results["models"]]
    assert roles.count("network") == 3 and roles.count("overhead") == 1
    table = fit_table(results).table
    for seed in range(5):
        assert all(op.key in table["ops"] for op in ops_of(PROTO.sample(seed)))


def test_profile_writes_a_table_and_says_how_well_it_fits(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    proto = tmp_path / "tiny.gs"
    proto.write_text(TINY)
    out = tmp_path / "t.json"
    assert main(["latency", "profile", str(proto), "--runtime", "torch", "--networks", "3",
                 "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"{out}: ") and "calibration networks the prediction is off" in said
    assert load_table(out).target["runtime"] == "torch"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_torch_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(GenesynthError, match=r"runtime 'torch-cuda' needs a CUDA GPU, but torch "
                                             r"sees none"):
        measure(PROTO, "torch-cuda")


def test_an_unknown_runtime_is_refused() -> None:
    with pytest.raises(GenesynthError, match=r"`runtime` must be one of onnxruntime, torch, "
                                             r"torch-cuda, but got runtime='tflite'"):
        measure(PROTO, "tflite")
