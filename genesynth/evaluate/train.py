"""Proxy training: the default evaluator.

Trains a candidate for a few epochs on the train split, measures top-1 on the validation
split after every epoch (``report`` lets a pruner stop it), and fails the candidate when the
loss stops being finite. :func:`train` is also what retrains the family with the full budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from genesynth.arch import Architecture
from genesynth.builder import build
from genesynth.costs import cost
from genesynth.evaluate.base import CandidateFailed, Measurement, Report

OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """How a candidate is trained. Defaults suit small datasets on a CPU."""

    epochs: int = 6
    batch_size: int = 64
    lr: float = 1e-2
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    schedule: str = "cosine"
    label_smoothing: float = 0.0
    zero_init_residual: bool = True  # each residual body starts as zero: deep stacks train fast
    threads: int = 1  # torch intra-op threads while training; more only pays for large maps
    seed: int = 0

    def __post_init__(self) -> None:
        _positive(self, "epochs", self.epochs)
        _positive(self, "batch_size", self.batch_size)
        _positive(self, "lr", self.lr)
        _positive(self, "threads", self.threads)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"`optimizer` must be one of {OPTIMIZERS}, but got optimizer={self.optimizer!r}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"`schedule` must be one of {SCHEDULES}, but got schedule={self.schedule!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _positive(config: TrainConfig, name: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"`{name}` must be positive, but got {name}={value}")


#: Proxy (search) and full (family) budgets per dataset name.
BUDGETS: dict[str, tuple[TrainConfig, TrainConfig]] = {
    "digits": (TrainConfig(epochs=4, batch_size=32), TrainConfig(epochs=15, batch_size=32)),
}
DEFAULT_BUDGET = (TrainConfig(epochs=5, batch_size=128), TrainConfig(epochs=30, batch_size=128))


def budgets_for(dataset_name: str) -> tuple[TrainConfig, TrainConfig]:
    return BUDGETS.get(dataset_name, DEFAULT_BUDGET)


@dataclass(frozen=True)
class Tensors:
    """A split as tensors: x (N, C, H, W) float32, y (N,) int64."""

    x: torch.Tensor
    y: torch.Tensor

    @staticmethod
    def of(split: Any) -> Tensors:
        return Tensors(torch.from_numpy(np.ascontiguousarray(split.x)),
                       torch.from_numpy(np.ascontiguousarray(split.y)))


def accuracy(model: nn.Module, data: Tensors, batch_size: int = 512) -> float:
    """Top-1 accuracy in percent (model in eval mode, logits)."""
    was_training = model.training
    model.eval()
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(data.y), batch_size):
            logits = _logits(model, data.x[start : start + batch_size])
            correct += int((logits.argmax(1) == data.y[start : start + batch_size]).sum())
    model.train(was_training)
    return 100.0 * correct / max(1, len(data.y))


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    forward = getattr(model, "forward_logits", model)
    return forward(x)


def zero_init_residual(model: nn.Module) -> None:
    """Zero the scale of the last batch norm of every residual body (Goyal et al., 2017)."""
    from genesynth.blocks.torch_modules import Residual

    for module in model.modules():
        if isinstance(module, Residual) and module.shortcut is not None:
            norms = [m for m in module.body.modules() if isinstance(m, nn.BatchNorm2d)]
            if norms:
                nn.init.zeros_(norms[-1].weight)


def train(
    model: nn.Module, train_data: Tensors, val_data: Tensors, config: TrainConfig,
    report: Report | None = None,
) -> tuple[list[float], float]:
    """Train in place; returns (validation accuracy per epoch, last mean loss).

    Raises CandidateFailed when the loss is not finite. ``report(epoch, loss, accuracy)``
    is called after each epoch and may raise to stop training.
    """
    with _threads(config.threads):
        return _train(model, train_data, val_data, config, report)


@contextmanager
def _threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(
    model: nn.Module, train_data: Tensors, val_data: Tensors, config: TrainConfig,
    report: Report | None,
) -> tuple[list[float], float]:
    generator = torch.Generator().manual_seed(config.seed)
    if config.zero_init_residual:
        zero_init_residual(model)
    optimizer = _optimizer(model, config)
    steps_per_epoch = math.ceil(len(train_data.y) / config.batch_size)
    total = config.epochs * steps_per_epoch
    schedule = _schedule(optimizer, config, total)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    curve: list[float] = []
    mean_loss = float("nan")
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(train_data.y), generator=generator)
        loss_sum = 0.0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            loss = criterion(_logits(model, train_data.x[index]), train_data.y[index])
            if not torch.isfinite(loss):
                raise CandidateFailed(f"loss became {loss.item()} in epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += float(loss.detach()) * len(index)
        mean_loss = loss_sum / len(order)
        curve.append(accuracy(model, val_data))
        if report is not None:
            report(epoch, mean_loss, curve[-1])
    return curve, mean_loss


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=config.lr)


def _schedule(optimizer: torch.optim.Optimizer, config: TrainConfig, total: int) -> Any:
    if config.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    warmup = max(1, total // 20)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class TrainingEvaluator:
    """Proxy-trains each candidate on ``dataset`` and measures validation top-1.

    ``dataset`` is a :class:`genesynth.data.Dataset`. ``config`` is the proxy budget of the
    search and ``full`` the budget the family is retrained with (defaults per dataset).
    Every candidate starts from the same seed, so results are reproducible.
    """

    def __init__(self, dataset: Any, config: TrainConfig | None = None,
                 full: TrainConfig | None = None) -> None:
        proxy_default, full_default = budgets_for(dataset.name)
        self.dataset = dataset
        self.config = config or proxy_default
        self.full = full or replace(full_default, seed=self.config.seed)
        self.train_data = Tensors.of(dataset.train)
        self.val_data = Tensors.of(dataset.val)

    def evaluate(self, arch: Architecture, report: Report) -> Measurement:
        start = time.perf_counter()
        torch.manual_seed(self.config.seed)
        model = build(arch)
        curve, loss = train(model, self.train_data, self.val_data, self.config, report)
        c = cost(arch)
        return Measurement(
            accuracy=curve[-1], params=c.params, macs=c.macs, curve=tuple(curve), loss=loss,
            seconds=time.perf_counter() - start,
        )

    def retrain(self, arch: Architecture, report: Report) -> tuple[Measurement, dict[str, Any]]:
        """Train with the full budget; the accuracy returned is on the test split."""
        start = time.perf_counter()
        torch.manual_seed(self.full.seed)
        model = build(arch)
        curve, loss = train(model, self.train_data, self.val_data, self.full, report)
        test = accuracy(model, Tensors.of(self.dataset.test))
        c = cost(arch)
        m = Measurement(test, c.params, c.macs, None, tuple(curve), loss,
                        time.perf_counter() - start)
        return m, model.state_dict()

    def describe(self) -> dict[str, Any]:
        return {"kind": "train", "epochs": self.config.epochs, "proxy": self.config.to_dict(),
                "full": self.full.to_dict()}
