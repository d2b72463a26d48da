"""The supernet phase in the plain log: one line per epoch with its ETA."""

from __future__ import annotations

import io

from genesynth.dashboard.plain import PlainLog
from genesynth.events import SupernetProgress, event_from_dict, event_to_dict
from tests.dashboard.test_supernet_panel import TRAINING, score


def test_supernet_phase_lines() -> None:
    stream = io.StringIO()
    log = PlainLog(stream)
    events = [
        SupernetProgress(0, 4),
        SupernetProgress(0, 4, seconds=10.0, eta=110.0, step=3, steps=12),  # no line
        SupernetProgress(1, 4, loss=1.25, accuracy=61.5, seconds=30.0, eta=90.0),
        SupernetProgress(2, 4, resumed=True),
        SupernetProgress(4, 4, seconds=125.0, ready=True),
        SupernetProgress(0, 1),
        SupernetProgress(1, 1, seconds=0.5, ready=True, loaded=True),
    ]
    for event in events:
        assert event_from_dict(event_to_dict(event)) == event
        log(event)
    assert stream.getvalue().splitlines() == [
        "supernet: training for 4 epochs before the search",
        "supernet: epoch 1/4 loss 1.2500 largest val 61.50% [30.0 s, ETA 1m 30s]",
        "supernet: resumes after epoch 2 of 4",
        "supernet: ready (4 epochs, 2m 05s)",
        "supernet: training for 1 epoch before the search",
        "supernet: loaded from the run directory (1 epoch trained before)",
    ]


def test_a_score_line_gives_the_eta_it_knows_at_least() -> None:
    stream = io.StringIO()
    log = PlainLog(stream)
    for event in [*TRAINING, SupernetProgress(4, 4, seconds=170.0, ready=True, time=1171.0),
                  *score(0, 1171.0, 1.0), *score(1, 1172.0, 3.0)]:
        log(event)
    lines = stream.getvalue().splitlines()
    # 8 scores of 2 s left; the family's time is not known before its first epoch
    assert lines[-1].endswith(" (3.0 s) [2/10, ETA ≥16.0 s]")
