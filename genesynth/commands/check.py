"""``genesynth check FILE``: validate a prototype and describe its search space."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from genesynth.commands._common import add_overrides, fmt_shape, load
from genesynth.errors import ShapeError
from genesynth.fmt import count
from genesynth.limits import MAX_BUILD_PARAMS

if TYPE_CHECKING:
    from genesynth.space import Prototype

VALID_SAMPLES = 100


def add(subparsers: Any) -> None:
    p = subparsers.add_parser("check", help="validate a prototype and describe its space")
    p.add_argument("file", help="prototype file (.gs)")
    add_overrides(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    proto = load(args)
    bounds = proto.cost_range()
    valid = sum(_valid(proto, seed) for seed in range(VALID_SAMPLES)) if not proto.is_fixed else 1
    share = 100.0 * valid / (1 if proto.is_fixed else VALID_SAMPLES)
    lines = [
        f"{args.file}: ok",
        f"  network       {proto.name}",
        f"  input         {fmt_shape(proto.input_shape)}",
        f"  classes       {proto.classes}",
        f"  choices       {len(proto.choices())}",
        f"  space size    {_size(proto.space_size)}",
        f"  params        {bounds.min_params:,} .. {bounds.max_params:,}",
        f"  MACs          {bounds.min_macs:,} .. {bounds.max_macs:,}",
    ]
    if not bounds.exact:
        lines.append("                (approximate: the smallest and largest of random samples; "
                     "the space also holds smaller and larger networks)")
    lines.append(f"  valid samples {share:.0f} %")
    if bounds.max_params > MAX_BUILD_PARAMS:
        lines.append(f"warning: networks of this space reach {count(bounds.max_params)} "
                     f"parameters; above {count(MAX_BUILD_PARAMS)} a network cannot be "
                     "built in memory, and synthesis rejects such candidates")
    print("\n".join(lines))
    return 0


def _valid(proto: Prototype, seed: int) -> bool:
    try:
        proto.sample(seed)
    except ShapeError:
        return False
    return True


def _size(n: int) -> str:
    """A count for people: exact up to 10**12, then as 1.234e+56 (no float: it may overflow)."""
    if n < 10**12:
        return f"{n:,}"
    exponent = int(n.bit_length() * math.log10(2))
    while 10**exponent > n:
        exponent -= 1
    while 10 ** (exponent + 1) <= n:
        exponent += 1
    lead = (n * 10**4 // 10**exponent + 5) // 10  # four significant digits, rounded
    if lead >= 10**4:
        lead, exponent = lead // 10, exponent + 1
    return f"{lead // 1000}.{lead % 1000:03d}e+{exponent}"
