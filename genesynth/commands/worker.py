"""``genesynth worker``: join a synthesis in a shared storage and run its trials."""

from __future__ import annotations

import argparse
from pathlib import Path

from genesynth.commands._common import add_device, add_storage, storage_url, trials


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "worker", help="join a synthesis in a shared storage (--storage, --study)",
        description="Run trials of a synthesis started with `genesynth synthesize --storage "
        "URL --study NAME`, on this machine, until the study's trial budget is spent. The "
        "worker that spends it selects and retrains the family. The evaluator and its budget "
        "are the run's: with --evaluator supernet the worker loads the run directory's "
        "supernet.safetensors (waiting while another process trains it). See "
        "docs/scale-out.md.",
    )
    add_storage(p, "postgresql://…, mysql://… or journal:///path/run.log")
    p.add_argument("--study", required=True, help="study name in --storage")
    p.add_argument("--trials", type=trials, help="run at most this many trials in this worker")
    p.add_argument("--out", type=Path,
                   help="run directory for the family (default: the directory the run was "
                   "started with)")
    p.add_argument("--prototype", type=Path, help="refuse to work unless the run uses this "
                   "prototype file")
    p.add_argument("--constraint", type=Path, help="refuse to work unless the run uses this "
                   "constraint file")
    add_device(p)
    p.add_argument("--plain", action="store_true", help="plain log lines, no live dashboard")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from genesynth.dashboard import open_view
    from genesynth.synth.worker import work

    storage = storage_url(args, required=True) or ""
    with open_view(plain=args.plain or None) as listener:
        result = work(storage, args.study, trials=args.trials, listeners=[listener],
                      out=args.out, prototype=args.prototype, constraint=args.constraint,
                      device=args.device)
    if result.finished_before:
        by = f", made by worker {result.family_by}" if result.family_by else ""
        print(f"study {args.study!r} is done ({result.counted} of {result.total} trials); its "
              f"family is in {result.out / 'family.json'}{by}")
        return 0
    print(f"worker ran {result.ran} trials; the study has {result.counted} of "
          f"{result.total}")
    if result.checked:
        print(f"worker trained {result.checked} of the fidelity check's candidates alone")
    if result.family_here:
        print(f"family written to {result.out}")
        for m in result.family:
            print(f"  {m.label}: top-1 {m.accuracy:.2f}%  params {m.params:,}  "
                  f"MACs {m.macs:,}  {result.utility} {m.utility:.2f}")
    elif result.counted >= result.total:
        print("the family is made by the worker that finished the study")
    return 0
