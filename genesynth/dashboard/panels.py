"""One pure function per dashboard panel: a :class:`RunState` in, a rich renderable out.

Nothing here keeps state or reads the clock; :mod:`genesynth.dashboard.live` places the panels
in a layout made once and calls these functions again when the snapshot changes.
"""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from genesynth import fmt
from genesynth.dashboard.pareto import scatter
from genesynth.record.snapshot import Member, RunState

STATE_STYLES = {
    "complete": "green", "pruned": "yellow", "infeasible": "magenta", "failed": "red",
    "duplicate": "cyan", "invalid": "bright_black", "running": "bold blue",
}


def _pairs(*items: tuple[str, str]) -> Text:
    """``label value   label value`` with dim labels."""
    text = Text()
    for i, (label, value) in enumerate(items):
        if i:
            text.append("   ")
        text.append(f"{label} ", style="dim")
        text.append(value or fmt.DASH)
    return text


def status(state: RunState) -> Text:
    if state.interrupted:
        return Text("interrupted", style="bold red")
    if state.finished:
        return Text("finished", style="bold green")
    if state.family and any(m.status != "waiting" for m in state.family.values()):
        return Text("retraining the family", style="bold blue")
    return Text("searching", style="bold blue")


def header_panel(state: RunState) -> Panel:
    """Prototype, constraint, dataset, sampler, seed and run directory."""
    body = Group(
        _pairs(("prototype", state.prototype), ("constraint", state.constraint),
               ("data", state.data)),
        _pairs(("sampler", state.sampler),
               ("seed", "" if state.seed is None else str(state.seed)),
               ("utility", state.utility_name), ("run", state.out)),
    )
    title = Text.assemble(("genesynth", "bold"), " · generative synthesis · ", status(state))
    return Panel(body, title=title, title_align="left", box=box.ROUNDED)


def _counts(state: RunState) -> Table:
    """Trials by final state, three to a row."""
    grid = Table.grid(padding=(0, 2))
    names = list(state.counts)
    for _ in range(3):
        grid.add_column(no_wrap=True)
    for row in range(0, len(names), 3):
        cells = []
        for name in names[row:row + 3]:
            n = state.counts[name]
            cells.append(Text.assemble((f"{name} ", STATE_STYLES[name] if n else "dim"),
                                       (str(n), "bold" if n else "dim")))
        grid.add_row(*cells)
    return grid


def _eta(state: RunState) -> str:
    if state.finished:
        return "done"
    if state.planned and state.done >= state.planned:
        return "search done"
    eta = state.eta
    return "~" + fmt.duration(eta) if eta else fmt.DASH


def progress_panel(state: RunState) -> Panel:
    """Trials done of planned, elapsed time, ETA, counts by state and the best so far."""
    planned = max(state.planned, state.done, 1)
    bar = Table.grid(expand=True, padding=(0, 1))
    bar.add_column(ratio=1)
    bar.add_column(justify="right")
    bar.add_row(
        ProgressBar(total=planned, completed=state.done, finished_style="green"),
        Text(f"{state.done}/{state.planned} trials", style="bold"),
    )
    mean = state.mean_seconds
    timing = _pairs(
        ("elapsed", fmt.duration(state.elapsed)),
        ("ETA", _eta(state)),
        ("per trial", fmt.duration(mean) if mean else fmt.DASH),
        *((("skipped", f"{state.skipped} samples"),) if state.skipped else ()),
    )
    best = state.best
    best_line = (
        _pairs(("best trial", str(best.number)), (state.utility_name, fmt.score(best.utility)),
               ("top-1", fmt.percent(best.accuracy)))
        if best else Text("best: no feasible candidate yet", style="dim")
    )
    return Panel(Group(bar, timing, _counts(state), best_line), title="progress",
                 title_align="left")


def epoch_bar(epoch: int, epochs: int, width: int | None = None) -> ProgressBar:
    return ProgressBar(total=max(epochs, 1), completed=epoch, width=width,
                       finished_style="green")


