"""``genesynth.synthesize``: resolve what the user passed, then run the engine."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna

from genesynth.data.dataset import DatasetLike
from genesynth.errors import GenesynthError, RunError
from genesynth.evaluate.base import Evaluator, EvaluatorContext
from genesynth.evaluate.device import resolve_device
from genesynth.evaluate.registry import description_of, evaluator_class, resolve_evaluator
from genesynth.evaluate.train import TrainConfig, budgets_for, budgets_of
from genesynth.events import Listener
from genesynth.goal.constraint import Constraint
from genesynth.limits import (
    MAX_EPOCHS,
    MAX_FAMILY,
    MAX_SECONDS,
    MAX_SEED,
    MAX_TRIALS,
    show_number,
)
from genesynth.record.run import RunSpec, check_run_dir
from genesynth.space import Prototype
from genesynth.synth.engine import SynthesisResult, run
from genesynth.synth.quiet import optuna_log
from genesynth.synth.samplers import resolve_sampler
from genesynth.synth.setup import Held, Setup, setup_from_spec

if TYPE_CHECKING:
    from genesynth.evaluate.cache import EvaluationCache


def synthesize(
    prototype: Prototype | str | Path,
    constraint: Constraint | str | Path,
    data: DatasetLike | str | Path | None = None,
    trials: int = 30,
    out: str | Path | None = None,
    sampler: str | optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    evaluator: Evaluator | str | Mapping[str, Any] | None = None,
    seed: int = 0,
    listeners: Sequence[Listener] = (),
    resume: bool = False,
    storage: str | None = None,
    study: str | None = None,
    family_size: int = 4,
    proxy: TrainConfig | None = None,
    full: TrainConfig | None = None,
    epochs: int | None = None,
    full_epochs: int | None = None,
    heartbeat: int | None = None,
    verbose: bool = False,
    cache: str | Path | None = None,
    warm_start: Sequence[str | Path] = (),
    device: str = "auto",
    augment: str | None = None,
    compile: bool = False,
    accept_lost_trials: bool = False,
    limit: int | None = None,
    input_shape: Sequence[int] | None = None,
) -> SynthesisResult:
    """Synthesize a family of networks from ``prototype`` under ``constraint``.

    ``prototype`` is a Prototype or a path; ``constraint`` a Constraint or a path; ``data``
    ``"digits"`` (embedded), a path in a supported format, or a loaded Dataset. The
    prototype takes the data's input shape and class count. ``evaluator`` is an
    :class:`~genesynth.evaluate.Evaluator`, a registered kind (``"train"``, ``"table"``,
    ``"supernet"``, see ``genesynth.evaluate.EVALUATORS``) or its description
    (``{"kind": "table", "path": ...}``, ``{"kind": "supernet", "supernet": {"epochs": 2}}``:
    a kind takes the run's ``seed`` and family budget where it uses them);
    it defaults to proxy training on ``data`` (``"digits"`` when none is given; ``proxy``
    budget; the family is retrained with ``full``; ``epochs`` and ``full_epochs`` change only
    the epochs of the per-dataset defaults); a kind that measures on data (train, supernet)
    takes ``"digits"`` when no ``data`` is given; one that needs none (a benchmark table), or
    an Evaluator object, without ``data`` leaves the prototype its own input shape.
    ``sampler`` is a name (``bayes`` default: a model of accuracy over exact costs, inside
    the static bounds; ``tpe``, ``nsga2``, ``random``) or any Optuna sampler; ``pruner`` any
    Optuna pruner (by default a trial behind every feasible one at the same epoch is stopped; never
    a finished measurement, nor an evaluator that is
    not ``prunable``). Results live in ``out`` (default ``runs/<name>``).
    ``storage``/``study`` put the study in a shared Optuna storage that ``genesynth worker``
    processes may join (see docs/scale-out.md); ``heartbeat`` is their heartbeat interval in
    seconds on PostgreSQL/MySQL. Optuna's own INFO log is silenced unless ``verbose``.

    ``cache`` is an evaluation-cache folder (``genesynth.evaluate.cache.default_cache_dir()``
    is where the CLI keeps it): a network already measured there with the same data, evaluator
    settings and seed is not trained again (None: no cache). ``warm_start`` names earlier run
    directories whose family members and best candidates are tried first where they fit this
    prototype's space. ``device`` is where candidates train (``auto``: CUDA, else MPS, else
    the CPU; ``cpu``, ``cuda``, ``cuda:N``, ``mps``); ``augment`` is ``none`` or
    ``standard`` (default: standard for RGB images of 32x32 and larger); ``compile`` runs the
    forward pass through ``torch.compile``. A resumed run whose journal lost trials that its
    ``events.jsonl`` recorded is refused unless ``accept_lost_trials`` (the old family is kept
    aside; see :mod:`genesynth.synth.lost`).

    ``limit`` and ``input_shape`` load ``data`` (a spec: ``"digits"`` or a path) as
    :func:`genesynth.load_data` does: a stratified subset of at most ``limit`` training
    images (validation and test are not limited), resized to ``input_shape`` (C, H, W); the
    run records both, so a resumed run, ``export`` and ``adapt`` load the same data. A
    loaded Dataset is taken as it is (pass them to ``load_data`` then).
    """
    if out is not None and not storage:
        check_run_dir(Path(out), resume)  # before the data is loaded
    setup = make_setup(Request(
        prototype, constraint, data, trials, out, sampler, pruner, evaluator, seed, storage,
        study, family_size, proxy, full, epochs, full_epochs, heartbeat, cache,
        Training(device, augment, compile), tuple(Path(w) for w in warm_start), limit,
        None if input_shape is None else tuple(input_shape)))
    with optuna_log(verbose):
        result = run(setup, listeners, resume, accept_lost_trials)
    if not result.family and (result.family_here or result.finished_before):
        warnings.warn(empty_family_text(result), EmptyFamilyWarning, stacklevel=2)
    return result


class EmptyFamilyWarning(UserWarning):
    """``synthesize`` returned an empty family: no trial was feasible."""


def empty_family_text(result: SynthesisResult) -> str:
    count = len(result.trials)
    return (f"the family of {result.out} is empty: none of its {count} trial"
            f"{'s' * (count != 1)} was feasible under the constraint; relax the constraint "
            "or run more trials")


@dataclass(frozen=True)
class Training:
    """Where and how the default evaluator trains: device, augmentation, torch.compile."""

    device: str = "auto"
    augment: str | None = None  # None: the data's default (standard for RGB >= 32x32)
    compile: bool = False


@dataclass(frozen=True)
class Request:
    """What ``synthesize`` was asked, as given (see its docstring); :func:`make_setup` checks
    and resolves it into the run's ``RunSpec`` and this process's setup."""

    prototype: Prototype | str | Path
    constraint: Constraint | str | Path
    data: DatasetLike | str | Path | None = None
    trials: int = 30
    out: str | Path | None = None
    sampler: str | optuna.samplers.BaseSampler | None = None
    pruner: optuna.pruners.BasePruner | None = None
    evaluator: Evaluator | str | Mapping[str, Any] | None = None
    seed: int = 0
    storage: str | None = None
    study: str | None = None
    family_size: int = 4
    proxy: TrainConfig | None = None
    full: TrainConfig | None = None
    epochs: int | None = None
    full_epochs: int | None = None
    heartbeat: int | None = None
    cache: str | Path | None = None
    training: Training = Training()
    warm_start: tuple[Path, ...] = ()
    limit: int | None = None  # a stratified subset of the training images (load_data)
    input_shape: tuple[int, ...] | None = None  # the data resized to it (load_data)


def make_setup(request: Request) -> Setup:
    """The run ``request`` describes: checked, its data loaded (the prototype takes its input
    shape and classes), its evaluator resolved, recorded as a ``RunSpec``; then the setup of
    this process, made from that spec as a worker's is (``setup_from_spec``)."""
    _check_request(request)
    training = request.training
    resolve_device(training.device)  # a wrong --device is refused before data is loaded
    proto, declared, rule, dataset = _inputs(request)
    proxy, full = _budgets(dataset, request)
    chosen = _evaluator(request, proto, dataset, proxy, full)
    sampler, sampler_name = resolve_sampler(request.sampler, request.seed, request.trials)
    out = Path(request.out) if request.out is not None else Path("runs") / proto.name
    _check_out(out)
    spec = RunSpec(
        prototype_path=str(getattr(proto, "path", "")), prototype_text=proto.text,
        input_shape=proto.input_shape, classes=proto.classes, constraint=rule.describe(),
        data=dataset.describe() if dataset is not None else {}, seed=request.seed,
        sampler=sampler_name, evaluator=chosen.describe(), trials=request.trials,
        family_size=request.family_size, full_epochs=full.epochs,
        storage=request.storage or "", study=request.study or "",
        declared_input_shape=declared if declared != proto.input_shape else (),
        **_shared(request.storage, out, request.heartbeat),
        **_placement(chosen, EvaluatorContext(proto, dataset, out, request.seed,
                                              device=training.device, compile=training.compile)),
        measure="top-1" if chosen.stand_alone else "score",
        latency_table=_latency_info(rule),
    )
    held = Held(prototype=proto, constraint=rule, evaluator=chosen, dataset=dataset,
                sampler=sampler, pruner=request.pruner)
    return setup_from_spec(spec, out, training.device, training.compile, held,
                           _cache(request.cache, spec.data, spec.evaluator, request.seed),
                           request.warm_start)


