"""The choices a latency table is made with, torch- and NumPy-free (the command line's parser
reads them; ``genesynth --help`` loads nothing heavy)."""

from __future__ import annotations

#: What runs the models in ``genesynth latency profile``.
RUNTIMES = ("onnxruntime", "torch", "torch-cuda")
#: The statistics of each model's timings a table may be made from: the median (the default,
#: robust to a busy device) or the minimum (the least disturbed call, for a very busy one).
STATISTICS = ("median", "min")
