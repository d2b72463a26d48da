"""``genesynth watch DIR``: follow a run from its study, from any terminal or machine.

The study is only read (trials and their ``user_attrs``, see docs/run-directory.md), every
``--interval`` seconds, and shown with the same dashboard as ``synthesize``. A finished run
(``family.json`` written, or the study marked ``finished``) is shown once and the command
exits. ``--plain`` prints a plain summary of the run as it stands and exits.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console

from genesynth.commands._common import add_storage, storage_url
from genesynth.errors import GenesynthError
from genesynth.limits import MAX_SECONDS
from genesynth.record.reader import RunSource, SupernetLog, apply_log, locate, state_from_study
from genesynth.record.snapshot import RunState
from genesynth.urls import redact


def add(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "watch", help="follow a run (its directory, or --storage and --study) live",
        description="Show a run's dashboard from its Optuna study, refreshed every second, "
        "until the run finishes (Ctrl-C stops watching, not the run).",
    )
    p.add_argument("dir", type=Path, nargs="?", metavar="DIR", help="run directory")
    add_storage(p, "Optuna storage URL (instead of DIR, or to override it)")
    p.add_argument("--study", help="study name in the storage (default: the only one)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    p.add_argument("--plain", action="store_true", help="print a plain summary once and exit")
    p.set_defaults(run=run)


def snapshot(source: RunSource, study: object, supernet: SupernetLog | None = None
             ) -> RunState:
    """The run as it stands: trials, run.json and family.json when written, and the
    supernet's training (from ``events.jsonl``) when the run has one."""
    state = state_from_study(study, source.run, source.family(study))
    apply_log(state, supernet.read() if supernet is not None else [])
    if not state.out:
        state.out = str(source.run_dir) if source.run_dir else redact(source.storage)
    return state


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    from genesynth.dashboard import Dashboard, wants_plain
    from genesynth.dashboard.plain import summary_lines

    if not 0 < args.interval <= MAX_SECONDS:  # inf overflowed time.sleep
        raise GenesynthError(f"`--interval` must be seconds from 0 to {MAX_SECONDS:,}, but got "
                             f"--interval={args.interval:g}")
    storage = storage_url(args, env=args.dir is None)  # the directory names its own storage
    source = locate(args.dir, storage, args.study)
    study = source.load_study()
    console = console or Console()
    supernet = SupernetLog(source.run_dir)
    if wants_plain(args.plain, console):
        console.file.write("\n".join(summary_lines(snapshot(source, study, supernet))) + "\n")
        return 0
    interval = max(0.1, float(args.interval))
    try:
        with Dashboard(console, clock=None) as dashboard:
            while True:
                state = snapshot(source, study, supernet)
                dashboard.show(state)
                if state.finished:
                    return 0
                time.sleep(interval)
    except KeyboardInterrupt:
        print("stopped watching; the run goes on", file=sys.stderr)
        return 0
