"""Training the supernet once: the sandwich rule with in-place distillation, checkpointed.

Each step trains, on one batch, the largest network of the space on the labels, then the
smallest and ``random`` random samples (the space being the prototype within the
constraint's static bounds, :class:`.space.BoundedSpace`) on the largest one's predictions (in-place
distillation, as in BigNAS / Once-for-All), each network taking an AdamW step of its own on
the shared tensors (``separate_steps``; one step on the gradients of all of them summed learns
more slowly: docs/supernet.md, issue 26's sixth round). Each epoch's order and samples come from
``(seed, epoch)``, and the weights and momentum are saved after every epoch and, inside an
epoch, every ``CHECKPOINT_EVERY`` seconds (an epoch of a CIFAR-10-sized supernet on a CPU
takes hours), so a run killed mid-training resumes at the last step saved and ends with the
same weights as one never stopped.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from genesynth.data.prepare import stratified_order
from genesynth.errors import GenesynthError
from genesynth.evaluate.budgets import SupernetConfig
from genesynth.evaluate.step import logits_of, lr_factor
from genesynth.evaluate.supernet.maps import FullMaps
from genesynth.evaluate.supernet.space import BoundedSpace
from genesynth.evaluate.supernet.weights import Supernet, logits
from genesynth.evaluate.train import Tensors, accuracy
from genesynth.events import SupernetProgress
from genesynth.net.arch import Architecture
from genesynth.net.builder import build
from genesynth.net.costs import cost

Emit = Callable[[Any], None]


@dataclass
class SandwichTrainer:
    """Trains ``supernet`` on ``data`` with the sandwich rule; see the module docstring."""

    supernet: Supernet
    space: BoundedSpace  # the prototype within the constraint's bounds: see .space
    largest: Architecture
    smallest: Architecture
    config: SupernetConfig
    on_step: Callable[[int, int], None] | None = None  # (steps done, steps) in the epoch
    device: torch.device = torch.device("cpu")  # where the supernet's tensors and data are
    parts: int = 1  # shards of each batch (at least the torch.distributed world's size)
    full_maps: FullMaps = FullMaps({})  # the size-changing choices: see .maps
    small_full: Architecture | None = None  # the smallest at full maps (None: ``smallest``)

    def __post_init__(self) -> None:
        self.optimizer = torch.optim.AdamW(self._groups(), lr=self.config.lr)

    def _groups(self) -> list[dict[str, Any]]:
        params = self.supernet.tensors
        decay = [p for p in params.values() if p.ndim > 1]
        rest = [p for p in params.values() if p.ndim <= 1]
        return [{"params": decay, "weight_decay": self.config.weight_decay},
                {"params": rest, "weight_decay": 0.0}]

    # -- optimizer state in the checkpoint --------------------------------------------------

    def optimizer_state(self) -> dict[str, torch.Tensor]:
        """The optimizer's per-tensor state (moments, step), named ``<state>|<tensor>``."""
        found = {}
        for name, param in self.supernet.tensors.items():
            for what, value in self.optimizer.state.get(param, {}).items():
                if isinstance(value, torch.Tensor):
                    found[f"{what}|{name}"] = value
        return found

    def restore_optimizer_state(self, extra: dict[str, torch.Tensor]) -> None:
        for key, value in extra.items():
            what, name = key.split("|", 1)
            param = self.supernet.tensors.get(name)
            if param is not None:
                self.optimizer.state[param][what] = value.to(param.device, copy=True)

    # -- training ---------------------------------------------------------------------------

    def train_epoch(self, epoch: int, data: Tensors, first: int = 0) -> float:
        """One epoch (1-based) from step ``first`` (the ones before were trained and saved:
        their random samples are drawn again, not trained); returns the mean loss of the
        largest network over the steps trained here.

        Each step's batch is split into ``parts`` shards (:func:`shards`); this process
        learns on its own (all of them when alone, shard ``rank`` of a torch.distributed
        run), each shard's loss scaled by ``1 / parts``, and the gradients are summed over the
        processes (:func:`reduce_gradients`) before the step: the same weights whether one
        process learns every shard or each process one.
        """
        config = self.config
        world = World.current()
        parts = max(self.parts, world.size)
        steps = math.ceil(len(data.y) / config.batch_size)
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        rng = random.Random(config.seed * 1_000_003 + epoch)
        order = torch.randperm(len(data.y), generator=generator).to(data.y.device)
        big = built(self.largest, self.device)
        smalls = {full: built(self._smallest(full), self.device) for full in (False, True)}
        factor = lr_factor("cosine", config.epochs * steps)  # the proxy's warm-up and cosine
        total, seen = 0.0, 0
        for step in range(first):
            full = self.at_full_maps((epoch - 1) * steps + step, steps)
            for _ in self._random(rng, config.random, full):
                pass  # the samples of a step trained before: the same draws as uninterrupted
        with threads(config.threads):
            for step in range(first, steps):
                self._set_lr(factor((epoch - 1) * steps + step))
                index = order[step * config.batch_size : (step + 1) * config.batch_size]
                full = self.at_full_maps((epoch - 1) * steps + step, steps)
                archs = list(self._random(rng, config.random, full))  # the same everywhere
                nets = [(big, self.largest), (smalls[full], self._smallest(full)),
                        *((built(arch, self.device), arch) for arch in archs)]
                batch = [(data.x[part], data.y[part]) for part in shards(index, parts, world)]
                total += self._sandwich(nets, batch, 1.0 / parts, world)
                seen += len(index)
                if self.on_step is not None:
                    self.on_step(step + 1, steps)
        return total / max(1, seen)

    def at_full_maps(self, step: int, steps: int) -> bool:
        """Whether the training's ``step`` (0-based, over all epochs of ``steps`` each) is in
        the first phase, where every network runs at full map sizes (see .maps)."""
        return bool(self.full_maps) and step < self.config.full_maps * self.config.epochs * steps

    def _smallest(self, full: bool) -> Architecture:
        return self.small_full if full and self.small_full is not None else self.smallest

    def _sandwich(self, nets: list[tuple[nn.Module, Architecture]],
                  batch: list[tuple[torch.Tensor, torch.Tensor]], scale: float,
                  world: World) -> float:
        """The sandwich rule on one batch (this process's shards of it): the first network,
        the largest, learns the labels, the others its predictions; each network's gradients
        are summed over the shards and the processes, and each network takes an AdamW step of
        its own (``separate_steps``; else one step on all their gradients). Returns the
        largest's summed loss."""
        soft: list[torch.Tensor] = []
        loss = 0.0
        for index, (model, arch) in enumerate(nets):
            for part, (x, y) in enumerate(batch):
                out = self._learn(model, arch, x, y, soft[part] if index else None, scale)
                if index == 0:
                    soft.append(out.detach().softmax(1))
                    loss += float(F.cross_entropy(out.detach(), y)) * len(y)
            if self.config.separate_steps or index == len(nets) - 1:
                reduce_gradients(self.supernet.parameters(), world)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
        return loss

    def _learn(self, model: nn.Module, arch: Architecture, x: torch.Tensor, y: torch.Tensor,
               soft: torch.Tensor | None, scale: float = 1.0) -> torch.Tensor:
        model.train()
        out = logits(model, self.supernet.take(arch), x)
        if soft is None:
            loss = F.cross_entropy(out, y)
        else:
            loss = F.kl_div(out.log_softmax(1), soft, reduction="batchmean")
        if not torch.isfinite(loss):
            raise GenesynthError(f"the supernet's loss became {float(loss)}; lower its lr")
        (loss * scale if scale != 1.0 else loss).backward()
        return out

    def _random(self, rng: random.Random, count: int, full: bool = False
                ) -> Iterator[Architecture]:
        """``count`` random networks of the trained space (inside the constraint's bounds),
        at full map sizes when ``full``."""
        made = 0
        fixed = self.full_maps.options if full else None
        for _ in range(count * 20):
            if made == count:
                return
            arch = self.space.draw(rng, fixed)
            if arch is not None:
                made += 1
                yield arch

    def _set_lr(self, scale: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr * scale


def built(arch: Architecture, device: torch.device) -> nn.Module:
    """``build(arch)`` on ``device``. build() makes CPU modules, so on the CPU nothing moves
    (``Module.to`` would still import much of torch.distributed on its first call: seconds)."""
    model = build(arch)
    return model if device.type == "cpu" else model.to(device)


#: Seconds between two checkpoints inside an epoch (each epoch's end saves too).
CHECKPOINT_EVERY = 600.0


# -- several processes: torch.distributed ---------------------------------------------------


@dataclass(frozen=True)
class World:
    """This process in a torch.distributed run (launched by ``torchrun``): its ``rank`` of
    ``size`` processes; ``World()`` when alone."""

    rank: int = 0
    size: int = 1

    @classmethod
    def current(cls) -> World:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return cls(torch.distributed.get_rank(), torch.distributed.get_world_size())
        return cls()


def shards(index: torch.Tensor, parts: int, world: World) -> list[torch.Tensor]:
    """This process's shards of a batch split into ``parts`` (every ``parts``-th image from
    shard r): shards ``rank, rank + size, ...``; none empty."""
    mine = range(world.rank, parts, world.size)
    return [part for r in mine if len(part := index[r::parts])]


def reduce_gradients(params: list[nn.Parameter], world: World) -> None:
    """Sum the shared tensors' gradients over the processes, so that each takes the same
    optimizer step; nothing when alone. A tensor no process used keeps no gradient (the
    optimizer skips it, as it does alone); one some process used gets zeros elsewhere."""
    if world.size == 1:
        return
    used = torch.tensor([float(p.grad is not None) for p in params])
    torch.distributed.all_reduce(used)
    for param, anyone in zip(params, used.tolist(), strict=True):
        if not anyone:
            continue
        if param.grad is None:
            param.grad = torch.zeros_like(param)
        torch.distributed.all_reduce(param.grad)


def train_supernet(trainer: SandwichTrainer, data: Tensors, val: Tensors, start: int,
                   save: Callable[[int, int], None], emit: Emit, first: int = 0,
                   clock: Callable[[], float] = time.perf_counter) -> None:
    """Epochs ``start + 1 .. epochs`` (the first from step ``first``), emitting progress with
    an ETA; ``save(epoch, step)`` after each epoch (step 0) and every ``CHECKPOINT_EVERY``
    seconds inside one (epochs finished, steps of the next done)."""
    config = trainer.config
    estimate = estimate_seconds(trainer, data, start, first, clock)
    began = clock()
    emit(SupernetProgress(start, config.epochs, time=time.time(), resumed=start > 0 or first > 0,
                          step=first, eta=estimate))
    for epoch in range(start + 1, config.epochs + 1):
        trainer.on_step = _saving(step_progress(emit, config.epochs, epoch, start, began),
                                  save, epoch, clock)
        loss = trainer.train_epoch(epoch, data, first if epoch == start + 1 else 0)
        save(epoch, 0)
        elapsed = clock() - began
        eta = elapsed / (epoch - start) * (config.epochs - epoch)
        top1 = score_largest(trainer, data, val)
        emit(SupernetProgress(epoch, config.epochs, loss, top1, elapsed, eta,
                              time=time.time()))


#: Images of the timed passes behind the estimate of the supernet's training time.
PROBE_IMAGES = 8


def estimate_seconds(trainer: SandwichTrainer, data: Tensors, start: int = 0, first: int = 0,
                     clock: Callable[[], float] = time.perf_counter) -> float:
    """The seconds the training from epoch ``start`` (step ``first``) will take, estimated
    before its first step: one timed forward and backward pass of stand-alone copies of the
    largest and the smallest network on ``PROBE_IMAGES`` training images (after an untimed
    one), scaled to the batch size and to the networks a step trains (the largest, the
    smallest and ``random`` others, each costing what lies between those two in proportion
    to the space's mean MACs), times the steps left. The copies are built under a forked
    random state: the training is the same as without it. An estimate: the per-epoch
    scoring is left out, and small batches run less efficiently than whole ones."""
    config = trainer.config
    count = max(2, min(PROBE_IMAGES, len(data.y), config.batch_size))  # batch norm needs 2
    x, y = data.x[:count], data.y[:count]
    cuda = [trainer.device.index or 0] if trainer.device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda), threads(config.threads):
        big, small = (_pass_seconds(arch, x, y, trainer.device, clock)
                      for arch in (trainer.largest, trainer.smallest))
    other = small + (big - small) * _typical_share(trainer)
    per_step = (big + small + config.random * other) * config.batch_size / len(y)
    steps = math.ceil(len(data.y) / config.batch_size)
    return per_step * max(0, (config.epochs - start) * steps - first)


