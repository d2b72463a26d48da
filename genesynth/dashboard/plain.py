"""The plain log: one line of plain text per event, for pipes, files and dumb terminals.

No ANSI control code is ever written. Lines read like::

    trial 12 complete acc 97.22% params 45.1K MACs 1.20M NetScore 71.4 feasible (8.2 s) [13/40]

:func:`summary_lines` describes a whole snapshot the same way (``genesynth watch --plain``).
"""

from __future__ import annotations

from types import TracebackType
from typing import TextIO

from genesynth import fmt
from genesynth.events import (
    AdaptStarted,
    AdaptStep,
    EpochDone,
    Event,
    FamilyStarted,
    FidelityChecked,
    FidelityStarted,
    MemberDone,
    MemberDropped,
    MemberEpoch,
    MemberRenamed,
    MemberStarted,
    RunFinished,
    RunResumed,
    RunStarted,
    SearchEnded,
    SearchExtended,
    SearchNotExtended,
    SupernetProgress,
    TrialFinished,
    TrialStarted,
    WarmStarted,
)
from genesynth.record.fidelity import checked_text
from genesynth.record.rows import SupernetPhase
from genesynth.record.snapshot import RunState, TrialRow, restart_text
from genesynth.record.trial import TrialState, counted_states


def _acc(value: float | None) -> str:
    return fmt.percent(value, digits=2, space=False)


def header_line(state: RunState) -> str:
    seed = "" if state.seed is None else str(state.seed)
    return (
        f"run {state.out or fmt.DASH}: prototype {state.prototype or fmt.DASH} "
        f"constraint {state.constraint or fmt.DASH} data {state.data or fmt.DASH} "
        f"sampler {state.sampler or fmt.DASH} seed {seed or fmt.DASH} trials {state.planned}"
        + (f" input {state.input_shape}" if state.input_shape else "")
        + (f" ({state.earlier} already done)" if state.earlier else "")
        + (f" device {state.device}" if state.device else "")
        + (f" latency {state.latency_source}" if state.latency_source else "")
    )


def trial_line(row: TrialRow, utility_name: str = "NetScore", measure: str = "top-1") -> str:
    """``trial 12 complete acc 97.22% params 45.1K MACs 1.20M NetScore 71.4 feasible (8.2 s)``
    (``score 81.85%`` where a supernet scored it: ``measure``)."""
    words = [f"trial {row.number} {row.state}"]
    if row.accuracy is not None:
        words.append(f"{'acc' if measure == 'top-1' else measure} {_acc(row.accuracy)}")
    words.append(f"params {fmt.count(row.params)} MACs {fmt.count(row.macs)}")
    if row.latency_ms is not None:
        words.append(f"latency {fmt.latency(row.latency_ms)}")
    if row.utility is not None:
        words.append(f"{utility_name} {fmt.score(row.utility)}")
    if row.state == TrialState.COMPLETE:
        words.append("feasible" if row.feasible else "infeasible")
    if row.reason:
        words.append(f"- {row.reason}")
    words.append(f"({fmt.duration(row.seconds)})")
    return " ".join(words)


def _progress(state: RunState) -> str:
    """``[3/10, ETA 1m 05s]``; ``ETA ≥40.0 s`` when a part is not measured yet (a supernet
    run's family, before its first member's epoch: its scores say nothing of training)."""
    eta, least = state.eta, state.estimate.at_least
    tail = (f", ETA {fmt.duration(eta)}" if eta else
            f", ETA ≥{fmt.duration(least)}" if eta is None and least else "")
    reused = f", {state.reused} reused" if state.reused else ""
    return f"[{state.done}/{state.planned}{reused}{tail}]"


