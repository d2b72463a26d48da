"""A run's data, loaded again the way the run loaded it (resume, a worker, adapt, int8
export); refused when what is there now is not the same data."""

from __future__ import annotations

import json
from typing import Any

from genesynth.errors import RunError
from genesynth.record.run import RunSpec


def run_data(spec: RunSpec) -> Any:
    """The run's data, loaded here the same way; refused when it is not the same data."""
    from genesynth.data import load_data

    stored = spec.data
    shape = stored.get("input_shape")
    wanted = tuple(shape) if shape and shape != stored.get("native_shape") else None
    dataset = load_data(stored["spec"], input_shape=wanted, seed=spec.seed,
                        val_fraction=stored.get("val_fraction", 0.15),
                        test_fraction=stored.get("test_fraction", 0.15),
                        limit=stored.get("limit"))
    differ = changes(stored, dataset.describe())
    if differ:
        raise RunError(f"the data at {stored['spec']} is not the run's data: "
                       + "; ".join(differ))
    return dataset


def changes(stored: dict[str, Any], given: dict[str, Any], prefix: str = "") -> list[str]:
    """``key: value here, value in the run`` for each leaf that differs (``path`` ignored)."""
    found = []
    for key in sorted(set(stored) | set(given)):
        if not prefix and key == "path":
            continue
        a, b = stored.get(key), given.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += changes(a, b, f"{prefix}{key}.")
        elif json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True):
            found.append(f"{prefix}{key}: {b!r} here, {a!r} in the run")
    return found
