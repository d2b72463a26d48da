"""The training step, the same code on a CPU and a GPU.

Per step: gather a batch from tensors already on the device, augment it there, run the
forward pass under autocast when the precision asks for it, backward (through a gradient
scaler for fp16), one fused/foreach optimizer step and the learning-rate update. Nothing in
the step reads a value back to the host: the loss is summed on the device and read, with its
finiteness, once per epoch by :meth:`EpochTotals.read`. On a GPU every such read would stall
the pipeline; on a CPU it costs a little Python per step.

:func:`plan` turns a :class:`~genesynth.evaluate.train.TrainConfig` and a device into the
concrete choices (precision, memory format, optimizer implementation), so they can be
recorded and tested without a GPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from genesynth.errors import DeviceError
from genesynth.evaluate.augment import AUGMENTS, Augment
from genesynth.evaluate.budgets import PRECISIONS

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Plan:
    """How the step runs on one device: resolved from the config, recorded, testable."""

    device: torch.device
    precision: str  # "fp32", "bf16" or "fp16"
    channels_last: bool
    fused: bool  # fused optimizer kernels (else foreach)

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return _DTYPES.get(self.precision)

    @property
    def scaler(self) -> bool:
        return self.precision == "fp16"


def plan(device: torch.device, precision: str = "auto", channels_last: bool | None = None) -> Plan:
    """``auto`` precision is bf16 on a GPU that has it, fp16 with a scaler on one that has not,
    and fp32 on a CPU or MPS (a CPU without bf16 instructions only emulates it). Channels-last
    is used on CUDA (tensor-core convolutions want NHWC) and on the CPU, where oneDNN's
    grouped and depthwise convolutions ran 1.2-2x faster in it (bench/train_speed.py)."""
    if precision not in PRECISIONS:
        raise DeviceError(f"`precision` must be one of {', '.join(PRECISIONS)}, but got "
                          f"precision={precision!r}")
    if precision == "auto":
        precision = "fp32"
        if device.type == "cuda":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if channels_last is None:
        channels_last = device.type in ("cuda", "cpu")
    return Plan(device, precision, channels_last, fused=device.type in ("cuda", "cpu"))


def make_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float,
                   step_plan: Plan) -> torch.optim.Optimizer:
    """AdamW or Nesterov SGD; no weight decay on biases and norms; fused or foreach kernels
    (the default single-tensor loop costs a Python iteration per parameter per step)."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    kernels: dict[str, Any] = {"fused": True} if step_plan.fused else {"foreach": True}
    eager_optimizer_methods()
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True, **kernels)
    return torch.optim.AdamW(groups, lr=lr, **kernels)


#: Optimizer methods torch wraps with ``torch._disable_dynamo``, which imports torch._dynamo
#: (5-13 s of a run on a 2-core CPU) on their first call, only to keep a compiled graph out.
_DYNAMO_GUARDED = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


def eager_optimizer_methods() -> None:
    """Let the optimizer's methods run without importing torch._dynamo while nothing has
    imported it (no ``--compile``): each wrapper is given its own function as the "disabled"
    one it would otherwise build. The methods then behave exactly as before outside a
    compiled region; genesynth compiles only the forward pass, which never calls them. A
    torch whose wrappers look different is left alone."""
    import sys

    if "torch._dynamo" in sys.modules:
        return
    for name in _DYNAMO_GUARDED:
        fn = getattr(getattr(torch.optim.Optimizer, name, None), "__wrapped__", None)
        if callable(fn) and getattr(fn, "__dynamo_disable", None) is None:
            fn.__dynamo_disable = fn


