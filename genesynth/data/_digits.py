"""The embedded default dataset: scikit-learn's copy of UCI optdigits (8x8, 10 classes)."""

from __future__ import annotations

import gzip
from importlib import resources
from pathlib import Path

import numpy as np

from genesynth.data.source import Source
from genesynth.errors import DataError

DIGITS_FILE = "digits.csv.gz"


class DigitsReader:
    """1797 grey 8x8 images of handwritten digits, pixel values 0..16; no test split of its own."""

    format = "digits"
    expects = "'digits' (the embedded 8x8 handwritten digits)"

    def detect(self, path: Path) -> bool:
        return str(path) == "digits"

    def read(self, path: Path, input_shape: tuple[int, int, int] | None) -> Source:
        resource = resources.files("genesynth.data").joinpath(DIGITS_FILE)
        try:
            with resource.open("rb") as raw, gzip.open(raw, "rt") as text:
                table = np.loadtxt(text, delimiter=",", dtype=np.int64)
        except (OSError, ValueError) as exc:  # a broken installation, not a user mistake
            raise DataError(f"the embedded {DIGITS_FILE} cannot be read: {exc}") from exc
        x = table[:, :64].astype(np.uint8).reshape(-1, 1, 8, 8)
        y = table[:, 64]
        return Source("digits", self.format, x, y, tuple(str(i) for i in range(10)))
