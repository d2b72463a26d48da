"""Arguments and loading shared by ``check``, ``show`` and ``sample``."""

from __future__ import annotations

import argparse
import re

from genesynth.errors import ArchitectureError
from genesynth.limits import MAX_NUMBER, MAX_SEED, MAX_TRIALS, read_text
from genesynth.net.arch import Architecture
from genesynth.space import Prototype, load_prototype


def shape(text: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"(\d{1,10})x(\d{1,10})x(\d{1,10})", text)
    if not match or not all(1 <= int(v) <= MAX_NUMBER for v in match.groups()):
        raise argparse.ArgumentTypeError(f"expected CxHxW such as 3x32x32, but got {text!r}")
    c, h, w = (int(v) for v in match.groups())
    return c, h, w


def positive(text: str, most: int = MAX_NUMBER) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 20 or not 1 <= int(text) <= most:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer up to {most:,}, but got {_short(text)}")
    return int(text)


def trials(text: str) -> int:
    """A trial count: 1 .. MAX_TRIALS."""
    return positive(text, MAX_TRIALS)


def seed(text: str) -> int:
    """A seed: 0 .. 2**32 - 1."""
    if not (text.isascii() and text.isdigit()) or len(text) > 20 or int(text) > MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected a seed from 0 to {MAX_SEED}, but got {_short(text)}")
    return int(text)


def _short(text: str) -> str:
    return repr(text) if len(text) <= 30 else repr(text[:20] + "...") + f" ({len(text)} chars)"


def add_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", type=shape, metavar="CxHxW", help="override the input shape")
    p.add_argument("--classes", type=positive, metavar="N", help="override the class count")


def load(args: argparse.Namespace) -> Prototype:
    return load_prototype(args.file, input_shape=args.input, classes=args.classes)


def load_architecture(path: str) -> Architecture:
    return Architecture.from_json(read_text(path, "architecture", ArchitectureError), where=path)


def fmt_shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(v) for v in shape)


def add_device(p: argparse.ArgumentParser) -> None:
    from genesynth.evaluate.budgets import DEVICE_HELP

    p.add_argument("--device", default="auto", help=f"where to train: {DEVICE_HELP}")
