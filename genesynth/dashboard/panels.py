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
from genesynth.record.family import labels
from genesynth.record.fidelity import checked_text
from genesynth.record.snapshot import Member, RunState
from genesynth.record.trial import TrialState, counted_states

#: How the counts name a state where the record's word would mean something else on screen:
#: legacy "infeasible" trials (runs made before skipping) were rejected by the analytic cost
#: before training (× in the plot marks a trained network that misses a bound).
COUNT_LABELS: dict[str, str] = {TrialState.INFEASIBLE: "rejected"}
STATE_STYLES: dict[str, str] = {
    TrialState.COMPLETE: "green", TrialState.PRUNED: "yellow", TrialState.INFEASIBLE: "magenta",
    TrialState.FAILED: "red", TrialState.DUPLICATE: "cyan", TrialState.INVALID: "bright_black",
    TrialState.RUNNING: "bold blue",
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


def flow(items: list[tuple[str, str]], width: int | None) -> Text:
    """``label value`` items on as few lines of ``width`` cells as fit, never cut inside one."""
    text = Text()
    used = 0
    for label, value in items:
        size = len(label) + 1 + len(value or fmt.DASH)
        if used and width is not None and used + 3 + size > width:
            text.append("\n")
            used = 0
        elif used:
            text.append("   ")
            used += 3
        text.append(f"{label} ", style="dim")
        text.append(value or fmt.DASH)
        used += size
    return text


def status(state: RunState) -> Text:
    if state.interrupted:
        return Text("interrupted", style="bold red")
    if state.finished:
        return Text("finished", style="bold green")
    if state.below_family:
        return Text("searching below the retrained family", style="bold blue")
    if state.family and any(m.status != "waiting" for m in state.family.values()):
        return Text("retraining the family", style="bold blue")
    if state.supernet is not None and not state.supernet.ready:
        return Text("training the supernet", style="bold blue")
    return Text("searching", style="bold blue")


def header_panel(state: RunState, width: int | None = None) -> Panel:
    """Prototype, constraint with its bounds, dataset, input shape, sampler, seed and run
    directory; the last word on widening the family below."""
    inner = None if width is None else max(10, width - 4)
    items = [("prototype", state.prototype), ("data", state.data),
             ("input", state.input_shape), ("sampler", state.sampler),
             ("seed", "" if state.seed is None else str(state.seed)),
             ("constraint", state.constraint)]
    items += [(f"{name} {sign}", value) for name, sign, value in fmt.bounds(state.bounds)]
    items += [("utility", state.utility_name)]
    items += [("device", state.device)] if state.device else []
    items += [("latency", state.latency_source)] if state.latency_source else []
    items += [("run", state.out)]
    title = Text.assemble(("genesynth", "bold"), " · generative synthesis · ", status(state))
    lines: list[RenderableType] = [flow(items, inner)]
    if state.resumed:  # what a resumed run took up, and what it does again
        lines.append(Text(state.resumed_text(), style="cyan"))
    if state.notice:  # whole, wrapped inside the panel (a subtitle is cut at the border)
        lines.append(Text(f"family: {state.notice}", style="yellow"))
    body: RenderableType = lines[0] if len(lines) == 1 else Group(*lines)
    return Panel(body, title=title, title_align="left", box=box.ROUNDED)


def _counts(state: RunState, per_row: int = 3) -> Table:
    """Trials by final state, ``per_row`` to a row (a legacy state only where a trial has it)."""
    grid = Table.grid(padding=(0, 2))
    counts = counted_states(state.counts)
    names = list(counts)
    for _ in range(per_row):
        grid.add_column(no_wrap=True)
    for row in range(0, len(names), per_row):
        cells = []
        for name in names[row:row + per_row]:
            n = counts[name]
            cells.append(Text.assemble((f"{COUNT_LABELS.get(name, name)} ",
                                        STATE_STYLES[name] if n else "dim"),
                                       (str(n), "bold" if n else "dim")))
        grid.add_row(*cells)
    return grid


def eta_items(state: RunState) -> list[tuple[str, str]]:
    """``ETA ~3m 05s``, then what it is made of: the search's part and the family's."""
    if state.interrupted:
        return [("ETA", fmt.DASH)]
    if state.finished:
        return [("ETA", "done")]
    est = state.estimate
    total = est.total
    items = [("ETA", "~" + fmt.duration(total) if total is not None
              else "≥" + fmt.duration(est.at_least) if est.at_least else fmt.DASH)]
    if est.supernet:
        items.append(("supernet", "~" + fmt.duration(est.supernet)))
    if est.search:
        items.append(("search", "~" + fmt.duration(est.search)))
    if est.family is not None and state.family_size:
        items.append(("family", "~" + fmt.duration(est.family)))
    return items


def progress_panel(state: RunState, width: int | None = None) -> Panel:
    """Trials done of planned, elapsed time, ETA of the whole job, counts and the best."""
    inner = None if width is None else max(10, width - 4)
    planned = max(state.planned, state.done, 1)
    bar = Table.grid(expand=True, padding=(0, 1))
    bar.add_column(ratio=1)
    bar.add_column(justify="right")
    bar.add_row(
        ProgressBar(total=planned, completed=state.done, finished_style="green"),
        Text(f"{state.done}/{state.planned} trials", style="bold"),
    )
    reused = [("reused", f"{state.reused} from the cache")] if state.reused else []
    mean = state.mean_seconds
    phase = state.supernet
    supernet = [] if phase is None or not phase.ready else [(
        "supernet", "loaded" if phase.loaded else f"trained in {fmt.duration(phase.seconds)}")]
    per = "per score" if phase is not None else "per trained trial"
    timing = flow([("elapsed", fmt.duration(state.elapsed)), *eta_items(state), *supernet,
                   (per, fmt.duration(mean) if mean else fmt.DASH), *reused,
                   *((("skipped", f"{state.skipped} samples"),) if state.skipped else ())],
                  inner)
    best = state.best
    best_line = (
        flow([("best trial", str(best.number)), (state.utility_name, fmt.score(best.utility)),
              (state.measure, fmt.percent(best.accuracy))], inner)
        if best else Text("best: no feasible candidate yet", style="dim")
    )
    per_row = 6 if inner is not None and inner >= 72 else 3
    return Panel(Group(bar, timing, _counts(state, per_row), best_line), title="progress",
                 title_align="left")


def epoch_bar(epoch: int, epochs: int, width: int | None = None) -> ProgressBar:
    return ProgressBar(total=max(epochs, 1), completed=epoch, width=width,
                       finished_style="green")


def supernet_panel(state: RunState, width: int | None = None) -> Panel:
    """The supernet's training before the search: epochs and the steps of the one under way,
    the largest network's loss and validation top-1, training time and the phase's ETA."""
    phase = state.supernet
    if phase is None:
        return Panel(Text("no supernet in this run", style="dim"), title="supernet",
                     title_align="left")
    inner = None if width is None else max(10, width - 4)
    done = phase.epoch + (phase.step / phase.steps if phase.steps else 0.0)
    bar = Table.grid(expand=True, padding=(0, 1))
    bar.add_column(no_wrap=True)
    bar.add_column(ratio=1)
    bar.add_column(no_wrap=True)
    steps = f"step {phase.step}/{phase.steps}" if phase.step and not phase.ready else ""
    bar.add_row(Text(f"epoch {phase.epoch}/{phase.epochs}", style="dim"),
                ProgressBar(total=max(phase.epochs, 1), completed=done, finished_style="green"),
                Text(steps, style="dim"))
    left = None if state.interrupted else state.estimate.supernet
    items = [("loss", "" if phase.loss is None else f"{phase.loss:.4f}"),
             ("largest val", fmt.percent(phase.accuracy)),
             ("trained", fmt.duration(phase.seconds)),
             ("ETA", "~" + fmt.duration(left) if left is not None else fmt.DASH)]
    word = ("loaded" if phase.loaded else "ready") if phase.ready else "training"
    title = Text.assemble("supernet · ", (word, "green" if phase.ready else "bold blue"),
                          " · before the search")
    return Panel(Group(bar, flow(items, inner)), title=title, title_align="left")


def candidate_panel(state: RunState, max_modules: int = 16, width: int | None = None
                    ) -> Panel:
    """The trial being trained: modules, cost, per-epoch progress with loss and accuracy;
    before the first trial of a run with a supernet, the supernet's training."""
    cand = state.candidate
    if cand is None and state.supernet is not None:
        return supernet_panel(state, width)
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
    lines = list(cand.modules)
    if len(lines) > max_modules:  # the last line says how many are left out
        shown = max(0, max_modules - 1)
        lines = lines[:shown] + [f"… {fmt.plural(len(lines) - shown, 'more module')}"]
    modules = Text("\n".join(lines), no_wrap=True, overflow="ellipsis", style="cyan")
    word = COUNT_LABELS.get(cand.state, cand.state)
    title = Text.assemble("candidate · trial ", (str(cand.number), "bold"), " · ",
                          (word, STATE_STYLES.get(cand.state, "")))
    parts: list[RenderableType] = [epochs, head]  # the epoch first: shown in a short region
    if cand.reason and cand.state != TrialState.RUNNING:
        parts.append(Text(cand.reason, style="dim italic"))
    if max_modules:
        parts.append(modules)
    return Panel(Group(*parts), title=title, title_align="left")


def _columns(table: Table, names: list[str]) -> None:
    for name in names:
        table.add_column(name, justify="left" if name in ("#", "", "status") else "right",
                         no_wrap=True)


def leaderboard_panel(state: RunState, limit: int = 8, width: int | None = None) -> Panel:
    """The best feasible candidates by utility, as a table; the latency column only when a
    latency was measured, the rank only where there is room."""
    rows = state.leaderboard(limit)
    if not rows:
        return Panel(Text("no feasible candidate yet", style="dim"), title="leaderboard",
                     title_align="left")
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, collapse_padding=True)
    latency = any(row.latency_ms is not None for row in rows)
    rank = width is None or width >= 50 + 10 * latency
    _columns(table, ["#"] * rank + ["trial", state.utility_name, state.measure, "params", "MACs"]
             + [("pred. " if state.latency_source else "") + "latency"] * latency)
    for place, row in enumerate(rows, 1):
        cells = [str(place)] * rank + [
            str(row.number), fmt.score(row.utility), fmt.percent(row.accuracy),
            fmt.count(row.params), fmt.count(row.macs)] + [fmt.latency(row.latency_ms)] * latency
        table.add_row(*cells, style="bold green" if place == 1 else None)
    return Panel(table, title="leaderboard", title_align="left")