def _typical_share(trainer: SandwichTrainer) -> float:
    """Where the space's mean MACs lie between the smallest network's (0) and the largest's
    (1): the bounded pool's networks, or 16 draws of its own (the training's are untouched)."""
    low, high = (cost(a).macs for a in (trainer.smallest, trainer.largest))
    if high <= low:
        return 1.0
    if trainer.space.entries:
        macs = [e.macs for e in trainer.space.entries]
    else:
        rng = random.Random(trainer.config.seed + 7919)
        macs = [cost(a).macs for _ in range(16) if (a := trainer.space.draw(rng)) is not None]
    mean = sum(macs) / len(macs) if macs else (low + high) / 2
    return min(1.0, max(0.0, (mean - low) / (high - low)))


def _pass_seconds(arch: Architecture, x: torch.Tensor, y: torch.Tensor, device: torch.device,
                  clock: Callable[[], float]) -> float:
    """Seconds of one forward and backward pass of ``arch`` (fresh weights) on ``x``."""
    model = build(arch).to(device).train()
    forward = logits_of(model)
    seconds = 0.0
    for size in (2, len(y)):  # the first pass untimed: it allocates
        began = clock()
        F.cross_entropy(forward(x[:size]), y[:size]).backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = clock() - began
    return seconds


def _saving(progress: Callable[[int, int], None], save: Callable[[int, int], None],
            epoch: int, clock: Callable[[], float]) -> Callable[[int, int], None]:
    """``progress``, and a checkpoint of the steps done when ``CHECKPOINT_EVERY`` seconds
    passed since the last one."""
    last = [clock()]

    def on_step(step: int, steps: int) -> None:
        progress(step, steps)
        now = clock()
        if step < steps and now - last[0] >= CHECKPOINT_EVERY:
            save(epoch - 1, step)
            last[0] = now

    return on_step


