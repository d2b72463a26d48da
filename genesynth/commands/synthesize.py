"""``genesynth synthesize``: run generative synthesis from a prototype and a constraint."""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from pathlib import Path
from typing import Any

from genesynth.commands._common import add_device, add_storage, seed, storage_url
from genesynth.errors import GenesynthError
from genesynth.evaluate.registry import EVALUATORS
from genesynth.limits import (
    MAX_BATCH,
    MAX_EPOCHS,
    MAX_FAMILY,
    MAX_SECONDS,
    MAX_TRIALS,
    show_number,
)


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synthesize", help="search a prototype's space and build a family",
                       description="Search the prototype's space under a constraint, then "
                       "retrain a family of networks of decreasing complexity.")
    p.add_argument("prototype", help="prototype file (.gs)")
    p.add_argument("--constraint", required=True, help="constraint file (.toml)")
    p.add_argument("--data", help="'digits' (embedded, the default for training) or a "
                   "dataset path; with --table no data is needed and the prototype keeps "
                   "its own input")
    p.add_argument("--trials", type=int, default=30, help="search trials (default 30)")
    p.add_argument("--out", type=Path, help="run directory (default runs/<prototype name>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--accept-lost-trials", action="store_true",
                   help="with --resume: go on although the study lost trials that the run's "
                   "events recorded (a damaged study.log); the old family is kept aside")
    p.add_argument("--seed", type=seed, default=0, help="seed for sampler, splits, training")
    p.add_argument("--sampler", default="bayes", help="bayes (default: models accuracy, knows "
                   "the exact costs, samples inside the static bounds), tpe, nsga2 or random")
    p.add_argument("--family", type=int, default=4, metavar="K",
                   help="family members (default 4)")
    p.add_argument("--epochs", type=int, help="proxy training epochs per candidate "
                   f"(default per dataset: {epoch_defaults(proxy=True)})")
    p.add_argument("--full-epochs", type=int, help="training epochs for family members "
                   f"(default per dataset: {epoch_defaults(proxy=False)})")
    p.add_argument("--evaluator", choices=sorted(EVALUATORS), metavar="KIND",
                   help=f"how candidates are measured: {', '.join(sorted(EVALUATORS))} "
                   "(default train: proxy training on --data; supernet: validation top-1 on a "
                   "weight-sharing supernet trained once before the search, docs/supernet.md)")
    p.add_argument("--supernet-epochs", type=int, metavar="N",
                   help="with --evaluator supernet: epochs that train the weight-sharing "
                   f"supernet before the search (default per dataset: {supernet_defaults()})")
    p.add_argument("--supernet-batch", type=int, metavar="N",
                   help="with --evaluator supernet: its training batch size (default per "
                   f"dataset: {supernet_defaults(batch=True)})")
    p.add_argument("--supernet-from", type=Path, metavar="FILE",
                   help="with --evaluator supernet: start from this supernet.safetensors "
                   "(e.g. trained by torchrun -m genesynth.evaluate.supernet.launch; same "
                   "prototype, data and settings, bounds at least as wide)")
    p.add_argument("--fidelity-checks", type=int, metavar="N",
                   help="with --evaluator supernet: candidates trained alone with the proxy "
                   "budget after the family, to state how well the scores ranked them "
                   "(default 4; 0: no check; docs/supernet.md)")
    p.add_argument("--table", type=Path, help="look accuracy up in a JSON benchmark table "
                   "(--evaluator table with this file)")
    p.add_argument("--table-delay", type=float, default=0.0, metavar="SECONDS",
                   help="with --table: seconds each lookup takes, standing in for training")
    add_storage(p, "Optuna storage URL shared by workers: postgresql://…, mysql://… or "
                "journal:///path/run.log (see docs/scale-out.md)")
    p.add_argument("--study", help="study name in --storage")
    p.add_argument("--heartbeat", type=int, metavar="SECONDS",
                   help="heartbeat interval of workers on PostgreSQL/MySQL (default 10); a "
                   "worker silent for twice as long is dead and its trial is run again")
    p.add_argument("--warm-start", nargs="+", type=Path, metavar="RUN", default=[],
                   help="earlier run directories: their family members and best candidates "
                   "are tried first where they fit this prototype's space")
    p.add_argument("--cache", type=Path, metavar="DIR",
                   help="evaluation cache shared across runs (default $GENESYNTH_CACHE, else "
                   "~/.cache/genesynth): a network measured there with the same data, "
                   "evaluator settings and seed is not trained again")
    p.add_argument("--no-cache", action="store_true", help="measure every network afresh")
    add_device(p)
    p.add_argument("--augment", choices=("none", "standard"),
                   help="training augmentation: standard = random crop (pad 4) and horizontal "
                   "flip (default for RGB images of 32x32 and larger), none (default otherwise)")
    p.add_argument("--compile", action="store_true",
                   help="run the forward pass through torch.compile (pays on a GPU for long "
                   "training; compiling takes a while per candidate)")
    p.add_argument("--plain", action="store_true", help="plain log lines, no live dashboard")
    p.set_defaults(run=run)


