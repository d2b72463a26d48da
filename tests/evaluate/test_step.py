from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from genesynth.errors import DeviceError
from genesynth.evaluate.step import (
    EpochTotals,
    Stepper,
    count_correct,
    lr_factor,
    make_optimizer,
    optimizer_step,
    plan,
)

CPU = torch.device("cpu")
GENESYNTH = str(Path(__file__).resolve().parents[2] / "genesynth")
HOST_READS = {torch.Tensor.item, torch.Tensor.__bool__, torch.Tensor.__float__,
              torch.Tensor.__int__, torch.Tensor.__index__, torch.Tensor.tolist,
              torch.Tensor.numpy}


class HostReads(TorchFunctionMode):
    """Records every read of a tensor's value back to Python made by genesynth's own code.

    On a GPU each such read (``.item()``, ``float(t)``, ``if t:``) waits for the queue to
    drain; ``torch.cuda.set_sync_debug_mode`` needs CUDA, this seam works on a CPU.
    """

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def __torch_function__(self, func: Callable[..., Any], types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        if func in HOST_READS:
            caller = sys._getframe(1)
            while caller is not None and "torch" in caller.f_code.co_filename.split("/")[-3:]:
                caller = caller.f_back  # type: ignore[assignment]
            if caller is not None and caller.f_code.co_filename.startswith(GENESYNTH):
                self.reads.append(f"{func.__name__} at {caller.f_code.co_filename}:"
                                  f"{caller.f_lineno}")
        return func(*args, **(kwargs or {}))


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))


def _data(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g)
    x = (y[:, None, None, None] * 2.0 - 1.0) + 0.3 * torch.randn(n, 3, 16, 16, generator=g)
    return x, y


def _stepper(model: nn.Module, precision: str = "fp32", augment: str = "none",
             channels_last: bool = False) -> Stepper:
    step_plan = plan(CPU, precision, channels_last)
    if channels_last:
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = make_optimizer(model, "adamw", 1e-2, 1e-4, step_plan)
    return Stepper(model, optimizer, lr_factor("cosine", 40), step_plan, augment)


def test_the_plan_on_a_cpu_is_fp32_channels_last_with_fused_kernels() -> None:
    auto = plan(CPU)
    assert (auto.precision, auto.autocast_dtype, auto.scaler, auto.fused, auto.channels_last) == (
        "fp32", None, False, True, True)
    assert not plan(CPU, channels_last=False).channels_last
    assert plan(CPU, "bf16").autocast_dtype == torch.bfloat16
    assert plan(CPU, "fp16").scaler
    with pytest.raises(DeviceError) as caught:
        plan(CPU, "fp8")
    assert str(caught.value) == (
        "`precision` must be one of auto, fp32, bf16, fp16, but got precision='fp8'")


def test_optimizers_use_fused_kernels_and_skip_decay_on_norms() -> None:
    model = _net()
    optimizer = make_optimizer(model, "adamw", 1e-2, 1e-4, plan(CPU))
    assert optimizer.defaults["fused"] is True
    decays = [(len(g["params"]), g["weight_decay"]) for g in optimizer.param_groups]
    assert decays == [(2, 1e-4), (4, 0.0)]  # conv and linear weights / biases and bn
    sgd = make_optimizer(model, "sgd", 1e-2, 1e-4, plan(CPU))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"]


@pytest.mark.parametrize(("precision", "augment", "channels_last"), [
    ("fp32", "none", False), ("bf16", "standard", True), ("fp16", "none", False),
])
def test_an_epoch_reads_nothing_back_to_the_host(precision: str, augment: str,
                                                 channels_last: bool) -> None:
    x, y = _data()
    stepper = _stepper(_net(), precision, augment, channels_last)
    with HostReads() as mode:
        totals = stepper.epoch(x, y, torch.randperm(64), 16)
    assert mode.reads == []
    assert stepper.steps == 4 and totals.count == 64
    assert totals.read() > 0


