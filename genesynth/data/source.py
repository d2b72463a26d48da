"""What a format reader returns, and the checks every reader shares.

A reader decodes files into a :class:`Source`: raw arrays in (N, C, H, W) layout with integer
labels, plus the source's own test split when it has one. Checks raise :class:`DataError`
naming the file and what is wrong, before any training starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from genesynth.errors import DataError
from genesynth.limits import MAX_CLASSES


@dataclass(frozen=True, eq=False)
class Source:
    """Decoded, checked arrays of one dataset, before splitting and normalisation."""

    name: str  # "mnist-idx", "cifar10", "folder:<path>", ...
    format: str  # "digits", "idx", "cifar10-binary", "image-folder", "npz"
    x: np.ndarray  # (N, C, H, W), numeric
    y: np.ndarray  # (N,) int64
    class_names: tuple[str, ...]
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    x_val: np.ndarray | None = None  # only when the source names its own validation split
    y_val: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.x.ndim != 4 or 0 in self.x.shape[1:]:
            shape = "x".join(map(str, self.x.shape[1:]))
            raise DataError(f"{self.name}: images of shape {shape}; expected at least one "
                            "channel, row and column")
        for split, x in (("test", self.x_test), ("validation", self.x_val)):
            if x is not None and x.shape[1:] != self.x.shape[1:]:
                raise DataError(
                    f"{self.name}: {split} images are {tuple(x.shape[1:])} but train images "
                    f"are {tuple(self.x.shape[1:])}"
                )

    @property
    def native_shape(self) -> tuple[int, int, int]:
        _, c, h, w = self.x.shape
        return (int(c), int(h), int(w))


class Reader(Protocol):
    """One dataset format: ``detect`` says whether ``path`` holds it, ``read`` decodes it.

    ``input_shape`` is the requested (C, H, W); only readers that must resize while decoding
    (image folders) use it, the others return their native shape.
    """

    format: str
    expects: str  # one line for the "unknown format" error

    def detect(self, path: Path) -> bool: ...

    def read(self, path: Path, input_shape: tuple[int, int, int] | None) -> Source: ...


def check_labels(y: np.ndarray, classes: int, where: str) -> None:
    """Labels must be whole numbers in ``0 .. classes-1``."""
    if y.size == 0:
        return
    low = int(np.argmin(y))
    if y[low] < 0:
        raise DataError(
            f"{where}: label {int(y[low])} at index {low} is negative; labels count from 0"
        )
    high = int(np.argmax(y))
    if y[high] >= classes:
        raise DataError(
            f"{where}: label {int(y[high])} at index {high} is out of range; "
            f"expected 0..{classes - 1} ({classes} classes)"
        )


def check_every_class(y: np.ndarray, class_names: tuple[str, ...], where: str) -> None:
    """Every class must have at least one training example."""
    counts = np.bincount(y, minlength=len(class_names))
    missing = [class_names[i] for i in np.flatnonzero(counts == 0)]
    if len(missing) == 1:
        raise DataError(f"{where}: class '{missing[0]}' has no examples")
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        raise DataError(f"{where}: classes {names} have no examples")


def check_finite(x: np.ndarray, where: str) -> None:
    """Floating-point images must hold no NaN or infinity."""
    if x.size == 0 or not np.issubdtype(x.dtype, np.floating):
        return
    bad = ~np.isfinite(x.reshape(len(x), -1))
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise DataError(
            f"{where}: {int(bad.sum())} non-finite values (NaN or infinity), "
            f"first in example {int(rows[0])}"
        )


def check_not_empty(n: int, where: str) -> None:
    if n == 0:
        raise DataError(f"{where}: the dataset is empty (no examples)")


def check_counts(n_images: int, n_labels: int, images: str, labels: str) -> None:
    if n_images != n_labels:
        raise DataError(f"{images} holds {n_images} images but {labels} holds {n_labels} labels")


def inferred_classes(y: np.ndarray, where: str) -> tuple[str, ...]:
    """Class names "0", "1", ... up to the largest train label (negative labels refused, and
    labels of MAX_CLASSES or more: they would imply that many classes)."""
    check_labels(y, MAX_CLASSES, where)
    return tuple(str(i) for i in range(int(y.max()) + 1 if y.size else 0))
