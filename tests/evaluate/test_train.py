from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from genesynth.errors import DataError, DeviceError, GenesynthError
from genesynth.evaluate.base import CandidateFailed, EvaluatorContext, Pruned
from genesynth.evaluate.train import (
    BUDGETS,
    TrainConfig,
    TrainingEvaluator,
    budgets_for,
    budgets_of,
)
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec


@dataclass(frozen=True)
class _Split:
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class _Data:
    """Two separable classes: bright or dark 4x4 images."""

    name: str = "toy"

    def _split(self, n: int, seed: int) -> _Split:
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 2, n)
        x = (y[:, None, None, None] * 2.0 - 1.0) + 0.3 * rng.standard_normal((n, 1, 4, 4))
        return _Split(x.astype(np.float32), y.astype(np.int64))

    @property
    def train(self) -> _Split:
        return self._split(128, 0)

    @property
    def val(self) -> _Split:
        return self._split(64, 1)

    @property
    def test(self) -> _Split:
        return self._split(64, 2)


ARCH = Architecture(
    "toy", (1, 4, 4), 2,
    (LayerSpec.of("conv", out=4, kernel=3, stride=1, groups=1, padding=1, bias=False),
     LayerSpec.of("bn"), LayerSpec.of("relu")),
    (ModuleSpec("blk", "residual", ((
        LayerSpec.of("conv", out=4, kernel=3, stride=1, groups=1, padding=1, bias=False),
        LayerSpec.of("bn"),
    ),), "identity", (LayerSpec.of("relu"),)),),
    (LayerSpec.of("gap"), LayerSpec.of("linear", out=2, bias=True), LayerSpec.of("softmax")),
)


def test_learns_a_separable_task_and_reports_every_epoch() -> None:
    reports: list[tuple[int, float, float]] = []
    evaluator = TrainingEvaluator(_Data(), TrainConfig(epochs=3, batch_size=16, lr=3e-2))
    m = evaluator.evaluate(ARCH, lambda *r: reports.append(r))
    assert [r[0] for r in reports] == [1, 2, 3]
    assert m.curve == tuple(r[2] for r in reports)
    assert m.accuracy == 100.0


def test_same_seed_same_result() -> None:
    config = TrainConfig(epochs=2, batch_size=32, lr=1e-2, seed=3)
    first = TrainingEvaluator(_Data(), config).evaluate(ARCH, lambda *r: None)
    again = TrainingEvaluator(_Data(), config).evaluate(ARCH, lambda *r: None)
    assert first.curve == again.curve and first.loss == again.loss


def test_diverging_loss_fails_the_candidate_with_the_reason() -> None:
    config = TrainConfig(epochs=3, batch_size=32, lr=1e12, optimizer="sgd", schedule="constant")
    with pytest.raises(CandidateFailed, match=r"loss became (nan|inf) in epoch \d"):
        TrainingEvaluator(_Data(), config).evaluate(ARCH, lambda *r: None)


def test_a_pruner_stops_training_through_report() -> None:
    def report(epoch: int, loss: float, accuracy: float) -> None:
        raise Pruned(epoch, accuracy)

    with pytest.raises(Pruned, match="pruned after epoch 1"):
        TrainingEvaluator(_Data(), TrainConfig(epochs=3)).evaluate(ARCH, report)


def test_retrain_measures_the_test_split_and_returns_weights() -> None:
    full = TrainConfig(epochs=3, batch_size=16, lr=3e-2)
    evaluator = TrainingEvaluator(_Data(), TrainConfig(epochs=1), full)
    m, state = evaluator.retrain(ARCH, lambda *r: None)
    assert m.accuracy == 100.0 and len(m.curve) == 3
    assert "stem.0.weight" in state


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "`epochs` must be positive, but got epochs=0"),
        (
            {"optimizer": "adam"},
            "`optimizer` must be one of ('adamw', 'sgd'), but got optimizer='adam'",
        ),
    ],
)
def test_config_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(GenesynthError) as error:
        TrainConfig(**kwargs)  # type: ignore[arg-type]
    assert str(error.value) == message


