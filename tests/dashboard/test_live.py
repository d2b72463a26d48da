"""The live dashboard in a capture console, and open_view's choice of view."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from genesynth.dashboard import Dashboard, PlainLog, open_view
from genesynth.events import Emitter, Event
from tests.dashboard.recorded import capture_console


def last_frame(console: Console) -> str:
    """The text of the last frame drawn (the console records every refresh)."""
    text = console.export_text()
    start = text.rindex("genesynth · generative synthesis")
    return text[text.rindex("\n", 0, start) + 1:]


def test_every_panel_in_the_final_frame(events: list[Event]) -> None:
    console = capture_console()
    emit = Emitter()
    with Dashboard(console, clock=None) as dashboard:
        emit.listeners.append(dashboard)
        for event in events:
            emit(event)
    assert emit.errors == []
    frame = last_frame(console)
    for title in ("finished", "progress", "candidate · trial 9", "leaderboard",
                  "accuracy vs MACs", "family · 3 epochs"):
        assert title in frame
    assert "10/10 trials" in frame and "ETA done" in frame
    assert "best trial 3" in frame and "NetScore 75.0" in frame
    assert len(frame.splitlines()) == 39  # the console's height less one, no more


def test_mid_run_frame(midrun: list[Event]) -> None:
    console = capture_console()
    with Dashboard(console, clock=None) as dashboard:
        dashboard.replay(midrun)
    frame = last_frame(console)
    assert "searching" in frame and "8/10 trials" in frame and "ETA ~30.2 s" in frame
    assert "running" in frame and "epoch 1/2" in frame and "val 90.0 %" in frame
    assert "family forming" in frame


def test_small_terminal_still_fits(events: list[Event]) -> None:
    console = capture_console(height=20)
    with Dashboard(console, clock=None) as dashboard:
        dashboard.replay(events)
    assert "leaderboard" in last_frame(console)


def test_ctrl_c_leaves_the_last_frame_marked(midrun: list[Event]) -> None:
    console = capture_console()
    with pytest.raises(KeyboardInterrupt), Dashboard(console, clock=None) as dashboard:
        dashboard.replay(midrun)
        raise KeyboardInterrupt
    frame = last_frame(console)
    assert "interrupted" in frame and "8/10 trials" in frame
    assert console.is_terminal  # the console is usable after the live display stopped
    assert "\x1b[?25h" in console.file.getvalue()  # type: ignore[attr-defined]  # cursor back


def test_clock_moves_elapsed_between_events(midrun: list[Event]) -> None:
    console = capture_console()
    with Dashboard(console, clock=lambda: 1000.0 + 3600) as dashboard:
        dashboard.replay(midrun)
    assert "elapsed 1h 00m" in last_frame(console)


def test_open_view_picks_the_view() -> None:
    with open_view(console=capture_console()) as view:
        assert isinstance(view, Dashboard)
    pipe = Console(file=io.StringIO(), force_terminal=False)
    with open_view(console=pipe) as view:
        assert isinstance(view, PlainLog)
    with open_view(plain=True, console=capture_console()) as view:
        assert isinstance(view, PlainLog)


def frame_at(events: list[Event], width: int, height: int) -> list[str]:
    """The last frame's lines on a ``width`` x ``height`` terminal."""
    console = Console(width=width, height=height, record=True, file=io.StringIO(),
                      force_terminal=True)
    with Dashboard(console, clock=None) as dashboard:
        dashboard.replay(events)
    frame = last_frame(console)
    return frame[frame.index("╭─ genesynth"):].splitlines()


@pytest.mark.parametrize(("width", "height"), [(80, 24), (120, 40)])
def test_the_layout_fits_the_terminal_without_cutting(
    events: list[Event], midrun: list[Event], width: int, height: int
) -> None:
    for run in (midrun, events):
        lines = frame_at(run, width, height)
        text = "\n".join(lines)
        assert len(lines) == height - 1 and max(len(line) for line in lines) == width
        assert "…" not in text.replace("… 2 more modules", "")  # no label or value cut
        assert "top-1 ≥ 90 %   MACs ≤ 50.0M" in text  # the constraint's bounds
        assert "family" in text and "progress" in text and "ETA" in text
    mid = "\n".join(frame_at(midrun, width, height))
    assert "family forming · best of 2 MACs bands" in mid and "ETA ~30.2 s" in mid
    assert "candidate · trial 8 · running" in mid


def test_narrow_and_tall_shows_the_leaderboard_and_the_plot(events: list[Event]) -> None:
    text = "\n".join(frame_at(events, 80, 44))
    assert "leaderboard" in text and "accuracy vs MACs" in text and "┄ top-1 ≥ 90 %" in text
