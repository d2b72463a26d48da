"""Universal utilities (NetScore, MnasNet's reward) and the indicator constraint 1_r.

The public face of :mod:`genesynth._utility` (the :class:`Utility` extension point and its
implementations) and :mod:`genesynth.constraint` (constraint files)::

    from genesynth.utility import NetScore, load_constraint

    rule = load_constraint("constraints/digits.toml")
    rule.utility(measurement), rule.feasible(measurement), rule.optuna_values(measurement)
"""

from __future__ import annotations

from genesynth._utility import (
    UTILITIES,
    MnasReward,
    NetScore,
    Utility,
    UtilityParameterError,
    make_utility,
    register_utility,
)
from genesynth.constraint import (
    Constraint,
    ConstraintSyntaxError,
    format_count,
    load_constraint,
    parse_count,
)

__all__ = [
    "UTILITIES",
    "Constraint",
    "ConstraintSyntaxError",
    "MnasReward",
    "NetScore",
    "Utility",
    "UtilityParameterError",
    "format_count",
    "load_constraint",
    "make_utility",
    "parse_count",
    "register_utility",
]