def pareto_panel(state: RunState, width: int = 48, height: int = 10) -> Panel:
    """Accuracy against MACs (log scale) of every measured candidate, with the accuracy bound."""
    best = state.best
    plot = scatter(state.points, best.number if best else None, width, height,
                   bound=state.bounds.get("min_accuracy"))
    return Panel(plot, title="accuracy vs MACs", title_align="left")


def _member_progress(member: Member) -> RenderableType:
    if member.status == "training":
        grid = Table.grid(padding=(0, 1))
        grid.add_row(epoch_bar(member.epoch, member.epochs, width=5),
                     Text(f"{member.epoch}/{member.epochs}", style="dim"))
        return grid
    style = "green" if member.status == "done" else "dim"
    status = member.status
    if member.kept:  # retrained before the run's interrupt
        return Text("kept", style="green" if member.status == "done" else "dim")
    if member.reused:  # its retraining is (or will be) the evaluation cache's
        status = "cached" if status == "waiting" else f"{status} (cache)"
    return Text(status, style=style)


def forming_panel(state: RunState) -> Panel:
    """During the search: the current leader of each complexity band, the family to be."""
    size = state.family_size or 4
    leaders = state.forming(size)
    title = f"family forming · best of {fmt.plural(size, 'MACs band')}"
    if not leaders:
        return Panel(Text("no feasible candidate yet; the family forms from them", style="dim"),
                     title=title, title_align="left")
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, collapse_padding=True)
    searched = "val" if state.measure == "top-1" else state.measure  # a supernet's: "score"
    _columns(table, ["", "trial", searched, "params", "MACs", state.utility_name])
    for label, row in zip(labels(len(leaders)), leaders, strict=False):
        table.add_row(Text(label, style="bold"), str(row.number), fmt.percent(row.accuracy),
                      fmt.count(row.params), fmt.count(row.macs), fmt.score(row.utility))
    return Panel(table, title=title, title_align="left")


