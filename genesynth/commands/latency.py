"""``genesynth latency kit|fit|profile``: a latency table of a target, made on the target."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from genesynth.commands._common import add_overrides, fmt_shape, positive, seed


def add(subparsers: Any) -> None:
    p = subparsers.add_parser("latency", help="make a latency table for a target device "
                                              "(kit, fit, or both here: profile)")
    sub = p.add_subparsers(dest="latency_command", required=True, metavar="STEP")
    kit = sub.add_parser("kit", help="write the ONNX models and runner to time on the device")
    _space_arguments(kit)
    kit.add_argument("--out", required=True, help="the kit folder (new or empty)")
    kit.set_defaults(run=run_kit)
    fit = sub.add_parser("fit", help="make a latency table from the runner's results file")
    fit.add_argument("results", help="results file written by run_latency.py")
    fit.add_argument("--out", required=True, help="the latency table to write (.json)")
    _statistic(fit)
    fit.set_defaults(run=run_fit)
    profile = sub.add_parser("profile", help="kit, time and fit on this machine in one step")
    _space_arguments(profile)
    from genesynth.latency.settings import RUNTIMES

    profile.add_argument("--runtime", choices=RUNTIMES, default="onnxruntime",
                         help="what runs the models (default onnxruntime)")
    profile.add_argument("--threads", type=positive, default=1, help="intra-op threads")
    profile.add_argument("--kit", help="keep the kit in this folder (onnxruntime)")
    profile.add_argument("--results", help="also write the results file here")
    profile.add_argument("--out", required=True, help="the latency table to write (.json)")
    _statistic(profile)
    profile.set_defaults(run=run_profile)


def _statistic(p: argparse.ArgumentParser) -> None:
    from genesynth.latency.settings import STATISTICS

    p.add_argument("--statistic", choices=STATISTICS, default="median",
                   help="each model's timings as their median (default) or minimum (for a "
                        "device too busy for a stable median)")


def _space_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="PROTOTYPE", help="prototype file (.gs)")
    p.add_argument("--constraint", help="constraint file: its max_macs and max_params bound "
                                        "the space")
    add_overrides(p)
    p.add_argument("--networks", type=positive, default=24,
                   help="whole networks for calibration (default 24)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the sampled networks")


def _space(args: argparse.Namespace) -> tuple[Any, Any]:
    from genesynth.commands._common import load
    from genesynth.goal.constraint import load_constraint
    from genesynth.latency.kit import Bounds

    proto = load(args)
    bounds = Bounds()
    if args.constraint:
        rule = load_constraint(args.constraint)
        bounds = Bounds(rule.max_macs, rule.max_params)
    return proto, bounds


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_kit(args: argparse.Namespace) -> int:
    from genesynth.latency.kit import make_kit

    proto, bounds = _space(args)
    make_kit(proto, args.out, bounds, args.networks, args.seed, _say)
    kit = args.out
    print(f"{kit}: latency kit for {proto.name} at {fmt_shape(proto.input_shape)}\n"
          f"on the device: python {Path(kit) / 'run_latency.py'} {kit} --threads 1 "
          "--out results.json\n"
          "then: genesynth latency fit results.json --out table.json")
    return 0


def run_fit(args: argparse.Namespace) -> int:
    from genesynth.latency.table import fit_table, load_results, write_table

    fit = fit_table(load_results(args.results), args.results, args.statistic)
    write_table(fit.table, args.out)
    _summary(fit.table, args.out)
    return 0


def run_profile(args: argparse.Namespace) -> int:
    from genesynth.latency.profile import measure
    from genesynth.latency.table import fit_table, write_table

    proto, bounds = _space(args)
    results = measure(proto, args.runtime, bounds, args.threads, args.networks, args.seed,
                      args.kit, progress=_say)
    if args.results:
        Path(args.results).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    fit = fit_table(results, args.results or "<profile>", args.statistic)
    write_table(fit.table, args.out)
    _summary(fit.table, args.out)
    return 0


def _summary(table: dict[str, Any], out: str) -> None:
    c = table["correction"]
    errors = ""
    if c.get("median_abs_error") is not None:
        errors = (f"; on its {c['networks']} calibration networks the prediction is off by "
                  f"{100 * c['median_abs_error']:.1f} % (median), "
                  f"{100 * c['max_abs_error']:.1f} % (most)")
    print(f"{out}: {len(table['ops'])} ops, {table['runtime']} {table['runtime_version']}, "
          f"{table['threads']} thread(s); predicted = {c['scale']:.3f} x sum(ops) "
          f"{c['offset_ms']:+.4f} ms{errors}")
