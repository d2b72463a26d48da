"""Arguments and loading shared by ``check``, ``show`` and ``sample``."""

from __future__ import annotations

import argparse
import re

from genesynth.arch import Architecture
from genesynth.errors import GenesynthError
from genesynth.space import Prototype, load_prototype


def shape(text: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)x(\d+)", text)
    if not match or min(int(v) for v in match.groups()) < 1:
        raise argparse.ArgumentTypeError(f"expected CxHxW such as 3x32x32, but got {text!r}")
    c, h, w = (int(v) for v in match.groups())
    return c, h, w


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, but got {text!r}")
    return int(text)


def add_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", type=shape, metavar="CxHxW", help="override the input shape")
    p.add_argument("--classes", type=positive, metavar="N", help="override the class count")


def load(args: argparse.Namespace) -> Prototype:
    return load_prototype(args.file, input_shape=args.input, classes=args.classes)


def load_architecture(path: str) -> Architecture:
    try:
        with open(path, encoding="utf-8") as handle:
            return Architecture.from_json(handle.read(), where=path)
    except OSError as error:
        raise GenesynthError(f"cannot read {path}: {error.strerror}") from None


def fmt_shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(v) for v in shape)
