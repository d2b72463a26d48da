"""Every registered data reader through the same checks, parametrised over ``READERS``.

Each reader has a case: a small valid dataset in its format and a way to damage one of its
files. The shared checks: detection picks this reader; the decoded source is (N, C, H, W)
numbers with int64 labels covering every class; ``load_data`` gives float32 splits at the
requested shape with labels in range, the same twice over; a damaged file is a DataError
that names it. A reader registered without a case fails :func:`test_every_reader_has_a_case`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from genesynth.data import READERS, data_format, load_data
from genesynth.data import _digits as digits_module
from genesynth.errors import DataError
from tests.data.helpers import write_cifar, write_folder, write_idx


@dataclass(frozen=True)
class Case:
    """``write(root)`` makes a valid dataset and returns its spec; ``damage(root, patch)``
    breaks one of its files and returns that file's path."""

    write: Callable[[Path], str]
    damage: Callable[[Path, pytest.MonkeyPatch], Path]
    classes: int
    input_shape: tuple[int, int, int] | None = None


def _digits_damage(root: Path, patch: pytest.MonkeyPatch) -> Path:
    broken = root / "digits.csv.gz"
    broken.write_bytes(b"\x1f\x8b not gzip")
    patch.setattr(digits_module, "DIGITS_FILE", str(broken))
    return broken


def _write_npz(root: Path) -> str:
    rng = np.random.default_rng(0)
    path = root / "d.npz"
    np.savez(path, x=rng.random((30, 2, 5, 5)).astype(np.float32), y=np.arange(30) % 3)
    return str(path)


def _truncate(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[:-7])  # the last 7 bytes lost
    return path


def _unreadable_image(root: Path) -> Path:
    broken = root / "dog" / "broken.png"
    broken.write_bytes(b"\x89PNG not an image")
    return broken


CASES: dict[str, Case] = {
    "digits": Case(lambda root: "digits", _digits_damage, classes=10),
    "npz": Case(_write_npz, lambda root, _: _truncate(root / "d.npz"), classes=3),
    "idx": Case(lambda root: str(write_idx(root)),
                lambda root, _: _truncate(root / "train-images-idx3-ubyte"), classes=4),
    "cifar10-binary": Case(
        lambda root: str(write_cifar(root)),
        lambda root, _: _truncate(root / "cifar-10-batches-bin" / "data_batch_2.bin"),
        classes=10, input_shape=(3, 16, 16),
    ),
    "image-folder": Case(lambda root: str(write_folder(root)),
                         lambda root, _: _unreadable_image(root), classes=3,
                         input_shape=(3, 8, 8)),
}
"""One case per reader format; the format of a reader not listed fails below."""

FORMATS = [reader.format for reader in READERS]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_reader_has_a_case(fmt: str) -> None:
    assert fmt in CASES, f"no shared-check case for the data reader '{fmt}': add one to CASES"


@pytest.mark.parametrize("fmt", FORMATS)
def test_reader_decodes_a_checked_source(fmt: str, tmp_path: Path) -> None:
    case = CASES[fmt]
    spec = case.write(tmp_path)
    assert data_format(spec) == fmt
    reader = next(r for r in READERS if r.format == fmt)
    source = reader.read(Path(spec), case.input_shape)
    assert source.format == fmt and source.x.ndim == 4 and len(source.x) == len(source.y)
    assert np.issubdtype(source.x.dtype, np.number) and source.y.dtype == np.int64
    assert len(source.class_names) == case.classes
    assert sorted(set(source.y.tolist())) == list(range(case.classes))


@pytest.mark.parametrize("fmt", FORMATS)
def test_reader_loads_normalised_splits(fmt: str, tmp_path: Path) -> None:
    case = CASES[fmt]
    spec = case.write(tmp_path)
    data = load_data(spec, case.input_shape, seed=3)
    shape = case.input_shape or data.input_shape
    assert data.classes == len(data.class_names) == case.classes
    for split in (data.train, data.val, data.test):
        assert split.x.dtype == np.float32 and split.x.shape[1:] == shape
        assert split.y.dtype == np.int64 and len(split.x) == len(split.y) > 0
        assert split.y.min() >= 0 and split.y.max() < case.classes
    assert load_data(spec, case.input_shape, seed=3).fingerprint == data.fingerprint


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_damaged_file_is_an_error_naming_it(fmt: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[fmt]
    spec = case.write(tmp_path)
    broken = case.damage(tmp_path, monkeypatch)
    with pytest.raises(DataError) as info:
        load_data(spec, case.input_shape)
    assert str(broken) in str(info.value)