def test_the_guard_sees_a_read_in_genesynth_code() -> None:
    with HostReads() as mode:
        EpochTotals(torch.tensor(6.0), 3).read()
    assert len(mode.reads) == 1 and mode.reads[0].startswith("__float__ at ")
    assert "genesynth/evaluate/step.py" in mode.reads[0]


def test_training_with_bf16_autocast_on_a_cpu_learns() -> None:
    x, y = _data(128)
    model = _net()
    stepper = _stepper(model, "bf16")
    losses = [stepper.epoch(x, y, torch.randperm(128), 16).read() for _ in range(5)]
    assert losses[-1] < losses[0] / 2
    correct = count_correct(model, x, y, plan(CPU, "bf16"), batch_size=50)
    assert correct >= 120


def test_a_non_finite_loss_shows_in_the_epoch_total() -> None:
    x, y = _data()
    x[5] = float("nan")
    totals = _stepper(_net()).epoch(x, y, torch.arange(64), 16)
    assert totals.read() != totals.read()  # nan


def test_the_learning_rate_follows_warmup_then_cosine() -> None:
    factor = lr_factor("cosine", 100)
    assert [round(factor(s), 4) for s in (0, 4, 5, 52, 99)] == [0.2, 1.0, 1.0, 0.5083, 0.0003]
    model = _net()
    stepper = _stepper(model)
    assert stepper.optimizer.param_groups[0]["lr"] == pytest.approx(1e-2 * lr_factor(
        "cosine", 40)(0))
    x, y = _data()
    stepper.epoch(x, y, torch.arange(64), 16)
    assert stepper.optimizer.param_groups[1]["lr"] == pytest.approx(1e-2 * lr_factor(
        "cosine", 40)(4))


def test_count_correct_equals_a_plain_count() -> None:
    x, y = _data()
    model = _net().eval()
    with torch.no_grad():
        expected = int((model(x).argmax(1) == y).sum())
    assert count_correct(model, x, y, plan(CPU), batch_size=7) == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_gpu_step_reads_nothing_back_and_learns() -> None:
    device = torch.device("cuda")
    x, y = (t.to(device) for t in _data(128))
    model = _net().to(device).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    step_plan = plan(device)
    assert step_plan.channels_last and step_plan.precision in ("bf16", "fp16")
    optimizer = make_optimizer(model, "adamw", 1e-2, 1e-4, step_plan)
    stepper = Stepper(model, optimizer, lr_factor("cosine", 40), step_plan, "standard")
    torch.cuda.set_sync_debug_mode("error")
    try:
        totals = [stepper.epoch(x, y, torch.randperm(128, device=device), 16)
                  for _ in range(5)]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert totals[-1].read() < totals[0].read()


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_our_optimizer_step_is_torchs_step(name: str) -> None:
    """:func:`optimizer_step` skips torch's wrapper (and its torch._dynamo import), not the
    arithmetic: the same parameters after the same steps, bit for bit."""
    x, y = _data(32)
    finals = []
    for ours in (True, False):
        model = _net()
        optimizer = make_optimizer(model, name, 1e-2, 1e-4, plan(CPU, "fp32", False))
        for start in range(0, 32, 8):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[start:start + 8]), y[start:start + 8]).backward()
            optimizer_step(optimizer) if ours else optimizer.step()
        finals.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*finals, strict=True))


def test_training_without_compile_never_imports_torch_dynamo() -> None:
    """torch._dynamo costs 5-13 s of a run on a 2-core CPU; only ``--compile`` needs it."""
    script = (
        "import sys, torch\n"
        "from tests.evaluate.test_step import _data, _stepper, _net\n"
        "x, y = _data()\n"
        "stepper = _stepper(_net())\n"
        "stepper.epoch(x, y, torch.randperm(64), 16).read()\n"
        "print(sorted(m for m in sys.modules if m.startswith('torch._dynamo')))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
