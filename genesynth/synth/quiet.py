"""Optuna's own log, quiet by default: genesynth's events say what happens, in its words.

Optuna writes INFO lines to stderr for every study it opens and every trial it is told of;
for a run held in memory and written to a journal they contradict each other ("A new study
created in Journal", then "in memory", then "Using an existing study"). The API and the CLI
keep them only when asked (``verbose=True``, ``--verbose``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def optuna_log(verbose: bool = False) -> Iterator[None]:
    """While the block runs, Optuna logs warnings only, or also INFO when ``verbose``; its
    verbosity is restored afterwards."""
    import optuna

    before = optuna.logging.get_verbosity()
    wanted = min(before, optuna.logging.INFO) if verbose else max(before, optuna.logging.WARNING)
    optuna.logging.set_verbosity(wanted)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)
