"""A NumPy ``.npz`` file: ``x`` and ``y``, optionally ``x_test``/``y_test`` and ``class_names``.

``x`` may be (N, H, W), (N, C, H, W) or (N, H, W, C) (channels last when the last axis is 1
or 3 and the second is not); ``y`` holds whole-number labels. Never unpickles.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from genesynth.data.source import (
    Source,
    check_counts,
    check_every_class,
    check_finite,
    check_labels,
    check_not_empty,
    inferred_classes,
)
from genesynth.errors import DataError
from genesynth.limits import MAX_DATA_BYTES, check_decoded

CHANNELS = (1, 3)


def _images(path: Path, key: str, x: np.ndarray) -> np.ndarray:
    where = f"{path}: '{key}'"
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise DataError(f"{where} must hold numbers, but has dtype {x.dtype}")
    if x.ndim == 3:
        x = x[:, None, :, :]
    elif x.ndim == 4 and x.shape[3] in CHANNELS and x.shape[1] not in CHANNELS:
        x = x.transpose(0, 3, 1, 2)
    elif x.ndim != 4:
        raise DataError(
            f"{where} has shape {x.shape}; expected (N, H, W), (N, C, H, W) or (N, H, W, C)"
        )
    if 0 in x.shape[1:]:
        raise DataError(f"{where} holds images of shape {'x'.join(map(str, x.shape[1:]))}; "
                        "expected at least one channel, row and column")
    check_finite(x, where)
    return np.ascontiguousarray(x)


def _labels(path: Path, key: str, y: np.ndarray) -> np.ndarray:
    where = f"{path}: '{key}'"
    if y.ndim != 1:
        raise DataError(f"{where} has shape {y.shape}; expected one label per example (N,)")
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    raise DataError(f"{where} must hold whole-number class labels, but has dtype {y.dtype}")


def _load(path: Path) -> dict[str, np.ndarray]:
    try:
        if not zipfile.is_zipfile(path):
            raise DataError(f"{path}: cannot read as .npz: not a zip archive of .npy arrays")
        with zipfile.ZipFile(path) as archive:
            _check_sizes(path, archive)
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except ValueError as exc:
        raise DataError(
            f"{path}: holds Python objects (pickled arrays), which genesynth does not unpickle"
        ) from exc
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError,
            RuntimeError) as exc:  # the last two: an unknown compression, an encrypted member
        raise DataError(f"{path}: cannot read as .npz: {exc}") from exc
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):
            raise DataError(f"{path}: '{key}' is not a .npy array")
    return arrays


def _check_sizes(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse, before anything is decompressed in full, members whose headers announce more
    bytes than they hold, and archives that unpack to more than MAX_DATA_BYTES or than this
    machine's memory holds (:func:`~genesynth.limits.check_decoded`)."""
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_DATA_BYTES:
        raise DataError(f"{path}: unpacks to {total:,} bytes, more than the "
                        f"{MAX_DATA_BYTES:,} bytes a data file may hold")
    arrays: list[tuple[int, int]] = []
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue
        with archive.open(info) as member:
            try:
                version = np.lib.format.read_magic(member)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read(member)
            except ValueError as exc:
                raise DataError(f"{path}: '{info.filename}': not a .npy array: {exc}") from None
        announced = math.prod(shape) * dtype.itemsize
        if announced > info.file_size:
            raise DataError(
                f"{path}: '{info.filename[:-4]}': the header announces shape {shape} of "
                f"{dtype} ({announced:,} bytes) but the archive holds {info.file_size:,}"
            )
        arrays.append((math.prod(shape), dtype.itemsize))
    # a megabyte of zipped zeros may unpack to gigabytes: refused before anything is unpacked
    check_decoded(f"{path}: its arrays", arrays, DataError)


class NpzReader:
    """In-memory arrays saved with ``numpy.savez``."""

    format = "npz"
    expects = "a .npz file with arrays 'x' and 'y' (optionally 'x_test', 'y_test')"

    def detect(self, path: Path) -> bool:
        return path.is_file() and path.suffix == ".npz"

    def read(self, path: Path, input_shape: tuple[int, int, int] | None) -> Source:
        arrays = _load(path)
        for key in ("x", "y"):
            if key not in arrays:
                found = ", ".join(sorted(arrays)) or "nothing"
                raise DataError(
                    f"{path}: no array '{key}'; an .npz dataset needs 'x' (images) and "
                    f"'y' (labels), found: {found}"
                )
        x, y = _images(path, "x", arrays["x"]), _labels(path, "y", arrays["y"])
        check_counts(len(x), len(y), f"{path}: 'x'", "'y'")
        check_not_empty(len(y), str(path))
        x_test = y_test = None
        if "x_test" in arrays or "y_test" in arrays:
            if "x_test" not in arrays or "y_test" not in arrays:
                raise DataError(f"{path}: 'x_test' and 'y_test' must come together")
            x_test = _images(path, "x_test", arrays["x_test"])
            y_test = _labels(path, "y_test", arrays["y_test"])
            check_counts(len(x_test), len(y_test), f"{path}: 'x_test'", "'y_test'")
            if x_test.shape[1:] != x.shape[1:]:
                raise DataError(
                    f"{path}: 'x_test' images are {x_test.shape[1:]} but 'x' images are "
                    f"{x.shape[1:]}"
                )
        names = self._names(path, arrays, y)
        check_labels(y, len(names), f"{path}: 'y'")
        if y_test is not None:
            check_labels(y_test, len(names), f"{path}: 'y_test'")
        check_every_class(y, names, f"{path}: 'y'")
        return Source(f"npz:{path}", self.format, x, y, names, x_test, y_test)

    def _names(
        self, path: Path, arrays: dict[str, np.ndarray], y: np.ndarray
    ) -> tuple[str, ...]:
        if "class_names" not in arrays:
            return inferred_classes(y, f"{path}: 'y'")
        names = arrays["class_names"]
        if names.ndim != 1 or names.dtype.kind not in "US" or names.size == 0:
            raise DataError(f"{path}: 'class_names' must be a non-empty 1-D array of strings")
        return tuple(str(n) for n in names.tolist())
