"""CIFAR-10 binary batches: ``data_batch_1.bin`` .. ``data_batch_5.bin`` and ``test_batch.bin``.

Each record is one label byte and 3072 pixel bytes (3 x 32 x 32, channel-major). Class names
come from ``batches.meta.txt`` when present. The directory may be ``cifar-10-batches-bin``
itself or its parent.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from genesynth.data.source import Source, check_every_class, check_labels
from genesynth.errors import DataError
from genesynth.limits import MAX_DATA_BYTES, check_decoded, open_regular, read_text

RECORD = 1 + 3 * 32 * 32
BATCH_DIR = "cifar-10-batches-bin"
CIFAR10_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


def _root(path: Path) -> Path:
    nested = path / BATCH_DIR
    return nested if nested.is_dir() else path


def _batch_number(path: Path) -> int:
    match = re.fullmatch(r"data_batch_(\d+)\.bin", path.name)
    return int(match.group(1)) if match else 0


def _read_batch(path: Path, classes: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open_regular(path, "CIFAR-10 batch", DataError, MAX_DATA_BYTES) as stream:
            check_decoded(str(path), [(os.fstat(stream.fileno()).st_size, 1)], DataError)
            data = np.fromfile(stream, dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    if data.size == 0 or data.size % RECORD:
        raise DataError(
            f"{path}: size {data.size} bytes is not a positive multiple of {RECORD} "
            "(one label byte + 3072 pixel bytes per CIFAR-10 record)"
        )
    records = data.reshape(-1, RECORD)
    y = records[:, 0].astype(np.int64)
    check_labels(y, classes, str(path))
    return records[:, 1:].reshape(-1, 3, 32, 32), y


def _class_names(root: Path) -> tuple[str, ...]:
    meta = root / "batches.meta.txt"
    if not meta.is_file():
        return CIFAR10_NAMES
    text = read_text(meta, "class names", DataError)
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not names:
        raise DataError(f"{meta}: holds no class names")
    return names


class CifarReader:
    """The CIFAR-10 binary version (the ``cifar-10-binary.tar.gz`` download, unpacked)."""

    format = "cifar10-binary"
    expects = "a CIFAR-10 binary directory (cifar-10-batches-bin/ with data_batch_1.bin, ...)"

    def detect(self, path: Path) -> bool:
        return path.is_dir() and any(_root(path).glob("data_batch_*.bin"))

    def read(self, path: Path, input_shape: tuple[int, int, int] | None) -> Source:
        root = _root(path)
        names = _class_names(root)
        files = sorted(root.glob("data_batch_*.bin"), key=_batch_number)
        parts = [_read_batch(f, len(names)) for f in files]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        where = str(files[0]) if len(files) == 1 else f"{root}/data_batch_*.bin"
        check_every_class(y, names, where)
        x_test = y_test = None
        test = root / "test_batch.bin"
        if test.is_file():
            x_test, y_test = _read_batch(test, len(names))
        return Source("cifar10", self.format, x, y, names, x_test, y_test)
