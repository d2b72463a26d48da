"""The evaluator extension point and what it returns.

An evaluator turns an architecture into a :class:`Measurement`. Subclass :class:`Evaluator`,
implement :meth:`~Evaluator.evaluate`, override the hooks you need, and add one entry to
:data:`genesynth.evaluate.registry.EVALUATORS` (with the command-line flags the kind adds) so
that the CLI and workers can rebuild it from its :meth:`~Evaluator.describe` output. What is
particular to a kind stays in its class and its entry: nothing outside ``genesynth.evaluate``
names one.

Call order, in every process that runs trials (the main run and each worker):

0. ``check_space(prototype)`` once in a new run, before anything is written; and
   ``device_info(context)`` for the run's record and the dashboard;
1. ``prepare(context)`` once, before the first ``evaluate`` or ``retrain``: the context carries
   this process's ``device`` and ``compile`` settings (``--device``, ``--compile``), which an
   evaluator that runs networks must use for training, scoring and retraining alike;
2. ``evaluate(arch, report)`` once per distinct architecture of the search;
3. ``retrain(arch, report, searched)`` once per family member, in the process that makes the
   family.

``report(epoch, loss, accuracy)`` may be called after each step (epoch); it raises
:class:`Pruned` when a pruner stops the candidate. A candidate that cannot be evaluated
(diverging loss, absent from a table, ...) raises :class:`CandidateFailed`; neither ends the
run.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from genesynth.net.arch import Architecture
from genesynth.net.measurement import Measurement

if TYPE_CHECKING:
    from genesynth.data.dataset import DatasetLike
    from genesynth.goal.constraint import Constraint
    from genesynth.space import Prototype

Report = Callable[[int, float | None, float], None]
"""``report(epoch, loss, accuracy)``: epoch is 1-based, loss the epoch's mean training loss
(None when nothing was trained: a supernet's score, a table's lookup), accuracy validation
top-1 in percent."""

DataLoader = Callable[[], "DatasetLike"]
"""Returns the run's :class:`genesynth.data.Dataset`; called only by evaluators that need it."""


@dataclass(frozen=True)
class EvaluatorContext:
    """What an evaluator may use in :meth:`Evaluator.prepare`.

    ``prototype`` is the run's :class:`genesynth.space.Prototype` (the search space),
    ``dataset`` its loaded data or None (a table needs none), ``run_dir`` the run directory or
    None, ``seed`` the run's seed and ``emit`` the engine's event listener. ``device``
    (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``) and ``compile`` (``torch.compile`` the
    forward pass) are where and how this process runs networks: machine settings, not part of
    what is measured (``describe``), so a run resumes and a worker joins from any device; None
    leaves the evaluator's own (what it was constructed with). ``constraint`` is the run's
    :class:`genesynth.Constraint` or None (a supernet is trained for its static bounds).
    """

    prototype: Prototype
    dataset: DatasetLike | None = None
    run_dir: Path | None = None
    seed: int = 0
    emit: Callable[[Any], None] = field(default=lambda event: None)
    device: str | None = None
    compile: bool | None = None
    constraint: Constraint | None = None


class Pruned(Exception):
    """Raised by ``report`` when the pruner stops the candidate."""

    def __init__(self, epoch: int, accuracy: float) -> None:
        super().__init__(f"pruned after epoch {epoch} at {accuracy:.2f}%")
        self.epoch = epoch
        self.accuracy = accuracy


class CandidateFailed(Exception):
    """The candidate cannot be evaluated (e.g. non-finite loss); the run goes on."""


