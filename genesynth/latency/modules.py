"""The torch modules of ops that are not layers of the registry: a residual add, a channel
concatenation, a channel split, and an op followed by its fused activation."""

from __future__ import annotations

import torch
from torch import nn


class Add(nn.Module):
    """``x + y``: a residual merge."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x + y


class Concat(nn.Module):
    """``cat((x, y), dim=1)``: a split module's merge."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, y), dim=1)


class Slice(nn.Module):
    """The two channel halves of a split module's input (the first ``at`` channels, the rest)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x[:, : self.at], x[:, self.at :]


class Chain(nn.Module):
    """An op's main module (one or two inputs), then its fused activation."""

    def __init__(self, main: nn.Module, act: nn.Module) -> None:
        super().__init__()
        self.main = main
        self.act = act

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.act(self.main(*xs))
        return out
