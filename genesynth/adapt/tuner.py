"""Fine-tuning for adapt: a short, set number of steps per proposal, a long one at the end.

Both start from the weights a cut kept (no residual body starts at zero) and reuse the run's
full training budget (optimizer, batch size, augmentation, precision). The short fine-tune
takes ``steps`` batches from a window of the training split that moves on each iteration, at
a tenth of the learning rate and a constant schedule; the long one trains ``epochs`` epochs
with the run's schedule. Every run is seeded, so the same proposal always gives the same
weights.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import torch

from genesynth.data.dataset import DatasetLike
from genesynth.evaluate.base import Report
from genesynth.evaluate.budgets import TrainConfig
from genesynth.evaluate.train import Tensors, accuracy, train
from genesynth.net.arch import Architecture
from genesynth.net.builder import build

State = dict[str, torch.Tensor]
SHORT_LR = 0.1  # the short fine-tune's learning rate, as a fraction of the run's


@dataclass(frozen=True)
class Tuner:
    """The run's splits and full budget; trains on ``device``."""

    train_data: Tensors
    val_data: Tensors
    test_data: Tensors
    config: TrainConfig
    device: str = "cpu"
    clock: list[float] = field(default_factory=lambda: [0.0, 0.0], compare=False)  # s, steps

    @staticmethod
    def of(dataset: DatasetLike, config: TrainConfig, device: str = "cpu") -> Tuner:
        return Tuner(Tensors.of(dataset.train), Tensors.of(dataset.val),
                     Tensors.of(dataset.test), config, device)

    def model(self, arch: Architecture, state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
        net = build(arch)
        net.load_state_dict(dict(state), strict=True)
        return net

    def short(self, arch: Architecture, state: Mapping[str, torch.Tensor], steps: int,
              iteration: int, seed: int) -> tuple[State, float]:
        """``steps`` batches of fine-tuning; returns the weights and validation top-1."""
        batch = self.config.batch_size
        count = len(self.train_data.y)
        start = (iteration * steps * batch) % count
        index = (torch.arange(steps * batch) + start) % count
        window = Tensors(self.train_data.x[index], self.train_data.y[index])
        config = replace(self.config, epochs=1, schedule="constant", zero_init_residual=False,
                         lr=self.config.lr * SHORT_LR, seed=seed)
        net = self.model(arch, state)
        torch.manual_seed(seed)
        began = time.perf_counter()
        curve, _ = train(net, window, self.val_data, config, device=self.device)
        self.clock[0] += time.perf_counter() - began
        self.clock[1] += steps
        return _cpu(net), curve[-1]

    def pace(self) -> tuple[float, float]:
        """Seconds and steps of the short fine-tunes so far."""
        return self.clock[0], self.clock[1]

    def long(self, arch: Architecture, state: Mapping[str, torch.Tensor], epochs: int,
             seed: int, report: Report | None = None
             ) -> tuple[State, float, float]:
        """``epochs`` epochs of fine-tuning; returns the weights, validation and test top-1."""
        config = replace(self.config, epochs=epochs, zero_init_residual=False, seed=seed)
        net = self.model(arch, state)
        torch.manual_seed(seed)
        curve, _ = train(net, self.train_data, self.val_data, config, report, self.device)
        return _cpu(net), curve[-1], self.test(arch, _cpu(net))

    def validate(self, arch: Architecture, state: Mapping[str, torch.Tensor]) -> float:
        return accuracy(self.model(arch, state).eval(), self.val_data)

    def test(self, arch: Architecture, state: Mapping[str, torch.Tensor]) -> float:
        return accuracy(self.model(arch, state).eval(), self.test_data)


def _cpu(net: torch.nn.Module) -> State:
    return {k: v.detach().to("cpu").clone().contiguous() for k, v in net.state_dict().items()}
