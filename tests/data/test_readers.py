"""Every reader on small files, and the digits default: shapes, splits, stratification."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from genesynth.data import Dataset, as_tensors, batches, load_data, stratified_order
from tests.data.helpers import write_cifar, write_folder, write_idx, write_images


def _check_normalised(data: Dataset) -> None:
    x = data.train.x
    assert x.dtype == np.float32 and data.train.y.dtype == np.int64
    assert np.allclose(x.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    assert np.allclose(x.std(axis=(0, 2, 3)), 1, atol=1e-3)
    json.dumps(data.describe())


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_data("digits")


def test_digits_shape_classes_and_sizes(digits: Dataset) -> None:
    assert digits.name == "digits" and digits.input_shape == (1, 8, 8)
    assert digits.classes == 10 and digits.class_names == tuple("0123456789")
    assert (len(digits.train), len(digits.val), len(digits.test)) == (1257, 270, 270)
    assert digits.train.x.shape == (1257, 1, 8, 8)
    _check_normalised(digits)


def test_digits_splits_are_stratified_and_disjoint(digits: Dataset) -> None:
    for split in (digits.val, digits.test):
        counts = np.array(split.class_counts(10))
        assert counts.min() >= 26 and counts.max() <= 28
    rows = {s.x[i].tobytes() for s in (digits.val, digits.test) for i in range(len(s))}
    overlap = sum(digits.train.x[i].tobytes() in rows for i in range(len(digits.train)))
    assert overlap <= 3  # a few digits images are exact duplicates in the source itself


def test_digits_reproducible_and_seeded(digits: Dataset) -> None:
    again = load_data("digits")
    assert np.array_equal(again.val.x, digits.val.x)
    assert again.describe() == digits.describe()
    other = load_data("digits", seed=1)
    assert other.fingerprint != digits.fingerprint
    assert not np.array_equal(other.val.y, digits.val.y)


def test_digits_limit_and_adapted_shape() -> None:
    data = load_data("digits", (3, 16, 16), limit=100)
    assert data.train.x.shape == (100, 3, 16, 16) and data.test.x.shape[1:] == (3, 16, 16)
    assert min(data.train.class_counts(10)) >= 9
    assert np.array_equal(data.train.x[:, 0], data.train.x[:, 2])  # 1 -> 3 repeats
    assert data.describe()["native_shape"] == [1, 8, 8]


def test_stratified_order_prefixes_are_balanced() -> None:
    y = np.repeat(np.arange(3), [50, 30, 20])
    order = stratified_order(y, np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(100))
    assert np.bincount(y[order[:10]]).tolist() == [5, 3, 2]


@pytest.mark.parametrize("gz", [False, True])
def test_idx_with_own_test_split(tmp_path: Path, gz: bool) -> None:
    data = load_data(str(write_idx(tmp_path, n=40, test=12, gz=gz)))
    assert data.name == "mnist-idx" and data.input_shape == (1, 6, 6) and data.classes == 4
    assert len(data.test) == 12 and len(data.val) == 6 and len(data.train) == 34
    assert data.held_out == "source test"
    _check_normalised(data)


def test_idx_without_test_split_carves_one(tmp_path: Path) -> None:
    data = load_data(str(write_idx(tmp_path, n=40)), (3, 8, 8))
    assert (len(data.train), len(data.val), len(data.test)) == (28, 6, 6)
    assert data.train.x.shape[1:] == (3, 8, 8) and data.held_out == "carved"


@pytest.mark.parametrize("nested", [False, True])
def test_cifar_binary(tmp_path: Path, nested: bool) -> None:
    root = write_cifar(tmp_path, names=tuple(f"c{i}" for i in range(10)))
    data = load_data(str(tmp_path if not nested else root))
    assert data.name == "cifar10" and data.input_shape == (3, 32, 32)
    assert data.class_names[0] == "c0" and data.classes == 10
    assert len(data.test) == 20 and len(data.train) + len(data.val) == 60
    _check_normalised(data)


def test_cifar_default_names_and_luminance(tmp_path: Path) -> None:
    data = load_data(str(write_cifar(tmp_path, test=0)), (1, 16, 16))
    assert data.class_names[:2] == ("airplane", "automobile")
    assert data.train.x.shape[1:] == (1, 16, 16)


def test_image_folder_pool(tmp_path: Path) -> None:
    data = load_data(str(write_folder(tmp_path)), (3, 8, 8))
    assert data.name == f"folder:{tmp_path}" and data.class_names == ("cat", "dog", "fox")
    assert data.train.x.shape[1:] == (3, 8, 8)
    assert len(data.train) + len(data.val) + len(data.test) == 24
    _check_normalised(data)


def test_image_folder_default_shape_and_grey(tmp_path: Path) -> None:
    write_images(tmp_path / "a", 3, mode="L", ext="bmp")
    write_images(tmp_path / "b", 3, ext="jpg")
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    assert load_data(str(tmp_path)).input_shape == (3, 64, 64)
    assert load_data(str(tmp_path), (1, 5, 5)).train.x.shape[1:] == (1, 5, 5)


def test_image_folder_train_val_test(tmp_path: Path) -> None:
    write_folder(tmp_path, splits=("train", "val"))
    data = load_data(str(tmp_path), (3, 8, 8))
    assert len(data.test) == 9 and data.held_out == "source test"
    write_folder(tmp_path, splits=("test",))
    data = load_data(str(tmp_path), (3, 8, 8))
    assert (len(data.val), len(data.test), len(data.train)) == (9, 9, 24)


@pytest.mark.parametrize("layout", ["nhw", "nchw", "nhwc"])
def test_npz_layouts(tmp_path: Path, layout: str) -> None:
    rng = np.random.default_rng(0)
    shape = {"nhw": (30, 5, 7), "nchw": (30, 3, 5, 7), "nhwc": (30, 5, 7, 3)}[layout]
    path = tmp_path / "d.npz"
    np.savez(path, x=rng.random(shape).astype(np.float32), y=np.arange(30) % 3)
    data = load_data(str(path))
    assert data.input_shape == ((1, 5, 7) if layout == "nhw" else (3, 5, 7))
    assert data.name == f"npz:{path}" and data.classes == 3


def test_npz_test_split_and_names(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((20, 4, 4)), y=np.arange(20.0) % 2, x_test=np.zeros((6, 4, 4)),
             y_test=np.arange(6) % 2, class_names=np.array(["even", "odd"]))
    data = load_data(str(path), limit=5)
    assert data.class_names == ("even", "odd") and len(data.test) == 6 and len(data.train) == 5
    assert np.isfinite(data.train.x).all()  # a constant channel is not divided by zero


def test_tensors_and_batches(digits: Dataset) -> None:
    x, y = as_tensors(digits.val)
    assert x.shape == (270, 1, 8, 8) and y.dtype == torch.int64
    sizes = [len(b[1]) for b in batches(digits.val, 100)]
    assert sizes == [100, 100, 70]
    first = next(batches(digits.val, 8, shuffle=True, generator=torch.Generator().manual_seed(0)))
    again = next(batches(digits.val, 8, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert torch.equal(first[1], again[1])
    assert len(list(batches(digits.val, 100, drop_last=True))) == 2
