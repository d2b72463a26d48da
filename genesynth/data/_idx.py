"""MNIST-style IDX files: ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte``.

Optional ``t10k-*`` files are the source's own test split. Every file may be gzipped (``.gz``)
and the Kaggle spelling ``train-images.idx3-ubyte`` is accepted too.
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from pathlib import Path

import numpy as np

from genesynth.data.source import (
    Source,
    check_counts,
    check_every_class,
    check_labels,
    check_not_empty,
    inferred_classes,
)
from genesynth.errors import DataError
from genesynth.limits import MAX_DATA_BYTES, check_decoded

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
CHUNK = 2**20


def _find(root: Path, prefix: str, kind: str) -> Path | None:
    """``{prefix}-{kind}`` with either separator, plain or gzipped, if present."""
    for sep in ("-", "."):
        for suffix in ("", ".gz"):
            path = root / f"{prefix}{sep}{kind}{suffix}"
            if path.is_file():
                return path
    return None


def _open(path: Path) -> gzip.GzipFile | io.BufferedReader:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def _read_idx(path: Path, magic: int, what: str) -> np.ndarray:
    """The array an IDX file holds, checked against ``magic`` and its announced size.

    The header is read first; the body is read (or decompressed, streaming) only up to the
    announced size plus one byte, and only when that size is below MAX_DATA_BYTES.
    """
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    try:
        with _open(path) as stream:
            header = stream.read(header_size)
            dims = _check_header(path, header, magic, what)
            expected = math.prod(dims)
            body = _read_at_most(stream, expected + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    if len(body) != expected:
        state = "truncated" if len(body) < expected else "too long"
        shape = "x".join(str(d) for d in dims)
        held = str(len(body)) if len(body) < expected else "more"
        raise DataError(
            f"{path}: {state}: the header announces {shape} bytes of {what} ({expected} bytes) "
            f"but the file holds {held}"
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def _read_at_most(stream: gzip.GzipFile | io.BufferedReader, size: int) -> bytes:
    """Up to ``size`` bytes, read in chunks: memory grows with what the file holds, not with
    what its header announces."""
    body = bytearray()
    while len(body) < size:
        chunk = stream.read(min(CHUNK, size - len(body)))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def _check_header(path: Path, header: bytes, magic: int, what: str) -> tuple[int, ...]:
    if len(header) < 4 or int.from_bytes(header[:4], "big") != magic:
        found = f"0x{int.from_bytes(header[:4], 'big'):08x}" if len(header) >= 4 else "none"
        raise DataError(
            f"{path}: wrong magic number {found}; expected 0x{magic:08x} (IDX {what})"
        )
    ndim = magic & 0xFF
    if len(header) < 4 + 4 * ndim:
        raise DataError(f"{path}: truncated: the header alone needs {4 + 4 * ndim} bytes")
    dims = tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if math.prod(dims) > MAX_DATA_BYTES:
        shape = "x".join(str(d) for d in dims)
        raise DataError(
            f"{path}: the header announces {shape} bytes of {what} ({math.prod(dims):,} bytes), "
            f"more than the {MAX_DATA_BYTES:,} bytes a data file may hold"
        )
    check_decoded(f"{path}: the header announces {'x'.join(map(str, dims))} bytes of {what}",
                  [(math.prod(dims), 1)], DataError)
    return dims


class IdxReader:
    """A directory of MNIST-style IDX files (MNIST, Fashion-MNIST, KMNIST, ...)."""

    format = "idx"
    expects = "a directory of MNIST-style IDX files (train-images-idx3-ubyte[.gz], ...)"

    def detect(self, path: Path) -> bool:
        return path.is_dir() and _find(path, "train", "images-idx3-ubyte") is not None

    def read(self, path: Path, input_shape: tuple[int, int, int] | None) -> Source:
        x, y = self._pair(path, "train")
        check_not_empty(len(y), str(path))
        x_test = y_test = None
        if _find(path, "t10k", "images-idx3-ubyte") is not None:
            x_test, y_test = self._pair(path, "t10k")
        labels = str(_find(path, "train", "labels-idx1-ubyte"))
        names = inferred_classes(y, labels)
        check_every_class(y, names, labels)
        if y_test is not None:
            check_labels(y_test, len(names), str(_find(path, "t10k", "labels-idx1-ubyte")))
        return Source("mnist-idx", self.format, x, y, names, x_test, y_test)

    def _pair(self, root: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        images = _find(root, prefix, "images-idx3-ubyte")
        labels = _find(root, prefix, "labels-idx1-ubyte")
        if images is None or labels is None:
            missing = f"{prefix}-images-idx3-ubyte" if images is None else (
                f"{prefix}-labels-idx1-ubyte")
            raise DataError(f"{root}: {missing}[.gz] is missing")
        x = _read_idx(images, IMAGES_MAGIC, "images")
        y = _read_idx(labels, LABELS_MAGIC, "labels")
        check_counts(len(x), len(y), str(images), str(labels))
        return x[:, None, :, :], y.astype(np.int64)
