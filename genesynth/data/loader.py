"""Splits as torch tensors, and mini-batches of them (no copy of the arrays)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from genesynth.data.dataset import Split
from genesynth.errors import DataError


def as_tensors(split: Split) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)``: float32 (N, C, H, W) and int64 (N,), sharing memory with the split."""
    return (torch.from_numpy(np.ascontiguousarray(split.x)),
            torch.from_numpy(np.ascontiguousarray(split.y)))


def batches(
    split: Split,
    batch_size: int,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Mini-batches of ``split``; ``shuffle`` draws a new order from ``generator`` each call."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise DataError(f"`batch_size` must be positive, but got batch_size={batch_size!r}")
    x, y = as_tensors(split)
    n = len(y)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        index = order[start : start + batch_size]
        yield x[index], y[index]
