"""``genesynth adapt``: NetAdapt a family member to one exact budget (docs/adapt.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genesynth.commands._common import add_device, positive


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "adapt", help="shrink a family member to an exact budget (NetAdapt)",
        description="Cut channels of a family member, one channel group per iteration, "
        "keeping the most accurate proposal after a short fine-tune, until it meets the "
        "target; then fine-tune long, check it against the run's constraint on the test "
        "split, and add it to the family. A killed adapt resumes where it stopped. See "
        "docs/adapt.md.",
    )
    p.add_argument("run_dir", metavar="DIR", type=Path, help="run directory")
    p.add_argument("--member", default="A", help="family member to adapt (default A)")
    p.add_argument("--target", required=True, metavar="RESOURCE=VALUE",
                   help="macs=553K, params=30K or latency_ms=2.5: the budget to meet")
    p.add_argument("--label", help="the new member's label (default MEMBER-TARGET, e.g. "
                   "A-macs553K)")
    p.add_argument("--steps", type=positive, default=None,
                   help="short fine-tune steps per proposal (default 40)")
    p.add_argument("--long-epochs", type=positive, default=None,
                   help="epochs of the final fine-tune (default: the run's --full-epochs)")
    p.add_argument("--first", type=float, default=None,
                   help="the first iteration's cut, as a fraction of the starting resource "
                   "(default 0.05)")
    p.add_argument("--decay", type=float, default=None,
                   help="each later iteration's cut, as a fraction of the one before "
                   "(default 0.95)")
    p.add_argument("--multiple", type=positive, default=1,
                   help="keep every cut width a multiple of this (e.g. 8 for int8 SIMD "
                   "kernels; default 1)")
    add_device(p)
    p.add_argument("--plain", action="store_true", help="plain log lines, no live dashboard")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from genesynth.adapt import DEFAULT_STEPS, Schedule, Target, adapt
    from genesynth.dashboard import open_view

    target = Target.parse(args.target)
    given = {"first": args.first, "decay": args.decay}
    schedule = Schedule(**{k: v for k, v in given.items() if v is not None})
    with open_view(plain=args.plain or None) as listener:
        result = adapt(args.run_dir, args.member, target, label=args.label, schedule=schedule,
                       steps=args.steps or DEFAULT_STEPS, long_epochs=args.long_epochs,
                       device=args.device, multiple=args.multiple, listeners=[listener])
    m, s = result.member, result.source
    if not result.made_now:
        print(f"member {m.label} was adapted from {s.label} to {target.show()} before")
    print(f"  {s.label}: top-1 {s.accuracy:.2f}%  params {s.params:,}  MACs {s.macs:,}")
    print(f"  {m.label}: top-1 {m.accuracy:.2f}%  params {m.params:,}  MACs {m.macs:,}  "
          f"{'feasible' if m.feasible else 'infeasible'}  "
          f"({len((m.lineage or {}).get('iterations', []))} iterations)")
    print(f"export it with: genesynth export {args.run_dir} --member {m.label}")
    return 0