def optimizer_step(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()``. While nothing has imported torch._dynamo, the step itself runs
    under ``no_grad`` instead: torch's wrapper around it imports torch._dynamo at the first
    call only to mark graph breaks for a compiled optimizer, which genesynth never compiles.
    With step hooks, a differentiable optimizer, or a step patched on the instance (an LR
    scheduler's), the ordinary path."""
    import inspect
    import sys

    wrapped = type(optimizer).step
    step = inspect.unwrap(wrapped)
    if ("torch._dynamo" in sys.modules or step is wrapped or "step" in vars(optimizer)
            or optimizer.defaults.get("differentiable") or optimizer._optimizer_step_pre_hooks
            or optimizer._optimizer_step_post_hooks or _global_step_hooks()):
        optimizer.step()
        return
    with torch.no_grad():
        step(optimizer)


def _global_step_hooks() -> bool:
    from torch.optim import optimizer as module

    return bool(getattr(module, "_global_optimizer_pre_hooks", True)
                or getattr(module, "_global_optimizer_post_hooks", True))


def lr_factor(schedule: str, total: int) -> Callable[[int], float]:
    """The learning-rate factor at each step: constant, or 5 % linear warm-up then cosine."""
    if schedule == "constant":
        return lambda _: 1.0
    warmup = max(1, total // 20)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    return factor


@dataclass
class EpochTotals:
    """The loss summed over an epoch's examples, still on the device."""

    loss_sum: torch.Tensor
    count: int

    def read(self) -> float:
        """The mean loss (one host read); not finite when any step's loss was not."""
        return float(self.loss_sum) / max(1, self.count)


class Stepper:
    """Runs training epochs of ``model`` on tensors already on ``step_plan.device``."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                 factor: Callable[[int], float], step_plan: Plan, augment: str = "none",
                 seed: int = 0, forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 label_smoothing: float = 0.0) -> None:
        self.model, self.optimizer, self.factor, self.plan = model, optimizer, factor, step_plan
        self.forward = forward or logits_of(model)
        self.augment: Augment = AUGMENTS[augment]
        self.criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        self.generator = torch.Generator(device=step_plan.device).manual_seed(seed)
        self.scaler = torch.amp.GradScaler(step_plan.device.type) if step_plan.scaler else None
        self.base_lr = [group["lr"] for group in optimizer.param_groups]
        self.steps = 0
        self._set_lr()

    def epoch(self, x: torch.Tensor, y: torch.Tensor, order: torch.Tensor,
              batch_size: int) -> EpochTotals:
        """One pass over ``x[order]`` in batches; no host read inside."""
        self.model.train()
        loss_sum = torch.zeros((), device=self.plan.device)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            loss = self.step(x[index], y[index])
            loss_sum += loss * len(index)
        return EpochTotals(loss_sum, len(order))

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One optimizer step on a batch; returns the batch's mean loss (detached, on device)."""
        x = self.augment(x, self.generator)
        if self.plan.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.plan.device.type, dtype=self.plan.autocast_dtype,
                            enabled=self.plan.autocast_dtype is not None):
            loss = self.criterion(self.forward(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            optimizer_step(self.optimizer)
        self.steps += 1
        self._set_lr()
        return loss.detach()

    def _set_lr(self) -> None:
        scale = self.factor(self.steps)
        for group, base in zip(self.optimizer.param_groups, self.base_lr, strict=True):
            group["lr"] = base * scale


def logits_of(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model's logits (built networks end in softmax; ``forward_logits`` skips it)."""
    forward: Callable[[torch.Tensor], torch.Tensor] = getattr(model, "forward_logits", model)
    return forward


def count_correct(model: nn.Module, x: torch.Tensor, y: torch.Tensor, step_plan: Plan,
                  batch_size: int = 1024,
                  forward: Callable[[torch.Tensor], torch.Tensor] | None = None) -> int:
    """Correct top-1 predictions on (x, y), counted on the device and read once."""
    forward = forward or logits_of(model)
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=step_plan.device)
    with torch.inference_mode(), torch.autocast(
        step_plan.device.type, dtype=step_plan.autocast_dtype,
        enabled=step_plan.autocast_dtype is not None,
    ):
        for start in range(0, len(y), batch_size):
            batch = x[start : start + batch_size]
            if step_plan.channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            correct += (forward(batch).argmax(1) == y[start : start + batch_size]).sum()
    model.train(was_training)
    return int(correct)
