"""The ``genesynth`` command: a thin layer over the public API.

Each command lives in ``genesynth/commands/<name>.py`` with ``add(subparsers)`` (declares its
arguments) and ``run(args) -> int``. A user's mistake (:class:`GenesynthError`) is printed
without a traceback and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from genesynth.errors import GenesynthError

COMMANDS = (
    "check", "show", "sample", "synthesize", "watch", "report", "export", "worker", "family",
    "refine", "diff", "latency", "adapt",
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="genesynth",
        description="Design efficient CNNs with a machine: write a prototype, let generative "
        "synthesis fill in the modules.",
    )
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"genesynth.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"genesynth.commands.{name}":
                raise
            continue
        module.add(sub)
    for command in sub.choices.values():
        command.add_argument("--verbose", action="store_true",
                             help="also show the libraries' own log (Optuna's INFO lines)")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _quiet_libraries(args.verbose)
    try:
        status = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows here, not in Python's final flush
        return status
    except GenesynthError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `genesynth sample ... | head -1`: the reader has gone
        _drop_stdout()
        return 141  # as a Unix tool killed by SIGPIPE


def _drop_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush does not fail on the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout has no file descriptor (a test's capture)
        pass
    finally:
        os.close(devnull)


def _quiet_libraries(verbose: bool = False) -> None:
    """Optuna logs every trial at INFO to stderr; genesynth's own views say it better, so
    its INFO lines are shown only with ``--verbose``."""
    import logging

    logging.getLogger("optuna").setLevel(logging.INFO if verbose else logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
