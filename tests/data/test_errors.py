"""Corrupt or mismatched data: a DataError naming the file and what is wrong (golden text)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genesynth.data import load_data
from genesynth.errors import DataError
from tests.data.helpers import (
    IMAGES_MAGIC,
    LABELS_MAGIC,
    cifar_records,
    idx_bytes,
    write_cifar,
    write_folder,
    write_idx,
)


def _message(spec: Path | str, **kwargs: object) -> str:
    with pytest.raises(DataError) as info:
        load_data(str(spec), **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def test_unknown_format_lists_what_is_expected(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hi")
    message = _message(tmp_path)
    assert message.startswith(f"{tmp_path}: not a dataset genesynth can read; expected one of:")
    for part in ("IDX", "CIFAR-10", "image folder", ".npz", "'digits'"):
        assert part in message


def test_missing_path(tmp_path: Path) -> None:
    assert _message(tmp_path / "nope").startswith(f"{tmp_path / 'nope'}: no such file or directory")


def test_idx_wrong_magic(tmp_path: Path) -> None:
    write_idx(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((40, 6, 6)), LABELS_MAGIC)[:8])
    assert _message(tmp_path) == (
        f"{path}: wrong magic number 0x00000801; expected 0x00000803 (IDX images)"
    )


def test_idx_truncated_gz(tmp_path: Path) -> None:
    write_idx(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((40, 6, 6)), IMAGES_MAGIC)[:-10]))
    assert _message(tmp_path) == (
        f"{path}: truncated: the header announces 40x6x6 bytes of images (1440 bytes) "
        "but the file holds 1430"
    )


def test_idx_broken_gzip(tmp_path: Path) -> None:
    write_idx(tmp_path, gz=True)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"\x1f\x8b not really gzip")
    assert _message(tmp_path).startswith(f"{path}: cannot read: ")


def test_idx_counts_differ(tmp_path: Path) -> None:
    write_idx(tmp_path)
    labels = tmp_path / "train-labels-idx1-ubyte"
    labels.write_bytes(idx_bytes(np.zeros(39), LABELS_MAGIC))
    assert _message(tmp_path) == (
        f"{tmp_path / 'train-images-idx3-ubyte'} holds 40 images but {labels} holds 39 labels"
    )


def test_idx_class_without_examples(tmp_path: Path) -> None:
    write_idx(tmp_path)
    labels = tmp_path / "train-labels-idx1-ubyte"
    labels.write_bytes(idx_bytes(np.arange(40) % 2 * 2, LABELS_MAGIC))  # 0 and 2 only
    assert _message(tmp_path) == f"{labels}: class '1' has no examples"


def test_idx_test_label_out_of_range(tmp_path: Path) -> None:
    write_idx(tmp_path, test=10)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    labels.write_bytes(idx_bytes(np.full(10, 7), LABELS_MAGIC))
    assert _message(tmp_path) == (
        f"{labels}: label 7 at index 0 is out of range; expected 0..3 (4 classes)"
    )


def test_cifar_bad_size(tmp_path: Path) -> None:
    root = write_cifar(tmp_path)
    path = root / "data_batch_2.bin"
    path.write_bytes(cifar_records(3) + b"\x00" * 5)
    assert _message(tmp_path) == (
        f"{path}: size 9224 bytes is not a positive multiple of 3073 "
        "(one label byte + 3072 pixel bytes per CIFAR-10 record)"
    )


def test_cifar_label_out_of_range(tmp_path: Path) -> None:
    root = write_cifar(tmp_path, names=("a", "b", "c"))
    path = root / "data_batch_1.bin"
    assert _message(tmp_path) == (
        f"{path}: label 9 at index 9 is out of range; expected 0..2 (3 classes)"
    )


def test_folder_unreadable_image(tmp_path: Path) -> None:
    write_folder(tmp_path)
    broken = tmp_path / "dog" / "broken.png"
    broken.write_bytes(b"\x89PNG not an image")
    assert _message(tmp_path, input_shape=(3, 8, 8)).startswith(f"{broken}: cannot read image: ")


def test_folder_empty_class(tmp_path: Path) -> None:
    write_folder(tmp_path, splits=("train",))
    (tmp_path / "train" / "emu").mkdir()
    assert _message(tmp_path) == f"{tmp_path / 'train'}: class 'emu' has no examples"


def test_folder_unknown_test_class(tmp_path: Path) -> None:
    write_folder(tmp_path, splits=("train", "val"))
    Image.new("RGB", (4, 4)).save(tmp_path / "val" / "yak.png")  # not a class folder: ignored
    (tmp_path / "val" / "yak").mkdir()
    assert _message(tmp_path) == (
        f"{tmp_path / 'val' / 'yak'}: class 'yak' is not among the train classes"
    )


def _npz(tmp_path: Path, **arrays: np.ndarray) -> Path:
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def test_npz_missing_y(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((4, 3, 3)), labels=np.zeros(4))
    assert _message(path) == (
        f"{path}: no array 'y'; an .npz dataset needs 'x' (images) and 'y' (labels), "
        "found: labels, x"
    )


def test_npz_length_mismatch(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((4, 3, 3)), y=np.zeros(5, dtype=int))
    assert _message(path) == f"{path}: 'x' holds 4 images but 'y' holds 5 labels"


def test_npz_non_finite(tmp_path: Path) -> None:
    x = np.zeros((4, 3, 3))
    x[2, 1, 1] = np.nan
    x[3, 0, 0] = np.inf
    path = _npz(tmp_path, x=x, y=np.arange(4))
    assert _message(path) == (
        f"{path}: 'x': 2 non-finite values (NaN or infinity), first in example 2"
    )


def test_npz_negative_label(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((4, 3, 3)), y=np.array([0, 1, -1, 1]))
    assert _message(path) == (
        f"{path}: 'y': label -1 at index 2 is negative; labels count from 0"
    )


def test_npz_classes_without_examples(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((4, 3, 3)), y=np.array([0, 3, 0, 3]))
    assert _message(path) == f"{path}: 'y': classes '1', '2' have no examples"


def test_npz_label_out_of_names(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((4, 3, 3)), y=np.array([0, 1, 2, 1]),
                class_names=np.array(["a", "b"]))
    assert _message(path) == (
        f"{path}: 'y': label 2 at index 2 is out of range; expected 0..1 (2 classes)"
    )


def test_npz_empty(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((0, 3, 3)), y=np.zeros(0, dtype=int))
    assert _message(path) == f"{path}: the dataset is empty (no examples)"


def test_npz_object_arrays_are_not_unpickled(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.array([np.zeros(2), None], dtype=object), y=np.zeros(2))
    assert _message(path) == (
        f"{path}: holds Python objects (pickled arrays), which genesynth does not unpickle"
    )


def test_npz_float_labels_must_be_whole(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((2, 3, 3)), y=np.array([0.5, 1.0]))
    assert _message(path) == (
        f"{path}: 'y' must hold whole-number class labels, but has dtype float64"
    )


def test_too_few_examples_to_split(tmp_path: Path) -> None:
    path = _npz(tmp_path, x=np.zeros((2, 3, 3)), y=np.array([0, 1]))
    assert _message(path) == (
        f"npz:{path}: 2 examples are too few to split into train, validation and test"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"val_fraction": 0.0}, "`val_fraction` must be between 0 and 1, but got val_fraction=0.0"),
        ({"val_fraction": 0.5, "test_fraction": 0.5},
         "`val_fraction` + `test_fraction` must be below 1, but got val_fraction=0.5, "
         "test_fraction=0.5"),
        ({"limit": 0}, "`limit` must be a positive integer, but got limit=0"),
        ({"input_shape": (1, 8)},
         "`input_shape` must be three positive integers (C, H, W), but got input_shape=(1, 8)"),
        ({"input_shape": (2, 8, 8)},
         "cannot adapt 1-channel images to input shape (2, 8, 8): only 1 -> 3 (repeat) and "
         "3 -> 1 (luminance) channel changes are supported"),
    ],
)
def test_bad_settings(kwargs: dict[str, object], message: str) -> None:
    assert _message("digits", **kwargs) == message
