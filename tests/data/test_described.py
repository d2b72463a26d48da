"""A run's data loaded again from its description: the same arrays, whatever the format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genesynth.data import load_data
from genesynth.data.described import load_described
from genesynth.errors import RunError
from tests.data.helpers import write_folder


def _same(a: object, b: object) -> None:
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, split).x, getattr(b, split).x)
        np.testing.assert_array_equal(getattr(a, split).y, getattr(b, split).y)


@pytest.mark.parametrize("shape", [(3, 8, 8), (1, 6, 6)])
def test_image_folder_at_a_requested_shape(tmp_path: Path, shape: tuple[int, int, int],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # an image folder decodes at the requested shape, so its native shape is that shape:
    # loading it again must ask for it, not fall back to the folder's default 3x64x64
    monkeypatch.setenv("GENESYNTH_DATA_CACHE", "off")
    root = str(write_folder(tmp_path, per_class=10))
    data = load_data(root, shape, seed=3, val_fraction=0.2, limit=12)
    again = load_described(data.describe(), 3)
    assert again.input_shape == shape and again.describe() == data.describe()
    _same(again, data)


def test_digits_at_its_own_and_an_adapted_shape() -> None:
    for shape in (None, (3, 16, 16)):
        data = load_data("digits", shape, seed=1, limit=200)
        again = load_described(data.describe(), 1)
        assert again.describe() == data.describe()
        _same(again, data)


def test_other_data_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENESYNTH_DATA_CACHE", "off")
    root = write_folder(tmp_path, per_class=10)
    stored = load_data(str(root), (3, 8, 8)).describe()
    write_folder(tmp_path, classes=("cat",), per_class=11)  # one more cat image
    with pytest.raises(RunError, match=r"^the data at .* is not the run's data: fingerprint: "):
        load_described(stored, 0)
