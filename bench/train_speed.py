"""Training images per second: genesynth's step next to a plain hand-written PyTorch loop.

The plain loop is what a user writes first (same network, batch, device, tensors already in
memory, no DataLoader): ``torch.optim.AdamW(model.parameters(), lr)`` with its defaults,
``zero_grad`` / ``backward`` / ``step`` and ``running_loss += loss.item()`` every step.
genesynth's step is :class:`genesynth.evaluate.step.Stepper` as the evaluator runs it. The
variants between the two show where the difference comes from (``--variants``):

    plain           the loop above
    plain+foreach   the same with AdamW(foreach=True)
    plain+fused     the same with AdamW(fused=True)
    genesynth-nchw  the evaluator's step (fused AdamW, no host read) in channels-first layout
    genesynth       the evaluator's step as it runs: channels_last (on CPU and CUDA),
                    augmentation off (the plain loop has none)
    genesynth+aug   the same with the standard augmentation (crop pad 4 + flip) on

Every variant keeps its own copy of the same initial network; they take turns for
``--rounds`` rounds of ``--steps`` steps, so noise from a shared CPU hits all of them. The
figure is the median images/s over rounds; ratios are against ``plain``.

    nice -n 10 python bench/train_speed.py --rounds 5 --steps 20        # CPU, ~5 min
    python bench/train_speed.py --device cuda --batch 256 --steps 100   # GPU

``--epoch DATA`` instead times one whole epoch (train + validation) of one attonet16 sample
(``--sample 80``: 15.8 M MACs at 3x32x32) on real data, the plain loop (with the per-step
``isfinite``/``float(loss)`` checks genesynth made before) then genesynth's ``train``, and the
data loading, cold (decoding) and warm (the decoded-data cache):

    nice -n 10 python bench/train_speed.py --epoch ../shared/cifar10       # ~10 min on CPU
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genesynth import load_prototype  # noqa: E402
from genesynth.evaluate.device import device_name, resolve_device  # noqa: E402
from genesynth.evaluate.step import Stepper, lr_factor, make_optimizer, plan  # noqa: E402
from genesynth.net.arch import Architecture  # noqa: E402
from genesynth.net.builder import build  # noqa: E402
from genesynth.net.costs import cost  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHAPE = (3, 32, 32)
VARIANTS = ("plain", "plain+foreach", "plain+fused", "genesynth-nchw", "genesynth",
            "genesynth+aug")
Step = Callable[[torch.Tensor, torch.Tensor], None]


def networks(samples: int) -> dict[str, Architecture]:
    """The smallest, the median and the upper-quartile (by MACs) of ``samples`` attonet16
    samples at 3x32x32 (the largest ones, ~250 M MACs, take seconds per step on one CPU
    thread), and MobileNetV2 at 3x32x32."""
    proto = load_prototype(ROOT / "prototypes/attonet16.gs", input_shape=SHAPE, classes=10)
    drawn = sorted((proto.sample(seed) for seed in range(samples)), key=lambda a: cost(a).macs)
    mobilenet = load_prototype(ROOT / "prototypes/mobilenetv2.gs", input_shape=SHAPE,
                               classes=10).sample(0)
    return {"attonet16-small": drawn[0], "attonet16-median": drawn[len(drawn) // 2],
            "attonet16-large": drawn[3 * len(drawn) // 4], "mobilenetv2": mobilenet}


def plain_step(model: nn.Module, optimizer: torch.optim.Optimizer) -> Step:
    running = [0.0]

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        loss = F.cross_entropy(model.forward_logits(x), y)  # type: ignore[operator]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running[0] += loss.item()

    return step


def make_step(variant: str, model: nn.Module, device: torch.device, lr: float) -> Step:
    model.to(device).train()
    if variant.startswith("plain"):
        kernels = {"plain": {}, "plain+foreach": {"foreach": True},
                   "plain+fused": {"fused": True}}[variant]
        return plain_step(model, torch.optim.AdamW(model.parameters(), lr=lr, **kernels))
    step_plan = plan(device, "auto", channels_last=False if variant.endswith("nchw") else None)
    if step_plan.channels_last:
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = make_optimizer(model, "adamw", lr, 1e-4, step_plan)
    augment = "standard" if variant == "genesynth+aug" else "none"
    stepper = Stepper(model, optimizer, lr_factor("constant", 1), step_plan, augment)

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        stepper.step(x, y)

    return step


@dataclass
class Timing:
    rates: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def measure(arch: Architecture, variants: list[str], args: argparse.Namespace,
            device: torch.device) -> dict[str, Timing]:
    torch.manual_seed(0)
    initial = build(arch)
    n = args.batch * 8
    x = torch.randn(n, *SHAPE, device=device)
    y = torch.randint(0, 10, (n,), device=device)
    steps = {v: make_step(v, copy.deepcopy(initial), device, args.lr) for v in variants}
    order = torch.randperm(n, device=device)
    for step in steps.values():  # warm-up: allocator, kernels, cudnn autotuning
        for i in range(args.warmup):
            index = order[(i * args.batch) % n:][: args.batch]
            step(x[index], y[index])
    timings = {v: Timing([]) for v in variants}
    for _ in range(args.rounds):
        for variant, step in steps.items():
            _sync(device)
            start = time.perf_counter()
            for i in range(args.steps):
                index = order[(i * args.batch) % n:][: args.batch]
                step(x[index], y[index])
            _sync(device)
            timings[variant].rates.append(args.steps * args.batch / (time.perf_counter() - start))
    return timings


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def epoch(args: argparse.Namespace, device: torch.device) -> None:
    """One epoch of the plain loop and of genesynth's train on ``args.epoch``."""
    from genesynth.data import load_data
    from genesynth.evaluate.train import Tensors, TrainConfig, accuracy, budgets_of, train

    start = time.perf_counter()
    data = load_data(args.epoch, input_shape=SHAPE, limit=args.limit)
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    load_data(args.epoch, input_shape=SHAPE, limit=args.limit)
    print(f"data: {len(data.train):,} train / {len(data.val):,} val images; loading took "
          f"{loaded:.1f} s, then {time.perf_counter() - start:.1f} s (decoded-data cache)")
    proto = load_prototype(ROOT / "prototypes/attonet16.gs", input_shape=SHAPE, classes=10)
    arch = proto.sample(args.sample)
    print(f"attonet16 sample {args.sample}: {cost(arch).macs / 1e6:.1f} M MACs, "
          f"{cost(arch).params / 1e6:.3f} M params, batch {args.batch}")
    train_data, val_data = Tensors.of(data.train), Tensors.of(data.val)
    proxy, _ = budgets_of(data)
    torch.manual_seed(0)
    model = build(arch)
    start = time.perf_counter()
    _plain_epoch(model, train_data, args.batch, proxy.lr)
    top1 = accuracy(model, val_data, batch_size=512)
    plain = time.perf_counter() - start
    print(f"  plain loop      {plain / 60:5.2f} min  ({len(data.train) / plain:,.0f} images/s,"
          f" val top-1 {top1:.1f} %)")
    config = TrainConfig(epochs=1, batch_size=args.batch, lr=proxy.lr, augment=proxy.augment,
                         threads=args.threads)
    torch.manual_seed(0)
    start = time.perf_counter()
    curve, _ = train(build(arch), train_data, val_data, config, device=device)
    ours = time.perf_counter() - start
    print(f"  genesynth       {ours / 60:5.2f} min  ({len(data.train) / ours:,.0f} images/s, "
          f"val top-1 {curve[-1]:.1f} %, augment {config.augment})  x{plain / ours:.2f}")


