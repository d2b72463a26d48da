"""Small torch modules the registry builds: channel shuffle, squeeze-excite, module kinds,
the network and its input normalisation.

The one definition of each: :mod:`genesynth.export.codegen` copies the source of the classes
in :data:`EXPORTED` into exported model files, so they use only ``torch`` and ``nn`` and read
well on their own.
"""

from __future__ import annotations

import torch
from torch import nn

EXPORTED = ("Normalize", "ChannelShuffle", "SqueezeExcite", "Residual", "Split", "Network")
"""The classes an exported model file may need, in the order it writes them."""


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
    """Interleave channels across ``groups`` (ShuffleNet), so split branches mix."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.view(n, self.groups, c // self.groups, h, w)  # (N, g, C/g, H, W)
        return x.transpose(1, 2).reshape(n, c, h, w)  # (N, C, H, W), channels interleaved


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: pool, squeeze to ``mid`` channels, excite back, gate, scale."""

    def __init__(self, channels: int, mid: int, act: nn.Module, gate: nn.Module) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(channels, mid, 1)
        self.act = act
        self.excite = nn.Conv2d(mid, channels, 1)
        self.gate = gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1)
        s = self.gate(self.excite(self.act(self.squeeze(s))))  # (N, C, 1, 1), in (0, 1)
        return x * s  # (N, C, H, W)


class Residual(nn.Module):
    """``post(body(x) + shortcut(x))``; the shortcut is the identity or a 1x1 projection."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None, post: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.post = post

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)  # (N, C_out, H_out, W_out)
        if self.shortcut is not None:
            y = y + self.shortcut(x)  # the shortcut gives the body's shape
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
            a, b = x, x  # both branches see every channel
        else:
            a, b = x[:, : self.split_at], x[:, self.split_at :]  # (N, C1, H, W), (N, C2, H, W)
        y = torch.cat((self.left(a), self.right(b)), dim=1)  # (N, C_left + C_right, H', W')
        return self.post(y)


class Network(nn.Module):
    """stem -> body modules -> head; ``forward`` applies the final softmax when declared.

    With ``normalize`` (a ``Normalize``) the network takes data in its own units and
    normalises it first; its mean and std are not in the state dict, so the same weights
    load with it or without it.
    """

    def __init__(
        self, stem: nn.Module, body: nn.Module, head: nn.Module, softmax: bool,
        normalize: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.stem = stem  # layers before the first module
        self.body = body  # the modules m01, m02, ...
        self.head = head  # pooling and classifier
        self.softmax = softmax
        self.normalize = normalize

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize is not None:
            x = self.normalize(x)  # the data's own units -> as in training
        return self.head(self.body(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.forward_logits(x)
        return logits.softmax(dim=1) if self.softmax else logits
