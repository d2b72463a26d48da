"""``load_data``: find the format, read, split (stratified, seeded), adapt the shape, normalise.

Splits. Without a test split of its own, a source is split into test (``test_fraction``),
validation (``val_fraction``) and train (the rest). With its own test split, that is the test
split and the validation split is carved from the source's train part (``val_fraction`` of it).
Every split is stratified by class, and the same seed gives the same splits. ``limit`` keeps a
stratified subset of at most ``limit`` train examples; validation and test are not limited.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genesynth.data._cifar import CifarReader
from genesynth.data._digits import DigitsReader
from genesynth.data._folder import FolderReader
from genesynth.data._idx import IdxReader
from genesynth.data._npz import NpzReader
from genesynth.data.cache import cached
from genesynth.data.dataset import Dataset, Split
from genesynth.data.source import Reader, Source
from genesynth.errors import DataError

#: Every format, in detection order.
READERS: tuple[Reader, ...] = (DigitsReader(), NpzReader(), IdxReader(), CifarReader(),
                               FolderReader())
LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601
CHUNK = 4096  # images resized at a time


def load_data(
    spec: str = "digits",
    input_shape: tuple[int, int, int] | None = None,
    *,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    limit: int | None = None,
) -> Dataset:
    """Load ``spec`` ("digits" or a path) as train, validation and test splits.

    Raises DataError for an unknown format, unreadable or inconsistent data, or settings that
    leave a split empty. Nothing is downloaded.
    """
    _check_settings(input_shape, val_fraction, test_fraction, limit)
    if input_shape is not None:
        input_shape = (int(input_shape[0]), int(input_shape[1]), int(input_shape[2]))
    source = _read(_reader_for(spec), Path(spec).expanduser(), input_shape)
    parts, held_out = _split(source, np.random.default_rng(seed), val_fraction, test_fraction,
                             limit)
    shape = input_shape or source.native_shape
    adapted = [_adapt(x, source.native_shape, shape) for x, _ in parts]
    mean, std = _moments(adapted[0])
    train, val, test = (
        Split(((x - mean[:, None, None]) / std[:, None, None]).astype(np.float32), y)
        for x, (_, y) in zip(adapted, parts, strict=True)
    )
    return Dataset(
        name=source.name, input_shape=shape, classes=len(source.class_names),
        class_names=source.class_names, train=train, val=val, test=test, spec=spec,
        format=source.format, native_shape=source.native_shape,
        mean=tuple(float(m) for m in mean), std=tuple(float(s) for s in std),
        fingerprint=_fingerprint(parts), seed=seed, val_fraction=val_fraction,
        test_fraction=test_fraction, limit=limit, held_out=held_out,
    )


def _read(reader: Reader, path: Path, shape: tuple[int, int, int] | None) -> Source:
    """Decode, through the decoded-data cache for slow formats (see genesynth.data.cache)."""
    if not getattr(reader, "cached", False):
        return reader.read(path, shape)
    return cached(path, reader.format, shape, lambda: reader.read(path, shape))


def _check_settings(
    input_shape: tuple[int, int, int] | None, val_fraction: float, test_fraction: float,
    limit: int | None,
) -> None:
    if input_shape is not None and (
        len(input_shape) != 3
        or not all(isinstance(d, int | np.integer) and d > 0 for d in input_shape)
    ):
        raise DataError(
            "`input_shape` must be three positive integers (C, H, W), "
            f"but got input_shape={input_shape!r}"
        )
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise DataError(f"`{name}` must be between 0 and 1, but got {name}={value}")
    if val_fraction + test_fraction >= 1:
        raise DataError(
            "`val_fraction` + `test_fraction` must be below 1, but got "
            f"val_fraction={val_fraction}, test_fraction={test_fraction}"
        )
    if limit is not None and limit < 1:
        raise DataError(f"`limit` must be a positive integer, but got limit={limit}")


def data_format(spec: str) -> str:
    """The format of ``spec``: digits, idx, cifar10-binary, image-folder or npz."""
    return _reader_for(spec).format


def _reader_for(spec: str) -> Reader:
    path = Path(spec).expanduser()
    expected = "".join(f"\n  - {r.expects}" for r in READERS)
    if spec != "digits" and not path.exists():
        raise DataError(f"{spec}: no such file or directory; expected one of:{expected}")
    for reader in READERS:
        if reader.detect(Path(spec) if spec == "digits" else path):
            return reader
    raise DataError(f"{spec}: not a dataset genesynth can read; expected one of:{expected}")


def stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of ``range(len(y))`` in which every prefix is stratified by class.

    Each example's key is its (randomly ordered) rank within its class over the class size,
    so the first k indices hold each class in proportion to its size.
    """
    perm = rng.permutation(len(y))
    labels = y[perm]
    counts = np.bincount(labels)
    by_class = np.argsort(labels, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(y), dtype=np.float64)
    rank[by_class] = np.arange(len(y)) - np.repeat(starts, counts)
    key = (rank + 0.5) / counts[labels]
    return perm[np.argsort(key, kind="stable")]


