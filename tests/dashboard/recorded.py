"""A recorded run as the engine would emit it: ten trials in every state, a family of two."""

from __future__ import annotations

import io

from rich.console import Console, RenderableType

from genesynth.events import (
    EpochDone,
    Event,
    FamilyStarted,
    MemberDone,
    MemberEpoch,
    MemberStarted,
    RunFinished,
    RunStarted,
    TrialFinished,
    TrialStarted,
)

MODULES = ("m01 atto   pw24 > g3x3/4 24 s2 > pw32  +proj", "m02 atto   pw48 > dw3x3 > pw32  +id")


def _trial(number: int, state: str, t: float, epochs: list[tuple[float, float]], **done: object
           ) -> list[Event]:
    params, macs = int(done.pop("params", 45_100)), int(done.pop("macs", 1_200_000))
    out: list[Event] = [TrialStarted(number, f"key{number:02d}", MODULES, params, macs, 2,
                                     time=t)]
    for i, (loss, acc) in enumerate(epochs, 1):
        out.append(EpochDone(number, i, 2, loss, acc, time=t + i))
    out.append(TrialFinished(number, state, f"key{number:02d}", params=params, macs=macs,
                             time=t + 3, **done))  # type: ignore[arg-type]
    return out


def recorded_events() -> tuple[list[Event], int]:
    """The whole run, and the index just after trial 8's first epoch (mid-run)."""
    events: list[Event] = [RunStarted("prototypes/atto.gs", "constraints/digits.toml",
                                      "digits", "tpe", 7, "runs/t", 10, time=1000.0,
                                      min_accuracy=90.0, max_macs=50_000_000, epochs=2,
                                      family_size=2, full_epochs=3)]
    events += _trial(0, "complete", 1000, [(0.9, 80.0), (0.5, 97.22)], accuracy=97.22,
                     utility=71.4, feasible=True, seconds=8.2, latency_ms=0.41)
    events += _trial(1, "pruned", 1010, [(1.2, 40.0)], accuracy=40.0,
                     reason="below the median at epoch 1", seconds=4.0)
    events += _trial(2, "infeasible", 1020, [], macs=60_000_000, reason="MACs 60.0M > 50.0M")
    events += _trial(3, "complete", 1030, [(0.8, 85.0), (0.4, 95.0)], accuracy=95.0,
                     utility=75.0, feasible=True, seconds=6.0, params=20_000, macs=500_000)
    events += _trial(4, "failed", 1040, [], reason="RuntimeError: boom", seconds=2.0)
    events += _trial(5, "duplicate", 1050, [], reason="same network as trial 3")
    events += _trial(6, "invalid", 1060, [], reason="m02: groups=3 must divide 8 channels")
    events += _trial(7, "complete", 1070, [(1.5, 50.0), (1.1, 60.0)], accuracy=60.0,
                     utility=50.0, feasible=False, seconds=7.8, params=8_000, macs=90_000)
    events += _trial(8, "complete", 1080, [(0.7, 90.0), (0.45, 96.0)], accuracy=96.0,
                     utility=73.0, feasible=True, seconds=5.0, params=30_000, macs=800_000)
    mid = len(events) - 2  # TrialStarted(8) and EpochDone(8, 1) applied
    events += _trial(9, "complete", 1090, [(0.9, 85.0), (0.6, 90.0)], accuracy=90.0,
                     utility=60.0, feasible=True, seconds=5.0, params=200_000, macs=9_000_000)
    events.append(FamilyStarted(("A", "B"), 3, time=1100))
    events.append(MemberStarted("A", 3, 20_000, 500_000, 3, time=1100))
    for epoch in (1, 2, 3):
        events.append(MemberEpoch("A", epoch, 3, 1.0 / epoch, 90.0 + epoch, time=1100 + epoch))
    events.append(MemberDone("A", 3, 95.5, 20_000, 500_000, 0.3, 75.2, True, time=1104))
    events.append(MemberStarted("B", 8, 30_000, 800_000, 3, time=1105))
    events.append(MemberEpoch("B", 1, 3, 0.9, 91.0, time=1106))
    events.append(MemberDone("B", 8, 96.1, 30_000, 800_000, 0.4, 73.1, True, time=1110))
    events.append(RunFinished("runs/t", 2, time=1111))
    return events, mid


def capture_console(height: int = 40) -> Console:
    return Console(width=120, height=height, record=True, file=io.StringIO(),
                   force_terminal=True)


def render(renderable: RenderableType, width: int = 120) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), force_terminal=True)
    console.print(renderable)
    return console.export_text()
