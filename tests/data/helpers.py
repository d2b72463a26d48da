"""Small dataset files in every supported format, written into a test's tmp_path."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from PIL import Image

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_file(path: Path, data: bytes, gz: bool = False) -> Path:
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def labels_for(n: int, classes: int) -> np.ndarray:
    return (np.arange(n) % classes).astype(np.uint8)


def write_idx(root: Path, n: int = 40, test: int = 0, classes: int = 4, gz: bool = False,
              size: int = 6) -> Path:
    """``train-*`` (and ``t10k-*`` when ``test``) IDX files of size x size images."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for prefix, count in (("train", n), ("t10k", test)):
        if count:
            x = rng.integers(0, 256, (count, size, size), dtype=np.uint8)
            write_file(root / f"{prefix}-images-idx3-ubyte", idx_bytes(x, IMAGES_MAGIC), gz)
            write_file(root / f"{prefix}-labels-idx1-ubyte",
                       idx_bytes(labels_for(count, classes), LABELS_MAGIC), gz)
    return root


def cifar_records(n: int, classes: int = 10, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    records = rng.integers(0, 256, (n, 3073), dtype=np.uint8)
    records[:, 0] = labels_for(n, classes)
    return records.tobytes()


def write_cifar(parent: Path, batches: int = 2, per_batch: int = 30, test: int = 20,
                names: tuple[str, ...] | None = None) -> Path:
    """``parent/cifar-10-batches-bin/`` with ``batches`` train batches and a test batch."""
    root = parent / "cifar-10-batches-bin"
    root.mkdir(parents=True)
    for i in range(1, batches + 1):
        (root / f"data_batch_{i}.bin").write_bytes(cifar_records(per_batch, seed=i))
    if test:
        (root / "test_batch.bin").write_bytes(cifar_records(test, seed=99))
    if names is not None:
        (root / "batches.meta.txt").write_text("\n".join(names) + "\n\n")
    return root


def write_images(folder: Path, count: int, size: tuple[int, int] = (10, 12),
                 mode: str = "RGB", ext: str = "png") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(folder)))
    for i in range(count):
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img{i}.{ext}")


def write_folder(root: Path, classes: tuple[str, ...] = ("cat", "dog", "fox"),
                 per_class: int = 8, splits: tuple[str, ...] = ()) -> Path:
    """One sub-folder of PNGs per class, under ``root/<split>/`` for each split if given."""
    for split in splits or ("",):
        for name in classes:
            write_images(root / split / name, per_class if split in ("", "train") else 3)
    return root