def _check_request(request: Request) -> None:
    _check_positive("trials", request.trials, MAX_TRIALS)
    _check_positive("family_size", request.family_size, MAX_FAMILY)
    _check_seed(request.seed)
    for name, value in (("epochs", request.epochs), ("full_epochs", request.full_epochs)):
        if value is not None:
            _check_positive(name, value, MAX_EPOCHS)


def _inputs(request: Request
            ) -> tuple[Prototype, tuple[int, int, int], Constraint, DatasetLike | None]:
    """The prototype (at the data's input shape and classes), its own input shape, the
    constraint and the data: loaded for a kind that measures on it (``digits`` when none is
    given), else None."""
    from genesynth.goal.constraint import load_constraint
    from genesynth.space import load_prototype

    given = request.prototype
    proto = load_prototype(given) if isinstance(given, str | Path) else given
    rule = request.constraint
    rule = load_constraint(rule) if isinstance(rule, str | Path) else rule
    dataset, declared = None, proto.input_shape
    if request.data is not None or _needs_data(description_of(request.evaluator)):
        dataset = _load("digits" if request.data is None else request.data, proto, request.seed,
                        request.limit, request.input_shape)
        proto = proto.with_overrides(input_shape=dataset.input_shape, classes=dataset.classes)
    elif request.limit is not None or request.input_shape is not None:
        raise GenesynthError("`limit` and `input_shape` (--limit, --input) choose the data, "
                             "but this evaluator measures without any")
    return proto, declared, rule, dataset


