"""After the search: adapt a member of a run's family to one exact budget (NetAdapt).

``adapt(run_dir, "A", Target.parse("macs=553K"))`` cuts channel groups of member A one
iteration at a time (:mod:`.netadapt`), fine-tunes the result with the run's full budget,
checks it against the run's constraint on the test split, and writes it as a new member of
the family (``family/<label>/`` and an entry in ``family.json`` with its lineage). See
docs/adapt.md.
"""

from __future__ import annotations

from genesynth.adapt.run import DEFAULT_STEPS, AdaptResult, adapt, default_label
from genesynth.adapt.target import RESOURCES, AdaptError, Schedule, Target

__all__ = ["DEFAULT_STEPS", "RESOURCES", "AdaptError", "AdaptResult", "Schedule", "Target", "adapt",
           "default_label"]
