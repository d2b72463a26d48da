"""Benchmark: the supernet's cost per training step, for the whole space and within bounds.

    OMP_NUM_THREADS=1 nice -n 10 python bench/supernet_step.py \\
        --constraint constraints/cifar10.toml --input-shape 3x32x32 --steps 3

Builds the supernet of ``--prototype`` (attonet16) twice: for the whole space (as before
issue 19: the sandwich's largest network is the largest of the space) and for the space
inside the constraint's static bounds (MACs, params; what a run now trains). Then times
``--steps`` sandwich steps of each at batch ``--batch``, alternating the two so that a busy
machine slows both alike, and prints the ratio of the medians. Random images: a step's cost
does not depend on their content.

``--compare steps`` times, within bounds, one AdamW step on the summed gradients of a step's
networks against one step per network (``SupernetConfig.separate_steps``, the default since
issue 26's sixth round), the same way:

    OMP_NUM_THREADS=1 nice -n 10 python bench/supernet_step.py --compare steps --steps 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch

import genesynth
from genesynth.evaluate.supernet import SupernetConfig
from genesynth.evaluate.supernet.plan import plan
from genesynth.evaluate.supernet.space import BoundedSpace, SpaceBounds
from genesynth.evaluate.supernet.train import SandwichTrainer
from genesynth.evaluate.supernet.weights import Supernet
from genesynth.evaluate.train import Tensors

ROOT = Path(__file__).resolve().parent.parent


def trainer(proto: genesynth.Prototype, bounds: SpaceBounds, config: SupernetConfig
            ) -> tuple[SandwichTrainer, dict[str, float]]:
    began = time.perf_counter()
    space = BoundedSpace(proto, bounds, 4 * config.plan_samples, config.seed)
    samples = space.plan_samples(config.plan_samples, config.seed)
    layout = plan(samples)
    supernet = Supernet(layout, config.seed)
    made = SandwichTrainer(supernet, space, samples[0], samples[1], config)
    big, small = genesynth.cost(samples[0]), genesynth.cost(samples[1])
    return made, {"largest_macs": big.macs, "largest_params": big.params,
                  "smallest_macs": small.macs, "shared_params": layout.num_params,
                  "setup_s": round(time.perf_counter() - began, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prototype", default=str(ROOT / "prototypes" / "attonet16.gs"))
    parser.add_argument("--constraint", default=str(ROOT / "constraints" / "cifar10.toml"))
    parser.add_argument("--input-shape", default="3x32x32")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--compare", choices=("bounds", "steps"), default="bounds",
                        help="whole space against within bounds, or one summed step against "
                             "a step per network")
    args = parser.parse_args()
    channels, height, width = (int(v) for v in args.input_shape.split("x"))
    shape = (channels, height, width)
    proto = genesynth.load_prototype(args.prototype).with_overrides(
        input_shape=shape, classes=args.classes)
    rule = genesynth.load_constraint(args.constraint)
    config = SupernetConfig(epochs=1, batch_size=args.batch, threads=args.threads)
    bounded = SpaceBounds.of(rule)
    runs = ({"whole space": (SpaceBounds(), config), "within bounds": (bounded, config)}
            if args.compare == "bounds" else
            {"one summed step": (bounded, replace(config, separate_steps=False)),
             "a step per network": (bounded, config)})
    made = {name: trainer(proto, *run) for name, run in runs.items()}
    for name, (_, facts) in made.items():
        print(f"{name:13s} ({runs[name][0].describe()}): {facts}", flush=True)
    generator = torch.Generator().manual_seed(0)
    batch = Tensors(torch.randn(args.batch, *shape, generator=generator),
                    torch.randint(0, args.classes, (args.batch,), generator=generator))
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for step in range(args.steps):  # one epoch of one batch = one sandwich step
        for name, (made_trainer, _) in made.items():
            began = time.perf_counter()
            made_trainer.train_epoch(step + 1, batch)
            seconds[name].append(time.perf_counter() - began)
            print(f"  step {step + 1} {name}: {seconds[name][-1]:.2f} s", flush=True)
    first, second = (statistics.median(seconds[name]) for name in runs)
    names = list(runs)
    print(f"median seconds per step (batch {args.batch}, {args.input_shape}, "
          f"{args.threads} thread(s)): {names[0]} {first:.2f}, {names[1]} {second:.2f}; "
          f"ratio {first / second:.2f}x")


if __name__ == "__main__":
    main()