def _evaluator(request: Request, proto: Prototype, dataset: DatasetLike | None,
               proxy: TrainConfig, full: TrainConfig) -> Evaluator:
    """The evaluator asked for: an object as it is; a kind or a description with the run's
    seed and budgets (``with_run_settings``), its data loaded; checked against the space."""
    described = description_of(request.evaluator)  # None for an Evaluator object
    if described is None:
        given: Evaluator | Mapping[str, Any] = request.evaluator  # type: ignore[assignment]
    else:
        given = evaluator_class(described.get("kind", "")).with_run_settings(
            described, request.seed, full, proxy)
    chosen = resolve_evaluator(given, lambda: _needed(dataset))
    chosen.check_space(proto)
    return chosen


def _budgets(dataset: DatasetLike | None, request: Request) -> tuple[TrainConfig, TrainConfig]:
    """The proxy and full budgets: those given, else the data's defaults with the run's seed,
    epochs and augmentation."""
    proxy_default, full_default = (
        budgets_of(dataset) if dataset is not None else budgets_for(""))
    augment = request.training.augment or proxy_default.augment
    seed = request.seed
    proxy = request.proxy or replace(proxy_default, seed=seed,
                                     epochs=request.epochs or proxy_default.epochs,
                                     augment=augment)
    full = request.full or replace(full_default, seed=seed,
                                   epochs=request.full_epochs or full_default.epochs,
                                   augment=augment)
    return proxy, full