def _take(x: np.ndarray, y: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    index = np.sort(index)
    return x[index], y[index]


def _split(
    source: Source, rng: np.random.Generator, val_fraction: float, test_fraction: float,
    limit: int | None,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """[train, val, test] (x, y) pairs in the source's dtype, and where val/test came from."""
    x, y, n = source.x, source.y, len(source.y)
    order = stratified_order(y, rng)
    if source.x_test is not None and source.y_test is not None:
        test = (source.x_test, source.y_test)
        if source.x_val is not None and source.y_val is not None:
            val, rest, held_out = (source.x_val, source.y_val), order, "source val+test"
        else:
            n_val = max(1, round(n * val_fraction))
            val, rest, held_out = _take(x, y, order[:n_val]), order[n_val:], "source test"
    else:
        n_test, n_val = max(1, round(n * test_fraction)), max(1, round(n * val_fraction))
        test = _take(x, y, order[:n_test])
        val = _take(x, y, order[n_test : n_test + n_val])
        rest, held_out = order[n_test + n_val :], "carved"
    if len(rest) == 0 or len(val[1]) == 0 or len(test[1]) == 0:
        raise DataError(
            f"{source.name}: {n} examples are too few to split into train, validation and test"
        )
    train = _take(x, y, rest[:limit])
    return [train, val, test], held_out


def _adapt(
    x: np.ndarray, native: tuple[int, int, int], shape: tuple[int, int, int]
) -> np.ndarray:
    """``x`` as float32 with ``shape``'s channels (1 <-> 3) and size (bilinear)."""
    out = x.astype(np.float32)
    if native[0] != shape[0]:
        if (native[0], shape[0]) == (1, 3):
            out = np.repeat(out, 3, axis=1)
        elif (native[0], shape[0]) == (3, 1):
            out = np.einsum("nchw,c->nhw", out, LUMINANCE)[:, None]
        else:
            raise DataError(
                f"cannot adapt {native[0]}-channel images to input shape {shape}: only "
                "1 -> 3 (repeat) and 3 -> 1 (luminance) channel changes are supported"
            )
    if native[1:] != shape[1:] and len(out):
        shrink = shape[1] < native[1] or shape[2] < native[2]  # antialias only matters then
        chunks = [
            F.interpolate(torch.from_numpy(out[i : i + CHUNK]), size=shape[1:], mode="bilinear",
                          align_corners=False, antialias=shrink).numpy()
            for i in range(0, len(out), CHUNK)
        ]
        out = np.concatenate(chunks)
    return np.ascontiguousarray(out, dtype=np.float32)


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (1 where a channel is constant)."""
    mean = x.mean(axis=(0, 2, 3), dtype=np.float64)
    std = x.std(axis=(0, 2, 3), dtype=np.float64)
    std = np.where(std > 1e-8, std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def _fingerprint(parts: list[tuple[np.ndarray, np.ndarray]]) -> str:
    digest = hashlib.sha256()
    for x, y in parts:
        digest.update(str((x.dtype.str, x.shape)).encode())
        digest.update(np.ascontiguousarray(x).tobytes())
        digest.update(np.ascontiguousarray(y, dtype="<i8").tobytes())
    return digest.hexdigest()[:16]