class PlainLog:
    """A listener that writes one line per event to ``stream`` (epochs at most once each)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.state = RunState()
        self._epochs: set[tuple[str, int]] = set()

    def __enter__(self) -> PlainLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is KeyboardInterrupt and not self.state.finished:
            self.write(f"interrupted after {self.state.done}/{self.state.planned} trials")
        self.stream.flush()

    def write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def __call__(self, event: Event) -> None:
        self.state.apply(event)
        line = self.line(event)
        if line:
            self.write(line)

    def line(self, event: Event) -> str | None:
        """The line for ``event`` (None when it says nothing new); the state is applied."""
        state = self.state
        match event:
            case RunStarted():
                return header_line(state)
            case RunResumed():
                return state.resumed
            case TrialStarted():
                return (f"trial {event.number} start params {fmt.count(event.params)} "
                        f"MACs {fmt.count(event.macs)} epochs {event.epochs}")
            case EpochDone():
                return self._epoch(f"trial {event.number}", event.epoch, event.epochs,
                                   event.loss, event.accuracy)
            case TrialFinished():
                if event.state == TrialState.SKIPPED:  # counted in the summary, not a trial
                    return None
                row = state.trials[-1]
                return f"{trial_line(row, state.utility_name, state.measure)} {_progress(state)}"
            case WarmStarted():
                return event.message
            case SearchEnded():
                return state.notice
            case SearchExtended() | SearchNotExtended():
                return f"family: {state.notice}"
            case MemberDropped():
                instead = (f"; retraining trial {event.replacement} of its band instead"
                           if event.replacement is not None else "; dropped")
                return (f"member {event.label} (trial {event.trial}) is dominated: "
                        f"{event.reason}{instead}")
            case MemberRenamed():
                return f"member {event.label} (trial {event.trial}) is now {event.new}"
            case SupernetProgress():
                return supernet_line(event)
            case AdaptStarted() | AdaptStep():
                return state.notice
            case FamilyStarted():
                if not event.members:
                    return "family: no feasible candidate to retrain"
                train = [m for m in event.members
                         if m not in event.cached + event.kept + event.retrained]
                said = (f"family: retraining {', '.join(train)} "
                        f"for {fmt.plural(event.epochs, 'epoch')}" if train else "family:")
                for those, how in ((event.cached, "from the evaluation cache"),
                                   (event.kept, "kept (retrained before the interrupt)"),
                                   (event.retrained, "as retrained before the phase")):
                    if those:
                        said += f"{';' if said != 'family:' else ''} {', '.join(those)} {how}"
                return said
            case MemberStarted():
                again = (f"; {restart_text(event.label, event.reached, event.epochs)}"
                         if event.restarted else "")
                return (f"member {event.label} start (trial {event.trial}) params "
                        f"{fmt.count(event.params)} MACs {fmt.count(event.macs)}{again}")
            case MemberEpoch():
                return self._epoch(f"member {event.label}", event.epoch, event.epochs,
                                   event.loss, event.accuracy)
            case MemberDone():
                return (f"member {event.label} done (trial {event.trial}) test acc "
                        f"{_acc(event.accuracy)} params {fmt.count(event.params)} MACs "
                        f"{fmt.count(event.macs)}{_member_latency(event, state)} "
                        f"{state.utility_name} "
                        f"{fmt.score(event.utility)} "
                        f"{'feasible' if event.feasible else 'infeasible'}"
                        f"{' (reused: evaluation cache)' if event.reused else ''}"
                        f"{' (kept: retrained before the interrupt)' if event.kept else ''}")
            case FidelityStarted():
                kept = (f"; {event.kept} of them trained before the interrupt, kept"
                        if event.kept else "")
                return (f"fidelity check: training {fmt.plural(event.count, 'candidate')} "
                        f"alone for {fmt.plural(event.epochs, 'epoch')} (the proxy budget)"
                        f"{kept}")
            case FidelityChecked():
                line = f"fidelity check: {checked_text(event)}"
                return line + (f"\nwarning: {event.warning}" if event.warning else "")
            case RunFinished():
                if event.interrupted:
                    return f"interrupted after {state.done}/{state.planned} trials ({event.out})"
                return (f"finished: {fmt.plural(state.done, 'trial')}{_reused(state)}, "
                        f"{fmt.plural(event.family, 'family member')} in {event.out} "
                        f"({fmt.duration(state.elapsed)})")
        return None

    def _epoch(self, who: str, epoch: int, epochs: int, loss: float | None, acc: float
               ) -> str | None:
        if (who, epoch) in self._epochs:
            return None
        self._epochs.add((who, epoch))
        trained = "" if loss is None else f" loss {loss:.4f}"  # None: scored, not trained
        return f"{who} epoch {epoch}/{epochs}{trained} val {_acc(acc)}"


def _reused(state: RunState) -> str:
    """`` (12 from the evaluation cache, 1 member)``: what the cache gave, when it gave any."""
    members = sum(m.reused for m in state.family.values())
    parts = [f"{state.reused} from the evaluation cache"] if state.reused else []
    if members:
        parts.append(f"{fmt.plural(members, 'member')} retrained from it" if parts
                     else f"{fmt.plural(members, 'member')} from the evaluation cache")
    return f" ({', '.join(parts)})" if parts else ""


def supernet_line(event: SupernetProgress) -> str | None:
    """The supernet phase in one line: epochs done, loss, largest network's top-1, ETA (the
    steps within an epoch are the live dashboard's; no line)."""
    epochs = fmt.plural(event.epochs, "epoch")
    space = f"; trained for {event.bounds}" if event.bounds else ""
    if event.wider:
        space += f", wider than this run's {event.wider}: reused"
    if event.ready and event.loaded:
        return f"supernet: loaded from the run directory ({epochs} trained before{space})"
    if event.ready:
        return f"supernet: ready ({epochs}, {fmt.duration(event.seconds)}{space})"
    if event.steps:
        return None
    if event.loss is None:
        said = (f"supernet: resumes after epoch {event.epoch} of {event.epochs}"
                if event.resumed else f"supernet: training for {epochs} before the search")
        if event.eta is not None:
            said += (f"; about {fmt.duration(event.eta)} on this device (an estimate from "
                     "timed passes of its largest and smallest networks)")
        return said
    eta = f", ETA {fmt.duration(event.eta)}" if event.eta is not None else ""
    return (f"supernet: epoch {event.epoch}/{event.epochs} loss {event.loss:.4f} "
            f"largest val {_acc(event.accuracy)} [{fmt.duration(event.seconds)}{eta}]")


