"""A loaded dataset: three in-memory splits ready for training, and how they were made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True, eq=False)
class Split:
    """One split, in memory.

    ``x`` is float32 (N, C, H, W), normalised with the train split's per-channel mean and
    standard deviation; ``y`` is int64 (N,) class indices.
    """

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def class_counts(self, classes: int) -> tuple[int, ...]:
        return tuple(int(c) for c in np.bincount(self.y, minlength=classes))


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train, validation and test splits of one source, adapted to ``input_shape``.

    The search trains on ``train`` and measures on ``val``; ``test`` is used only for the final
    family. ``fingerprint`` is a short sha256 of the source arrays as split (before resizing
    and normalisation), so two runs on the same data and seed agree.
    """

    name: str  # "digits", "mnist-idx", "cifar10", "folder:<path>", "npz:<path>"
    input_shape: tuple[int, int, int]
    classes: int
    class_names: tuple[str, ...]
    train: Split
    val: Split
    test: Split
    spec: str = ""
    format: str = ""
    native_shape: tuple[int, int, int] | None = None
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    fingerprint: str = ""
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    limit: int | None = None
    held_out: str = "carved"  # where val/test come from: "carved", "source test", "source val+test"

    def describe(self) -> dict[str, Any]:
        """A JSON-able description; equal for equal data, shape, seed and split settings."""
        return {
            "spec": self.spec,
            "name": self.name,
            "format": self.format,
            "native_shape": list(self.native_shape or self.input_shape),
            "input_shape": list(self.input_shape),
            "classes": self.classes,
            "class_names": list(self.class_names),
            "sizes": {"train": len(self.train), "val": len(self.val), "test": len(self.test)},
            "held_out": self.held_out,
            "seed": self.seed,
            "val_fraction": self.val_fraction,
            "test_fraction": self.test_fraction,
            "limit": self.limit,
            "mean": [round(m, 6) for m in self.mean],
            "std": [round(s, 6) for s in self.std],
            "fingerprint": self.fingerprint,
        }


class DatasetLike(Protocol):
    """What the engine and the evaluators use of loaded data: a :class:`Dataset` is one, and
    so is any object with these attributes (``synthesize(data=...)`` takes either).

    ``describe()`` goes in run.json and the evaluation cache's key; ``fingerprint`` names the
    data a supernet checkpoint was trained on ("" when it has none: its description is hashed).
    """

    @property
    def name(self) -> str: ...  # picks the default budgets ("digits", "cifar10", ...)

    @property
    def input_shape(self) -> tuple[int, int, int]: ...

    @property
    def classes(self) -> int: ...

    @property
    def train(self) -> Split: ...

    @property
    def val(self) -> Split: ...

    @property
    def test(self) -> Split: ...

    @property
    def fingerprint(self) -> str: ...

    def describe(self) -> dict[str, Any]: ...
