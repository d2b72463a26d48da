"""An image folder with one sub-folder per class (ImageNet / ImageNet50 style).

Either ``root/<class>/*.png`` (one pool, split by genesynth) or ``root/train/<class>/...`` with
optional ``root/val/`` and ``root/test/`` in the same layout. With ``train/`` and ``val/`` only,
``val/`` is the held-out test split (as ImageNet's validation set is used) and the validation
split is carved from ``train/``; with ``train/``, ``val/`` and ``test/``, each is used as named.
Images (jpg, jpeg, png, bmp, webp) are decoded with Pillow and resized to the requested
input shape as they are read (default 3 x 64 x 64).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from genesynth.data.source import Source, check_every_class, check_not_empty
from genesynth.errors import DataError

EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
DEFAULT_SHAPE = (3, 64, 64)


def _class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images_in(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in EXTENSIONS and not path.name.startswith("."):
            yield path


def _decode(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    channels, height, width = shape
    try:
        with Image.open(path) as image:
            converted = image.convert("RGB" if channels == 3 else "L")
            resized = converted.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(resized, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: cannot read image: {exc}") from exc
    return pixels[None, :, :] if channels == 1 else pixels.transpose(2, 0, 1)


def _read_split(
    root: Path, names: tuple[str, ...], shape: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    files: list[Path] = []
    labels: list[int] = []
    for folder in _class_dirs(root):
        if folder.name not in names:
            raise DataError(f"{folder}: class '{folder.name}' is not among the train classes")
        found = list(_images_in(folder))
        files += found
        labels += [names.index(folder.name)] * len(found)
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        images = list(pool.map(lambda f: _decode(f, shape), files))
    x = np.stack(images) if images else np.zeros((0, *shape), dtype=np.uint8)
    return x, np.asarray(labels, dtype=np.int64)


class FolderReader:
    """One sub-folder of images per class; resized to ``input_shape`` while decoding."""

    format = "image-folder"
    cached = True  # decoding is slow: the decoded arrays are kept (genesynth.data.cache)
    expects = "an image folder with one sub-folder of jpg/png/bmp/webp images per class"

    def detect(self, path: Path) -> bool:
        if not path.is_dir():
            return False
        root = path / "train" if (path / "train").is_dir() else path
        return any(next(_images_in(d), None) is not None for d in _class_dirs(root))

    def read(self, path: Path, input_shape: tuple[int, int, int] | None) -> Source:
        shape = input_shape or DEFAULT_SHAPE
        if shape[0] not in (1, 3):
            raise DataError(
                f"{path}: images can be read with 1 or 3 channels, but the input shape is {shape}"
            )
        split = (path / "train").is_dir()
        train = path / "train" if split else path
        names = tuple(d.name for d in _class_dirs(train))
        x, y = _read_split(train, names, shape)
        check_not_empty(len(y), str(train))
        check_every_class(y, names, str(train))
        held = {n: path / n for n in ("val", "test") if split and (path / n).is_dir()}
        x_val = y_val = x_test = y_test = None
        if "test" in held:
            x_test, y_test = _read_split(held["test"], names, shape)
            if "val" in held:
                x_val, y_val = _read_split(held["val"], names, shape)
        elif "val" in held:
            x_test, y_test = _read_split(held["val"], names, shape)
        return Source(
            f"folder:{path}", self.format, x, y, names, x_test, y_test, x_val=x_val, y_val=y_val
        )