def _plain_epoch(model: nn.Module, data: object, batch: int, lr: float) -> None:
    """genesynth's loop before this change: default AdamW, two host reads per step."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    x, y = data.x, data.y  # type: ignore[attr-defined]
    order = torch.randperm(len(y))
    total = 0.0
    model.train()
    for start in range(0, len(order), batch):
        index = order[start : start + batch]
        loss = F.cross_entropy(model.forward_logits(x[index]), y[index])  # type: ignore[operator]
        if not torch.isfinite(loss):
            raise RuntimeError("diverged")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(index)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, mps, auto")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20, help="steps per variant per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (CPU)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--samples", type=int, default=25, help="attonet16 samples to pick from")
    parser.add_argument("--networks", default="attonet16-small,attonet16-large,mobilenetv2")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--epoch", metavar="DATA", help="time one epoch on DATA instead")
    parser.add_argument("--sample", type=int, default=80, help="--epoch: attonet16 sample seed")
    parser.add_argument("--limit", type=int, help="--epoch: train images (stratified subset)")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    if args.epoch:
        epoch(args, device)
        return 0
    variants = args.variants.split(",")
    nets = networks(args.samples)
    print(f"device {device_name(device)}, torch {torch.__version__}, {args.threads} thread(s), "
          f"batch {args.batch}, {args.rounds} rounds x {args.steps} steps, input 3x32x32")
    for name in args.networks.split(","):
        arch = nets[name]
        c = cost(arch)
        timings = measure(arch, variants, args, device)
        base = timings["plain"].median if "plain" in timings else None
        print(f"\n{name}: {c.params / 1e6:.3f} M params, {c.macs / 1e6:.1f} M MACs")
        for variant, timing in timings.items():
            ratio = f"  x{timing.median / base:.2f}" if base else ""
            spread = f"[{min(timing.rates):,.0f} .. {max(timing.rates):,.0f}]"
            print(f"  {variant:<14} {timing.median:>9,.0f} images/s {spread}{ratio}")
        if device.type == "cuda":
            print(f"  GPU utilisation: {_utilisation(device)}")
    return 0


def _utilisation(device: torch.device) -> str:
    try:
        return f"{torch.cuda.utilization(device)} %"
    except Exception as exc:  # pynvml missing or no NVML: say so rather than guess
        return f"n/a ({type(exc).__name__})"


if __name__ == "__main__":
    raise SystemExit(main())
