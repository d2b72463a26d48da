"""Evaluators by name, and the one resolver the CLI, the API and workers use.

Adding an evaluator is one :class:`~genesynth.evaluate.base.Evaluator` subclass (with
``describe`` and ``from_description``) plus one line in :data:`EVALUATORS`. Entries name the
class as ``"module:Class"`` so that resolving one evaluator imports only its module (the table
evaluator does not load torch).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from genesynth.errors import RunError
from genesynth.evaluate.base import DataLoader, Evaluator

#: kind (``describe()["kind"]``) -> ``"module:Class"``.
EVALUATORS: dict[str, str] = {
    "train": "genesynth.evaluate.train:TrainingEvaluator",
    "table": "genesynth.evaluate.table:TableEvaluator",
    "supernet": "genesynth.evaluate.supernet.evaluator:SupernetEvaluator",
}


def evaluator_class(kind: str) -> type[Evaluator]:
    """The registered class of ``kind`` (RunError naming the known kinds when absent)."""
    if not isinstance(kind, str) or kind not in EVALUATORS:
        raise RunError(f"unknown evaluator {kind!r}: the registered ones are "
                       f"{', '.join(sorted(EVALUATORS))} (genesynth.evaluate.EVALUATORS); "
                       "any other must be passed as an Evaluator object")
    module, name = EVALUATORS[kind].split(":")
    found = getattr(importlib.import_module(module), name)
    if not (isinstance(found, type) and issubclass(found, Evaluator)):
        raise TypeError(f"EVALUATORS[{kind!r}] names {found!r}, not an Evaluator subclass")
    return found


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
