"""The generator: an Optuna study whose trials sample the prototype (see ``engine``)."""

from __future__ import annotations

from genesynth.record.family import Member
from genesynth.synth.api import EmptyFamilyWarning, synthesize
from genesynth.synth.engine import RunInterrupted, SynthesisResult

__all__ = ["EmptyFamilyWarning", "Member", "RunInterrupted", "SynthesisResult", "synthesize"]
