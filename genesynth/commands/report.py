"""``genesynth report DIR``: write report.md, pareto.png and history.png for a run."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report", help="write a run's report (report.md, pareto.png, history.png)",
        description="Write report.md (family table, per-module tables, search statistics) "
        "and, with matplotlib (genesynth[report]), pareto.png and history.png into DIR.",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="run directory")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from genesynth.report.markdown import PLOTS_NEED, write_report

    paths = write_report(args.dir)
    for path in paths:
        print(f"wrote {path}")
    if len(paths) == 1 and importlib.util.find_spec("matplotlib") is None:
        print(f"note: {PLOTS_NEED}")  # (a run with no trial measured has no plots: report.md)
    return 0
