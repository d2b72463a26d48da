"""Proxy training: the default evaluator.

Trains a candidate for a few epochs on the train split, measures top-1 on the validation
split after every epoch (``report`` lets a pruner stop it), and fails the candidate when the
loss stops being finite. :func:`train` is also what retrains the family with the full budget.
The device, precision and augmentation are chosen here and run by :mod:`.step`,
:mod:`.device` and :mod:`.augment`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from genesynth.data.dataset import DatasetLike
from genesynth.errors import RunError
from genesynth.evaluate.augment import check_augment, default_augment
from genesynth.evaluate.base import (
    CandidateFailed,
    DataLoader,
    Evaluator,
    EvaluatorContext,
    Report,
)
from genesynth.evaluate.budgets import BUDGETS, DEFAULT_BUDGET, TrainConfig
from genesynth.evaluate.device import device_name, resolve_device
from genesynth.evaluate.step import (
    Plan,
    Stepper,
    count_correct,
    logits_of,
    lr_factor,
    make_optimizer,
    plan,
)
from genesynth.net.arch import Architecture
from genesynth.net.builder import build
from genesynth.net.costs import cost
from genesynth.net.measurement import Measurement


def budgets_for(
    dataset_name: str, input_shape: tuple[int, ...] | None = None, data_format: str = "",
) -> tuple[TrainConfig, TrainConfig]:
    """(proxy, full) budgets for a dataset, by name, else by format, else the default; with
    ``input_shape``, augmentation is on for RGB images of 32x32 and larger."""
    proxy, full = BUDGETS.get(dataset_name) or BUDGETS.get(data_format) or DEFAULT_BUDGET
    if input_shape is None:
        return proxy, full
    augment = default_augment(input_shape)
    return replace(proxy, augment=augment), replace(full, augment=augment)


def budgets_of(dataset: DatasetLike) -> tuple[TrainConfig, TrainConfig]:
    """:func:`budgets_for` ``dataset``: by its name, else its format (an image folder's name
    is ``folder:<path>``, so only its format finds CIFAR-10's budget), at its input shape."""
    shape = tuple(int(d) for d in np.shape(dataset.train.x)[1:])
    return budgets_for(dataset.name, shape, getattr(dataset, "format", ""))


@dataclass(frozen=True)
class Tensors:
    """A split as tensors: x (N, C, H, W) float32, y (N,) int64."""

    x: torch.Tensor
    y: torch.Tensor

    @staticmethod
    def of(split: Any) -> Tensors:
        return Tensors(torch.from_numpy(np.ascontiguousarray(split.x)),
                       torch.from_numpy(np.ascontiguousarray(split.y)))

    def to(self, device: torch.device) -> Tensors:
        """On ``device`` (itself when already there): moved once, not per batch."""
        if self.x.device == device and self.y.device == device:
            return self
        return Tensors(self.x.to(device), self.y.to(device))


def accuracy(model: nn.Module, data: Tensors, batch_size: int = 1024) -> float:
    """Top-1 accuracy in percent (model in eval mode, logits), on the model's device."""
    device = next(model.parameters()).device
    step_plan = plan(device, "fp32", channels_last=False)
    return _accuracy(model, data.to(device), step_plan, batch_size)


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
    report: Report | None = None, device: str | torch.device = "cpu", compile: bool = False,
) -> tuple[list[float], float]:
    """Train in place on ``device``; returns (validation accuracy per epoch, last mean loss).

    The model and data are moved to the device once (the model stays there). Raises
    CandidateFailed when the loss is not finite (checked once per epoch, so a GPU never
    waits on it). ``report(epoch, loss, accuracy)`` is called after each epoch and may raise
    to stop training.
    """
    step_plan = plan(resolve_device(device), config.precision)
    with _threads(config.threads):
        return _train(model, train_data, val_data, config, report, step_plan, compile)


