from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genesynth.errors import DataError
from genesynth.evaluate.augment import check_augment, crop_flip, default_augment


def _reference(x: torch.Tensor, seed: int, pad: int = 4) -> torch.Tensor:
    """One image at a time, with the same random draws as crop_flip."""
    g = torch.Generator(device=x.device).manual_seed(seed)
    n, _, h, w = x.shape
    dy = torch.randint(0, 2 * pad + 1, (n, 1), generator=g, device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (n, 1), generator=g, device=x.device)
    flip = torch.rand((n, 1), generator=g, device=x.device) < 0.5
    out = []
    for i in range(n):
        image = F.pad(x[i], (pad, pad, pad, pad))
        top, left = int(dy[i, 0]), int(dx[i, 0])
        image = image[:, top : top + h, left : left + w]
        out.append(image.flip(2) if flip[i, 0] else image)
    return torch.stack(out)


def test_crop_and_flip_equal_the_per_image_recipe() -> None:
    x = torch.randn(16, 3, 10, 12)
    got = crop_flip(x, torch.Generator().manual_seed(5))
    assert got.shape == x.shape
    assert torch.equal(got, _reference(x, 5))


def test_every_shift_and_both_flips_occur_and_pixels_come_from_the_image() -> None:
    x = torch.arange(1, 1 + 32 * 32, dtype=torch.float32).reshape(1, 1, 32, 32).repeat(512, 1,
                                                                                        1, 1)
    got = crop_flip(x, torch.Generator().manual_seed(0))
    inside = got[got != 0]
    assert set(inside.unique().tolist()) <= set(x[0].flatten().tolist())
    centre = got[:, 0, 16, 16]  # moved by at most 4 pixels each way, mirrored or not
    assert len(centre.unique()) > 40
    unchanged = (got == x).flatten(1).all(1)
    assert 0 < int(unchanged.sum()) < 512


def test_channels_last_batches_stay_channels_last() -> None:
    x = torch.randn(4, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    got = crop_flip(x, torch.Generator().manual_seed(1))
    assert got.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(got, _reference(x.contiguous(), 1))


@pytest.mark.parametrize(("shape", "expected"), [
    ((3, 32, 32), "standard"), ((3, 64, 48), "standard"), ((3, 28, 28), "none"),
    ((1, 32, 32), "none"), ((1, 8, 8), "none"),
])
def test_default_is_on_for_rgb_of_32x32_and_larger(shape: tuple[int, int, int],
                                                    expected: str) -> None:
    assert default_augment(shape) == expected


def test_what_cannot_be_applied_is_refused_clearly() -> None:
    check_augment("standard", (1, 16, 16))
    check_augment("none", (1, 8, 8))
    with pytest.raises(DataError) as caught:
        check_augment("standard", (1, 8, 8))
    assert str(caught.value) == (
        "`augment` 'standard' (random crop with 4-pixel padding and horizontal flip) needs "
        "images of at least 16x16, but the data is 1x8x8; use --augment none"
    )
    with pytest.raises(DataError) as caught:
        check_augment("autoaugment", (3, 32, 32))
    assert str(caught.value) == (
        "`augment` must be one of none, standard, but got augment='autoaugment'")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_the_gpu_it_equals_the_per_image_recipe() -> None:
    x = torch.randn(8, 3, 32, 32, device="cuda")
    got = crop_flip(x, torch.Generator(device="cuda").manual_seed(2))
    assert got.device.type == "cuda"
    assert torch.equal(got, _reference(x, 2))


def test_the_settings_name_exactly_the_implemented_augmentations() -> None:
    from genesynth.evaluate.augment import AUGMENTS
    from genesynth.evaluate.budgets import AUGMENT_KINDS

    assert tuple(AUGMENTS) == AUGMENT_KINDS
