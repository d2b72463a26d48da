from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from genesynth.data import load_data
from genesynth.data._folder import FolderReader
from genesynth.data.cache import CACHE_ENV, cache_dir
from genesynth.data.source import Source
from tests.data.helpers import write_folder, write_images


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Counts the image folder decodes that really happen."""
    seen: list[Path] = []
    original = FolderReader.read

    def read(self: FolderReader, path: Path, shape: tuple[int, int, int] | None) -> Source:
        seen.append(path)
        return original(self, path, shape)

    monkeypatch.setattr(FolderReader, "read", read)
    return seen


def _same(a: object, b: object) -> None:
    for split in ("train", "val", "test"):
        assert np.array_equal(getattr(a, split).x, getattr(b, split).x)
        assert np.array_equal(getattr(a, split).y, getattr(b, split).y)
    assert a.describe() == b.describe()  # type: ignore[attr-defined]


def test_a_folder_is_decoded_once_then_read_back_equal(
    tmp_path: Path, cache: Path, decodes: list[Path]
) -> None:
    root = write_folder(tmp_path / "pets")
    first = load_data(str(root), input_shape=(3, 8, 8))
    again = load_data(str(root), input_shape=(3, 8, 8))
    assert len(decodes) == 1
    _same(first, again)
    entries = list(cache.iterdir())
    assert len(entries) == 1 and entries[0].name.startswith("image-folder-")
    with np.load(entries[0], allow_pickle=False) as stored:  # no pickled object inside
        assert stored["x"].dtype == np.uint8 and stored["x"].shape == (24, 3, 8, 8)


def test_another_shape_or_a_changed_file_makes_a_new_entry(
    tmp_path: Path, cache: Path, decodes: list[Path]
) -> None:
    root = write_folder(tmp_path / "pets")
    load_data(str(root), input_shape=(3, 8, 8))
    load_data(str(root), input_shape=(3, 16, 16))
    write_images(root / "cat", 9)  # one more image, and the others rewritten
    changed = load_data(str(root), input_shape=(3, 8, 8))
    assert len(decodes) == 3 and len(list(cache.iterdir())) == 3
    assert len(changed.train) + len(changed.val) + len(changed.test) == 25


@pytest.mark.parametrize("damage", ["truncated", "tampered"])
def test_a_damaged_entry_is_ignored_with_a_warning(
    tmp_path: Path, cache: Path, decodes: list[Path], caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    root = write_folder(tmp_path / "pets")
    first = load_data(str(root), input_shape=(3, 8, 8))
    entry = next(cache.iterdir())
    if damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:300])
    else:
        with np.load(entry, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        arrays["x"] = 255 - arrays["x"]  # plausible pixels, wrong ones
        with entry.open("wb") as stream:
            np.savez(stream, **arrays)
    with caplog.at_level(logging.WARNING, logger="genesynth.data.cache"):
        again = load_data(str(root), input_shape=(3, 8, 8))
    assert len(decodes) == 2
    _same(first, again)
    assert f"ignored a damaged decoded-data cache entry {entry} (" in caplog.text
    assert load_data(str(root), input_shape=(3, 8, 8)) and len(decodes) == 2  # rewritten


def test_off_turns_the_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 decodes: list[Path]) -> None:
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_dir() is None
    root = write_folder(tmp_path / "pets")
    load_data(str(root), input_shape=(3, 8, 8))
    load_data(str(root), input_shape=(3, 8, 8))
    assert len(decodes) == 2


def test_the_default_place_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "genesynth" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "genesynth" / "data"


def test_an_unwritable_cache_only_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    root = write_folder(tmp_path / "pets")
    with caplog.at_level(logging.WARNING, logger="genesynth.data.cache"):
        data = load_data(str(root), input_shape=(3, 8, 8))
    assert len(data.train) > 0
    assert f"could not write the decoded-data cache in {blocker / 'cache'}" in caplog.text


def test_symlink_loops_in_an_image_folder(tmp_path: Path, cache: Path) -> None:
    """Issue 25: a symlink loop in an image folder was an OSError traceback in the cache key;
    the loops are not followed and the images are read."""
    root = write_folder(tmp_path / "pets")
    (root / "cat" / "self.png").symlink_to(root / "cat" / "self.png")  # ELOOP
    (root / "cat" / "up").symlink_to(root)  # a directory loop
    (root / "dog" / "gone.png").symlink_to(tmp_path / "nothing.png")  # dangling
    data = load_data(str(root), input_shape=(3, 8, 8))
    assert data.train.x.shape[1:] == (3, 8, 8) and data.classes == 3
    assert load_data(str(root), input_shape=(3, 8, 8)).describe() == data.describe()