def family_panel(state: RunState) -> Panel:
    """Members A, B, ... with status, accuracy, params, MACs, (when a latency table predicts
    latency) the predicted latency beside the one measured here, and utility; while the search
    runs, the family forming (:func:`forming_panel`)."""
    if not state.family:
        if state.finished:
            return Panel(Text("no family: no feasible candidate", style="dim"), title="family",
                         title_align="left")
        return forming_panel(state)
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, collapse_padding=True)
    members = state.family.values()
    latency: tuple[str, ...] = ()
    if state.latency_source and any(m.latency_ms is not None for m in members):
        latency = ("pred. latency", "here")  # the target's, as the table predicts; this CPU's
        if not any(m.measured_latency_ms is not None for m in members):
            latency = latency[:1]
    _columns(table, ["", "trial", "status", "top-1", "params", "MACs", *latency,
                     state.utility_name])
    marks = {True: ("✓", "green"), False: ("✗", "red"), None: (" ", "")}
    for member in state.family.values():
        accuracy = fmt.percent(member.accuracy)
        times = [fmt.latency(member.latency_ms), fmt.latency(member.measured_latency_ms)]
        table.add_row(
            Text.assemble((member.label, "bold"), " ", marks[member.feasible]),
            "" if member.trial is None else str(member.trial),
            _member_progress(member),
            Text(accuracy, style="italic dim") if member.status == "training" else accuracy,
            fmt.count(member.params), fmt.count(member.macs), *times[: len(latency)],
            fmt.score(member.utility),
        )
    body: RenderableType = table
    if state.fidelity is not None:  # the run's check of its scores (a supernet run)
        check = state.fidelity
        line = Text(f"fidelity: {checked_text(check)}", style="dim")
        if check.warning:
            line = Text.assemble(line, "\n", (f"warning: {check.warning}", "bold yellow"))
        body = Group(table, line)
    return Panel(body, title=f"family · {fmt.plural(state.family_epochs, 'epoch')}",
                 title_align="left")