def candidate_panel(state: RunState, max_modules: int = 16) -> Panel:
    """The trial being trained: modules, cost, per-epoch progress with loss and accuracy."""
    cand = state.candidate
    if cand is None:
        return Panel(Text("waiting for the first candidate", style="dim"), title="candidate",
                     title_align="left")
    head = _pairs(("params", fmt.count(cand.params)), ("MACs", fmt.count(cand.macs)),
                  ("key", cand.key[:12]))
    epochs = Table.grid(expand=True, padding=(0, 1))
    epochs.add_column(no_wrap=True)
    epochs.add_column(ratio=1)
    epochs.add_column(no_wrap=True)
    epochs.add_row(
        Text(f"epoch {cand.epoch}/{cand.epochs}", style="dim"),
        epoch_bar(cand.epoch, cand.epochs),
        _pairs(("loss", "" if cand.loss is None else f"{cand.loss:.3f}"),
               ("val", fmt.percent(cand.accuracy))),
    )
    lines = list(cand.modules[:max_modules])
    if len(cand.modules) > max_modules:
        lines.append(f"… {len(cand.modules) - max_modules} more modules")
    modules = Text("\n".join(lines), no_wrap=True, overflow="ellipsis", style="cyan")
    title = Text.assemble("candidate · trial ", (str(cand.number), "bold"), " · ",
                          (cand.state, STATE_STYLES.get(cand.state, "")))
    parts: list[RenderableType] = [head, epochs]
    if cand.reason and cand.state != "running":
        parts.append(Text(cand.reason, style="dim italic", overflow="ellipsis", no_wrap=True))
    parts.append(modules)
    return Panel(Group(*parts), title=title, title_align="left")


def leaderboard_panel(state: RunState, limit: int = 8) -> Panel:
    """The best feasible candidates by utility, as a table."""
    rows = state.leaderboard(limit)
    if not rows:
        return Panel(Text("no feasible candidate yet", style="dim"), title="leaderboard",
                     title_align="left")
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, collapse_padding=True)
    for name in ("#", "trial", state.utility_name, "top-1", "params", "MACs", "latency"):
        table.add_column(name, justify="left" if name == "#" else "right", no_wrap=True)
    for rank, row in enumerate(rows, 1):
        table.add_row(
            str(rank), str(row.number), fmt.score(row.utility), fmt.percent(row.accuracy),
            fmt.count(row.params), fmt.count(row.macs), fmt.latency(row.latency_ms),
            style="bold green" if rank == 1 else None,
        )
    return Panel(table, title="leaderboard", title_align="left")


def pareto_panel(state: RunState, width: int = 48, height: int = 10) -> Panel:
    """Accuracy against MACs (log scale) of every measured candidate."""
    best = state.best
    plot = scatter(state.points, best.number if best else None, width, height)
    return Panel(plot, title="accuracy vs MACs", title_align="left")


def _member_progress(member: Member) -> RenderableType:
    if member.status == "training":
        grid = Table.grid(padding=(0, 1))
        grid.add_row(epoch_bar(member.epoch, member.epochs, width=5),
                     Text(f"{member.epoch}/{member.epochs}", style="dim"))
        return grid
    style = "green" if member.status == "done" else "dim"
    return Text(member.status, style=style)


def family_panel(state: RunState) -> Panel:
    """Members A, B, ... with status, accuracy, params, MACs and utility."""
    if not state.family:
        return Panel(Text("retrained after the search: A, B, C, D of decreasing complexity",
                          style="dim"), title="family", title_align="left")
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, collapse_padding=True)
    for name in ("", "trial", "status", "top-1", "params", "MACs", state.utility_name):
        table.add_column(name, justify="left" if name in ("", "status") else "right",
                         no_wrap=True)
    marks = {True: ("✓", "green"), False: ("✗", "red"), None: (" ", "")}
    for member in state.family.values():
        accuracy = fmt.percent(member.accuracy)
        table.add_row(
            Text.assemble((member.label, "bold"), " ", marks[member.feasible]),
            "" if member.trial is None else str(member.trial),
            _member_progress(member),
            Text(accuracy, style="italic dim") if member.status == "training" else accuracy,
            fmt.count(member.params), fmt.count(member.macs), fmt.score(member.utility),
        )
    return Panel(table, title=f"family · {state.family_epochs} epochs", title_align="left")
