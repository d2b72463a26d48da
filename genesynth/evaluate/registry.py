"""Evaluators by name, the flags each kind adds to the CLI, and the one resolver the CLI, the
API and workers use.

Adding an evaluator is one :class:`~genesynth.evaluate.base.Evaluator` subclass (with
``describe`` and ``from_description``) plus one :class:`Entry` in :data:`EVALUATORS`: the
entry names the class as ``"module:Class"`` (resolving one evaluator imports only its module:
the table evaluator does not load torch) and declares the command-line flags the kind adds,
as :class:`Flag` rows that ``genesynth synthesize`` reads without importing the class.
Nothing outside this package names a kind (``tests/evaluate/test_kinds.py`` checks it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from genesynth.errors import RunError
from genesynth.evaluate.base import DataLoader, Evaluator
from genesynth.evaluate.budgets import DEFAULT_SUPERNET, SUPERNET_BUDGETS
from genesynth.limits import MAX_BATCH, MAX_EPOCHS, MAX_SECONDS


@dataclass(frozen=True)
class Flag:
    """A command-line flag an evaluator kind adds to ``genesynth synthesize``.

    ``setting`` is where its value goes in the kind's description, dotted for a nested one
    (``supernet.epochs``); ``kind`` is ``int`` (a positive integer), ``float`` (>= 0) or
    ``str``; ``most`` its upper bound (``unit`` names a float's in the error). A flag that
    ``selects`` the kind chooses it when given (``--table FILE`` is ``--evaluator table``); any
    other is refused without its kind. A ``default`` goes into the description only with the
    flag's kind.
    """

    name: str
    setting: str
    help: str
    kind: type = int
    metavar: str | None = None
    selects: bool = False
    default: Any = None
    most: float | None = None
    unit: str = "a number"


@dataclass(frozen=True)
class Entry:
    """One evaluator kind: its class as ``"module:Class"``, a one-line summary for the CLI's
    ``--evaluator`` help, the flags it adds, and the general flags it refuses (flag -> why)."""

    target: str
    summary: str = ""
    flags: tuple[Flag, ...] = ()
    refuses: Mapping[str, str] = field(default_factory=dict)


def _per_dataset(pick: Callable[[Any], int]) -> str:
    """``digits 12, other data 10``: a supernet default per dataset, for the help."""
    named = [f"{name} {pick(config)}" for name, config in SUPERNET_BUDGETS.items()]
    return ", ".join([*named, f"other data {pick(DEFAULT_SUPERNET)}"])


#: The kind a run uses when none is named.
DEFAULT_EVALUATOR = "train"

#: kind (``describe()["kind"]``) -> its entry.
EVALUATORS: dict[str, Entry] = {
    "train": Entry("genesynth.evaluate.train:TrainingEvaluator",
                   "proxy training on --data (the default)"),
    "table": Entry(
        "genesynth.evaluate.table:TableEvaluator",
        "accuracy looked up in a JSON benchmark table (--table FILE)",
        flags=(
            Flag("--table", "path", "look accuracy up in a JSON benchmark table (--evaluator "
                 "table with this file)", kind=str, metavar="FILE", selects=True),
            Flag("--table-delay", "delay", "with --table: seconds each lookup takes, standing "
                 "in for training", kind=float, metavar="SECONDS", default=0.0,
                 most=MAX_SECONDS, unit="seconds"),
        )),
    "supernet": Entry(
        "genesynth.evaluate.supernet.evaluator:SupernetEvaluator",
        "validation top-1 on a weight-sharing supernet trained once before the search, "
        "docs/supernet.md",
        flags=(
            Flag("--supernet-epochs", "supernet.epochs", "with --evaluator supernet: epochs "
                 "that train the weight-sharing supernet before the search (default per "
                 f"dataset: {_per_dataset(lambda c: c.epochs)})", metavar="N", most=MAX_EPOCHS),
            Flag("--supernet-batch", "supernet.batch_size", "with --evaluator supernet: its "
                 "training batch size (default per dataset: "
                 f"{_per_dataset(lambda c: c.batch_size)})", metavar="N", most=MAX_BATCH),
            Flag("--supernet-from", "from", "with --evaluator supernet: start from this "
                 "supernet.safetensors (e.g. trained by torchrun -m "
                 "genesynth.evaluate.supernet.launch; same prototype, data and settings, "
                 "bounds at least as wide)", kind=str, metavar="FILE"),
            Flag("--fidelity-checks", "checks", "with --evaluator supernet: candidates "
                 "trained alone with the proxy budget after the family, to state how well the "
                 "scores ranked them (default 4; docs/supernet.md)", metavar="N", most=100),
        ),
        refuses={"--epochs": "sets the proxy training, which --evaluator supernet does not do: "
                             "its budget is --supernet-epochs"}),
}


def evaluator_class(kind: str) -> type[Evaluator]:
    """The registered class of ``kind`` (RunError naming the known kinds when absent)."""
    if not isinstance(kind, str) or kind not in EVALUATORS:
        raise RunError(f"unknown evaluator {kind!r}: the registered ones are "
                       f"{', '.join(sorted(EVALUATORS))} (genesynth.evaluate.EVALUATORS); "
                       "any other must be passed as an Evaluator object")
    module, name = EVALUATORS[kind].target.split(":")
    found = getattr(importlib.import_module(module), name)
    if not (isinstance(found, type) and issubclass(found, Evaluator)):
        raise TypeError(f"EVALUATORS[{kind!r}] names {found!r}, not an Evaluator subclass")
    return found


def description_of(value: Evaluator | str | Mapping[str, Any] | None
                   ) -> Mapping[str, Any] | None:
    """What a run was given as its evaluator, as a description: None is the default kind
    (:data:`DEFAULT_EVALUATOR`), a kind ``{"kind": kind}``, a description as it is; an
    Evaluator object has none (None)."""
    if value is None:
        return {"kind": DEFAULT_EVALUATOR}
    if isinstance(value, str):
        return {"kind": value}
    return value if isinstance(value, Mapping) else None


def resolve_evaluator(value: Evaluator | str | Mapping[str, Any], data: DataLoader
                      ) -> Evaluator:
    """An Evaluator from an instance (as it is), a registered kind, or a description (what
    ``describe()`` returned: ``{"kind": ..., settings}``). ``data`` returns the run's dataset
    and is called only when the evaluator needs one."""
    if isinstance(value, Evaluator):
        return value
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, Mapping):
        raise RunError(f"`evaluator` must be an Evaluator, a kind ({', '.join(sorted(EVALUATORS))})"
                       f" or a description, but got evaluator={value!r}")
    return evaluator_class(value.get("kind", "")).from_description(value, data)
