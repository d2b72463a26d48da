"""``genesynth family``: select and retrain the family of a finished shared study."""

from __future__ import annotations

import argparse
from pathlib import Path

from genesynth.commands._common import add_device, add_storage, storage_url


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "family", help="make the family of a finished study (--storage, --study)",
        description="Select and retrain the family of a study whose trial budget is spent, "
        "unless a worker already did. See docs/scale-out.md.",
    )
    add_storage(p, "Optuna storage URL of the study")
    p.add_argument("--study", required=True, help="study name in --storage")
    p.add_argument("--out", type=Path,
                   help="run directory (default: the directory the run was started with)")
    p.add_argument("--force", action="store_true",
                   help="make it again even if a worker claimed it (e.g. that worker died)")
    add_device(p)
    p.add_argument("--plain", action="store_true", help="plain log lines, no live dashboard")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from genesynth.dashboard import open_view
    from genesynth.synth.worker import produce_family

    storage = storage_url(args, required=True) or ""
    with open_view(plain=args.plain or None) as listener:
        result = produce_family(storage, args.study, out=args.out, listeners=[listener],
                                force=args.force, device=args.device)
    if result.in_progress:
        print(f"the family of study {args.study!r} is being made by worker {result.by}; "
              "pass --force to make it again if that worker is stuck")
        return 0
    if not result.made_now:
        where = f" in {result.where}" if result.where else ""
        by = f" by worker {result.by}" if result.by else ""
        print(f"the family of study {args.study!r} was already made{by}{where}; "
              "pass --force to make it again")
        return 0
    print(f"family written to {result.out}")
    for m in result.family:
        print(f"  {m.label}: top-1 {m.accuracy:.2f}%  params {m.params:,}  MACs {m.macs:,}  "
              f"{result.utility} {m.utility:.2f}")
    if not result.family:
        print("  no feasible candidate was found")
    return 0