def _cache(folder: str | Path | None, data: dict[str, Any], evaluator: dict[str, Any],
           seed: int) -> EvaluationCache | None:
    """The evaluation cache bound to this run's data, evaluator settings and seed.

    An evaluator that does not describe its settings (``describe()``) cannot be cached: two
    of its measurements could differ for reasons the key would not see.
    """
    from genesynth.evaluate.cache import EvaluationCache, context_of

    if folder is None:
        return None
    if set(evaluator) <= {"kind"}:
        import warnings

        from genesynth.evaluate.cache import CacheWarning

        warnings.warn(f"evaluation cache off: the evaluator {evaluator.get('kind')!r} does not "
                      "describe its settings (describe())", CacheWarning, stacklevel=3)
        return None
    return EvaluationCache(folder, context_of(data, evaluator, seed))


def _shared(storage: str | None, out: Path, heartbeat: int | None) -> dict[str, Any]:
    """For a shared study: where workers write the family, and their heartbeat interval."""
    from genesynth.storage import DEFAULT_HEARTBEAT, is_shared

    if not storage or not is_shared(storage):
        return {}
    beat = DEFAULT_HEARTBEAT if heartbeat is None else heartbeat
    _check_positive("heartbeat", beat, MAX_SECONDS)
    return {"shared_out": str(out.resolve()), "heartbeat": beat}


def _placement(chosen: Evaluator, context: EvaluatorContext) -> dict[str, Any]:
    """Where the evaluator runs networks in this process, for run.json: ``device`` and
    ``compile`` (:meth:`Evaluator.device_info`; none for a table)."""
    info = chosen.device_info(context)
    return {"device": str(info.get("device", "")), "compile": bool(info.get("compile", False))}


def _needs_data(described: Mapping[str, Any] | None) -> bool:
    """Whether the default data (digits) is loaded when no ``data`` is given: for a kind that
    measures on data (the default among them); an Evaluator object has its own (None)."""
    if described is None:
        return False
    return evaluator_class(described.get("kind", "")).needs_data


def _needed(dataset: DatasetLike | None) -> DatasetLike:
    if dataset is None:
        raise RunError("this evaluator measures on data: pass `data` (--data)")
    return dataset


def _load(data: DatasetLike | str | Path, proto: Prototype, seed: int, limit: int | None = None,
          shape: tuple[int, ...] | None = None) -> DatasetLike:
    """A loaded Dataset as it is; a spec loaded at ``shape``, else at its native shape, except
    an image folder, which is decoded at the prototype's input size; ``limit``: a stratified
    subset of the training images."""
    from genesynth.data import data_format, load_data

    if not isinstance(data, str | Path):
        if limit is not None or shape is not None:
            raise GenesynthError("`limit` and `input_shape` apply to data named by a spec; "
                                 "pass them to load_data for a loaded Dataset")
        return data
    if shape is not None and (len(shape) != 3 or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)):
        raise GenesynthError(f"`input_shape` must be three positive integers (C, H, W), but "
                             f"got input_shape={tuple(shape)!r}")
    if limit is not None:
        _check_positive("limit", limit)
    folder = data_format(str(data)) == "image-folder"
    wanted = shape if shape is not None else proto.input_shape if folder else None
    return load_data(str(data), input_shape=wanted, seed=seed, limit=limit)


def _latency_info(rule: Constraint) -> dict[str, Any] | None:
    """For run.json: the latency table that predicts latency (path, ops, runtime, threads,
    machine it was made on), when the constraint names one."""
    table = rule.latency_table
    if table is None:
        return None
    from genesynth.latency.table import cached_table

    return cached_table(table).describe()


def _check_positive(name: str, value: int, most: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GenesynthError(f"`{name}` must be a positive integer, but got {name}={value!r}")
    if most is not None and value > most:
        raise GenesynthError(
            f"`{name}` must be at most {most:,}, but got {name}={show_number(value)}")


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise GenesynthError(f"`seed` must be an integer from 0 to {MAX_SEED}, but got "
                             f"seed={seed if not isinstance(seed, int) else show_number(seed)}")


def _check_out(out: Path) -> None:
    """The run directory must be a directory or not exist yet (nor its parents be files)."""
    for path in (out, *out.parents):
        if path.exists():
            if not path.is_dir():
                raise RunError(f"{out}: the run directory must be a directory, but {path} is "
                               "a file")
            return