def test_weights_come_back_on_the_cpu_in_the_standard_layout() -> None:
    evaluator = TrainingEvaluator(_Data(), TrainConfig(epochs=1), TrainConfig(epochs=1),
                                  device="cpu")
    _, state = evaluator.retrain(ARCH, lambda *r: None)
    assert all(t.device.type == "cpu" and t.is_contiguous() for t in state.values())
    assert evaluator.device_info(EvaluatorContext(None)) == {"device": "cpu", "compile": False}


def test_augmentation_is_refused_on_images_it_cannot_apply_to() -> None:
    with pytest.raises(DataError) as caught:
        TrainingEvaluator(_Data(), TrainConfig(epochs=1, augment="standard"))
    assert str(caught.value).endswith("but the data is 1x4x4; use --augment none")


def test_an_unknown_device_is_refused_before_training() -> None:
    with pytest.raises(DeviceError, match="but got device='tpu'"):
        TrainingEvaluator(_Data(), TrainConfig(epochs=1), device="tpu")


def test_budgets_turn_augmentation_on_for_rgb_images_of_32x32() -> None:
    proxy, full = budgets_for("folder:/data/cifar10", (3, 32, 32), "image-folder")
    assert (proxy.augment, full.augment) == ("standard", "standard")
    assert budgets_for("digits", (1, 8, 8))[0] == BUDGETS["digits"][0]
    assert budgets_for("cifar10", (3, 32, 32))[1].epochs == BUDGETS["cifar10"][1].epochs


def test_a_datasets_budgets_come_from_its_format_when_its_name_is_a_path(tmp_path: Path) -> None:
    """An image folder is named ``folder:<path>``: only its format finds CIFAR-10's budgets
    (the fidelity bench's proxy once trained an image folder at the default lr 1e-2)."""
    from genesynth.data import load_data
    from tests.data.helpers import write_folder

    data = load_data(str(write_folder(tmp_path / "pets")))
    assert data.name.startswith("folder:") and data.format == "image-folder"
    assert budgets_of(data) == budgets_for("", data.input_shape, "image-folder")
    assert budgets_of(data)[0].lr == BUDGETS["image-folder"][0].lr == 4e-3
    digits = load_data("digits")
    assert budgets_of(digits) == budgets_for("digits", (1, 8, 8))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"augment": "flip"}, "`augment` must be one of ('none', 'standard'), but got augment='flip'"),
    ({"precision": "int8"},
     "`precision` must be one of ('auto', 'fp32', 'bf16', 'fp16'), but got precision='int8'"),
])
def test_augment_and_precision_are_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(GenesynthError) as error:  # a user's mistake, never a ValueError traceback
        TrainConfig(**kwargs)  # type: ignore[arg-type]
    assert str(error.value) == message


def test_the_compiled_forward_gives_the_same_logits() -> None:
    pytest.importorskip("torch._dynamo")
    from genesynth.evaluate.train import compiled
    from genesynth.net.builder import build

    torch.manual_seed(0)
    model = build(ARCH).eval()
    x = torch.randn(4, 1, 4, 4)
    try:
        got = compiled(model)(x)
    except Exception as exc:  # no C++ compiler for inductor on this machine
        pytest.skip(f"torch.compile cannot run here: {type(exc).__name__}")
    assert torch.allclose(got, model.forward_logits(x), atol=1e-5)  # type: ignore[operator]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_on_the_gpu_learns_and_returns_cpu_weights() -> None:
    evaluator = TrainingEvaluator(_Data(), TrainConfig(epochs=3, batch_size=16, lr=3e-2),
                                  TrainConfig(epochs=3, batch_size=16, lr=3e-2), device="cuda")
    assert evaluator.train_data.x.device.type == "cuda"
    m, state = evaluator.retrain(ARCH, lambda *r: None)
    assert m.accuracy == 100.0
    assert all(t.device.type == "cpu" for t in state.values())
