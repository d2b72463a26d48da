"""``SupernetEvaluator``: candidates scored in seconds on one weight-sharing supernet.

Call order (the evaluator contract): ``prepare(context)`` builds the supernet from the run's
prototype and trains it once, or loads it from ``supernet.safetensors`` in the run directory
(workers of a shared study wait on a file lock while the first one trains it);
``evaluate(arch)`` inherits the candidate's weights, re-estimates batch norm on a few training
batches and measures validation top-1; ``retrain(arch)`` trains a family member stand-alone
with the full budget (from scratch by default; ``finetune=True`` starts from its inherited
weights) and measures it on the test split. The supernet never judges the family.

Registered as ``supernet`` (``--evaluator supernet``, ``--supernet-epochs``,
``--supernet-batch``); a description may leave settings out (the dataset's defaults, the run's
seed and family budget complete it: :meth:`SupernetEvaluator.with_run_settings`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesynth import fmt
from genesynth.data.dataset import DatasetLike
from genesynth.errors import GenesynthError, RunError
from genesynth.evaluate.base import CandidateFailed, Evaluator, EvaluatorContext, Report
from genesynth.evaluate.budgets import DEFAULT_SUPERNET, SUPERNET_BUDGETS, SupernetConfig
from genesynth.evaluate.device import device_name, resolve_device
from genesynth.evaluate.supernet import train as supernet_train
from genesynth.evaluate.supernet.maps import FullMaps
from genesynth.evaluate.supernet.plan import SupernetError, plan, prototype_hash
from genesynth.evaluate.supernet.space import BoundedSpace, SpaceBounds
from genesynth.evaluate.supernet.train import (
    SandwichTrainer,
    World,
    built,
    checkpoint_path,
    recalibrate,
    spread,
    threads,
    train_supernet,
)
from genesynth.evaluate.supernet.weights import Supernet, read_header
from genesynth.evaluate.train import Tensors, TrainConfig, accuracy, budgets_of, train
from genesynth.events import SupernetProgress
from genesynth.net.arch import Architecture
from genesynth.net.builder import build
from genesynth.net.costs import cost
from genesynth.net.measurement import Measurement

if TYPE_CHECKING:
    from genesynth.space import Prototype

DataLoader = Callable[[], Any]  # returns the run's Dataset (the evaluator contract's loader)
#: Candidates a run trains alone (proxy budget) to check the scores; the family counts too.
DEFAULT_CHECKS = 4

class SupernetEvaluator(Evaluator):
    """Scores candidates on a supernet trained once from the run's prototype.

    ``dataset`` is a :class:`genesynth.data.Dataset`; ``config`` trains the supernet and
    scores candidates (defaults per dataset); ``full`` is the family's stand-alone budget;
    ``finetune`` starts each family member from its inherited weights instead of from scratch.
    ``device`` is where the supernet trains, candidates are scored and the family retrains
    (``auto``: a GPU when there is one), unless the run's context names another.
    ``checks`` candidates are trained alone with ``proxy`` (the dataset's proxy budget by
    default) after the family to check how well the scores ranked them (see
    ``genesynth.record.fidelity``; 0: no check); ``start_from`` is a checkpoint trained
    before (``--supernet-from``).
    """

    prunable = False
    stand_alone = False  # a score ranks; the accuracy bound is the family's (after training)

    def __init__(self, dataset: DatasetLike, config: SupernetConfig | None = None,
                 full: TrainConfig | None = None, finetune: bool = False,
                 device: str | Any = "auto", checks: int = DEFAULT_CHECKS,
                 proxy: TrainConfig | None = None, start_from: str | None = None) -> None:
        if isinstance(checks, bool) or not isinstance(checks, int) or checks < 0:
            raise RunError(f"`checks` must be an integer >= 0, but got checks={checks!r}")
        self.dataset = dataset
        self.device = resolve_device(device)
        self.config = config or default_config(dataset)
        self.full = full or default_full(dataset, self.config.seed)
        self.proxy = proxy or default_proxy(dataset, self.config.seed)
        self.finetune = bool(finetune)
        self.checks = checks
        self.start_from = start_from  # a checkpoint trained before (e.g. by torchrun)
        self.train_data = Tensors.of(dataset.train)
        self.val_data = Tensors.of(dataset.val)
        images = self.config.score_images  # spread over the classes: a split may be sorted
        self.score_data = (self.val_data if images is None else
                           spread(self.val_data, images, self.config.seed))
        self.supernet: Supernet | None = None
        self.scored: dict[str, Architecture] = {}  # key -> the sampled arch (with origins)
        self.training = False  # the supernet's training is under way in this process
        self.saved: tuple[int, int, float] | None = None  # (epochs, steps, when) last saved
        self.steps = 0  # steps of one epoch

    @property
    def epochs(self) -> int:
        return 1

    # -- once per run or worker -------------------------------------------------------------

    def device_info(self, context: EvaluatorContext) -> dict[str, Any]:
        """Where this process trains the supernet, scores and retrains: ``{"device": ...}``
        (on the CPU with the supernet's threads: ``cpu (2 threads)``)."""
        device = self._device(context)
        threads = f" ({fmt.plural(self.config.threads, 'thread')})" if device.type == "cpu" else ""
        return {"device": device_name(device) + threads}

    def _device(self, context: EvaluatorContext) -> Any:
        return self.device if context.device is None else resolve_device(context.device)

    def prepare(self, context: EvaluatorContext) -> None:
        """``context`` has the run's ``prototype``, ``constraint`` (its MACs and params bounds
        are the space the supernet is trained for), ``run_dir`` (or None), ``emit`` and the
        ``device`` everything runs on from here (the supernet, scoring and retraining)."""
        self.device = self._device(context)
        self.train_data, self.val_data = (self.train_data.to(self.device),
                                          self.val_data.to(self.device))
        self.score_data = self.score_data.to(self.device)
        proto = context.prototype
        run_dir = None if context.run_dir is None else Path(context.run_dir)
        wanted = SpaceBounds.of(getattr(context, "constraint", None))
        if run_dir is not None and self.start_from:
            _copy_checkpoint(Path(self.start_from), checkpoint_path(run_dir))
        bounds = reusable_bounds(run_dir, wanted)
        space = self._space(proto, bounds)
        samples = space.plan_samples(self.config.plan_samples, self.config.seed)
        try:
            layout = plan(samples)
        except SupernetError as error:  # what cannot share, where in the prototype (and file)
            raise SupernetError(f"{getattr(proto, 'path', '') or proto.name}: {error}") from None
        self.supernet = Supernet(layout, self.config.seed)
        self.supernet.to(self.device)
        trainer = SandwichTrainer(self.supernet, space, samples[0], samples[1], self.config,
                                  device=self.device, **self._full_maps(space))
        header = {"prototype": prototype_hash(proto), "dataset": _fingerprint(self.dataset),
                  "plan": layout.digest(), "training": self._identity()}
        kept = {"bounds": bounds.to_dict()}  # recorded; checked by reusable_bounds
        wider = wanted.describe() if bounds != wanted else ""
        began = time.perf_counter()
        loaded = False
        self.training = True
        self.steps = -(-len(self.train_data.y) // self.config.batch_size)
        if run_dir is None:
            train_supernet(trainer, self.train_data, self.val_data, 0, lambda *_: None,
                           context.emit)
        else:
            loaded = self._train_or_load(trainer, header, kept, run_dir, context.emit)
        self.training = False
        context.emit(SupernetProgress(self.config.epochs, self.config.epochs,
                                      seconds=time.perf_counter() - began, ready=True,
                                      loaded=loaded, time=time.time(),
                                      bounds=bounds.describe(), wider=wider))

    def _full_maps(self, space: BoundedSpace) -> dict[str, Any]:
        """The first phase's settings (see .maps): the size-changing choices, found around
        the sandwich's two ends, and the smallest network at full maps (when inside the
        bounds)."""
        if self.config.full_maps == 0:
            return {}
        ends = space.extreme_choices()
        full_maps = FullMaps.of(space.prototype, ends)
        return {"full_maps": full_maps,
                "small_full": space.with_choices(ends[1], full_maps.options)}

    def _space(self, proto: Prototype, bounds: SpaceBounds) -> BoundedSpace:
        """The prototype within ``bounds``: 4 x ``plan_samples`` networks of its pool size
        the slots and are the sandwich's random samples (see .space)."""
        try:
            return BoundedSpace(proto, bounds, 4 * self.config.plan_samples, self.config.seed)
        except SupernetError as error:
            raise SupernetError(f"{getattr(proto, 'path', '') or proto.name}: {error}") from None

    def kept(self) -> str:
        """What an interrupt keeps of the supernet's training (said at Ctrl-C)."""
        if not self.training:
            return ""
        every = f"{supernet_train.CHECKPOINT_EVERY / 60:.0f} min"
        if self.saved is None:
            return (f"the supernet's training had no checkpoint yet (one every {every} and "
                    "after each epoch): it starts again from its first step")
        epochs, step, when = self.saved
        total = self.config.epochs
        where = (f"step {step:,} of {self.steps:,} in epoch {epochs + 1} of {total}" if step
                 else f"the end of epoch {epochs} of {total}")
        ago = fmt.duration(max(0.0, time.time() - when))
        return (f"the supernet's training is kept up to {where} (saved {ago} ago; a "
                f"checkpoint every {every} and after each epoch)")

    def _train_or_load(self, trainer: SandwichTrainer, header: dict[str, Any],
                       kept: dict[str, Any], run_dir: Path, emit: Any) -> bool:
        """Train the epochs the checkpoint lacks; True when it had them all (loaded). In a
        torch.distributed run every process trains (no file lock: they step together) and
        the first one (rank 0) writes the checkpoint."""
        path = checkpoint_path(run_dir)
        supernet = trainer.supernet
        world = World.current()
        with _exclusive(run_dir / "supernet.lock") if world.size == 1 else nullcontext():
            start, first = 0, 0
            if path.exists():
                found, extra = supernet.load(path, header)
                start, first = int(found.get("epoch", 0)), int(found.get("step", 0))
                trainer.restore_optimizer_state(extra)
            if start >= self.config.epochs:
                return True

            def save(epoch: int, step: int) -> None:
                if world.rank != 0:
                    return
                mid = {"step": step} if step else {}
                supernet.save(path, {**header, **kept, "epoch": epoch, **mid},
                              trainer.optimizer_state())
                self.saved = (epoch, step, time.time())

            train_supernet(trainer, self.train_data, self.val_data, start, save, emit, first)
        return False

    def _identity(self) -> dict[str, Any]:
        """Settings that make a checkpoint another supernet (the epoch budget may grow)."""
        settings = self.config.to_dict()
        for name in ("epochs", "threads", "calibration_batches", "score_images"):
            settings.pop(name)
        return settings

    # -- per candidate ----------------------------------------------------------------------

    def evaluate(self, arch: Architecture, report: Report) -> Measurement:
        start = time.perf_counter()
        model = self._inherited(arch)
        recalibrate(model, self.train_data, self.config)
        with threads(self.config.threads):
            top1 = accuracy(model, self.score_data)
        self.scored[arch.key] = arch
        report(1, None, top1)  # one step, as a table's lookup: no training, so no loss
        c = cost(arch)
        return Measurement(top1, c.params, c.macs, curve=(top1,),
                           seconds=time.perf_counter() - start)

    def _inherited(self, arch: Architecture) -> Any:
        if self.supernet is None:
            raise RunError("SupernetEvaluator.prepare(context) must run before evaluate")
        model = built(arch, self.device)
        try:
            self.supernet.inherit(arch, model)
        except SupernetError as error:
            raise CandidateFailed(str(error)) from None
        return model

    def retrain(self, arch: Architecture, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, Mapping[str, Any] | None]:
        """The member alone with the full budget; accuracy on the test split."""
        import torch

        start = time.perf_counter()
        torch.manual_seed(self.full.seed)
        sampled = self.scored.get(arch.key) if self.finetune else None
        if sampled is not None:  # the supernet's weights as the start (see docs/supernet.md)
            model = self._inherited(sampled)
            config = replace(self.full, zero_init_residual=False)
        else:
            model, config = build(arch), self.full
        curve, loss = train(model, self.train_data, self.val_data, config, report, self.device)
        test = accuracy(model, Tensors.of(self.dataset.test))
        c = cost(arch)
        m = Measurement(test, c.params, c.macs, None, tuple(curve), loss,
                        time.perf_counter() - start)
        state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        return m, state  # on the CPU: they load on any machine

    def train_alone(self, arch: Architecture, report: Report) -> Measurement:
        """The candidate alone, from scratch, with the proxy budget: validation top-1 (the
        run's fidelity check; see ``genesynth.record.fidelity``)."""
        import torch

        start = time.perf_counter()
        torch.manual_seed(self.proxy.seed)
        curve, loss = train(build(arch), self.train_data, self.val_data, self.proxy, report,
                            self.device)
        c = cost(arch)
        return Measurement(curve[-1], c.params, c.macs, None, tuple(curve), loss,
                           time.perf_counter() - start)

    def test_accuracy(self, arch: Architecture, state: Mapping[str, Any]) -> float | None:
        """Top-1 on the test split with the weights ``state`` (None when they do not fit)."""
        from genesynth.evaluate.train import weights_test_accuracy

        return weights_test_accuracy(arch, state, Tensors.of(self.dataset.test))

    # -- identity ---------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        return {"kind": "supernet", "supernet": self.config.to_dict(),
                "full": self.full.to_dict(), "finetune": self.finetune,
                "checks": self.checks, "proxy": self.proxy.to_dict(),
                **({"from": self.start_from} if self.start_from else {})}

    @classmethod
    def with_run_settings(cls, described: Mapping[str, Any], seed: int, full: Any,
                          proxy: Any = None) -> Mapping[str, Any]:
        """The run's seed trains the supernet and its full budget (``full_epochs``,
        ``augment``, ...) the family, unless ``described`` sets them."""
        own, given = described.get("supernet", {}), described.get("full", {})
        if not isinstance(own, Mapping) or not isinstance(given, Mapping):
            return described  # from_description names the mistake
        return {**described, "supernet": {"seed": seed, **own},
                "full": {**full.to_dict(), **given}}

    @classmethod
    def from_description(cls, described: Mapping[str, Any], data: DataLoader
                         ) -> SupernetEvaluator:
        """The evaluator ``describe()`` described. A setting left out of ``supernet`` or
        ``full`` takes the dataset's default, so ``{"kind": "supernet", "supernet":
        {"epochs": 2}}`` is the default budget with 2 epochs (what the CLI passes)."""
        unknown = sorted(set(described) - {"kind", "supernet", "full", "finetune", "checks",
                                           "proxy", "from"})
        if unknown:
            raise RunError(f"the supernet evaluator has no setting {unknown[0]!r}; its "
                           "description holds supernet, full, finetune, checks, proxy and from")
        dataset = data()
        config = _settings(default_config(dataset), described.get("supernet"), "supernet")
        full = _settings(default_full(dataset, config.seed), described.get("full"), "full")
        proxy = _settings(default_proxy(dataset, config.seed), described.get("proxy"), "proxy")
        start = described.get("from")
        return cls(dataset, config, full, bool(described.get("finetune", False)),
                   checks=described.get("checks", DEFAULT_CHECKS), proxy=proxy,
                   start_from=str(start) if start else None)


def reusable_bounds(run_dir: Path | None, wanted: SpaceBounds) -> SpaceBounds:
    """The bounds to train (or load) the supernet for: ``wanted`` (the run's constraint), or
    those of the checkpoint in ``run_dir`` when they are wider (every network the run may
    pick is inside them: it is reused). A checkpoint trained for narrower bounds is refused:
    it never saw, and holds no weights for, networks this run may pick."""
    path = None if run_dir is None else checkpoint_path(run_dir)
    if path is None or not path.exists():
        return wanted
    found = SpaceBounds.from_dict(read_header(path).get("bounds"))
    if found.covers(wanted):
        return found
    raise SupernetError(
        f"{path}: this supernet checkpoint was trained for narrower bounds "
        f"({found.describe()}) than this run's ({wanted.describe()}); a supernet serves "
        "bounds inside its own, never wider ones: delete it or use another run directory")


def _copy_checkpoint(source: Path, target: Path) -> None:
    """Start the run from ``source`` (a supernet trained before, e.g. by torchrun), unless the
    run directory has its own checkpoint; its header is checked as the run's own is."""
    if target.exists():
        return
    if not source.is_file():
        raise SupernetError(f"{source}: no supernet checkpoint there (--supernet-from)")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    shutil.copyfile(source, part)
    part.replace(target)


def default_config(dataset: DatasetLike) -> SupernetConfig:
    """The supernet budget for ``dataset`` (:data:`SUPERNET_BUDGETS` by name) at the learning
    rate of the data's proxy budget (CIFAR-10: 4e-3; at 1e-2 the largest network's training
    loss after 3 epochs was 2.0 instead of 1.6: docs/supernet.md)."""
    proxy = budgets_of(dataset)[0]
    return replace(SUPERNET_BUDGETS.get(dataset.name, DEFAULT_SUPERNET), lr=proxy.lr)


def default_proxy(dataset: DatasetLike, seed: int) -> TrainConfig:
    """The fidelity check's stand-alone budget: the training evaluator's proxy budget."""
    return replace(budgets_of(dataset)[0], seed=seed)


def default_full(dataset: DatasetLike, seed: int) -> TrainConfig:
    """The family's stand-alone budget: the training evaluator's full budget for the data."""
    return replace(budgets_of(dataset)[1], seed=seed)


def _settings(default: Any, given: Any, name: str) -> Any:
    """``default`` with the settings in ``given`` (a mapping, or None for none)."""
    if given is None:
        return default
    if not isinstance(given, Mapping):
        raise RunError(f"the supernet evaluator's `{name}` must be a mapping of settings, but "
                       f"got {name}={given!r}")
    try:
        return replace(default, **given)
    except TypeError as exc:
        raise RunError(f"the run's supernet settings are damaged ({exc})") from None


def _fingerprint(dataset: DatasetLike) -> str:
    if getattr(dataset, "fingerprint", ""):
        return f"{dataset.fingerprint}/{'x'.join(map(str, dataset.input_shape))}"
    text = json.dumps(dataset.describe(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (one process trains; the others wait, then load)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError as error:
        raise GenesynthError(f"cannot open {path}: {error.strerror}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
