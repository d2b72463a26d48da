"""Data files announcing absurd sizes: a DataError before anything large is allocated."""

from __future__ import annotations

import gzip
import io
import os
import resource
import zipfile
from pathlib import Path

import numpy as np
import pytest

from genesynth import parse_prototype
from genesynth.data import load_data
from genesynth.errors import DataError, GenesynthError
from genesynth.limits import MAX_DATA_BYTES
from tests.data.helpers import IMAGES_MAGIC, idx_bytes, write_cifar, write_idx


def _message(spec: Path, **kwargs: object) -> str:
    with pytest.raises(DataError) as info:
        load_data(str(spec), **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_an_idx_header_announcing_64_tib_is_refused_before_reading(tmp_path: Path) -> None:
    write_idx(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    header = IMAGES_MAGIC.to_bytes(4, "big") + b"".join(
        d.to_bytes(4, "big") for d in (2**32 - 1, 2**16, 2**16 - 1))
    path.write_bytes(header + b"\0" * 100)
    assert _message(tmp_path) == (
        f"{path}: the header announces 4294967295x65536x65535 bytes of images "
        f"({(2**32 - 1) * 2**16 * (2**16 - 1):,} bytes), more than the {MAX_DATA_BYTES:,} "
        "bytes a data file may hold")


def test_a_gzip_bomb_behind_a_small_header_is_cut_at_the_announced_size(tmp_path: Path) -> None:
    write_idx(tmp_path, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = idx_bytes(np.zeros((40, 6, 6)), IMAGES_MAGIC)[:16]
    with gzip.open(path, "wb", compresslevel=9) as out:  # 1440 bytes announced, 1 GiB inside
        out.write(header)
        zeros = bytes(2**24)
        for _ in range(64):
            out.write(zeros)
    before = _peak_mb()
    assert _message(tmp_path) == (
        f"{path}: too long: the header announces 40x6x6 bytes of images (1440 bytes) but the "
        "file holds more")
    assert _peak_mb() - before < 200  # streamed, never decompressed in full


def _npz_with_header(path: Path, shape: tuple[int, ...]) -> None:
    """An .npz whose 'x' member announces ``shape`` but holds 8 bytes of data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", buffer.getvalue() + bytes(8))
        archive.writestr("y.npy", _npy(np.zeros(2, dtype=np.int64)))


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_an_npz_header_announcing_an_impossible_size(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    _npz_with_header(path, (2**20, 2**20, 2**10, 16))
    size = zipfile.ZipFile(path).getinfo("x.npy").file_size
    assert _message(path) == (
        f"{path}: 'x': the header announces shape (1048576, 1048576, 1024, 16) of float64 "
        f"({2**20 * 2**20 * 2**10 * 16 * 8:,} bytes) but the archive holds {size:,}")


@pytest.mark.parametrize(("content", "message"), [
    (b"\x93NUMPY not an npz", "cannot read as .npz: not a zip archive of .npy arrays"),
    (b"plain text", "cannot read as .npz: not a zip archive of .npy arrays"),
])
def test_a_file_that_is_not_an_npz_archive(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "d.npz"
    path.write_bytes(content)
    assert _message(path) == f"{path}: {message}"


def test_an_npz_member_that_is_not_an_array(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x", b"some bytes")
        archive.writestr("y.npy", _npy(np.zeros(2, dtype=np.int64)))
    assert _message(path) == f"{path}: 'x' is not a .npy array"


def test_a_label_of_a_billion_does_not_make_a_billion_classes(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((3, 1, 4, 4)), y=np.array([0, 1, 10**9]))
    assert _message(path) == (
        f"{path}: 'y': label 1000000000 at index 2 is out of range; expected 0..99999 "
        "(100000 classes)")


@pytest.mark.parametrize("shape", [(4, 0, 8, 8), (4, 8, 0), (4, 3, 8, 0)])
def test_images_without_channels_rows_or_columns(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros(shape), y=np.array([0, 1, 0, 1]))
    images = (1, *shape[1:]) if len(shape) == 3 else shape[1:]
    assert _message(path) == (
        f"{path}: 'x' holds images of shape {'x'.join(map(str, images))}; expected at least "
        "one channel, row and column")


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(input_shape=(0, 8, 8)), "`input_shape` must be three whole numbers (C, H, W) from 1 "
     "to 2147483647, but got input_shape=(0, 8, 8)"),
    (dict(input_shape=(3, 8, 8.5)), "`input_shape` must be three whole numbers (C, H, W) from "
     "1 to 2147483647, but got input_shape=(3, 8, 8.5)"),
    (dict(input_shape=(3, 8)), "`input_shape` must be three whole numbers (C, H, W) from 1 to "
     "2147483647, but got input_shape=(3, 8)"),
    (dict(input_shape="3x8x8"), "`input_shape` must be three whole numbers (C, H, W) from 1 to "
     "2147483647, but got input_shape='3x8x8'"),
    (dict(classes=0), "`classes` must be a whole number from 1 to 2147483647, but got "
     "classes=0"),
    (dict(classes=True), "`classes` must be a whole number from 1 to 2147483647, but got "
     "classes=True"),
])
def test_a_shape_or_class_count_through_the_api(kwargs: dict[str, object], message: str) -> None:
    text = ("network n { input 3x8x8 classes 4 stem { conv(out=8) } "
            "head { gap linear(out=classes) } }")
    with pytest.raises(GenesynthError) as info:
        parse_prototype(text, **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert parse_prototype(text, input_shape=(np.int64(1), 8, 8)).input_shape == (1, 8, 8)


def test_an_npz_with_an_unknown_compression_method(tmp_path: Path) -> None:
    """Found by bench/fuzz_inputs.py: zipfile raised NotImplementedError."""
    path = tmp_path / "d.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", _npy(np.zeros((2, 1, 4, 4))))
        archive.writestr("y.npy", _npy(np.zeros(2, dtype=np.int64)))
    raw = bytearray(path.read_bytes())
    raw[8] = 99  # the first member's compression method: not one zipfile knows
    raw[raw.index(b"PK\x01\x02") + 10] = 99  # and its entry in the central directory
    path.write_bytes(bytes(raw))
    assert _message(path) == (
        f"{path}: cannot read as .npz: That compression method is not supported")


def test_an_npz_of_zeros_that_unpacks_beyond_memory_is_refused_before_unpacking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25: an npz of 1 MB holding zeros of shape (100000, 100, 100) took 11.3 GB; the
    decoded size is now checked against the machine's memory before anything is unpacked
    (a budget of 4 MB stands in for a small machine here)."""
    import genesynth.limits

    monkeypatch.setattr(genesynth.limits, "memory_budget", lambda: 4_000_000)
    path = tmp_path / "d.npz"
    np.savez_compressed(path, x=np.zeros((100, 100, 100), dtype=np.uint8), y=np.zeros(100))
    assert path.stat().st_size < 10_000
    assert _message(path) == (
        f"{path}: its arrays: decodes to 1,000,800 bytes and needs about 8,001,600 bytes of "
        "memory to train on; this machine has 4,000,000 bytes available (at most half of "
        "it, and 17,179,869,184 bytes decoded, are used)")


def test_an_idx_header_announcing_more_than_memory(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import genesynth.limits

    monkeypatch.setattr(genesynth.limits, "memory_budget", lambda: 1000)
    write_idx(tmp_path)
    assert _message(tmp_path) == (
        f"{tmp_path / 'train-images-idx3-ubyte'}: the header announces 40x6x6 bytes of "
        "images: decodes to 1,440 bytes and needs about 11,520 bytes of memory to train on; "
        "this machine has 1,000 bytes available (at most half of it, and 17,179,869,184 "
        "bytes decoded, are used)")


def test_a_cifar_batch_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    """Issue 25: a FIFO given as data blocked forever; /dev/zero read until memory ran out."""
    root = write_cifar(tmp_path)
    batch = root / "data_batch_2.bin"
    batch.unlink()
    os.mkfifo(batch)
    assert _message(tmp_path) == (
        f"{batch}: the CIFAR-10 batch must be a regular file, but it is a FIFO (named pipe)")
    batch.unlink()
    batch.symlink_to("/dev/zero")
    assert _message(tmp_path) == (
        f"{batch}: the CIFAR-10 batch must be a regular file, but it is a character device")
