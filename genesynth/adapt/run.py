"""``adapt``: NetAdapt on a member of a run, written back as a new member of its family."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from genesynth.adapt.channels import complete
from genesynth.adapt.netadapt import Progress, floor, iterate, load
from genesynth.adapt.target import AdaptError, Schedule, Target
from genesynth.adapt.tuner import State, Tuner
from genesynth.data.dataset import Dataset
from genesynth.dsl.writer import architecture_to_text
from genesynth.evaluate.base import Measurement
from genesynth.evaluate.budgets import family_budget
from genesynth.events import (
    AdaptStarted,
    Emitter,
    Listener,
    MemberDone,
    MemberEpoch,
    MemberStarted,
)
from genesynth.goal.constraint import Constraint
from genesynth.net.arch import Architecture
from genesynth.net.costs import cost
from genesynth.record.family import (
    LABEL,
    Member,
    file_digest,
    members_of,
    put_member,
    read_family_json,
)
from genesynth.record.layout import (
    EVENTS_FILE,
    MEMBER_ARCH,
    MEMBER_TEXT,
    MEMBER_WEIGHTS,
    member_path,
)
from genesynth.record.run import RunSpec, inside, read_run

ADAPT_DIR = "adapt"  # RUN/adapt/<label>/: the progress of an adapt, kept until it is done
DEFAULT_STEPS = 40  # short fine-tune steps per proposal


@dataclass(frozen=True)
class AdaptResult:
    member: Member
    source: Member
    made_now: bool  # False: the same adapt was done before and its member is returned


def default_label(member: str, target: Target) -> str:
    """``A-macs553K``: the member adapted and the target."""
    return f"{member}-{target.slug}"


def adapt(run_dir: str | Path, member: str, target: Target, *, label: str | None = None,
          schedule: Schedule | None = None, steps: int = DEFAULT_STEPS,
          long_epochs: int | None = None, seed: int | None = None, device: str = "cpu",
          multiple: int = 1, listeners: Sequence[Listener] = ()) -> AdaptResult:
    """Adapt ``member`` of the run in ``run_dir`` to ``target`` (see :mod:`genesynth.adapt`).

    Resumes from ``run_dir/adapt/<label>/`` when an adapt with the same settings was cut
    short; returns the member made before when it is already done. Raises AdaptError when the
    target is already met, below the prototype's smallest network, or below the narrowest
    network adapt can cut the member to. ``multiple``: every width it cuts stays a multiple
    of it (8 for int8 SIMD kernels; groups it cannot keep so are not cut).
    """
    run_dir = Path(run_dir)
    schedule = schedule or Schedule()
    spec, source, arch, state = _source(run_dir, member)
    label = label or default_label(member, target)
    if not LABEL.fullmatch(label):
        raise AdaptError(f"--label must be a letter, then up to 31 letters, digits, '_' or "
                         f"'-', but got {label!r}")
    constraint = Constraint.from_dict(spec.constraint, source=f"the constraint of {run_dir}")
    resource = _resource(target, constraint)
    arch = complete(arch)
    start = resource(arch)
    epochs = long_epochs if long_epochs is not None else spec.full_epochs
    seed = spec.seed if seed is None else seed
    settings: dict[str, Any] = {"member": member, "from_key": source.key, "target": asdict(target),
                "schedule": asdict(schedule), "steps": steps, "long_epochs": epochs,
                "seed": seed, "importance": "l1", "multiple": multiple}
    done = _done_before(run_dir, label, settings)
    if done is not None:
        return AdaptResult(done, source, made_now=False)
    if label in {m.label for m in _members(run_dir)}:
        raise AdaptError(f"{run_dir} already has a member {label!r} made otherwise; pass "
                         "another --label")
    _check_reachable(spec, arch, target, start, resource, member, multiple)
    folder = inside(run_dir, f"{ADAPT_DIR}/{label}", "the adapt folder")
    from genesynth.data.described import load_described
    from genesynth.synth.engine import EventRecorder

    emit = Emitter([EventRecorder(run_dir / EVENTS_FILE), *listeners])
    dataset = load_described(spec.data, spec.seed)
    tuner = _tuner(spec, dataset, device)
    saved = load(folder, settings)
    progress, state = saved or (Progress(settings, start, arch), state)
    planned = progress.iteration + schedule.remaining(progress.iteration, start,
                                                      resource(progress.arch), target.value)
    emit(AdaptStarted(member, label, target.resource, start, target.value, planned, epochs,
                      progress.iteration, time.time()))
    tail = _long_estimate(tuner, epochs)
    arch, state = iterate(progress, state, target, schedule, resource, tuner, steps,
                          seed, folder, emit, label, lambda _: tail(), multiple)
    made = _finish(run_dir, label, source, arch, state, progress, tuner, constraint, emit,
                   epochs, seed, target, resource, dataset)
    return AdaptResult(made, source, made_now=True)


def _source(run_dir: Path, member: str) -> tuple[RunSpec, Member, Architecture, State]:
    from genesynth.export.exporters import load_member

    spec = read_run(run_dir) if run_dir.is_dir() else None
    if spec is None:
        raise AdaptError(f"{run_dir}: no genesynth run here (no run.json)")
    if not spec.data or family_budget(spec.evaluator) is None:
        raise AdaptError(f"{run_dir}: adapt fine-tunes trained weights, but this run's "
                         f"evaluator is {spec.evaluator.get('kind')!r} (its members have none)")
    entry, arch, state = load_member(run_dir, member)
    if state is None:
        raise AdaptError(f"member {member!r} of {run_dir} has no weights to adapt")
    return spec, members_of({"members": [entry]})[0], arch, state


def _members(run_dir: Path) -> list[Member]:
    return members_of(read_family_json(run_dir) or {"members": []})


def _done_before(run_dir: Path, label: str, settings: dict[str, Any]) -> Member | None:
    for m in _members(run_dir):
        if m.label == label and m.lineage and m.lineage.get("settings") == settings:
            return m
    return None


def _resource(target: Target, constraint: Constraint) -> Callable[[Architecture], float]:
    if target.resource == "macs":
        return lambda arch: float(cost(arch).macs)
    if target.resource == "params":
        return lambda arch: float(cost(arch).params)
    from genesynth.latency.measure import candidate_latency

    # a latency table when the run's constraint names one, else measured on this machine
    measure: Callable[[Architecture], float] = candidate_latency(constraint.latency_threads,
                                                        constraint.latency_table)
    return measure


def _check_reachable(spec: RunSpec, arch: Architecture, target: Target, start: float,
                     resource: Callable[[Architecture], float], member: str,
                     multiple: int) -> None:
    if start <= target.value:
        raise AdaptError(f"member {member} already meets the target: {target.show(start)} <= "
                         f"{target.show()}")
    if target.resource in ("macs", "params"):
        from genesynth.synth.setup import prototype_of

        proto = prototype_of(spec)
        bounds = proto.cost_range()  # decided where the range is exact, as check_reachable
        least = bounds.min_macs if target.resource == "macs" else bounds.min_params
        if bounds.exact and target.value < least:
            raise AdaptError(f"the target {target.show()} is below the smallest network of "
                             f"the prototype '{proto.name}' ({target.show(least)})")
    least_cut = floor(arch, resource, multiple)
    if target.value < least_cut:
        raise AdaptError(f"the target {target.show()} is below the narrowest network adapt "
                         f"can cut member {member} to ({target.show(least_cut)})")


def _tuner(spec: RunSpec, dataset: Dataset, device: str) -> Tuner:
    full = family_budget(spec.evaluator)
    if full is None:  # _source refused such a run
        raise AdaptError("this run's evaluator trains no family")
    return Tuner.of(dataset, full, device)


def _long_estimate(tuner: Tuner, epochs: int) -> Callable[[], float]:
    """Seconds the long fine-tune will take, from the short fine-tunes' pace so far."""
    batches = -(-len(tuner.train_data.y) // tuner.config.batch_size)

    def estimate() -> float:
        seconds, steps = tuner.pace()
        return epochs * batches * seconds / steps if steps else 0.0

    return estimate


def _finish(run_dir: Path, label: str, source: Member, arch: Architecture, state: State,
            progress: Progress, tuner: Tuner, constraint: Constraint, emit: Listener,
            epochs: int, seed: int, target: Target,
            resource: Callable[[Architecture], float], dataset: Dataset) -> Member:
    """The long fine-tune, the check on test, and the new member's files and entry."""
    c = cost(arch)
    emit(MemberStarted(label, source.trial, c.params, c.macs, epochs, time.time()))

    def report(epoch: int, loss: float | None, acc: float) -> None:
        emit(MemberEpoch(label, epoch, epochs, loss, acc, time.time()))

    state, val, test = tuner.long(arch, state, epochs, seed, report)
    latency = resource(arch) if target.resource == "latency_ms" else None
    if latency is None and constraint.needs_latency:
        latency = _resource(Target("latency_ms", 1.0), constraint)(arch)
    m = Measurement(test, c.params, c.macs, latency)
    arch = _named(arch, label)
    folder = run_dir / member_path(label)
    folder.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / MEMBER_WEIGHTS))
    (folder / MEMBER_ARCH).write_text(arch.to_json() + "\n")
    (folder / MEMBER_TEXT).write_text(architecture_to_text(arch))
    quantized, bounded = None, m
    if constraint.accuracy_of == "int8":  # the bound is on the int8 model: measure it
        from genesynth.export.exporters import measure_int8

        q = measure_int8(arch, state, folder, dataset, seed)
        quantized = {**q.to_dict(), "file": member_path(label, Path(q.file).name),
                     "float_file": member_path(label, Path(q.float_file).name)}
        bounded = Measurement(q.accuracy, c.params, c.macs, latency)
    lineage = {"adapted_from": source.label, "from_trial": source.trial,
               "from_key": source.key, "target": {target.resource: target.value},
               "start": progress.start, "method": "netadapt",
               "iterations": progress.history, "settings": progress.settings}
    member = Member(label, source.trial, arch.key, test, val, c.params, c.macs, latency,
                    float(constraint.utility(m)), bool(constraint.feasible(bounded)),
                    member_path(label, MEMBER_ARCH), member_path(label, MEMBER_TEXT),
                    member_path(label, MEMBER_WEIGHTS),
                    weights_sha256=file_digest(folder / MEMBER_WEIGHTS), lineage=lineage,
                    quantized=quantized)
    put_member(run_dir, member.to_dict())
    emit(MemberDone(label, source.trial, test, c.params, c.macs, latency, member.utility,
                    member.feasible, time.time()))
    return member


def _named(arch: Architecture, label: str) -> Architecture:
    from dataclasses import replace

    return replace(arch, name=re.sub(r"[^A-Za-z0-9_]", "_", f"{arch.name}_{label}"))
