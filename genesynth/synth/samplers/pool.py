"""The features the model-based sampler reads of a pool's networks.

The pool itself (:class:`Pool`, :class:`Entry`) lives in :mod:`genesynth.space.pool`, shared
with the supernet, which is sized for and trained on the same bounded networks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genesynth.net.arch import Value
from genesynth.space import ChoiceInfo
from genesynth.space.pool import Entry, MutatingChooser, Pool

__all__ = ["Entry", "Featurizer", "MutatingChooser", "Pool"]


class Featurizer:
    """Architecture features: one-hot categorical choices, scaled integer ranges, and the
    standardised log params and log MACs (cost columns last)."""

    def __init__(self, choices: Sequence[ChoiceInfo]) -> None:
        self.columns: dict[tuple[str, Value], int] = {}
        self.ranges: dict[str, tuple[int, ChoiceInfo]] = {}
        for info in choices:
            if info.kind == "categorical":
                for option in info.options:
                    self.columns[(info.name, option)] = len(self.columns) + len(self.ranges)
            else:
                self.ranges[info.name] = (len(self.columns) + len(self.ranges), info)
        self.width = len(self.columns) + len(self.ranges)
        self.choices = max(1, len(choices))
        self._rows: dict[str, np.ndarray] = {}  # by key: a network's features never change

    def choice_matrix(self, entries: Sequence[Entry]) -> np.ndarray:
        out = np.zeros((len(entries), self.width))
        for index, entry in enumerate(entries):
            row = self._rows.get(entry.key)
            if row is None:
                row = self._rows[entry.key] = self._row(entry)
            out[index] = row
        return out

    def _row(self, entry: Entry) -> np.ndarray:
        row = np.zeros(self.width)
        for name, value in entry.values.items():
            column = self.columns.get((name, value))
            if column is not None:
                row[column] = 1.0
            elif name in self.ranges:
                column, info = self.ranges[name]
                row[column] = (float(value) - info.low) / max(1, info.high - info.low)
        return row

    @staticmethod
    def cost_matrix(entries: Sequence[Entry]) -> np.ndarray:
        """Log params and log MACs, one row per entry."""
        counts = np.fromiter((n for e in entries for n in (e.params, e.macs)), dtype=float,
                             count=2 * len(entries)).reshape(len(entries), 2)
        return np.log(np.maximum(counts, 1.0))