def supernet_summary(phase: SupernetPhase) -> str:
    """The supernet's phase as a snapshot holds it, in one line (``watch --plain``)."""
    epochs = fmt.plural(phase.epochs, "epoch")
    if phase.ready:
        how = "loaded from the run directory" if phase.loaded else (
            f"trained in {fmt.duration(phase.seconds)}")
        return f"supernet: {how} ({epochs})"
    step = f", step {phase.step}/{phase.steps}" if phase.step and phase.steps else ""
    loss = ("" if phase.loss is None
            else f", loss {phase.loss:.4f}, largest val {_acc(phase.accuracy)}")
    return f"supernet: epoch {phase.epoch}/{phase.epochs}{step}{loss}"


def _parts(state: RunState) -> str:
    """`` (search 40.0 s, family 1m 50s)``: what the ETA is made of, when both are known."""
    est = state.estimate
    if est.search is None or est.family is None:
        return ""
    return f" (search {fmt.duration(est.search)}, family {fmt.duration(est.family)})"


def summary_lines(state: RunState, top: int = 5) -> list[str]:
    """A whole snapshot in plain lines: header, progress, counts, leaderboard, family."""
    counts = " ".join(f"{name} {n}" for name, n in counted_states(state.counts).items())
    status = "interrupted" if state.interrupted else "finished" if state.finished else "running"
    eta = "" if state.finished else f", ETA {fmt.duration(state.eta)}{_parts(state)}"
    lines = [
        header_line(state),
        f"{status}: {state.done}/{state.planned} trials{_reused(state)}, elapsed "
        f"{fmt.duration(state.elapsed)}{eta}",
        f"trials: {counts}" + (f"; skipped samples {state.skipped}" if state.skipped else ""),
    ]
    if state.supernet is not None:
        lines.insert(2, supernet_summary(state.supernet))
    for cand in state.running.values():
        lines.append(f"running: trial {cand.number} epoch {cand.epoch}/{cand.epochs} "
                     f"val {_acc(cand.accuracy)} params {fmt.count(cand.params)} "
                     f"MACs {fmt.count(cand.macs)}")
    board = state.leaderboard(top)
    lines.append("leaderboard:" if board else "leaderboard: no feasible candidate yet")
    lines += [f"  {rank}. {trial_line(row, state.utility_name, state.measure)}"
              for rank, row in enumerate(board, 1)]
    for member in state.family.values():
        lines.append(
            f"member {member.label} {member.status} (trial {member.trial}) acc "
            f"{_acc(member.accuracy)} params {fmt.count(member.params)} MACs "
            f"{fmt.count(member.macs)} {state.utility_name} {fmt.score(member.utility)}"
        )
    return lines


def _member_latency(event: MemberDone, state: RunState) -> str:
    """`` latency 0.0612 ms (here 0.0598 ms)``: the table's prediction and the latency
    measured here; `` latency 0.41 ms`` when measured here only; "" when neither."""
    if event.latency_ms is None:
        return ""
    text = f" latency {fmt.latency(event.latency_ms)}"
    if state.latency_source:
        text = f" latency {fmt.latency(event.latency_ms)} predicted"
        if event.measured_latency_ms is not None:
            text += f" (here {fmt.latency(event.measured_latency_ms)})"
    return text
