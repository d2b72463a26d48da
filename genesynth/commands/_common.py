"""Arguments and loading shared by ``check``, ``show`` and ``sample``."""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys
from pathlib import Path

from genesynth.errors import ArchitectureError, GenesynthError
from genesynth.limits import MAX_NUMBER, MAX_SEED, MAX_TRIALS, read_text
from genesynth.net.arch import Architecture
from genesynth.space import Prototype, load_prototype
from genesynth.urls import has_password

STORAGE_ENV = "GENESYNTH_STORAGE"
"""The environment variable a storage URL may come from (a password in it is not in ``ps``)."""


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


def add_storage(p: argparse.ArgumentParser, what: str) -> None:
    """``--storage URL`` and ``--storage-file FILE``; without either, $GENESYNTH_STORAGE."""
    p.add_argument("--storage", help=f"{what}; a password here is visible to other users in "
                   f"`ps`: prefer --storage-file or ${STORAGE_ENV} (or PGPASSWORD, ~/.pgpass)")
    p.add_argument("--storage-file", type=Path, metavar="FILE",
                   help=f"a file (chmod 600) whose first line is the storage URL; without "
                   f"--storage or --storage-file, ${STORAGE_ENV} is used when set")


def storage_url(args: argparse.Namespace, required: bool = False, env: bool = True
                ) -> str | None:
    """The storage URL from ``--storage``, ``--storage-file`` or (when ``env``)
    $GENESYNTH_STORAGE; a password typed on the command line gets a one-line warning."""
    if args.storage and args.storage_file:
        raise GenesynthError("give the storage by --storage or by --storage-file, not both")
    url: str | None = None
    if args.storage_file is not None:
        url = _storage_from_file(args.storage_file)
    elif args.storage:
        url = args.storage
        if has_password(url):
            print(f"warning: the storage URL's password is on the command line, where other "
                  f"users see it (`ps`); use --storage-file FILE or ${STORAGE_ENV} instead",
                  file=sys.stderr)
    elif env:
        url = os.environ.get(STORAGE_ENV) or None
    if required and url is None:
        raise GenesynthError(f"name the study's storage: --storage URL, --storage-file FILE, "
                             f"or ${STORAGE_ENV}")
    return url


def _storage_from_file(path: Path) -> str:
    text = read_text(path, "storage file", GenesynthError, max_bytes=65536)
    lines = [line.strip() for line in text.splitlines()]
    url = next((line for line in lines if line and not line.startswith("#")), "")
    if not url:
        raise GenesynthError(f"{path}: the storage file holds no URL (its first line that is "
                             "not empty or a # comment is the URL)")
    mode = path.stat().st_mode
    if has_password(url) and mode & (stat.S_IRGRP | stat.S_IROTH):
        print(f"warning: {path} holds a password and other users may read it; "
              f"chmod 600 {path}", file=sys.stderr)
    return url
