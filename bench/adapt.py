"""Benchmark: NetAdapt to a sibling's budget, and int8 against float for every member.

    python bench/adapt.py runs/attonet16                      # a finished digits run
    python bench/adapt.py /tmp/cifar --data ../shared/cifar10 --limit 3000 \\
        --input-shape 3x16x16 --trials 12 --full-epochs 10   # makes the CIFAR run first

With a run directory whose family has members A and B: (1) adapts A to B's MACs
(``genesynth adapt --target macs=<B's MACs>``) and reports its test top-1 beside B's (goal: at
least B's); (2) trains the adapted architecture from scratch with the run's full budget, as
the family was trained, for the comparison with the cut-and-fine-tuned weights; (3) exports
every member (the adapted one too) as float and int8 ONNX and reports both test top-1 (ONNX
Runtime) and the file sizes (goal: at most 1 point lost). ``--data`` first synthesizes the run
in the directory (attonet16, the constraint given) when it holds none. Every size is a flag;
the figures are printed with the settings that gave them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import genesynth
from genesynth.adapt import Schedule, Target, adapt
from genesynth.data.described import load_described
from genesynth.evaluate.train import Tensors, TrainingEvaluator, accuracy, train
from genesynth.export.exporters import export_quantized
from genesynth.net.builder import build
from genesynth.record.run import read_run

ROOT = Path(__file__).resolve().parents[1]


def make_run(args: argparse.Namespace) -> None:
    shape = tuple(int(v) for v in args.input_shape.split("x")) if args.input_shape else None
    data = genesynth.load_data(args.data, limit=args.limit, input_shape=shape,
                               val_fraction=args.val_fraction)
    proto = genesynth.load_prototype(ROOT / "prototypes" / "attonet16.gs")
    rule = genesynth.load_constraint(args.constraint)
    proxy, full = None, None
    if args.epochs or args.full_epochs:
        from genesynth.evaluate.train import budgets_for

        p, f = budgets_for(data.name, tuple(data.train.x.shape[1:]), data.format)
        from dataclasses import replace

        proxy = replace(p, epochs=args.epochs or p.epochs)
        full = replace(f, epochs=args.full_epochs or f.epochs)
    start = time.perf_counter()
    genesynth.synthesize(proto, rule, data=data, trials=args.trials, out=args.run,
                         family_size=args.family, proxy=proxy, full=full,
                         listeners=[_log])
    print(f"run made in {time.perf_counter() - start:.0f} s")


def _log(event: object) -> None:
    name = type(event).__name__
    if name in ("TrialFinished", "MemberDone", "RunFinished"):
        print(name, {k: v for k, v in vars(event).items() if k in (
            "number", "label", "state", "accuracy", "macs", "params")}, flush=True)


def scratch(run: Path, arch_path: Path, seed: int) -> float:
    """Test top-1 of ``arch`` trained from scratch with the run's full budget."""
    spec = read_run(run)
    assert spec is not None
    data = load_described(spec.data, spec.seed)
    trainer = TrainingEvaluator.from_description(spec.evaluator, lambda: data)
    arch = genesynth.Architecture.from_json(arch_path.read_text())
    torch.manual_seed(trainer.full.seed)
    net = build(arch)
    train(net, Tensors.of(data.train), Tensors.of(data.val), trainer.full, device="cpu")
    return accuracy(net.eval(), Tensors.of(data.test))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path)
    p.add_argument("--member", default="A")
    p.add_argument("--to", default="B", help="the member whose MACs are the target")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--multiple", type=int, default=1)
    p.add_argument("--first", type=float, default=0.1)
    p.add_argument("--decay", type=float, default=0.9)
    p.add_argument("--label")
    p.add_argument("--skip-int8", action="store_true")
    p.add_argument("--data")
    p.add_argument("--limit", type=int)
    p.add_argument("--val-fraction", type=float, default=0.15)
    p.add_argument("--input-shape")
    p.add_argument("--constraint", default=str(ROOT / "constraints" / "cifar10.toml"))
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--family", type=int, default=4)
    p.add_argument("--epochs", type=int)
    p.add_argument("--full-epochs", type=int)
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.data and not (args.run / "run.json").exists():
        make_run(args)
    family = json.loads((args.run / "family.json").read_text())["members"]
    by = {m["label"]: m for m in family}
    if args.to in by and args.member in by:
        target = Target("macs", by[args.to]["macs"])
        start = time.perf_counter()
        made = adapt(args.run, args.member, target, steps=args.steps, multiple=args.multiple,
                     schedule=Schedule(args.first, args.decay), label=args.label,
                     listeners=[_log]).member
        took = time.perf_counter() - start
        iterations = len((made.lineage or {}).get("iterations", []))
        fresh = scratch(args.run, args.run / made.arch, 0)
        print(f"adapt {args.member} -> {made.label} ({iterations} iterations, {took:.0f} s): "
              f"MACs {made.macs:,} <= {by[args.to]['macs']:,}; test top-1 {made.accuracy:.2f}% "
              f"| {args.to}: {by[args.to]['accuracy']:.2f}% | {args.member}'s cut architecture "
              f"from scratch: {fresh:.2f}% | {args.member}: {by[args.member]['accuracy']:.2f}%")
    else:
        print(f"no members {args.member} and {args.to}: {sorted(by)}; adapt skipped")
    if args.skip_int8:
        return
    family = json.loads((args.run / "family.json").read_text())["members"]
    print("| Member | MACs | float top-1 | int8 top-1 | change | float KiB | int8 KiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for m in family:
        _, q = export_quantized(args.run, m["label"], overwrite=True)
        print(f"| {m['label']} | {m['macs']:,} | {q.float_accuracy:.2f} | {q.accuracy:.2f} | "
              f"{q.accuracy - q.float_accuracy:+.2f} | {q.float_bytes / 1024:.1f} | "
              f"{q.bytes / 1024:.1f} |", flush=True)


if __name__ == "__main__":
    main()