def epoch_defaults(proxy: bool) -> str:
    """``digits 4, other data 5``: the default epochs of each dataset's training budget."""
    from genesynth.evaluate.budgets import BUDGETS, DEFAULT_BUDGET

    pick = 0 if proxy else 1
    named = [f"{name} {budgets[pick].epochs}" for name, budgets in BUDGETS.items()]
    return ", ".join([*named, f"other data {DEFAULT_BUDGET[pick].epochs}"])


def supernet_defaults(batch: bool = False) -> str:
    """``digits 12, other data 10``: the supernet's default epochs (or batch) per dataset."""
    from genesynth.evaluate.budgets import DEFAULT_SUPERNET, SUPERNET_BUDGETS

    def pick(config: Any) -> int:
        return int(config.batch_size if batch else config.epochs)

    named = [f"{name} {pick(config)}" for name, config in SUPERNET_BUDGETS.items()]
    return ", ".join([*named, f"other data {pick(DEFAULT_SUPERNET)}"])


def run(args: argparse.Namespace) -> int:
    from genesynth.dashboard import open_view
    from genesynth.dashboard.plain import PlainLog
    from genesynth.storage import StorageLost
    from genesynth.synth import (  # loads torch: not for --help
        EmptyFamilyWarning,
        RunInterrupted,
        synthesize,
    )

    kwargs = _engine_arguments(args)
    if not args.storage:  # a refused --out is said before the data is loaded or a view drawn
        from genesynth.record.run import check_run_dir
        from genesynth.space import load_prototype

        check_run_dir(args.out or Path("runs") / load_prototype(args.prototype).name,
                      args.resume)
    said: list[str] = []  # what the live dashboard has no place for, said after it closes

    try:
        with open_view(plain=args.plain or None) as listener:

            def remember(event: Any) -> None:
                if not isinstance(listener, PlainLog):
                    said.extend(said_after(event))

            with warnings.catch_warnings():  # an empty family is said below, in its words
                warnings.simplefilter("ignore", EmptyFamilyWarning)
                result = synthesize(args.prototype, args.constraint,
                                    listeners=[listener, remember], **kwargs)
    except RunInterrupted as stop:
        kept = f"{stop.kept[0].upper()}{stop.kept[1:]}.\n" if stop.kept else ""
        print(f"interrupted: finished trials are kept in {stop.out}.\n{kept}"
              f"resume with: {resume_command(sys.argv[1:], stop.out)}", file=sys.stderr)
        return 130
    except StorageLost as lost:  # one line: what happened, and how to go on
        if lost.out is None:
            raise
        print(f"error: {lost}; finished trials are kept there; once it is back, resume with: "
              f"{resume_command(sys.argv[1:], lost.out)}", file=sys.stderr)
        return 2
    if result.finished_before:
        where = result.family_out or result.out
        count = len(result.trials)
        print(f"the run in {result.out} is finished ({count} trial{'s' * (count != 1)}); its "
              f"family is in {where / 'family.json'}")
    for line in said:
        print(line)
    print(f"run directory: {result.out}")
    for m in result.family:
        mark = "feasible" if m.feasible else "INFEASIBLE on test"
        if m.reused:
            mark += f"  (reused, not retrained: {m.reused})"
        print(f"  {m.label}: top-1 {m.accuracy:.2f}%  params {m.params:,}  MACs {m.macs:,}  "
              f"{result.utility} {m.utility:.2f}  {mark}")
    if not result.family_here and not result.finished_before:
        print("  the family is selected and retrained by the worker that finishes the study "
              "(genesynth family --storage URL --study NAME makes it if none did)")
    elif not result.family:
        print("  no feasible candidate was found: relax the constraint or run more trials")
    return 0


