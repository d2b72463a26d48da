"""Static bounds: what the analytic cost decides before any evaluation.

A constraint's params and MACs bounds are known exactly for every sample, so a run whose
space holds no network inside them is refused before the first trial, naming the space's
cost range (``genesynth check`` prints the same range).
"""

from __future__ import annotations

from typing import Any

from genesynth.errors import ConstraintError
from genesynth.fmt import count


def check_reachable(prototype: Any, constraint: Any) -> None:
    """Raise ConstraintError when no network of ``prototype`` fits the static bounds.

    Decided only where the prototype's cost range is exact (enumerated); an estimated range
    is left to the search, which stops after a bounded number of samples outside the bounds.
    """
    if constraint.max_macs is None and constraint.max_params is None:
        return
    bounds = prototype.cost_range()
    if not bounds.exact:
        return
    problems = []
    if constraint.max_macs is not None and bounds.min_macs > constraint.max_macs:
        problems.append(f"its smallest network has {count(bounds.min_macs)} MACs, "
                        f"above max_macs = {count(constraint.max_macs)}")
    if constraint.max_params is not None and bounds.min_params > constraint.max_params:
        problems.append(f"its smallest network has {count(bounds.min_params)} params, "
                        f"above max_params = {count(constraint.max_params)}")
    if problems:
        shape = "x".join(str(n) for n in prototype.input_shape)
        raise ConstraintError(
            f"the prototype '{prototype.name}' at input {shape} holds no network inside the "
            f"constraint's bounds: {'; '.join(problems)}"
        )
