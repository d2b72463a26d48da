"""The report of a run: ``report.md``, ``pareto.png`` and ``history.png`` in the run directory.

``report.md`` holds the run's header, the family next to the fixed baselines (like Table 2 of
AttoNets: top-1, parameters, MACs, latency, NetScore, feasibility), one module table per member
(like Table 1: what each module holds, its output shape and cost) and search statistics. The
plots need matplotlib (``pip install genesynth[report]``); without it the report says so.

Everything is read from the run directory: ``run.json``, the study (``study.db`` or the
storage URL ``run.json`` records), ``family.json`` with ``family/<L>/arch.json``, and
``baselines.json`` when present. Nothing is changed but the three files written.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from genesynth import fmt
from genesynth.net.arch import Architecture
from genesynth.record.fidelity import checked_text, read_fidelity
from genesynth.record.layout import HISTORY_FILE, PARETO_FILE, REPORT_FILE
from genesynth.record.reader import RunSource, constraint_bounds, locate, state_from_study
from genesynth.record.snapshot import RunState
from genesynth.record.trial import TrialState
from genesynth.report.entries import Entry, baseline_entries, family_entries
from genesynth.report.family import side_by_side_section, stacks_section
from genesynth.urls import redact

PLOTS_NEED = "the plots need matplotlib: pip install 'genesynth[report]'"


# -- markdown ---------------------------------------------------------------------------------


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    """A markdown table; ``align`` has one of ``l r c`` per column."""
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _yes(value: bool | None) -> str:
    return {True: "yes", False: "**no**", None: fmt.DASH}[value]


def constraint_text(run: Mapping[str, Any]) -> str:
    """``constraints/digits.toml: top-1 ≥ 90 %, MACs ≤ 5.00M; netscore (alpha 2, ...)``."""
    constraint = run.get("constraint")
    if not isinstance(constraint, Mapping):
        return str(constraint or fmt.DASH)
    path = str(constraint.get("path") or "")
    text = fmt.bounds_text(constraint_bounds(constraint))
    utility = constraint.get("utility")
    if isinstance(utility, Mapping) and utility.get("kind"):
        settings = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                             for k, v in utility.items() if k != "kind")
        text += f"; utility {utility['kind']}" + (f" ({settings})" if settings else "")
    return f"{path}: {text}" if path else text


def trials_text(state: RunState, run: Mapping[str, Any]) -> str:
    """The trials run against the plan, and why they differ: ``37: 30 planned + 7 in 1 extra
    phase ...``; samples skipped outside the static bounds are no trials."""
    stored = run.get("trials")
    planned = stored if isinstance(stored, int) else state.planned
    extra = [t.phase for t in state.trials if t.phase > 0]
    if extra:
        text = (f"{state.done}: {planned} planned + {len(extra)} in "
                f"{fmt.plural(max(extra), 'extra phase')} that searched where a short family "
                "lacked a member (below its smallest member, above A, or below the members "
                "retraining kept)")
    elif state.done > planned:
        text = f"{state.done}: {planned} planned + {state.done - planned} more"
    else:
        text = f"{state.done} of {planned} planned"
    if state.skipped:
        text += (f"; {fmt.plural(state.skipped, 'sample')} outside the static bounds skipped "
                 "(not counted as trials)")
    return text


def header_section(state: RunState, source: RunSource) -> list[str]:
    status = "finished" if state.finished else "not finished (report of the trials so far)"
    rows = [
        ("prototype", state.prototype), ("constraint", constraint_text(source.run)),
        ("data", state.data), ("sampler", state.sampler),
        ("seed", "" if state.seed is None else str(state.seed)),
        ("trials", trials_text(state, source.run)),
        ("storage", redact(source.storage)), ("status", status),
    ]
    title = state.out or (str(source.run_dir) if source.run_dir else redact(source.storage))
    return [f"# genesynth report: {title}", "",
            *_table(("", ""), [(k, f"`{v}`" if v else fmt.DASH) for k, v in rows], "ll")]


def family_section(members: list[Entry], baselines: list[Entry], utility: str,
                   latency_source: str = "") -> list[str]:
    """The members (and baselines) side by side; with a latency table (``latency_source``)
    the latency column is the target's prediction, beside the latency measured here."""
    lines = ["", "## Family", ""]
    if not members:
        return lines + ["The family is not retrained yet (no `family.json`)."]
    rows = []
    here = bool(latency_source)
    for e in [*members, *baselines]:
        label = fmt.markdown(e.name)
        name = f"{label} (baseline)" if e.baseline else f"**{label}** ({e.origin})"
        if e.reused:
            name += ", reused"
        rows.append((name, fmt.percent(e.accuracy, 2), fmt.count(e.params), fmt.count(e.macs),
                     fmt.latency(e.latency_ms),
                     *([fmt.latency(e.measured_latency_ms)] if here else []),
                     fmt.score(e.utility), _yes(e.feasible)))
    head = ("Network", "Top-1", "Params", "MACs",
            *(("Latency (target)", "Latency (here)") if here else ("Latency",)),
            utility, "Feasible")
    note = "Top-1 on the test split after full retraining; latency on CPU at batch 1."
    if here:
        note = ("Top-1 on the test split after full retraining; latency (target) "
                f"{latency_source}, latency (here) measured on the run's machine with the "
                "table's runtime and threads, at batch 1.")
    if baselines:
        note += " Baselines were measured with the same budget."
    for e in members:
        if e.reused:  # said, with where genesynth found it
            note += (f" {fmt.markdown(e.name)} was reused, not retrained: "
                     f"{fmt.markdown(e.reused)} (its weights re-measured on the test split).")
    return lines + _table(head, rows, "lrrrr" + "r" * here + "rc") + ["", note]


