"""The live dashboard: a listener that keeps a :class:`RunState` and shows it with rich.

Two layouts are made once and the terminal's width picks one at each refresh:

- wide (``WIDE`` columns or more): header / left: progress, candidate, family / right:
  leaderboard, accuracy-vs-MACs;
- narrow (an 80x24 terminal): header, progress, family, candidate and, where the height
  allows, the leaderboard and the plot, each the terminal's full width.

Each region is as tall as its panel needs at that width (measured by rendering it); the
candidate and the leaderboard take what is left. Each event updates the snapshot and, at most
a few times a second, the panels are rebuilt from it and the screen refreshed.
``screen=False``: when the dashboard closes, its last frame stays in the terminal's
scrollback.

Use it as a context manager::

    with Dashboard(console) as listener:
        synthesize(..., listeners=[listener])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from types import TracebackType

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.layout import Layout
from rich.live import Live

from genesynth.dashboard import panels
from genesynth.dashboard.pareto import LABEL_WIDTH
from genesynth.events import Event, MemberDone, RunFinished, RunStarted, TrialFinished
from genesynth.record.snapshot import RunState

#: Events worth a refresh as soon as they arrive; others wait for the throttle.
URGENT = (RunStarted, TrialFinished, MemberDone, RunFinished)
MAX_HEIGHT = 44
MIN_HEIGHT = 23  # an 80x24 terminal, less the line the cursor rests on


WIDE = 120  # columns from which the two-column layout is used


def make_layout() -> Layout:
    """The wide layout's regions, made once; :meth:`Dashboard.refresh` fills them."""
    layout = Layout(name="root")
    layout.split_column(Layout(name="header", size=4), Layout(name="body"))
    layout["body"].split_row(Layout(name="left"), Layout(name="right"))
    layout["left"].split_column(
        Layout(name="progress", size=7), Layout(name="candidate"), Layout(name="family", size=3)
    )
    layout["right"].split_column(Layout(name="leaderboard"), Layout(name="pareto", size=17))
    return layout


def make_narrow_layout() -> Layout:
    """The narrow layout's regions, one above the other, made once."""
    layout = Layout(name="root")
    layout.split_column(*(Layout(name=name) for name in NARROW))
    return layout


NARROW = ("header", "progress", "family", "candidate", "leaderboard", "pareto")


class _Frame:
    """Renders the layout at a fixed height (a Layout otherwise fills the whole terminal)."""

    def __init__(self, layout: Layout, height: Callable[[], int]) -> None:
        self.layout = layout
        self.height = height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from console.render(self.layout, options.update_height(self.height()))


class Dashboard:
    """A listener (``dashboard(event)``) that shows the run live in the terminal.

    ``clock`` (``time.time`` by default, ``None`` in tests) moves the elapsed time on between
    events; ``refresh_per_second`` caps the refresh rate for frequent events (epochs).
    """

    def __init__(
        self,
        console: Console | None = None,
        refresh_per_second: float = 8.0,
        clock: Callable[[], float] | None = time.time,
        state: RunState | None = None,
    ) -> None:
        self.console = console or Console()
        self.state = state or RunState()
        self.clock = clock
        self.interval = 1.0 / refresh_per_second
        self.layout = make_layout()
        self.narrow = make_narrow_layout()
        self.frame = _Frame(self.layout, self.height)
        self._live = Live(
            self.frame, console=self.console, auto_refresh=False,
            screen=False, transient=False, vertical_overflow="ellipsis",
        )
        self._last = 0.0

    # -- context manager ----------------------------------------------------------------------

    def __enter__(self) -> Dashboard:
        self.refresh()
        self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is KeyboardInterrupt and not self.state.finished:
            self.state.finished = self.state.interrupted = True
        try:
            self.refresh()
        finally:
            self._live.stop()

    # -- listening -----------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        self.state.apply(event)
        now = time.monotonic()
        if isinstance(event, URGENT) or now - self._last >= self.interval:
            self.refresh()

    def show(self, state: RunState) -> None:
        """Replace the snapshot (``genesynth watch`` builds a new one every poll)."""
        self.state = state
        self.refresh()

    def replay(self, events: Iterable[Event]) -> None:
        for event in events:
            self(event)

    # -- drawing -------------------------------------------------------------------------------

    def height(self) -> int:
        return max(MIN_HEIGHT, min(self.console.size.height - 1, MAX_HEIGHT))

    def lines(self, renderable: RenderableType, width: int) -> int:
        """How many lines ``renderable`` takes at ``width`` columns."""
        options = self.console.options.update(width=width, height=None)
        return len(self.console.render_lines(renderable, options, pad=False))

    def refresh(self) -> None:
        """Rebuild every panel from the snapshot and redraw."""
        state = self.state
        if self.clock is not None and state.started_at and not state.finished:
            state.now = max(state.now, self.clock())
        if self.console.size.width >= WIDE:
            self._wide(state)
        else:
            self._narrow(state)
        self._last = time.monotonic()
        if self._live.is_started:
            self._live.refresh()

    def _wide(self, state: RunState) -> None:
        width, column = self.console.size.width, self.console.size.width // 2
        layout = self.frame.layout = self.layout
        header = panels.header_panel(state, width)
        progress = panels.progress_panel(state, column)
        family = panels.family_panel(state)
        layout["header"].size = self.lines(header, width)
        body = self.height() - layout["header"].size
        layout["progress"].size = self.lines(progress, column)
        layout["family"].size = min(self.lines(family, column), max(3, body // 3))
        grid_height = 12 if body >= 32 else max(5, body - 20)
        layout["pareto"].size = grid_height + 6
        left = body - layout["progress"].size - layout["family"].size
        layout["header"].update(header)
        layout["progress"].update(progress)
        layout["candidate"].update(panels.candidate_panel(state, max_modules=max(0, left - 4),
                                                          width=column))
        layout["family"].update(family)
        layout["leaderboard"].update(panels.leaderboard_panel(
            state, limit=max(1, body - layout["pareto"].size - 4), width=column))
        layout["pareto"].update(panels.pareto_panel(
            state, width=max(10, column - 4 - LABEL_WIDTH), height=grid_height))

    def _narrow(self, state: RunState) -> None:
        """Full-width panels from the most to the least needed, as many as the height holds."""
        width = self.console.size.width
        layout = self.frame.layout = self.narrow
        left = self.height()
        for name, panel in (("header", panels.header_panel(state, width)),
                            ("progress", panels.progress_panel(state, width)),
                            ("family", panels.family_panel(state))):
            size = min(self.lines(panel, width), max(0, left))
            layout[name].size, layout[name].visible = size, size > 0
            layout[name].update(panel)
            left -= size
        board = 0 if left < 12 else min(left - 3, len(state.leaderboard()) + 4)
        rest = left - board
        need = self.lines(panels.candidate_panel(state, max_modules=99, width=width), width)
        plot = 0 if rest < 15 else max(12, min(18, rest - min(need, rest - 12)))
        candidate = rest - plot
        cand = panels.candidate_panel(state, max_modules=max(0, candidate - 4), width=width)
        for name, size, panel in (
            ("candidate", candidate, cand),
            ("leaderboard", board, panels.leaderboard_panel(state, max(1, board - 4), width)),
            ("pareto", plot, panels.pareto_panel(state, width=max(10, width - 4 - LABEL_WIDTH),
                                                 height=max(3, plot - 6))),
        ):
            layout[name].size, layout[name].visible = size, size > 0
            layout[name].update(panel)
