"""Improvement per complexity band: the part of ``bayes``' budget that fills the family.

The family (:mod:`genesynth.record.selection`) takes the most accurate feasible network (A)
and the best utility of each log-MACs band below it, down to the smallest. A sampler that only
chases the best utility finds the small networks NetScore rewards and leaves the other bands
empty, so the family comes back short. Every ``period``-th model-guided trial ``bayes``
measures improvement per band instead: each candidate's expected improvement is taken over
the best feasible utility *of its own band* (over the least a feasible one could score where
the band has none yet), and counts only where its top-1 would beat every feasible network
with no more params and MACs -- where it would join the family's front (a larger network
only as accurate as a smaller one is never a member). So an empty or weak band wins the
trial, with the networks likely to be more accurate than the smaller ones already found.

The bands are the family's, over what can still be found: band 0 holds the networks above
``1 - MIN_GAP`` of the MACs of the most accurate feasible network measured (of the largest
candidate before there is one); below that, down to the smallest candidate the sampler may
propose, ``size - 1`` bands of equal log width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from genesynth.record.selection import MIN_GAP

__all__ = ["PERIOD", "band_of", "band_targets", "band_turn"]

PERIOD = 2  # every second model-guided trial improves per band


def band_turn(observed: int, startup: int, period: int = PERIOD) -> bool:
    """Whether the trial after ``observed`` evaluations improves per band (the model-guided
    trials after the ``startup`` ones alternate, starting with the global improvement)."""
    return period > 0 and observed >= startup and (observed - startup) % period == period - 1


def band_of(macs: Sequence[int], top: int, low: int, size: int) -> np.ndarray:
    """The band of each MACs count: 0 above ``1 - MIN_GAP`` of ``top``; 1 ... ``size - 1``
    equal log widths from there down to ``low``."""
    ceiling = (1 - MIN_GAP) * top
    values = np.log(np.maximum(np.asarray(macs, dtype=float), 1.0))
    if size < 2:
        return np.zeros(len(values), dtype=int)
    high, bottom = math.log(max(ceiling, 1.0)), math.log(max(min(low, ceiling), 1.0))
    width = (high - bottom) / (size - 1) or 1.0
    inner = 1 + np.clip(((high - values) / width).astype(int), 0, size - 2)
    return np.where(values > high, 0, inner)


def band_targets(candidates: Sequence[tuple[int, int]],
                 feasible: Sequence[tuple[int, int, float, float]], size: int, floor: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate (params, MACs): the utility to improve on, the best feasible one measured
    in its band (``floor`` where the band has none), and the top-1 it must exceed to join the
    family's front, the best of the feasible networks with no more params and MACs (-inf
    where none). ``feasible``: (params, MACs, accuracy, utility) of each feasible network."""
    count = len(candidates)
    if not count:
        return np.zeros(0), np.zeros(0)
    macs = [m for _, m in candidates]
    # the most accurate feasible network (A), else the largest candidate
    top = min(feasible, key=lambda f: (-f[2], f[1]))[1] if feasible else max(macs)
    low = min([*macs, *(f[1] for f in feasible)])
    best = np.full(max(size, 1), floor)
    for band, (_, _, _, utility) in zip(band_of([f[1] for f in feasible], top, low, size),
                                        feasible, strict=True):
        best[band] = max(best[band], utility)
    need = np.full(count, -np.inf)
    for i, (params, mac) in enumerate(candidates):
        beaten_by = [a for p, m, a, _ in feasible if p <= params and m <= mac]
        need[i] = max(beaten_by, default=-np.inf)
    return best[band_of(macs, top, low, size)], need