class Evaluator(abc.ABC):
    """Turns an architecture into a measurement; see the module docstring for the call order.

    ``prunable`` says whether the steps ``evaluate`` reports are worth pruning on (a training
    evaluator's epochs are; a table lookup has none). ``epochs`` is how many steps it reports
    per candidate (the dashboard's progress and the default pruner's warm-up).
    ``needs_data`` says whether a kind named without data (``--evaluator KIND`` with no
    ``--data``) measures on the default data, digits (a table needs none).
    ``stand_alone`` says whether its accuracy is the candidate's own top-1, which the
    constraint's accuracy bound can judge; a weight-sharing score is not (it ranks candidates
    far below their own accuracy), so the search judges it by the other bounds only and the
    accuracy bound is checked on the family after its stand-alone training.
    ``checks`` (read only where ``stand_alone`` is False) is how many searched candidates the
    run trains alone with :meth:`train_alone`, after the family, to state how well the scores
    ranked them (the run's fidelity check, ``genesynth.record.fidelity``); 0: none.
    """

    prunable: ClassVar[bool] = True
    needs_data: ClassVar[bool] = True
    stand_alone: ClassVar[bool] = True
    checks: int = 0

    @property
    def epochs(self) -> int:
        return 1

    def check_space(self, prototype: Prototype) -> None:  # noqa: B027 (a documented no-op)
        """Once in a new run, before anything is written: raise a GenesynthError when this
        evaluator cannot measure the networks of ``prototype`` (a benchmark table made for
        another space). By default, nothing to check."""

    def device_info(self, context: EvaluatorContext) -> dict[str, Any]:
        """Where this evaluator runs networks with ``context``'s device and compile settings,
        for run.json and the dashboard: ``{"device": "cuda:0 (NVIDIA H100 ...)", "compile":
        False}``. By default ``{}``: it runs none (a table lookup)."""
        return {}

    def prepare(self, context: EvaluatorContext) -> None:  # noqa: B027 (a documented no-op)
        """Once per run or worker, before the first ``evaluate``: e.g. train a supernet. One
        that runs networks moves to ``context.device`` here."""

    @abc.abstractmethod
    def evaluate(self, arch: Architecture, report: Report) -> Measurement:
        """Measure ``arch``. ``params`` and ``macs`` of the result are the analytic cost."""

    def retrain(self, arch: Architecture, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, Mapping[str, Any] | None]:
        """A family member with the full budget: its measurement (test accuracy) and weights
        (a ``state_dict``) or None. ``searched`` is its measurement in the search (None for a
        network that was not searched, e.g. a baseline). By default the member keeps
        ``searched``, or is evaluated when there is none."""
        return (searched if searched is not None else self.evaluate(arch, report)), None

    def train_alone(self, arch: Architecture, report: Report) -> Measurement:
        """``arch`` trained alone with the proxy budget: its validation top-1 (the fidelity
        check of an evaluator whose scores are not stand-alone, with ``checks`` > 0)."""
        raise NotImplementedError(f"{type(self).__name__} has no stand-alone training for the "
                                  "fidelity check; set checks = 0")

    def kept(self) -> str:
        """What an interrupted run keeps of this evaluator's own work beyond the finished
        trials (said at Ctrl-C, e.g. a supernet's training up to its last checkpoint); ""
        when there is nothing to say."""
        return ""

    def test_accuracy(self, arch: Architecture, state: Mapping[str, Any]) -> float | None:
        """Top-1 on the test split of ``arch`` with the weights ``state`` (a forward pass, no
        training): how a reused retraining is checked. None when this evaluator has no test
        split to measure on (then a cached retraining is never reused)."""
        return None

    def describe(self) -> dict[str, Any]:
        """The settings that identify this evaluator's measurements, JSON-able, with ``kind``
        its name in the registry: recorded in run.json, compared on resume, and passed to
        ``from_description`` by workers."""
        return {"kind": type(self).__name__}

    @classmethod
    def with_run_settings(cls, described: Mapping[str, Any], seed: int, full: Any,
                          proxy: Any = None) -> Mapping[str, Any]:
        """A description given by kind (the CLI's ``--evaluator KIND``, the API's
        ``evaluator="KIND"`` or ``{"kind": ...}``) completed with the run's ``seed``, its
        family budget ``full`` and its search budget ``proxy`` (TrainConfigs) where this kind
        takes them and ``described`` leaves them out; called before ``from_description`` in a
        new run. By default, as it is."""
        return described

    @classmethod
    def from_description(cls, described: Mapping[str, Any], data: DataLoader) -> Evaluator:
        """The evaluator ``describe()`` described (for workers, the CLI and the API)."""
        from genesynth.errors import RunError

        raise RunError(f"the evaluator {described.get('kind')!r} cannot be rebuilt from its "
                       "description; give it to genesynth.synthesize as an object")
