"""``genesynth refine RUN --member B --open m09-m16``: a new prototype from a family member."""

from __future__ import annotations

import argparse
from pathlib import Path

from genesynth.errors import GenesynthError


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refine", help="a new prototype: keep a member's modules, re-open others",
        description="Write a prototype from a family member (or a trial) of a run: locked "
        "modules exactly as the member has them, opened modules with the run's prototype "
        "space. Edit it, then synthesize it (with --warm-start RUN to start from the member).",
    )
    p.add_argument("run_dir", metavar="RUN", type=Path, help="run directory")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--member", metavar="LABEL", help="family member label, e.g. B")
    who.add_argument("--trial", type=int, metavar="N", help="any trial with an architecture")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--open", metavar="MODULES",
                       help="modules to re-open, e.g. m09-m16 or m03,m09-m12; the rest locked")
    which.add_argument("--lock", metavar="MODULES",
                       help="modules to keep as the member has them; the rest re-opened")
    p.add_argument("--around", action="store_true",
                   help="narrow each opened value choice to the member's value and its "
                   "neighbours")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="write the prototype here (default: print it)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from genesynth.human.refine import refine

    refined = refine(args.run_dir, member=args.member, trial=args.trial, open=args.open,
                     lock=args.lock, around=args.around)
    refined.prototype()  # parses and checks: never hand out a file that does not load
    if args.out is None:
        print(refined.text, end="")
        return 0
    if args.out.exists() and not args.force:
        raise GenesynthError(f"{args.out} exists; pass --force to overwrite it")
    try:
        args.out.write_text(refined.text, encoding="utf-8")
    except OSError as exc:
        raise GenesynthError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"wrote {args.out}: {len(refined.locked)} modules locked, "
          f"{len(refined.opened)} opened; synthesize it with --warm-start {args.run_dir}")
    return 0
