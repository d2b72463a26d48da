"""A run's check of its own evaluator: how well its scores ranked candidates trained alone.

Where the evaluator's scores are not the candidates' own accuracies (a supernet, or any
``stand_alone = False`` kind), the run trains a few candidates alone and records here how
well the scores ranked them (Kendall tau-b, with a bootstrap interval), beside how well
MACs alone ranked the same candidates. :class:`FidelityCheck` is what ``run.json``
(``fidelity``), the study, the dashboard and ``report.md`` show; it is computed once, by
:func:`check_of`, from (score, accuracy, MACs) pairs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from genesynth.record.layout import RUN_FILE

#: Bootstrap resamples behind a tau's interval, and the interval's coverage.
RESAMPLES = 1000
COVERAGE = 0.9
#: Study user attr holding the check (``genesynth watch --storage`` shows it).
FIDELITY_ATTR = "fidelity"


@dataclass(frozen=True)
class Pair:
    """One candidate: its score, its stand-alone top-1 and its MACs; ``source`` says where
    the top-1 comes from (``check``: trained for the check with the proxy budget; ``family``:
    a member retrained with the full budget, on the test split)."""

    key: str
    score: float
    accuracy: float
    macs: int
    source: str


@dataclass(frozen=True)
class FidelityCheck:
    """Kendall tau-b of scores and of MACs against stand-alone top-1, with intervals."""

    pairs: tuple[Pair, ...]
    tau: float
    tau_low: float
    tau_high: float
    macs_tau: float
    macs_low: float
    macs_high: float

    @property
    def warning(self) -> str:
        """Non-empty when the scores ranked the candidates no better than MACs alone."""
        if len(self.pairs) < 3 or self.tau > self.macs_tau:
            return ""
        return (f"the evaluator's scores ranked {len(self.pairs)} candidates trained alone "
                f"no better than their MACs did (tau {self.tau:.2f} against {self.macs_tau:.2f})"
                ": its choice of the family is no better than choosing by size")

    def summary(self) -> str:
        """The check in one line (:func:`checked_text`)."""
        return checked_text(self)

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["pairs"] = [asdict(p) for p in self.pairs]
        found["warning"] = self.warning
        return found

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FidelityCheck:
        pairs = tuple(Pair(str(p["key"]), float(p["score"]), float(p["accuracy"]),
                           int(p["macs"]), str(p["source"])) for p in raw["pairs"])
        return cls(pairs, *(float(raw[name]) for name in (
            "tau", "tau_low", "tau_high", "macs_tau", "macs_low", "macs_high")))


def checked_text(event: Any) -> str:
    """A ``FidelityChecked`` event (or a :class:`FidelityCheck`) in one line, for people."""
    checks = getattr(event, "checks", None)
    count = getattr(event, "candidates", None)
    if checks is None:  # a FidelityCheck
        checks = sum(p.source == "check" for p in event.pairs)
        count = len(event.pairs)
    return (f"scores vs trained alone: Kendall tau {event.tau:.2f} "
            f"[{event.tau_low:.2f}, {event.tau_high:.2f}], MACs alone {event.macs_tau:.2f} "
            f"[{event.macs_low:.2f}, {event.macs_high:.2f}] over {count} candidates "
            f"({checks} trained for the check, {count - checks} family members; "
            f"{COVERAGE:.0%} bootstrap intervals)")


def check_of(pairs: Sequence[Pair], seed: int = 0) -> FidelityCheck:
    """The check of ``pairs``: taus and their bootstrap intervals (seeded: reproducible)."""
    truth = [p.accuracy for p in pairs]
    scores = [p.score for p in pairs]
    macs = [float(p.macs) for p in pairs]
    tau, low, high = tau_interval(scores, truth, seed)
    macs_tau, macs_low, macs_high = tau_interval(macs, truth, seed)
    return FidelityCheck(tuple(pairs), tau, low, high, macs_tau, macs_low, macs_high)


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b (ties in either list handled); 0 when either list is constant."""
    concordant = discordant = ties_a = ties_b = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif (da > 0) == (db > 0):
                concordant += 1
            else:
                discordant += 1
    n_a = concordant + discordant + ties_a
    n_b = concordant + discordant + ties_b
    return (concordant - discordant) / ((n_a * n_b) ** 0.5) if n_a and n_b else 0.0


def tau_interval(a: Sequence[float], b: Sequence[float], seed: int = 0,
                 resamples: int = RESAMPLES) -> tuple[float, float, float]:
    """tau-b of ``a`` and ``b``, and the central ``COVERAGE`` interval of its bootstrap
    (candidates resampled with replacement)."""
    tau = kendall_tau(a, b)
    if len(a) < 3:
        return tau, -1.0, 1.0
    rng = random.Random(seed)
    found = []
    for _ in range(resamples):
        index = [rng.randrange(len(a)) for _ in range(len(a))]
        found.append(kendall_tau([a[i] for i in index], [b[i] for i in index]))
    found.sort()
    tail = (1 - COVERAGE) / 2
    return tau, found[int(tail * resamples)], found[min(resamples - 1, int((1 - tail) * resamples))]


def write_fidelity(out: Path, check: FidelityCheck) -> None:
    """Add the check to ``out/run.json`` (key ``fidelity``), written whole."""
    path = out / RUN_FILE
    if not path.is_file():
        return
    data = json.loads(path.read_text())
    data["fidelity"] = check.to_dict()
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(data, indent=2) + "\n")
    part.replace(path)


def read_fidelity(run: Mapping[str, Any] | None) -> FidelityCheck | None:
    """The check ``run.json`` (as a mapping) holds, or None (none made, or unreadable)."""
    raw = (run or {}).get("fidelity")
    if not isinstance(raw, Mapping):
        return None
    try:
        return FidelityCheck.from_dict(raw)
    except (KeyError, TypeError, ValueError):
        return None
