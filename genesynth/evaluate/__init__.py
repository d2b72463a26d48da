"""Evaluators: how a candidate's accuracy is measured."""

from __future__ import annotations

from genesynth.evaluate.base import CandidateFailed, Evaluator, Measurement, Pruned, Report

__all__ = ["CandidateFailed", "Evaluator", "Measurement", "Pruned", "Report"]
