"""``genesynth synthesize``: run generative synthesis from a prototype and a constraint."""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from pathlib import Path
from typing import Any

from genesynth.commands._common import (
    add_device,
    add_storage,
    positive,
    seed,
    shape,
    storage_url,
)
from genesynth.errors import GenesynthError
from genesynth.evaluate.registry import EVALUATORS
from genesynth.limits import (
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
    p.add_argument("--limit", type=positive, metavar="N",
                   help="train on a stratified subset of at most N training images "
                   "(validation and test are not limited): a shorter run, e.g. a supernet on "
                   "CIFAR-10 on a CPU")
    p.add_argument("--input", type=shape, metavar="CxHxW",
                   help="resize the data to this input shape (e.g. 3x16x16): smaller images, "
                   "fewer MACs, a shorter run; default: the data's own (an image folder: "
                   "the prototype's)")
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
                   help="how candidates are measured: " + "; ".join(
                       f"{kind}: {entry.summary}" for kind, entry in EVALUATORS.items()))
    for entry in EVALUATORS.values():  # the flags each kind adds (its registry entry)
        for flag in entry.flags:
            p.add_argument(flag.name, dest=_dest(flag.name), type=flag.kind,
                           metavar=flag.metavar, help=flag.help)
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


def run(args: argparse.Namespace) -> int:
    from genesynth.dashboard import open_view
    from genesynth.dashboard.plain import PlainLog
    from genesynth.events import MemberDropped
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
    dropped: list[int] = []  # members retraining dropped, none in their place

    try:
        with open_view(plain=args.plain or None) as listener:

            def remember(event: Any) -> None:
                if isinstance(event, MemberDropped) and event.replacement is None:
                    dropped.append(event.trial)
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
    print("\n".join(family_lines(result, dropped)))
    return 0


def family_lines(result: Any, dropped: list[int]) -> list[str]:
    """The run's last lines: where it is, each member, and the members retraining dropped
    (``dropped``: their trials) with none in their place."""
    lines = [f"run directory: {result.out}"]
    for m in result.family:
        mark = "feasible" if m.feasible else "INFEASIBLE on test"
        if m.reused:
            mark += f"  (reused, not retrained: {m.reused})"
        lines.append(f"  {m.label}: top-1 {m.accuracy:.2f}%  params {m.params:,}  MACs "
                     f"{m.macs:,}  {result.utility} {m.utility:.2f}  {mark}")
    if dropped and result.family:
        lines.append(f"  dropped after retraining: trial{'s' * (len(dropped) != 1)} "
                     f"{', '.join(map(str, dropped))} (a smaller member beats or equals "
                     f"{'it' if len(dropped) == 1 else 'each'} on test top-1, params and MACs)")
    if not result.family_here and not result.finished_before:
        lines.append("  the family is selected and retrained by the worker that finishes the "
                     "study (genesynth family --storage URL --study NAME makes it if none did)")
    elif not result.family:
        lines.append("  no feasible candidate was found: relax the constraint or run more "
                     "trials")
    return lines


def said_after(event: Any) -> list[str]:
    """What the live dashboard shows only while it is open, said again after it closes: the
    warm start, and the word on widening the family (the plain log prints them as they come)."""
    from genesynth.events import SearchEnded, SearchExtended, SearchNotExtended, WarmStarted
    from genesynth.record.snapshot import (
        search_ended_text,
        search_extended_text,
        search_not_extended_text,
    )

    if isinstance(event, WarmStarted):
        return [event.message]
    if isinstance(event, SearchEnded):
        return [search_ended_text(event)]
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

    limits: list[tuple[str, Any, float | None]] = [
        ("--trials", args.trials, MAX_TRIALS), ("--family", args.family, MAX_FAMILY),
        ("--epochs", args.epochs, MAX_EPOCHS), ("--full-epochs", args.full_epochs, MAX_EPOCHS),
        ("--heartbeat", args.heartbeat, MAX_SECONDS)]
    flags = [(flag, getattr(args, _dest(flag.name))) for entry in EVALUATORS.values()
             for flag in entry.flags]  # the flags each kind adds, with their own bounds
    limits += [(flag.name, value, flag.most) for flag, value in flags if flag.kind is int]
    for name, value, most in limits:  # named as the user typed it, not as the API does
        if value is not None and value < 1:
            raise GenesynthError(f"`{name}` must be a positive integer, but got {name}={value}")
        if value is not None and most is not None and value > most:
            raise GenesynthError(f"`{name}` must be at most {most:,}, but got "
                                 f"{name}={show_number(value)}")
    for flag, value in flags:
        if (flag.kind is float and value is not None and flag.most is not None
                and not 0 <= value <= flag.most):
            raise GenesynthError(f"`{flag.name}` must be {flag.unit} from 0 to "  # nan, inf too
                                 f"{flag.most:,}, but got {flag.name}={value:g}")
    kwargs: dict[str, Any] = dict(
        data=args.data, trials=args.trials, out=args.out, resume=args.resume, seed=args.seed,
        sampler=args.sampler, family_size=args.family, storage=storage_url(args), study=args.study,
        epochs=args.epochs, full_epochs=args.full_epochs, heartbeat=args.heartbeat,
        verbose=args.verbose,
        warm_start=args.warm_start,
        cache=None if args.no_cache else (args.cache or default_cache_dir()),
        device=args.device, augment=args.augment, compile=args.compile,
        accept_lost_trials=args.accept_lost_trials, limit=args.limit, input_shape=args.input,
    )
    described = evaluator_description(args)
    if described is not None:
        kwargs["evaluator"] = described
    return kwargs


def evaluator_description(args: argparse.Namespace) -> dict[str, Any] | None:
    """The evaluator the flags ask for, as a description (None: the default): the kind named
    by ``--evaluator`` or by a flag that selects one (``--table FILE``), with the settings of
    its flags; a kind's flag without its kind, or a general flag the kind refuses, is named."""
    given = {flag.name: (kind, flag) for kind, entry in EVALUATORS.items()
             for flag in entry.flags if getattr(args, _dest(flag.name)) is not None}
    selected = [kind for kind, flag in given.values() if flag.selects]
    kind = selected[0] if selected else args.evaluator
    for name, (owner, _) in given.items():
        if owner != kind:
            raise GenesynthError(f"`{name}` applies to --evaluator {owner} only")
    if kind is None:
        return None
    for name, why in EVALUATORS[kind].refuses.items():
        if getattr(args, _dest(name), None) is not None:
            raise GenesynthError(f"`{name}` {why}")
    described: dict[str, Any] = {"kind": kind}
    for flag in EVALUATORS[kind].flags:
        value = getattr(args, _dest(flag.name))
        if value is None:
            value = flag.default
        if value is not None:
            *path, last = flag.setting.split(".")
            place = described
            for key in path:
                place = place.setdefault(key, {})
            place[last] = value
    return described


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")
