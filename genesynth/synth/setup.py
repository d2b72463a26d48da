"""A run's setup: everything one process needs to work on a run, built from its ``RunSpec``.

:func:`setup_from_spec` is the one place a :class:`Setup` is made: by ``synthesize`` (a new
run or a resumed one: ``genesynth.synth.api`` turns the user's arguments into a ``RunSpec``
first), by a worker joining a shared study and by ``genesynth family`` (the spec stored with
the study). What a process already holds and the spec only describes (a Prototype or an
Evaluator object the user passed, the loaded data, a sampler object) is handed over in
:class:`Held`; anything not held is made again from the spec, as a worker does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import optuna

from genesynth.data.dataset import DatasetLike
from genesynth.evaluate.base import Evaluator, EvaluatorContext
from genesynth.events import Listener
from genesynth.goal.constraint import Constraint
from genesynth.net.arch import Architecture
from genesynth.record.run import RunSpec
from genesynth.space import Prototype
from genesynth.synth.samplers import is_multi_objective

if TYPE_CHECKING:
    from genesynth.evaluate.cache import EvaluationCache


@dataclass
class Setup:
    """Everything a run needs in this process, made by :func:`setup_from_spec`."""

    spec: RunSpec
    prototype: Prototype
    constraint: Constraint
    evaluator: Evaluator
    out: Path
    sampler: optuna.samplers.BaseSampler
    pruner: optuna.pruners.BasePruner | None
    latency: Callable[[Architecture], float] | None = None  # the constraint's latency
    cache: EvaluationCache | None = None  # None: measure everything
    warm_start: tuple[Path, ...] = ()  # earlier run directories to start from
    dataset: DatasetLike | None = None  # the loaded data, None when the evaluator needs none
    device: str = "auto"  # where this process runs networks (--device)
    compile: bool = False  # torch.compile of the forward pass (--compile)

    def context(self, emit: Listener = lambda event: None) -> EvaluatorContext:
        """What the evaluator is prepared with in this process (its device included)."""
        return EvaluatorContext(self.prototype, self.dataset, self.out, self.spec.seed, emit,
                                device=self.device, compile=self.compile,
                                constraint=self.constraint)

    @property
    def epochs(self) -> int:
        """Steps the evaluator reports per candidate."""
        return self.evaluator.epochs

    @property
    def multi_objective(self) -> bool:
        return is_multi_objective(self.sampler)


@dataclass(frozen=True)
class Held:
    """What the process already holds of a run; None: made again from its ``RunSpec``."""

    prototype: Prototype | None = None  # at the spec's input shape and classes
    constraint: Constraint | None = None
    evaluator: Evaluator | None = None  # an object the user passed, or the resolved kind
    dataset: DatasetLike | None = None  # loaded already (the prototype took its shape)
    sampler: optuna.samplers.BaseSampler | None = None
    pruner: optuna.pruners.BasePruner | None = None


def setup_from_spec(spec: RunSpec, out: Path, device: str = "auto", compile: bool | None = None,
                    held: Held | None = None, cache: EvaluationCache | None = None,
                    warm_start: tuple[Path, ...] = ()) -> Setup:
    """The setup of the run ``spec`` in run directory ``out``, for this process.

    ``device`` is where this process runs networks (refused here when unknown, before any
    data is loaded); ``compile`` None takes the run's (``spec.compile``). The data is loaded
    only when the evaluator asks for it. The pruner is the default for the evaluator's steps
    unless one is held.
    """
    from genesynth.evaluate.device import resolve_device
    from genesynth.evaluate.registry import resolve_evaluator
    from genesynth.latency.measure import candidate_latency
    from genesynth.synth.samplers import default_pruner, resolve_sampler

    held = held or Held()
    resolve_device(device)  # a wrong --device is refused before the data is loaded
    rule = held.constraint or constraint_of(spec, spec.study or str(out))
    loaded: list[DatasetLike] = [held.dataset] if held.dataset is not None else []

    def data() -> DatasetLike:  # loaded only for an evaluator that asks for it
        if not loaded:
            from genesynth.data.described import load_described

            loaded.append(load_described(spec.data, spec.seed))
        return loaded[0]

    evaluator = held.evaluator or resolve_evaluator(spec.evaluator, data)
    sampler = held.sampler or resolve_sampler(spec.sampler, spec.seed, spec.trials)[0]
    return Setup(
        spec=spec, prototype=held.prototype or prototype_of(spec), constraint=rule,
        evaluator=evaluator, out=out, sampler=sampler,
        pruner=held.pruner or default_pruner(evaluator.epochs),
        latency=candidate_latency(rule.latency_threads, rule.latency_table),
        cache=cache, warm_start=warm_start, dataset=loaded[0] if loaded else None,
        device=device, compile=spec.compile if compile is None else compile,
    )


def prototype_of(spec: RunSpec) -> Prototype:
    """The run's prototype, parsed again from its text at the run's input shape and classes."""
    from genesynth.space import parse_prototype

    return parse_prototype(spec.prototype_text, spec.prototype_path or "<run>",
                           spec.input_shape, spec.classes)


def constraint_of(spec: RunSpec, where: str) -> Constraint:
    """The run's constraint, read again from its description (errors name ``where``: the
    study or the run directory)."""
    return Constraint.from_dict(spec.constraint, source=f"the constraint of {where}")
