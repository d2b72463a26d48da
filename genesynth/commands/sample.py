"""``genesynth sample FILE --seed N``: one architecture from a prototype, with its choices."""

from __future__ import annotations

import argparse
from typing import Any

from genesynth.commands._common import add_overrides, load, seed
from genesynth.dsl.writer import architecture_to_text
from genesynth.net.costs import cost


def add(subparsers: Any) -> None:
    p = subparsers.add_parser("sample", help="draw one architecture from a prototype")
    p.add_argument("file", help="prototype file (.gs)")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the architecture as JSON")
    out.add_argument("--text", action="store_true", help="print it as fixed prototype text")
    add_overrides(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    proto = load(args)
    arch, choices = proto.sample_with_choices(args.seed)
    if args.json:
        print(arch.to_json())
        return 0
    if args.text:
        print(architecture_to_text(arch), end="")
        return 0
    print(f"{proto.name} seed {args.seed}: {len(choices)} choices")
    width = max((len(name) for name in choices), default=0)
    for name, value in choices.items():
        print(f"  {name:<{width}}  {value}")
    total = cost(arch)
    print(f"key {arch.key}: {len(arch.modules)} modules, {total.params:,} params, "
          f"{total.macs:,} MACs")
    return 0
