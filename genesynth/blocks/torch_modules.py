"""Small torch modules the registry builds: channel shuffle, squeeze-excite, module kinds."""

from __future__ import annotations

import torch
from torch import nn


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel: raw data in, what the network was trained on out."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ChannelShuffle(nn.Module):
    """Interleave channels across ``groups`` (ShuffleNet)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.view(n, self.groups, c // self.groups, h, w)  # (N, g, C/g, H, W)
        return x.transpose(1, 2).reshape(n, c, h, w)


class SqueezeExcite(nn.Module):
    """Global pool -> 1x1 conv (squeeze) -> act -> 1x1 conv (excite) -> gate -> scale."""

    def __init__(self, channels: int, mid: int, act: str, gate: str) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(channels, mid, 1)
        self.act = getattr(nn, act)()
        self.excite = nn.Conv2d(mid, channels, 1)
        self.gate = getattr(nn, gate)()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1)
        s = self.gate(self.excite(self.act(self.squeeze(s))))
        return x * s


class Residual(nn.Module):
    """``post(body(x) + shortcut(x))``; the shortcut is identity or a 1x1 projection."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None, post: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.post = post

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.shortcut is not None:
            y = y + self.shortcut(x)
        return self.post(y)


class Split(nn.Module):
    """Two branches concatenated on channels; with ``split_at`` the input is split first."""

    def __init__(
        self, left: nn.Module, right: nn.Module, split_at: int | None, post: nn.Module
    ) -> None:
        super().__init__()
        self.left = left
        self.right = right
        self.split_at = split_at
        self.post = post

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.split_at is None:
            a, b = x, x
        else:
            a, b = x[:, : self.split_at], x[:, self.split_at :]
        return self.post(torch.cat((self.left(a), self.right(b)), dim=1))


class Network(nn.Module):
    """stem -> body modules -> head; ``forward`` applies the final softmax when declared."""

    def __init__(
        self, stem: nn.Module, body: nn.Module, head: nn.Module, softmax: bool
    ) -> None:
        super().__init__()
        self.stem = stem
        self.body = body
        self.head = head
        self.softmax = softmax

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.forward_logits(x)
        return logits.softmax(dim=1) if self.softmax else logits
