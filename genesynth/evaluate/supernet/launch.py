"""Train a run's supernet on several processes or machines: ``torchrun`` launches this.

    torchrun --nproc_per_node 4 -m genesynth.evaluate.supernet.launch prototypes/attonet16.gs \\
        --constraint constraints/cifar10.toml --data ../shared/cifar10 --out supernets/c10

Every process builds the same supernet (same prototype, constraint, data and seed) and takes
its shard of each batch; the gradients are summed over the processes before each step
(:func:`genesynth.evaluate.supernet.train.reduce_gradients`), so the weights are those one
process would reach given every shard. Process 0 writes ``<out>/supernet.safetensors`` after
each epoch; a run then starts from it with ``genesynth synthesize ... --evaluator supernet
--supernet-from <out>/supernet.safetensors`` (same settings: the checkpoint's header is
checked). The backend is ``nccl`` where CUDA is there, else ``gloo``; ``torchrun`` sets the
rendezvous (``MASTER_ADDR``, ``RANK``, ``WORLD_SIZE``, ...). See docs/supernet.md.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from genesynth.errors import GenesynthError
from genesynth.evaluate.base import EvaluatorContext


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="torchrun ... -m genesynth.evaluate.supernet.launch",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("prototype", type=Path)
    p.add_argument("--constraint", type=Path, required=True)
    p.add_argument("--data", default="digits")
    p.add_argument("--out", type=Path, required=True, help="folder of supernet.safetensors")
    p.add_argument("--input-shape", default=None, metavar="CxHxW")
    p.add_argument("--limit", type=int, default=None, help="train on the first N images")
    p.add_argument("--supernet-epochs", type=int, default=None, metavar="N")
    p.add_argument("--supernet-batch", type=int, default=None, metavar="N")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from genesynth.data import load_data
    from genesynth.evaluate.supernet.evaluator import SupernetEvaluator, default_config
    from genesynth.goal.constraint import load_constraint
    from genesynth.space import load_prototype

    args = parse(argv)
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    try:
        shape = tuple(int(v) for v in args.input_shape.split("x")) if args.input_shape else None
        dataset = load_data(args.data, shape, seed=args.seed, limit=args.limit)  # type: ignore[arg-type]
        proto = load_prototype(args.prototype).with_overrides(
            input_shape=dataset.input_shape, classes=dataset.classes)
        config = replace(default_config(dataset), seed=args.seed, **{
            name: value for name, value in (("epochs", args.supernet_epochs),
                                            ("batch_size", args.supernet_batch))
            if value is not None})
        evaluator = SupernetEvaluator(dataset, config, checks=0)
        args.out.mkdir(parents=True, exist_ok=True)
        rank = dist.get_rank()
        evaluator.prepare(EvaluatorContext(
            proto, dataset, args.out, args.seed, _log if rank == 0 else (lambda event: None),
            constraint=load_constraint(args.constraint)))
    except GenesynthError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        dist.destroy_process_group()
    return 0


def _log(event: Any) -> None:
    """Process 0's progress: one line per epoch, and when it is done."""
    if getattr(event, "ready", False):
        print(f"supernet: ready ({event.epochs} epochs, {event.seconds:.0f} s; trained for "
              f"{event.bounds})", flush=True)
    elif getattr(event, "loss", None) is not None and not getattr(event, "steps", 0):
        print(f"supernet: epoch {event.epoch}/{event.epochs} loss {event.loss:.4f} largest val "
              f"{event.accuracy:.2f}% [{event.seconds:.0f} s]", flush=True)


if __name__ == "__main__":
    sys.exit(main())