@contextmanager
def _threads(count: int) -> Iterator[None]:
    """``count`` torch threads, and cuDNN autotuning (fixed shapes: the fastest kernels)."""
    before, tuned = torch.get_num_threads(), torch.backends.cudnn.benchmark
    torch.set_num_threads(count)
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.set_num_threads(before)
        torch.backends.cudnn.benchmark = tuned


def _train(
    model: nn.Module, train_data: Tensors, val_data: Tensors, config: TrainConfig,
    report: Report | None, step_plan: Plan, compile: bool,
) -> tuple[list[float], float]:
    generator = torch.Generator().manual_seed(config.seed)
    if config.zero_init_residual:
        zero_init_residual(model)
    model.to(step_plan.device)
    if step_plan.channels_last:
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    train_data, val_data = train_data.to(step_plan.device), val_data.to(step_plan.device)
    optimizer = make_optimizer(model, config.optimizer, config.lr, config.weight_decay,
                               step_plan)
    total = config.epochs * math.ceil(len(train_data.y) / config.batch_size)
    forward = compiled(model) if compile else None
    stepper = Stepper(model, optimizer, lr_factor(config.schedule, total), step_plan,
                      config.augment, config.seed, forward, config.label_smoothing)
    curve: list[float] = []
    mean_loss = float("nan")
    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(len(train_data.y), generator=generator).to(step_plan.device)
        mean_loss = stepper.epoch(train_data.x, train_data.y, order, config.batch_size).read()
        if not math.isfinite(mean_loss):
            raise CandidateFailed(f"loss became {mean_loss} in epoch {epoch}")
        curve.append(_accuracy(model, val_data, step_plan, config.eval_batch_size, forward))
        if report is not None:
            report(epoch, mean_loss, curve[-1])
    return curve, mean_loss