def int8_section(members: list[Entry]) -> list[str]:
    """The members exported in int8 (``genesynth export --quantize int8``): both files' test
    top-1 (ONNX Runtime) and sizes."""
    rows = []
    for e in members:
        q = e.quantized
        if not q:
            continue
        top_float, top_int8 = q.get("float_accuracy"), q.get("accuracy")
        change = (f"{top_int8 - top_float:+.2f}" if isinstance(top_float, int | float)
                  and isinstance(top_int8, int | float) else fmt.DASH)
        rows.append((f"**{e.name}**", fmt.percent(top_float, 2), fmt.percent(top_int8, 2),
                     change, _kib(q.get("float_bytes")), _kib(q.get("bytes")),
                     _kib(q.get("float_weight_bytes")), _kib(q.get("weight_bytes"))))
    if not rows:
        return []
    head = ("Member", "Top-1 float", "Top-1 int8", "Change (points)", "Float file",
            "int8 file", "Float weights", "int8 weights")
    return ["", "## int8", "", *_table(head, rows, "lrrrrrrr"), "",
            "Both ONNX files run by ONNX Runtime on the test split; int8: static QDQ, weights "
            "per channel, calibrated on training images (`genesynth export --quantize int8`)."]


def _kib(value: Any) -> str:
    return f"{value / 1024:,.1f} KiB" if isinstance(value, int | float) else fmt.DASH


def adapted_section(members: list[Entry]) -> list[str]:
    """Each member genesynth adapt made: where from, the target, and its iterations."""
    lines: list[str] = []
    for e in members:
        lineage = e.lineage
        if not lineage or not lineage.get("adapted_from"):
            continue
        target = lineage.get("target") or {}
        what = ", ".join(f"{k} <= {fmt.count(v) if k != 'latency_ms' else fmt.latency(v)}"
                         for k, v in target.items())
        steps = [i for i in lineage.get("iterations") or [] if isinstance(i, Mapping)]
        lines += ["", f"### {e.name}: {lineage['adapted_from']} adapted to {what} "
                  f"(NetAdapt, {fmt.plural(len(steps), 'iteration')})", ""]
        rows = [(str(i.get("iteration")), f"`{i.get('unit')}`",
                 f"{i.get('width')} -> {i.get('new_width')}", _amount(target, i.get("resource")),
                 fmt.percent(i.get("accuracy"), 2), str(i.get("proposals"))) for i in steps]
        lines += _table(("Iteration", "Channels cut", "Width", "After", "Val top-1",
                         "Proposals"), rows, "rllrrr")
    return ["", "## Adapted members", *lines] if lines else []


def _amount(target: Mapping[str, Any], value: Any) -> str:
    if not isinstance(value, int | float):
        return fmt.DASH
    return fmt.latency(value) if "latency_ms" in target else fmt.count(value)


def module_rows(arch: Architecture) -> list[tuple[str, ...]]:
    """One row per part of ``arch``: stem, each module, head (like AttoNets' Table 1)."""
    from genesynth.blocks import trace_parts
    from genesynth.net.costs import breakdown
    from genesynth.net.summary import module_kind, part_layers

    kinds = {f"m{i + 1:02d}": module_kind(m) for i, m in enumerate(arch.modules)}
    rows: list[tuple[str, ...]] = []
    for part, cost in zip(trace_parts(arch), breakdown(arch), strict=True):
        name = part.name if part.label in (part.name, "stem", "head") else (
            f"{part.name} {fmt.markdown(part.label)}")
        rows.append((name, kinds.get(part.name, part.name), part_layers(part.layers),
                     fmt.shape(cost.out_shape), fmt.count(cost.params), fmt.count(cost.macs)))
    return rows


