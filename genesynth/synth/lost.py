"""A damaged journal never silently rewrites the family.

A run directory's ``events.jsonl`` records every trial once it is stored (``TrialFinished`` is
sent after the study holds the result). On resume the study is compared with it: trials that
the events recorded but the study no longer holds were lost with the journal (``study.log``
cut, emptied or deleted). Resuming would run them again and could make a different family, so
it is refused, naming how many were lost, unless the user asks to go on
(``accept_lost_trials``, ``--accept-lost-trials``): then the old ``family.json``, ``family/``
and ``events.jsonl`` are kept beside the new ones as ``*.before-<time>``, and the run goes on
from what the study holds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import optuna

from genesynth.errors import RunError
from genesynth.record.layout import EVENTS_FILE, FAMILY_DIR, FAMILY_FILE, STUDY_FILE
from genesynth.record.trial import TrialState

LINE = 2**20  # an event is a few hundred bytes; a longer "line" is read in pieces and skipped


def recorded_trials(out: Path) -> set[int]:
    """The numbers of the trials ``out/events.jsonl`` says were stored (a torn or damaged
    line is skipped: the events are a record, the study is the truth)."""
    path = out / EVENTS_FILE
    if not path.is_file():
        return set()
    numbers: set[int] = set()
    with open(path, "rb") as stream:
        for line in iter(lambda: stream.readline(LINE), b""):  # a line at most LINE bytes
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict) or event.get("event") != "TrialFinished":
                continue
            number = event.get("number")
            if isinstance(number, int) and not isinstance(number, bool) \
                    and event.get("state") != TrialState.SKIPPED:
                numbers.add(number)
    return numbers


def lost_trials(study: optuna.Study, out: Path) -> list[int]:
    """Trials the events recorded as stored that the study does not hold (finished)."""
    held = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    return sorted(recorded_trials(out) - held)


def check_lost(study: optuna.Study, out: Path, accept: bool) -> list[int]:
    """Refuse to resume a study that lost recorded trials, unless ``accept``: then keep the
    old family and events aside and go on. Returns the lost trial numbers."""
    lost = lost_trials(study, out)
    if not lost:
        return []
    recorded = len(recorded_trials(out))
    shown = ", ".join(map(str, lost[:8])) + (", ..." if len(lost) > 8 else "")
    if not accept:
        family = (" and its family.json is kept as it is" if (out / FAMILY_FILE).exists()
                  else "")
        raise RunError(
            f"{out / STUDY_FILE}: the study lost {len(lost)} of the {recorded} trials "
            f"{EVENTS_FILE} recorded (trial{'s' * (len(lost) > 1)} {shown}); the journal was "
            f"cut, emptied or deleted. Nothing was changed{family}. To go on from the "
            f"{recorded - len(lost)} trials it still holds (the old family and events are "
            "kept as *.before-<time>), resume with --accept-lost-trials")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in (FAMILY_FILE, FAMILY_DIR, EVENTS_FILE):
        if (out / name).exists():
            kept = Path(name)
            (out / name).rename(out / f"{kept.stem}.before-{stamp}{kept.suffix}")
    return lost
