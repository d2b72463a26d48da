"""Benchmark: which choices of a prototype share weights well (why sub-networks score low).

    python bench/supernet_sharing.py --data digits --steps 80

For each family of choices (the part of a choice's name after its module: ``3.kernel``,
``3.groups``, ``0.out``, ``8`` (the optional pwconv), ``out``, ``shortcut``, ``stride``), a
fresh supernet is trained for ``--steps`` steps, each step on one sample that differs from one
fixed base sample only in that family's choices (drawn anew each step), with the supernet's
own recipe (its initialisation with zeroed residual ends; AdamW, cosine, lr and weight
decay of ``SupernetConfig``). ``none`` trains the base
sample alone and ``all`` draws every choice (uniform single-path training). Reported: the mean
training loss of the last quarter of the steps and the validation top-1 of ``--probes`` such
samples after batch norm recalibration. A family whose samples share weights well learns
nearly as fast as ``none``; one that does not stays near chance. For the base sample it also
reports top-1 with 4 and 40 calibration batches and with batch statistics, so the batch norm
recalibration can be judged apart from the weights.

As the supernet does (``SupernetConfig.full_maps``, docs/supernet.md), the first
``--full-maps`` share of the steps draws the family's choices that change a map's size (the
strides) at their full-map option (stride 1); ``--full-maps 0`` draws every setting from the
start. ``--alone`` also trains each probe alone for ``--steps`` steps, the reference its
stride row is measured against (a stride pattern changes the network itself).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

import genesynth
from genesynth.data import load_data
from genesynth.errors import ShapeError
from genesynth.evaluate.supernet import SupernetConfig, weights
from genesynth.evaluate.supernet.maps import FullMaps
from genesynth.evaluate.supernet.plan import plan, plan_samples
from genesynth.evaluate.supernet.train import recalibrate
from genesynth.evaluate.supernet.weights import Supernet, logits
from genesynth.evaluate.train import Tensors, accuracy
from genesynth.net.arch import Architecture
from genesynth.net.builder import build
from genesynth.space.choosers import FixedChooser, RandomChooser

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = ("none", "3.kernel", "3.groups", "0.out", "out", "8", "shortcut", "stride", "all")


class Family:
    """Samples equal to ``base`` except in the choices of one family, drawn from ``rng``;
    at full map sizes (``sample(full=True)``: the family's size-changing choices at their
    full-map option, as the supernet's first phase draws them)."""

    def __init__(self, proto: Any, base: dict[str, Any], family: str, seed: int) -> None:
        self.proto, self.base, self.family = proto, base, family
        self.rng = random.Random(seed)
        full = FullMaps.of(proto, [base]).options
        self.full_maps = {k: v for k, v in full.items() if self._ours(k)}
        self.last = ""  # the size-changing choices of the last sample

    def _ours(self, name: str) -> bool:
        return self.family == "all" or name.split(".", 1)[-1] == self.family

    def sample(self, full: bool = False) -> Architecture:
        for _ in range(200):
            chooser = RandomChooser(self.rng.randrange(2**31))
            _, drawn = self.proto.sample_with_choices(chooser=chooser)
            mixed = {k: drawn[k] if self._ours(k) and k in drawn else v
                     for k, v in self.base.items()}
            if full:
                mixed.update({k: v for k, v in self.full_maps.items() if k in mixed})
            try:
                arch = self.proto.sample(chooser=FixedChooser(mixed))
            except ShapeError:
                continue
            self.last = "".join(str(v) for k, v in mixed.items() if k in self.full_maps)
            return arch  # type: ignore[no-any-return]
        raise SystemExit(f"no valid sample varies only {self.family}")


def train_family(draw: Callable[[bool], Architecture], supernet: Supernet, data: Tensors,
                 config: SupernetConfig, steps: int) -> float:
    """``steps`` AdamW steps, one sample of ``draw`` each (at full map sizes for the first
    ``config.full_maps`` of them, as the supernet's first phase); the mean loss of the last
    quarter."""
    params = list(supernet.tensors.values())
    optimizer = torch.optim.AdamW(
        [{"params": [p for p in params if p.ndim > 1], "weight_decay": config.weight_decay},
         {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}], lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    order = torch.cat([torch.randperm(len(data.y), generator=generator)
                       for _ in range(steps * config.batch_size // len(data.y) + 1)])
    losses = []
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        index = order[step * config.batch_size : (step + 1) * config.batch_size]
        arch = draw(step < config.full_maps * steps)
        model = build(arch).train()
        loss = F.cross_entropy(logits(model, supernet.take(arch), data.x[index]), data.y[index])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    tail = losses[-max(1, steps // 4):]
    return sum(tail) / len(tail)


def alone(arch: Architecture, layout: Any, train: Tensors, val: Tensors,
          config: SupernetConfig, args: argparse.Namespace) -> float:
    """``arch`` trained alone from a fresh supernet of the same recipe, the same steps."""
    supernet = Supernet(layout, args.seed)
    train_family(lambda full: arch, supernet, train, config, args.steps)
    return score(supernet, arch, train, val, config, 4)


def score(supernet: Supernet, arch: Architecture, train: Tensors, val: Tensors,
          config: SupernetConfig, batches: int | None) -> float:
    """Top-1 after recalibrating on ``batches`` batches, or with batch statistics (None)."""
    model = build(arch)
    supernet.inherit(arch, model)
    if batches is not None:
        recalibrate(model, train, replace(config, calibration_batches=batches))
        return accuracy(model, val)
    model.train()
    with torch.no_grad():
        out = model.forward_logits(val.x)  # type: ignore[operator]
    return 100.0 * float((out.argmax(1) == val.y).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="digits", help="digits or a dataset path")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--input-shape", default=None, help="CxHxW, e.g. 3x16x16")
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--probes", type=int, default=4)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--no-identity-shortcuts", action="store_true",
                        help="ablation: projecting shortcuts start random, not as the identity")
    parser.add_argument("--full-maps", type=float, default=SupernetConfig().full_maps,
                        help="share of the steps at full map sizes first (0: every setting "
                             "from the start, the supernet before issue 19's item 2)")
    parser.add_argument("--alone", action="store_true",
                        help="also train each probe alone for --steps steps (the control)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.no_identity_shortcuts:
        weights._projects = lambda name, size: False
    torch.set_num_threads(1)
    shape = tuple(int(v) for v in args.input_shape.split("x")) if args.input_shape else None
    dataset = load_data(args.data, shape, seed=args.seed, limit=args.limit)  # type: ignore[arg-type]
    proto = genesynth.load_prototype(ROOT / "prototypes" / "attonet16.gs").with_overrides(
        input_shape=dataset.input_shape, classes=dataset.classes)
    config = replace(SupernetConfig(batch_size=32 if dataset.name == "digits" else 128),
                     seed=args.seed, full_maps=args.full_maps)
    train, val = Tensors.of(dataset.train), Tensors.of(dataset.val)
    samples = plan_samples(proto, config.plan_samples, args.seed)
    layout = plan(samples)
    _, base = proto.sample_with_choices(chooser=RandomChooser(12345 + args.seed))
    print(f"data {dataset.name} {dataset.input_shape}; {args.steps} steps of batch "
          f"{config.batch_size}", flush=True)
    rows = []
    for name in args.families.split(","):
        began = time.perf_counter()
        supernet = Supernet(layout, args.seed)
        family = Family(proto, base, name, args.seed)
        loss = train_family(family.sample, supernet, train, config, args.steps)
        probes, maps = [], []
        for _ in range(args.probes):
            probes.append(family.sample())
            maps.append(family.last)
        top1 = [round(score(supernet, a, train, val, config, 4), 1) for a in probes]
        row: dict[str, Any] = {"family": name, "loss": round(loss, 3), "top1": top1,
                               "seconds": round(time.perf_counter() - began, 1)}
        if family.full_maps:  # the probes' size-changing choices, e.g. strides 1,2,2: 122
            row["maps"] = maps
        if args.alone:
            row["alone"] = [round(alone(a, layout, train, val, config, args), 1)
                            for a in probes]
        if name == "none":
            row["calibration"] = {str(b): round(score(supernet, probes[0], train, val, config, b),
                                                1) for b in (4, 40)}
            row["calibration"]["batch statistics"] = round(
                score(supernet, probes[0], train, val, config, None), 1)
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps({"data": dataset.name, "steps": args.steps,
                                               "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
