"""Evaluators: how a candidate's accuracy is measured."""

from __future__ import annotations

from genesynth.evaluate.base import (
    CandidateFailed,
    Evaluator,
    EvaluatorContext,
    Pruned,
    Report,
)
from genesynth.evaluate.registry import EVALUATORS, evaluator_class, resolve_evaluator
from genesynth.net.measurement import Measurement

__all__ = ["EVALUATORS", "CandidateFailed", "Evaluator", "EvaluatorContext", "Measurement",
           "Pruned", "Report", "evaluator_class", "resolve_evaluator"]
