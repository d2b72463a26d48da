"""What a person sees while a run goes: the rich live dashboard or the plain log.

Both are listeners (callables taking an engine event, see :mod:`genesynth.events`). The
``synthesize`` command picks one with :func:`open_view`::

    with open_view(args.plain) as listener:
        synthesize(..., listeners=[listener])
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, cast

from rich.console import Console

from genesynth.dashboard.live import Dashboard
from genesynth.dashboard.plain import PlainLog
from genesynth.events import Listener
from genesynth.record.snapshot import RunState

__all__ = ["Dashboard", "PlainLog", "RunState", "open_view", "wants_plain"]


def wants_plain(plain: bool | None, console: Console) -> bool:
    """True when ``plain`` asks for it or the console is no (capable) terminal."""
    return bool(plain) or not console.is_terminal or console.is_dumb_terminal


@contextmanager
def open_view(plain: bool | None = None, console: Console | None = None) -> Iterator[Listener]:
    """The live dashboard when stdout is a terminal and ``plain`` is not true, else the plain
    log (to the console's file, stdout by default). The dashboard's last frame stays on screen
    when the block ends, also on Ctrl-C.
    """
    console = console or Console()
    if wants_plain(plain, console):
        stream = cast(TextIO, console.file) if console.file is not None else sys.stdout
        with PlainLog(stream) as log:
            yield log
    else:
        with Dashboard(console) as dashboard:
            yield dashboard
