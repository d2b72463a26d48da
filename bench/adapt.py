"""Benchmark: NetAdapt to a sibling's budget, and int8 against float for every member.

    python bench/adapt.py runs/attonet16                      # a finished digits run
    python bench/adapt.py /tmp/cifar --data ../shared/cifar10 --limit 5000 \\
        --input-shape 3x16x16 --val-fraction 0.02 --constraint C.toml --trials 12 \\
        --family 2 --epochs 3 --full-epochs 15 --batch 64 --steps 20  # makes the run first

With a run directory whose family has members A and B: (1) adapts A to B's MACs
(``genesynth adapt --target macs=<B's MACs>``) and reports its test top-1 beside B's (goal: at
least B's); without a member B it adapts A to ``--fraction`` (0.7) of its MACs and compares
with the run's best feasible searched network of that size, retrained from scratch; (2)
trains the adapted architecture from scratch with the run's full budget, as the family was
trained, for the comparison with the cut-and-fine-tuned weights; (3) exports
every member (the adapted one too) as float and int8 ONNX and reports both test top-1 (ONNX
Runtime) and the file sizes (goal: at most 1 point lost). ``--data`` first synthesizes the run
in the directory (attonet16, the constraint given) when it holds none. Every size is a flag;
the figures are printed with the settings that gave them, and each phase's wall and CPU
seconds with the load average (docs/adapt.md, "Measured").
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import torch

import genesynth
from genesynth.adapt import Schedule, Target, adapt
from genesynth.data.described import load_described
from genesynth.evaluate.train import Tensors, TrainingEvaluator, accuracy, train
from genesynth.export.exporters import export_quantized
from genesynth.net.builder import build
from genesynth.record.reader import locate
from genesynth.record.run import read_run
from genesynth.record.trial import TrialRecord, TrialState

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    """Wall and CPU seconds (this process and its children) since the last ``lap``."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), self._cpu()

    @staticmethod
    def _cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def lap(self, what: str) -> float:
        wall, cpu = time.perf_counter() - self.wall, self._cpu() - self.cpu
        load = ", ".join(f"{v:.1f}" for v in _loadavg())
        print(f"[{what}: wall {wall:.0f} s, CPU {cpu:.0f} s, load average {load}]", flush=True)
        self.wall, self.cpu = time.perf_counter(), self._cpu()
        return wall


def _loadavg() -> tuple[float, float, float]:
    import os

    return os.getloadavg()


def make_run(args: argparse.Namespace) -> None:
    shape = tuple(int(v) for v in args.input_shape.split("x")) if args.input_shape else None
    data = genesynth.load_data(args.data, limit=args.limit, input_shape=shape,
                               val_fraction=args.val_fraction)
    proto = genesynth.load_prototype(ROOT / "prototypes" / "attonet16.gs")
    rule = genesynth.load_constraint(args.constraint)
    proxy, full = None, None
    if args.epochs or args.full_epochs or args.batch:
        from genesynth.evaluate.train import budgets_of

        p, f = budgets_of(data)
        from dataclasses import replace

        proxy = replace(p, epochs=args.epochs or p.epochs, batch_size=args.batch or p.batch_size)
        full = replace(f, epochs=args.full_epochs or f.epochs,
                       batch_size=args.batch or f.batch_size)
    genesynth.synthesize(proto, rule, data=data, trials=args.trials, out=args.run,
                         family_size=args.family, proxy=proxy, full=full,
                         listeners=[_log], seed=args.seed)


def _log(event: object) -> None:
    name = type(event).__name__
    if name in ("TrialFinished", "MemberDone", "RunFinished"):
        print(name, {k: v for k, v in vars(event).items() if k in (
            "number", "label", "state", "accuracy", "macs", "params")}, flush=True)


def scratch(run: Path, arch_json: str) -> float:
    """Test top-1 of ``arch_json`` trained from scratch with the run's full budget."""
    spec = read_run(run)
    assert spec is not None
    data = load_described(spec.data, spec.seed)
    trainer = TrainingEvaluator.from_description(spec.evaluator, lambda: data)
    arch = genesynth.Architecture.from_json(arch_json)
    torch.manual_seed(trainer.full.seed)
    net = build(arch)
    train(net, Tensors.of(data.train), Tensors.of(data.val), trainer.full, device="cpu")
    return accuracy(net.eval(), Tensors.of(data.test))


def stand_in(run: Path, most: int) -> tuple[int, TrialRecord] | None:
    """The run's best feasible searched network with at most ``most`` MACs (its trial number
    and record): what the search found at the target's size, for a one-member family."""
    found = []
    for trial in locate(run).load_study().trials:
        record = TrialRecord.of(trial)
        if (record.state == TrialState.COMPLETE and record.feasible and record.arch
                and record.macs is not None and record.macs <= most
                and record.accuracy is not None):
            found.append((record.accuracy, -trial.number, trial.number, record))
    if not found:
        return None
    best = max(found, key=lambda f: (f[0], f[1]))
    return best[2], best[3]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path)
    p.add_argument("--member", default="A")
    p.add_argument("--to", default="B", help="the member whose MACs are the target")
    p.add_argument("--fraction", type=float, default=0.7,
                   help="without member --to: the target is this fraction of the member's MACs, "
                        "against the run's best feasible searched network of that size "
                        "retrained from scratch")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--multiple", type=int, default=1)
    p.add_argument("--first", type=float, default=Schedule().first)
    p.add_argument("--decay", type=float, default=Schedule().decay)
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
    p.add_argument("--batch", type=int, help="the run's batch size (default per dataset)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    clock = Clock()
    if args.data and not (args.run / "run.json").exists():
        make_run(args)
        clock.lap("synthesis")
    family = json.loads((args.run / "family.json").read_text())["members"]
    by = {m["label"]: m for m in family}
    if args.member not in by:
        raise SystemExit(f"no member {args.member} in {args.run}: {sorted(by)}")
    if args.to in by:
        goal, versus = by[args.to]["macs"], f"{args.to}: {by[args.to]['accuracy']:.2f}%"
    else:
        goal = int(by[args.member]["macs"] * args.fraction)
        print(f"no member {args.to}: the target is {args.fraction:g} of {args.member}'s MACs")
        found = stand_in(args.run, goal)
        if found is None:
            versus = "no searched network that small"
        else:
            number, record = found
            assert record.arch is not None
            fresh_stand_in = scratch(args.run, record.arch)
            versus = (f"trial {number} ({record.macs:,} MACs, proxy validation "
                      f"{record.accuracy:.2f}%) from scratch: {fresh_stand_in:.2f}%")
            clock.lap(f"trial {number} from scratch")
    made = adapt(args.run, args.member, Target("macs", goal), steps=args.steps,
                 multiple=args.multiple, schedule=Schedule(args.first, args.decay),
                 label=args.label, listeners=[_log]).member
    took = clock.lap("adapt")
    iterations = len((made.lineage or {}).get("iterations", []))
    fresh = scratch(args.run, (args.run / made.arch).read_text())
    clock.lap("adapted architecture from scratch")
    print(f"adapt {args.member} -> {made.label} ({iterations} iterations, {took:.0f} s): "
          f"MACs {made.macs:,} <= {goal:,}; test top-1 {made.accuracy:.2f}% | {versus} | "
          f"{args.member}'s cut architecture from scratch: {fresh:.2f}% | "
          f"{args.member}: {by[args.member]['accuracy']:.2f}%", flush=True)
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
    clock.lap("int8 export and measurement")


if __name__ == "__main__":
    main()