#: Seconds between two step events of the supernet's training (the dashboard's progress).
STEP_EVERY = 1.0


def step_progress(emit: Emit, epochs: int, epoch: int, start: int, began: float,
                  every: float | None = None, clock: Callable[[], float] = time.perf_counter
                  ) -> Callable[[int, int], None]:
    """Emits the steps done in ``epoch`` at most every ``every`` seconds, with the ETA of the
    training at the pace of the steps done in this process (the epoch's end emits its own)."""
    last = [clock()]
    every = STEP_EVERY if every is None else every

    def progress(step: int, steps: int) -> None:
        now = clock()
        if step >= steps or now - last[0] < every:
            return
        last[0] = now
        done = (epoch - 1 - start) * steps + step
        left = (epochs - epoch + 1) * steps - step
        emit(SupernetProgress(epoch - 1, epochs, seconds=now - began,
                              eta=(now - began) / done * left, step=step, steps=steps,
                              time=time.time()))

    return progress


def score_largest(trainer: SandwichTrainer, data: Tensors, val: Tensors) -> float:
    model = built(trainer.largest, trainer.device)
    trainer.supernet.inherit(trainer.largest, model)
    recalibrate(model, data, trainer.config)
    return accuracy(model, val)


def recalibrate(model: nn.Module, data: Tensors, config: SupernetConfig) -> None:
    """Re-estimate every batch norm's statistics on ``calibration_batches`` batches of training
    images spread over the classes (:func:`spread`; the same images for every candidate)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the calibration batches
    model.train()
    size = config.batch_size
    images = spread(data, config.calibration_batches * size, config.seed).x
    with torch.no_grad(), threads(config.threads):
        for start in range(0, len(images), size):
            model.forward_logits(images[start : start + size])  # type: ignore[operator]
    model.eval()


def spread(data: Tensors, count: int, seed: int) -> Tensors:
    """``count`` examples of ``data`` (all when fewer), every class in proportion, in an order
    whose every batch is balanced too; the same for the same ``seed``.

    A split read from an image folder is sorted by class: its first 512 CIFAR-10 training
    images are all airplanes. Batch norm re-estimated on them gave every candidate the
    statistics of one class (docs/supernet.md, *Why the largest network scored half its
    accuracy*).
    """
    order = stratified_order(data.y.cpu().numpy(), np.random.default_rng(seed))[:count]
    index = torch.from_numpy(order).to(data.y.device)
    return Tensors(data.x[index], data.y[index])


@contextmanager
def threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def checkpoint_path(run_dir: Path) -> Path:
    return run_dir / "supernet.safetensors"
