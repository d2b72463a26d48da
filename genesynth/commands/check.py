"""``genesynth check FILE``: validate a prototype and describe its search space."""

from __future__ import annotations

import argparse
from typing import Any

from genesynth.commands._common import add_overrides, fmt_shape, load
from genesynth.errors import ShapeError

VALID_SAMPLES = 100


def add(subparsers: Any) -> None:
    p = subparsers.add_parser("check", help="validate a prototype and describe its space")
    p.add_argument("file", help="prototype file (.gs)")
    add_overrides(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    proto = load(args)
    bounds = proto.cost_range()
    mark = "" if bounds.exact else "≈"
    valid = sum(_valid(proto, seed) for seed in range(VALID_SAMPLES)) if not proto.is_fixed else 1
    share = 100.0 * valid / (1 if proto.is_fixed else VALID_SAMPLES)
    lines = [
        f"{args.file}: ok",
        f"  network       {proto.name}",
        f"  input         {fmt_shape(proto.input_shape)}",
        f"  classes       {proto.classes}",
        f"  choices       {len(proto.choices())}",
        f"  space size    {_size(proto.space_size)}",
        f"  params        {mark}{bounds.min_params:,} .. {mark}{bounds.max_params:,}",
        f"  MACs          {mark}{bounds.min_macs:,} .. {mark}{bounds.max_macs:,}",
        f"  valid samples {share:.0f} %",
    ]
    print("\n".join(lines))
    return 0


def _valid(proto: Any, seed: int) -> bool:
    try:
        proto.sample(seed)
    except ShapeError:
        return False
    return True


def _size(n: int) -> str:
    return f"{n:,}" if n < 10**12 else f"{n:.3e}"
