"""Datasets: the embedded digits and readers for common formats, split and normalised.

>>> data = load_data("digits")            # 1797 8x8 digits, 10 classes
>>> data.input_shape, len(data.train) > len(data.val)
((1, 8, 8), True)

``spec`` is "digits" or a path to an MNIST-style IDX directory, a CIFAR-10 binary directory,
an image folder (one sub-folder per class) or a ``.npz`` file. See ``docs/datasets.md``.
"""

from __future__ import annotations

from genesynth.data.dataset import Dataset, Split
from genesynth.data.loader import as_tensors, batches
from genesynth.data.prepare import READERS, data_format, load_data, stratified_order

__all__ = ["READERS", "Dataset", "Split", "as_tensors", "batches", "data_format", "load_data",
           "stratified_order"]
