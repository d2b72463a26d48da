"""The live dashboard: a listener that keeps a :class:`RunState` and shows it with rich.

The layout is made once (header / left: progress, candidate, family / right: leaderboard,
accuracy-vs-MACs); each event updates the snapshot and, at most a few times a second,
the panels are rebuilt from it and the screen refreshed. ``screen=False``: when the
dashboard closes, its last frame stays in the terminal's scrollback.

Use it as a context manager::

    with Dashboard(console) as listener:
        synthesize(..., listeners=[listener])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from types import TracebackType

from rich.console import Console, ConsoleOptions, RenderResult
from rich.layout import Layout
from rich.live import Live

from genesynth.dashboard import panels
from genesynth.dashboard.pareto import LABEL_WIDTH
from genesynth.events import Event, MemberDone, RunFinished, RunStarted, TrialFinished
from genesynth.record.snapshot import RunState

#: Events worth a refresh as soon as they arrive; others wait for the throttle.
URGENT = (RunStarted, TrialFinished, MemberDone, RunFinished)
MAX_HEIGHT = 44


def make_layout() -> Layout:
    """The dashboard's regions, made once; :meth:`Dashboard.refresh` fills them."""
    layout = Layout(name="root")
    layout.split_column(Layout(name="header", size=4), Layout(name="body"))
    layout["body"].split_row(Layout(name="left"), Layout(name="right"))
    layout["left"].split_column(
        Layout(name="progress", size=7), Layout(name="candidate"), Layout(name="family", size=3)
    )
    layout["right"].split_column(Layout(name="leaderboard"), Layout(name="pareto", size=17))
    return layout


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
        self._live = Live(
            _Frame(self.layout, self.height), console=self.console, auto_refresh=False,
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
        return max(24, min(self.console.size.height - 1, MAX_HEIGHT))

    def refresh(self) -> None:
        """Rebuild every panel from the snapshot and redraw."""
        state = self.state
        if self.clock is not None and state.started_at and not state.finished:
            state.now = max(state.now, self.clock())
        body = self.height() - 4
        family = len(state.family) + 4 if state.family else 3
        grid_height = 12 if body >= 32 else max(5, body - 20)
        column = self.console.size.width // 2
        layout = self.layout
        layout["family"].size = family
        layout["pareto"].size = grid_height + 5
        layout["header"].update(panels.header_panel(state))
        layout["progress"].update(panels.progress_panel(state))
        layout["candidate"].update(
            panels.candidate_panel(state, max_modules=max(1, body - 7 - family - 5))
        )
        layout["family"].update(panels.family_panel(state))
        layout["leaderboard"].update(
            panels.leaderboard_panel(state, limit=max(1, body - grid_height - 5 - 4))
        )
        layout["pareto"].update(
            panels.pareto_panel(state, width=max(10, column - 4 - LABEL_WIDTH),
                                height=grid_height)
        )
        self._last = time.monotonic()
        if self._live.is_started:
            self._live.refresh()