def modules_section(members: list[Entry]) -> list[str]:
    lines: list[str] = []
    for e in members:
        if e.arch is None:
            lines += ["", f"### {fmt.markdown(e.name)}", "", "The architecture file is missing."]
            continue
        lines += ["", f"### {fmt.markdown(e.name)} ({fmt.markdown(e.origin)}): "
                  f"{fmt.count(e.params)} params, {fmt.count(e.macs)} MACs", ""]
        lines += _table(("Module", "Kind", "Layers", "Output", "Params", "MACs"),
                        module_rows(e.arch), "lllrrr")
    return ["", "## Modules", *lines] if lines else []


def search_section(state: RunState, members: Sequence[Entry] = (),
                   family: Mapping[str, Any] | None = None) -> list[str]:
    rows = [(name, str(n)) for name, n in state.counts.items()]
    rows.append(("**total**", str(state.done)))
    lines = ["", "## Search", "", *_table(("State", "Trials"), rows, "lr"), ""]
    best = state.best
    total = sum(t.seconds for t in state.trials)
    if best is not None:
        lines.append(f"Best feasible trial: {best.number}, {state.utility_name} "
                     f"{fmt.score(best.utility)}, {state.measure} {fmt.percent(best.accuracy, 2)}, "
                     f"{fmt.count(best.params)} params, {fmt.count(best.macs)} MACs"
                     f"{_membership(best, members, family)}.")
    elif not state.done:
        lines.append("No trial has finished yet.")
    else:
        lines.append("No trial satisfied the constraint.")
    lines.append(f"Time in trials: {fmt.duration(total)}; mean per trial "
                 f"{fmt.duration(state.mean_seconds)}.")
    return lines


def _membership(best: Any, members: Sequence[Entry], family: Mapping[str, Any] | None) -> str:
    """Whether the best feasible trial of the search is a family member, and why not: the
    best utility in the search need not be a member (A is the most accurate candidate, the
    others the best of their MACs bands), and a retrained member can be dropped."""
    if family is None:
        return " (the family is not made yet)"
    searched = [e for e in members if not (e.lineage and e.lineage.get("adapted_from"))]
    for e in searched:
        if e.trial == best.number:
            return f", family member {fmt.markdown(e.name)}"
    for drop in family.get("dropped") or []:
        if isinstance(drop, Mapping) and drop.get("trial") == best.number:
            return (f"; not a family member: it was retrained and dropped, dominated after "
                    f"retraining by trial {drop.get('by_trial')} ({drop.get('reason')})")
    why = ("the family's rule took the most accurate candidate as A and the best utility of "
           "each MACs band below it, at least 20 % apart in MACs")
    top = searched[0] if searched else None
    if top is not None and top.macs and best.macs is not None and best.macs > 0.8 * top.macs:
        why = (f"its MACs are more than 80 % of member {fmt.markdown(top.name)}'s ("
               f"{fmt.count(top.macs)}, trial {top.trial}, the most accurate candidate), and "
               "members are at least 20 % apart in MACs")
    return f"; not a family member: {why}"


def supernet_section(run_dir: Path | None, state: RunState) -> list[str]:
    """A supernet run's training before the search: how far it got, how long it took over
    the run's processes (``events.jsonl``), the space it was trained for, its checkpoint."""
    from genesynth.record.reader import SupernetLog, apply_log

    if run_dir is None:
        return []
    events = SupernetLog(run_dir).read()
    apply_log(state, events)
    checkpoint = run_dir / "supernet.safetensors"
    phase = state.supernet
    if phase is None and not checkpoint.exists():
        return []
    lines = ["", "## Supernet", "", "The search scores candidates on a weight-sharing supernet "
             "trained once before it (docs/supernet.md)."]
    if phase is not None:
        done = (f"ready after {fmt.plural(phase.epochs, 'epoch')}" + (
            " (loaded from the run directory)" if phase.loaded else "") if phase.ready else
            f"{phase.epoch} of {fmt.plural(phase.epochs, 'epoch')} trained"
            + (f", and {phase.step:,} of {phase.steps:,} steps of epoch {phase.epoch + 1}"
               if phase.step and phase.steps else ""))
        lines += ["", f"- Training: {done}; {fmt.duration(_trained_seconds(events))} of "
                  "training in this run."]
        if phase.loss is not None:
            lines.append(f"- Its largest network after epoch {phase.epoch}: loss "
                         f"{phase.loss:.4f}, validation top-1 {fmt.percent(phase.accuracy, 2)}.")
    lines.append(f"- Checkpoint: {_checkpoint_text(checkpoint)}.")
    return lines


