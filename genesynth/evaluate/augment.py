"""Augmentation of training batches, on tensors, on the training device.

``standard`` is the CIFAR recipe (He et al., 2016): a random crop of the image padded by 4
pixels on each side, and a horizontal flip with probability 1/2. Both are done for a whole
batch at once with one gather, so a GPU never waits for the host. ``none`` leaves batches as
they are. By default images with 3 channels of at least 32x32 are augmented, anything else
(digits, single-channel data, small maps) is not.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from genesynth.errors import DataError

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
"""``augment(x, generator) -> x'``: x is a float (N, C, H, W) batch; same shape out."""

PAD = 4
MIN_SIDE = 4 * PAD  # a 4-pixel shift moves at most a quarter of the picture


def none(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return x


def crop_flip(x: torch.Tensor, generator: torch.Generator, pad: int = PAD) -> torch.Tensor:
    """Random crop of the zero-padded batch (pad ``pad``) and random horizontal flip."""
    n, _, h, w = x.shape  # (N, C, H, W)
    padded = F.pad(x, (pad, pad, pad, pad))  # (N, C, H+2p, W+2p); 0 is the mean after scaling
    dy = torch.randint(0, 2 * pad + 1, (n, 1), device=x.device, generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n, 1), device=x.device, generator=generator)
    flip = torch.rand((n, 1), device=x.device, generator=generator) < 0.5
    rows = dy + torch.arange(h, device=x.device)  # (N, H)
    cols = torch.arange(w, device=x.device)
    cols = dx + torch.where(flip, cols.flip(0), cols)  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous(memory_format=_format_of(x))


def _format_of(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if channels_last and x.shape[1] > 1 else torch.contiguous_format


#: Augmentations by name (``--augment``).
AUGMENTS: dict[str, Augment] = {"none": none, "standard": crop_flip}


def default_augment(input_shape: tuple[int, ...]) -> str:
    """``standard`` for RGB images of 32x32 and larger, ``none`` for anything else."""
    c, h, w = input_shape
    return "standard" if c == 3 and min(h, w) >= 32 else "none"


def check_augment(name: str, input_shape: tuple[int, ...]) -> None:
    """Raise DataError when ``name`` is unknown or cannot be applied to such images."""
    if name not in AUGMENTS:
        raise DataError(f"`augment` must be one of {', '.join(AUGMENTS)}, but got "
                        f"augment={name!r}")
    c, h, w = input_shape
    if name == "standard" and min(h, w) < MIN_SIDE:
        raise DataError(
            f"`augment` 'standard' (random crop with {PAD}-pixel padding and horizontal flip) "
            f"needs images of at least {MIN_SIDE}x{MIN_SIDE}, but the data is {c}x{h}x{w}; "
            "use --augment none"
        )
