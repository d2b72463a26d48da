"""Static bounds: what the analytic cost decides before any evaluation.

A constraint's params and MACs bounds are known exactly for every sample, so a run whose
space holds no network inside them is refused before the first trial, naming the space's
cost range (``genesynth check`` prints the same range).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genesynth.errors import ConstraintError
from genesynth.fmt import count
from genesynth.net.measurement import Measurement

if TYPE_CHECKING:
    from genesynth.goal.constraint import Constraint
    from genesynth.space import Prototype


def check_reachable(prototype: Prototype, constraint: Constraint) -> None:
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


class StaticLatency:
    """The predicted latency of a pool entry, when the constraint names a latency table
    (``known``); otherwise none, and latency stays a measured quantity.

    An entry holds the choices that make its network: the network is made again from them
    once and its prediction kept by key.
    """

    def __init__(self, prototype: Prototype | None, constraint: Constraint | None) -> None:
        self.prototype = prototype
        self.table = None
        if constraint is not None and constraint.latency_table is not None:  # predicts latency
            from genesynth.latency.table import cached_table

            self.table = cached_table(constraint.latency_table)
        self.bound = getattr(constraint, "max_latency_ms", None)
        self._ms: dict[str, float] = {}

    @property
    def known(self) -> bool:
        return self.table is not None

    def of(self, entry: Any) -> float | None:
        """Predicted milliseconds of ``entry``'s network, or None without a table."""
        if self.table is None or self.prototype is None:
            return None
        ms = self._ms.get(entry.key)
        if ms is None:
            from genesynth.space.choosers import FixedChooser

            arch = self.prototype.sample(chooser=FixedChooser(entry.values))
            ms = self._ms[entry.key] = self.table.predict(arch)
        return ms

    def over(self, entry: Any) -> bool:
        """Whether ``entry``'s predicted latency breaks the latency bound."""
        if self.table is None or self.bound is None:
            return False
        ms = self.of(entry)
        return ms is not None and ms > self.bound

    def measurement(self, accuracy: float, entry: Any) -> Measurement:
        """What the utility scores for ``entry`` at ``accuracy``: exact costs, and the
        predicted latency when there is one."""
        return Measurement(accuracy, entry.params, entry.macs, self.of(entry))
