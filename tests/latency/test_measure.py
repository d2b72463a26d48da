"""CPU latency at batch 1: positive, finite, with the threads asked for."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from genesynth.errors import GenesynthError
from genesynth.latency.measure import measure_latency


class ThreadSpy(nn.Module):
    """Records ``torch.get_num_threads()`` at every forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.seen: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(torch.get_num_threads())
        return self.conv(x)


def test_small_model_latency_is_positive_and_restores_state() -> None:
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8 * 6 * 6, 10))
    model.train()
    before = torch.get_num_threads()
    ms = measure_latency(model, (1, 8, 8), min_run_time=0.02)
    assert math.isfinite(ms) and ms > 0
    assert model.training and torch.get_num_threads() == before
    model.eval()
    measure_latency(model, (1, 8, 8), min_run_time=0.02)
    assert not model.training


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_are_respected(threads: int) -> None:
    spy = ThreadSpy()
    measure_latency(spy, (1, 8, 8), threads=threads, min_run_time=0.02)
    assert spy.seen[-1] == threads


def test_bad_arguments() -> None:
    with pytest.raises(GenesynthError, match=r"`threads` must be from 1 to 256, but got threads=0"):
        measure_latency(nn.Identity(), (1, 2, 2), threads=0)
    with pytest.raises(GenesynthError, match=r"but got threads=a 26-digit number"):
        measure_latency(nn.Identity(), (1, 2, 2), threads=10**25)