def _trained_seconds(events: Sequence[Any]) -> float:
    """The supernet's training time summed over the run's processes (each starts at 0)."""
    from genesynth.events import RunStarted, SupernetProgress

    total = last = 0.0
    for event in events:
        if isinstance(event, RunStarted):
            total, last = total + last, 0.0
        elif isinstance(event, SupernetProgress) and not event.ready:
            last = max(last, event.seconds)
    return total + last


def _checkpoint_text(path: Path) -> str:
    """``supernet.safetensors, epoch 3 (step 120 of the next), trained for MACs <= 40M``."""
    if not path.exists():
        return ("none written (the training stopped before its first save, made after each "
                "epoch and every 10 minutes inside one): a resumed run trains it from the start")
    from genesynth.evaluate.supernet.plan import SupernetError
    from genesynth.evaluate.supernet.weights import read_header

    try:
        header = read_header(path)
    except SupernetError as error:
        return f"{path.name} is not readable ({error})"
    step = header.get("step")
    bounds = constraint_bounds({"bounds": header.get("bounds") or {}})
    space = f"the prototype within {fmt.bounds_text(bounds)}" if bounds else "the whole space"
    return (f"`{path.name}` ({path.stat().st_size / 2**20:,.1f} MiB), epoch "
            f"{header.get('epoch')}" + (f" and {step:,} steps of the next" if step else "")
            + f", trained for {space}; a resumed run goes on from it")


def fidelity_section(run: Mapping[str, Any]) -> list[str]:
    """How well the evaluator's scores ranked candidates trained alone (a supernet run)."""
    check = read_fidelity(run)
    if check is None:
        return []
    lines = ["", "## Fidelity of the scores", "",
             f"The search ranked candidates by scores, not by their own accuracy; "
             f"{checked_text(check)}.", ""]
    if check.warning:
        lines += [f"**Warning:** {check.warning}.", ""]
    rows = [(p.source, p.key[:12], fmt.percent(p.score, 2), fmt.percent(p.accuracy, 2),
             fmt.count(p.macs)) for p in sorted(check.pairs, key=lambda p: p.macs)]
    return lines + _table(("Trained for", "Network", "Score", "Alone top-1", "MACs"), rows,
                          "llrrr")


def render_markdown(state: RunState, source: RunSource, members: list[Entry],
                    baselines: list[Entry], plots: str | None,
                    family: Mapping[str, Any] | None = None) -> str:
    """The whole ``report.md``; ``plots`` is None when the PNGs were written, else why not."""
    lines = header_section(state, source)
    lines += supernet_section(source.run_dir, state)
    lines += family_section(members, baselines, state.utility_name, state.latency_source)
    lines += int8_section(members) + adapted_section(members)
    lines += modules_section(members)
    lines += side_by_side_section(members) + stacks_section(members)
    lines += search_section(state, members, family)
    lines += fidelity_section(source.run)
    lines += ["", "## Plots", ""]
    if plots is None:
        pruned = state.counts.get(TrialState.PRUNED, 0)
        if pruned:
            lines += [f"The accuracy plot shows the trials that finished their training; "
                      f"{fmt.plural(pruned, 'pruned trial')} (partial accuracy) "
                      f"{'is' if pruned == 1 else 'are'} left out.", ""]
        lines += [f"![accuracy against MACs]({PARETO_FILE})", "",
                  f"![best feasible {state.utility_name} over trials]({HISTORY_FILE})"]
    else:
        lines.append(f"No plots: {plots}.")
    return "\n".join(lines) + "\n"


# -- the whole report ----------------------------------------------------------------------------


def write_report(run_dir: Path) -> list[Path]:
    """Write ``report.md`` (and the two plots when matplotlib is there); returns the paths."""
    run_dir = Path(run_dir)
    source = locate(run_dir)
    study = source.load_study()
    family = source.family(study)
    state = state_from_study(study, source.run, family)
    if not state.out:
        state.out = str(run_dir)
    members = family_entries(run_dir, family)
    baselines = baseline_entries(run_dir)
    written: list[Path] = []
    plots: str | None = PLOTS_NEED
    if not state.points and not members:  # nothing to draw: no empty figure
        plots = ("no trial has finished its measurement yet" + (
            " (the run stopped before its search, in the supernet's training)"
            if not state.done else ""))
    elif importlib.util.find_spec("matplotlib") is not None:
        from genesynth.report.plots import write_plots

        written += write_plots(run_dir, state, members, baselines)
        plots = None
    path = run_dir / REPORT_FILE
    path.write_text(render_markdown(state, source, members, baselines, plots, family),
                    encoding="utf-8")
    return [path, *written]
