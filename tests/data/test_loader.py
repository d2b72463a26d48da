"""Mini-batches of a split: a bad batch size is a user's mistake, told as a DataError."""

from __future__ import annotations

import pytest

from genesynth.data import batches, load_data
from genesynth.errors import DataError


@pytest.mark.parametrize("size", [0, -3, True, 2.5])
def test_a_batch_size_that_is_not_a_positive_integer_is_a_data_error(size: object) -> None:
    split = load_data("digits").val
    with pytest.raises(DataError) as error:
        next(batches(split, size))  # type: ignore[arg-type]
    assert str(error.value) == f"`batch_size` must be positive, but got batch_size={size!r}"


def test_batches_cover_the_split_once_in_order() -> None:
    split = load_data("digits").val
    got = list(batches(split, 64))
    assert [len(y) for _, y in got] == [64] * (len(split.y) // 64) + (
        [len(split.y) % 64] if len(split.y) % 64 else [])
    assert [int(v) for _, y in got for v in y] == [int(v) for v in split.y]
