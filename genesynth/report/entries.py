"""The rows of the report's family table: the members of ``family.json`` and the baselines.

Read from the run directory (``family.json`` with ``family/<L>/arch.json``, and
``baselines.json`` when present) by :mod:`genesynth.report.markdown` and drawn by
:mod:`genesynth.report.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesynth.errors import GenesynthError, RunError
from genesynth.limits import load_json, read_text
from genesynth.net.arch import Architecture
from genesynth.record.family import verified_weights
from genesynth.record.layout import BASELINES_FILE, MEMBER_ARCH, member_path
from genesynth.record.run import inside


@dataclass(frozen=True)
class Entry:
    """A row of the family table: a member or a baseline."""

    name: str
    accuracy: float | None
    params: int | None
    macs: int | None
    latency_ms: float | None
    utility: float | None
    feasible: bool | None
    trial: int | None = None
    arch: Architecture | None = None
    baseline: bool = False
    val_accuracy: float | None = None  # a member's validation top-1 in the search
    measured_latency_ms: float | None = None  # on the run's machine, when latency is predicted
    lineage: Mapping[str, Any] | None = None  # how an adapted member was made (genesynth adapt)
    quantized: Mapping[str, Any] | None = None  # its int8 export, measured (export --quantize)
    reused: str = ""  # where a member's result was reused from instead of retraining

    @property
    def origin(self) -> str:
        """``trial 12``, or ``adapted from A`` for a member genesynth adapt made."""
        if self.lineage and self.lineage.get("adapted_from"):
            return f"adapted from {self.lineage['adapted_from']}"
        return f"trial {self.trial}"


def _num(value: Any) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _object(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _entry(item: Mapping[str, Any], name: str, **extra: Any) -> Entry:
    feasible = item.get("feasible")
    return Entry(name, _num(item.get("accuracy")), _num(item.get("params")),
                 _num(item.get("macs")), _num(item.get("latency_ms")), _num(item.get("utility")),
                 feasible if isinstance(feasible, bool) else None, **extra)


def family_entries(run_dir: Path, family: Mapping[str, Any] | None) -> list[Entry]:
    """Members of ``family.json`` with their architectures (RunError if one is unreadable)."""
    entries = []
    for item in (family or {}).get("members") or []:
        label = str(item.get("label", "?"))
        path = inside(run_dir, item.get("arch") or member_path(label, MEMBER_ARCH),
                      f"family member {label}'s arch")
        arch = None
        if path.is_file():
            try:
                arch = Architecture.from_json(read_text(path, "architecture"), str(path))
            except GenesynthError as exc:
                raise RunError(f"family member {label}: {exc}") from None
        verified_weights(run_dir, item, label)  # the report describes the weights the run wrote
        entries.append(_entry(item, label, trial=_num(item.get("trial")), arch=arch,
                              val_accuracy=_num(item.get("val_accuracy")),
                              measured_latency_ms=_num(item.get("measured_latency_ms")),
                              lineage=_object(item.get("lineage")),
                              quantized=_object(item.get("quantized")),
                              reused=str(item.get("reused") or "")))
    return entries


def baseline_entries(run_dir: Path) -> list[Entry]:
    """Rows of ``baselines.json`` (``{"baselines": [...]}`` or a list of objects)."""
    path = run_dir / BASELINES_FILE
    if not path.is_file():
        return []
    data = load_json(read_text(path, "baselines", RunError), str(path), RunError)
    items = data.get("baselines", []) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise RunError(f"{path}: expected a list of baselines")
    return [
        _entry(item, str(item.get("name") or item.get("label") or f"baseline {i + 1}"),
               baseline=True)
        for i, item in enumerate(items) if isinstance(item, Mapping)
    ]
