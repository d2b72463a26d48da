"""The generator: an Optuna study whose trials sample the prototype (see ``engine``)."""

from __future__ import annotations

from genesynth.synth.api import synthesize
from genesynth.synth.engine import RunInterrupted, SynthesisResult
from genesynth.synth.family import Member

__all__ = ["Member", "RunInterrupted", "SynthesisResult", "synthesize"]
