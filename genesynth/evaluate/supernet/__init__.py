"""Weight-sharing evaluation: one supernet per prototype, candidates scored in seconds.

See docs/supernet.md. :class:`SupernetEvaluator` is the evaluator; :mod:`.plan` decodes the
supernet's layout from a prototype, :mod:`.weights` holds the shared tensors and the
checkpoint, :mod:`.train` trains them with the sandwich rule.
"""

from __future__ import annotations

from genesynth.evaluate.budgets import SupernetConfig
from genesynth.evaluate.supernet.evaluator import SupernetEvaluator
from genesynth.evaluate.supernet.plan import SupernetError

__all__ = ["SupernetConfig", "SupernetError", "SupernetEvaluator"]
