"""Training settings and budgets: what the CLI's help and a run's description need, without
torch (``genesynth --help`` and the commands that train nothing do not load it).

:class:`TrainConfig` trains a candidate (the proxy and the family, :mod:`.train`);
:class:`SupernetConfig` trains the supernet and scores on it (:mod:`.supernet`). The budgets
are the defaults per dataset. The augmentations' and precisions' names are checked here and
implemented in :mod:`.augment` and :mod:`.step` (a test keeps the names equal).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from genesynth.errors import GenesynthError, RunError
from genesynth.limits import MAX_BATCH, MAX_EPOCHS, MAX_THREADS, MAX_VALUE, show_number

AUGMENT_KINDS = ("none", "standard")  # genesynth.evaluate.augment.AUGMENTS implements them
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # genesynth.evaluate.step runs them
DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")  # genesynth.evaluate.device resolves them
DEVICE_HELP = "auto (CUDA, else MPS, else CPU; default), cpu, cuda, cuda:N or mps"
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """How a candidate is trained. Defaults suit small datasets on a CPU."""

    epochs: int = 6
    batch_size: int = 64
    lr: float = 1e-2
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    schedule: str = "cosine"
    label_smoothing: float = 0.0
    zero_init_residual: bool = True  # each residual body starts as zero: deep stacks train fast
    threads: int = 1  # torch intra-op threads while training; more only pays for large maps
    seed: int = 0
    augment: str = "none"  # "none" or "standard" (random crop pad 4 + horizontal flip)
    precision: str = "auto"  # "auto" (bf16/fp16 on a GPU, fp32 on a CPU), "fp32", "bf16", "fp16"
    eval_batch_size: int = 1024

    def __post_init__(self) -> None:
        _positive(self, "epochs", self.epochs, MAX_EPOCHS)
        _positive(self, "batch_size", self.batch_size, MAX_BATCH)
        _positive(self, "lr", self.lr, MAX_VALUE)
        _positive(self, "threads", self.threads, MAX_THREADS)
        _positive(self, "eval_batch_size", self.eval_batch_size, MAX_BATCH)
        for name, value, allowed in (("augment", self.augment, AUGMENT_KINDS),
                                     ("precision", self.precision, PRECISIONS)):
            if value not in allowed:
                raise GenesynthError(
                    f"`{name}` must be one of {allowed}, but got {name}={value!r}")
        if self.optimizer not in OPTIMIZERS:
            raise GenesynthError(
                f"`optimizer` must be one of {OPTIMIZERS}, but got optimizer={self.optimizer!r}"
            )
        if self.schedule not in SCHEDULES:
            raise GenesynthError(
                f"`schedule` must be one of {SCHEDULES}, but got schedule={self.schedule!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _positive(config: TrainConfig, name: str, value: float, most: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise GenesynthError(f"`{name}` must be positive, but got {name}={value!r}")
    if not value <= most:  # inf too
        raise GenesynthError(f"`{name}` must be at most {most:,}, but got "
                             f"{name}={show_number(value)}")


#: Proxy (search) and full (family) budgets per dataset name.
BUDGETS: dict[str, tuple[TrainConfig, TrainConfig]] = {
    "digits": (TrainConfig(epochs=4, batch_size=32), TrainConfig(epochs=15, batch_size=32)),
}
BUDGETS["image-folder"] = BUDGETS["cifar10"] = (TrainConfig(epochs=2, batch_size=128, lr=4e-3),
                                                  TrainConfig(epochs=30, batch_size=128, lr=4e-3))
DEFAULT_BUDGET = (TrainConfig(epochs=5, batch_size=128), TrainConfig(epochs=30, batch_size=128))


@dataclass(frozen=True)
class SupernetConfig:
    """How the supernet is trained and how candidates are scored on it."""

    epochs: int = 8
    batch_size: int = 64
    lr: float = 1e-2  # AdamW, warm-up and cosine; default_config takes the data's proxy lr
    weight_decay: float = 1e-4
    random: int = 2  # random samples per step besides the largest and the smallest
    calibration_batches: int = 4  # training batches that re-estimate batch norm per candidate
    score_images: int | None = None  # validation images a score reads (None: all of them)
    plan_samples: int = 256  # random samples that find the sizes every slot must hold
    full_maps: float = 0.1  # share of the steps first trained at full map sizes (maps.py)
    separate_steps: bool = True  # an AdamW step per network of a step (False: one on the sum)
    threads: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "calibration_batches", "plan_samples", "threads"):
            _check(name, getattr(self, name), integer=True, low=1)
        _check("random", self.random, integer=True, low=0)
        if self.score_images is not None:
            _check("score_images", self.score_images, integer=True, low=1)
        _check("lr", self.lr, integer=False, low=0, strict=True)
        _check("weight_decay", self.weight_decay, integer=False, low=0)
        _check("full_maps", self.full_maps, integer=False, low=0)
        if self.full_maps > 1:
            raise GenesynthError("`full_maps` must be a number from 0 to 1, but got "
                                 f"full_maps={self.full_maps!r}")
        if not isinstance(self.separate_steps, bool):
            raise GenesynthError("`separate_steps` must be true or false, but got "
                                 f"separate_steps={self.separate_steps!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check(name: str, value: object, integer: bool, low: float, strict: bool = False) -> None:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    ok = numeric and (isinstance(value, int) or not integer)
    if not ok or (value <= low if strict else value < low):  # type: ignore[operator]
        what = "an integer" if integer else "a number"
        sign = ">" if strict else ">="
        raise GenesynthError(f"`{name}` must be {what} {sign} {low:g}, but got {name}={value!r}")


#: Budgets of the supernet per dataset name (the proxy budget's role in a training search).
SUPERNET_BUDGETS: dict[str, SupernetConfig] = {
    "digits": SupernetConfig(epochs=12, batch_size=32),
}
DEFAULT_SUPERNET = SupernetConfig(epochs=10, batch_size=128, score_images=2500)


def family_budget(described: Mapping[str, Any]) -> TrainConfig | None:
    """The budget a run's family was retrained with, read from its evaluator's description
    (``full``, what every kind that trains its family records); None for a kind that trains
    none (a table lookup keeps the searched measurement). RunError when it is damaged."""
    full = described.get("full")
    if full is None:
        return None
    if not isinstance(full, Mapping):
        raise RunError(f"the run's family budget must be a mapping of settings, but got "
                       f"full={full!r}")
    try:
        return TrainConfig(**full)
    except TypeError as exc:
        raise RunError(f"the run's training settings are damaged ({exc})") from None
