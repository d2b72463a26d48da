"""A run's data loaded again from the description its run.json keeps.

A worker joining a run, ``genesynth adapt`` and the int8 export read the same data the run was
searched on: the same source, split fractions, limit and seed, at the same input shape. What
they load is compared with the stored description, and a difference is named (another copy of
a dataset, another version of a file) rather than measuring on other data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from genesynth.data.dataset import Dataset
from genesynth.errors import RunError


def load_described(stored: Mapping[str, Any], seed: int) -> Dataset:
    """The data ``stored`` (a run's ``data`` description) describes, loaded here; RunError
    naming what differs when it is not the same data."""
    from genesynth.data.prepare import load_data

    if not stored.get("spec"):
        raise RunError("the run records no data (its evaluator measured without any)")
    shape = stored.get("input_shape")
    # Always the stored shape, even where it equals the native one: an image folder's native
    # shape is the shape it was decoded at, and without one it decodes at its default size.
    wanted = tuple(shape) if shape else None
    dataset = load_data(stored["spec"], input_shape=wanted, seed=seed,
                        val_fraction=stored.get("val_fraction", 0.15),
                        test_fraction=stored.get("test_fraction", 0.15),
                        limit=stored.get("limit"))
    found = changes(dict(stored), dataset.describe())
    if found:
        raise RunError(f"the data at {stored['spec']} is not the run's data: " + "; ".join(found))
    return dataset


def changes(stored: Mapping[str, Any], given: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``key: value here, value in the run`` for each leaf that differs (``path`` ignored)."""
    found = []
    for key in sorted(set(stored) | set(given)):
        if not prefix and key == "path":
            continue
        a, b = stored.get(key), given.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            found += changes(a, b, f"{prefix}{key}.")
        elif json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True):
            found.append(f"{prefix}{key}: {b!r} here, {a!r} in the run")
    return found