def said_after(event: Any) -> list[str]:
    """What the live dashboard shows only while it is open, said again after it closes: the
    warm start, and the word on widening the family (the plain log prints them as they come)."""
    from genesynth.events import SearchExtended, SearchNotExtended, WarmStarted
    from genesynth.record.snapshot import search_extended_text, search_not_extended_text

    if isinstance(event, WarmStarted):
        return [event.message]
    if isinstance(event, SearchExtended):
        return [f"family: {search_extended_text(event)}"]
    if isinstance(event, SearchNotExtended):
        return [f"family: {search_not_extended_text(event)}"]
    return []


def resume_command(argv: list[str], out: Path) -> str:
    """``genesynth <argv> --resume --out OUT``: the user's command, with one ``--out``."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--out":
            skip = True
        elif arg != "--resume" and not arg.startswith("--out="):
            kept.append(arg)
    words = ["genesynth", *kept, "--resume", "--out", str(out)]
    return " ".join(shlex.quote(w) for w in words)


def _engine_arguments(args: argparse.Namespace) -> dict[str, Any]:
    from genesynth.evaluate.cache import default_cache_dir

    limits = (("--trials", args.trials, MAX_TRIALS), ("--family", args.family, MAX_FAMILY),
              ("--epochs", args.epochs, MAX_EPOCHS),
              ("--full-epochs", args.full_epochs, MAX_EPOCHS),
              ("--supernet-epochs", args.supernet_epochs, MAX_EPOCHS),
              ("--supernet-batch", args.supernet_batch, MAX_BATCH),
              ("--heartbeat", args.heartbeat, MAX_SECONDS))
    for flag, value, most in limits:  # named as the user typed it, not as the API does
        if value is not None and value < 1:
            raise GenesynthError(f"`{flag}` must be a positive integer, but got {flag}={value}")
        if value is not None and value > most:
            raise GenesynthError(f"`{flag}` must be at most {most:,}, but got "
                                 f"{flag}={show_number(value)}")
    if not 0 <= args.table_delay <= MAX_SECONDS:  # nan and inf too
        raise GenesynthError(f"`--table-delay` must be seconds from 0 to {MAX_SECONDS:,}, but "
                             f"got --table-delay={args.table_delay:g}")
    kwargs: dict[str, Any] = dict(
        data=args.data, trials=args.trials, out=args.out, resume=args.resume, seed=args.seed,
        sampler=args.sampler, family_size=args.family, storage=storage_url(args), study=args.study,
        epochs=args.epochs, full_epochs=args.full_epochs, heartbeat=args.heartbeat,
        verbose=args.verbose,
        warm_start=args.warm_start,
        cache=None if args.no_cache else (args.cache or default_cache_dir()),
        device=args.device, augment=args.augment, compile=args.compile,
        accept_lost_trials=args.accept_lost_trials,
    )
    _check_supernet_flags(args)
    if args.table is not None:
        kwargs["evaluator"] = {"kind": "table", "path": str(args.table), "delay": args.table_delay}
    elif args.evaluator == "supernet":
        kwargs["evaluator"] = supernet_description(args)
    elif args.evaluator is not None:
        kwargs["evaluator"] = args.evaluator
    return kwargs


def _check_supernet_flags(args: argparse.Namespace) -> None:
    """The supernet's flags only with it; the proxy training's --epochs never with it."""
    supernet = args.evaluator == "supernet" and args.table is None
    for flag, value in (("--supernet-epochs", args.supernet_epochs),
                        ("--supernet-batch", args.supernet_batch),
                        ("--fidelity-checks", args.fidelity_checks),
                        ("--supernet-from", args.supernet_from)):
        if value is not None and not supernet:
            raise GenesynthError(f"`{flag}` applies to --evaluator supernet only")
    if supernet and args.epochs is not None:
        raise GenesynthError("`--epochs` sets the proxy training, which --evaluator supernet "
                             "does not do: its budget is --supernet-epochs")


def supernet_description(args: argparse.Namespace) -> dict[str, Any]:
    """The supernet evaluator's description from the flags given; the run's seed and full
    budget (``--seed``, ``--full-epochs``) and the dataset's defaults complete it."""
    settings: dict[str, Any] = {}
    if args.supernet_epochs is not None:
        settings["epochs"] = args.supernet_epochs
    if args.supernet_batch is not None:
        settings["batch_size"] = args.supernet_batch
    described: dict[str, Any] = {"kind": "supernet", "supernet": settings}
    if args.fidelity_checks is not None:
        if args.fidelity_checks < 0:
            raise GenesynthError("`--fidelity-checks` must be an integer >= 0, but got "
                                 f"--fidelity-checks={args.fidelity_checks}")
        described["checks"] = args.fidelity_checks
    if args.supernet_from is not None:
        described["from"] = str(args.supernet_from.resolve())
    return described