def compiled(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``torch.compile`` of the model's logits (``--compile``): pays on a GPU for long runs."""
    forward: Callable[[torch.Tensor], torch.Tensor] = torch.compile(logits_of(model))
    return forward


def _accuracy(model: nn.Module, data: Tensors, step_plan: Plan, batch_size: int,
              forward: Callable[[torch.Tensor], torch.Tensor] | None = None) -> float:
    correct = count_correct(model, data.x, data.y, step_plan, batch_size, forward)
    return 100.0 * correct / max(1, len(data.y))


def weights_test_accuracy(arch: Architecture, state: Mapping[str, Any], test: Tensors,
                          batch_size: int = 1024) -> float | None:
    """Top-1 of ``arch`` with the weights ``state`` on ``test`` (on the CPU); None when the
    weights do not fit the architecture."""
    model = build(arch)
    try:
        model.load_state_dict(dict(state), strict=True)
    except (RuntimeError, TypeError, ValueError):
        return None
    return accuracy(model, test, batch_size)


class TrainingEvaluator(Evaluator):
    """Proxy-trains each candidate on ``dataset`` and measures validation top-1.

    ``dataset`` is a :class:`genesynth.data.Dataset`. ``config`` is the proxy budget of the
    search and ``full`` the budget the family is retrained with (defaults per dataset).
    ``device`` is where training runs (``auto``: a GPU when there is one) unless the run's
    context names another (:meth:`prepare`); the splits move there once, before the first
    training. ``compile`` runs the forward pass through ``torch.compile``. Every candidate
    starts from the same seed, so results are reproducible on one device.
    """

    def __init__(self, dataset: DatasetLike, config: TrainConfig | None = None,
                 full: TrainConfig | None = None, device: str | torch.device = "auto",
                 compile: bool = False) -> None:
        proxy_default, full_default = budgets_of(dataset)
        self.dataset = dataset
        self.config = config or proxy_default
        self.full = full or replace(full_default, seed=self.config.seed)
        for budget in (self.config, self.full):
            check_augment(budget.augment, tuple(np.shape(dataset.train.x)[1:]))
        self.device = resolve_device(device)
        self.compile = compile
        self.train_data = Tensors.of(dataset.train)  # moved to the device before training
        self.val_data = Tensors.of(dataset.val)

    @property
    def epochs(self) -> int:
        return self.config.epochs

    def prepare(self, context: EvaluatorContext) -> None:
        """Train on the context's device, with its compile setting (None: this one's own)."""
        self.device, self.compile = self._placement(context)
        self._to_device()

    def device_info(self, context: EvaluatorContext) -> dict[str, Any]:
        """Where this process trains: ``{"device": "cuda:0 (NVIDIA H100 ...)", "compile": ...}``."""
        device, compile = self._placement(context)
        return {"device": device_name(device), "compile": compile}

    def _placement(self, context: EvaluatorContext) -> tuple[torch.device, bool]:
        device = self.device if context.device is None else resolve_device(context.device)
        return device, self.compile if context.compile is None else bool(context.compile)

    def _to_device(self) -> None:
        """The splits on the device, moved once (a no-op when they are there)."""
        self.train_data = self.train_data.to(self.device)
        self.val_data = self.val_data.to(self.device)

    def evaluate(self, arch: Architecture, report: Report) -> Measurement:
        start = time.perf_counter()
        self._to_device()
        torch.manual_seed(self.config.seed)
        model = build(arch)
        curve, loss = train(model, self.train_data, self.val_data, self.config, report,
                            self.device, self.compile)
        c = cost(arch)
        return Measurement(
            accuracy=curve[-1], params=c.params, macs=c.macs, curve=tuple(curve), loss=loss,
            seconds=time.perf_counter() - start,
        )

    def retrain(self, arch: Architecture, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, dict[str, Any]]:
        """Train with the full budget; the accuracy returned is on the test split, the
        weights are on the CPU (they load on any machine)."""
        start = time.perf_counter()
        self._to_device()
        torch.manual_seed(self.full.seed)
        model = build(arch)
        curve, loss = train(model, self.train_data, self.val_data, self.full, report,
                            self.device, self.compile)
        test = accuracy(model, Tensors.of(self.dataset.test), self.full.eval_batch_size)
        c = cost(arch)
        m = Measurement(test, c.params, c.macs, None, tuple(curve), loss,
                        time.perf_counter() - start)
        state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        return m, state

    def test_accuracy(self, arch: Architecture, state: Mapping[str, Any]) -> float | None:
        """Top-1 on the test split with the weights ``state`` (None when they do not fit)."""
        return weights_test_accuracy(arch, state, Tensors.of(self.dataset.test),
                                     self.full.eval_batch_size)

    def describe(self) -> dict[str, Any]:
        """The settings that decide measurements (the device is recorded apart: runs resume
        and workers join from any device)."""
        return {"kind": "train", "epochs": self.config.epochs, "proxy": self.config.to_dict(),
                "full": self.full.to_dict()}

    @classmethod
    def with_run_settings(cls, described: Mapping[str, Any], seed: int, full: Any,
                          proxy: Any = None) -> Mapping[str, Any]:
        """The run's search budget ``proxy`` and family budget ``full`` (which carry its
        seed, epochs and augmentation), unless ``described`` sets them."""
        budgets = {name: budget.to_dict() for name, budget in (("proxy", proxy), ("full", full))
                   if budget is not None}
        return {**budgets, **described}

    @classmethod
    def from_description(cls, described: Mapping[str, Any], data: DataLoader
                         ) -> TrainingEvaluator:
        """Budgets ``proxy`` and ``full`` (TrainConfig fields) default to the data's."""
        try:
            proxy = TrainConfig(**described["proxy"]) if "proxy" in described else None
            full = TrainConfig(**described["full"]) if "full" in described else None
        except TypeError as exc:
            raise RunError(f"the run's training settings are damaged ({exc})") from None
        return cls(data(), proxy, full)
