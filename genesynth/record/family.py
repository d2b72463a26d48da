"""``family.json``: the retrained family, one entry per member (docs/run-directory.md)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from genesynth.record.layout import FAMILY_FILE
from genesynth.record.run import read_json


@dataclass(frozen=True)
class Member:
    """One retrained family member, as written to family.json."""

    label: str
    trial: int
    key: str
    accuracy: float  # test top-1 after full retraining, percent
    val_accuracy: float  # validation top-1 in the search
    params: int
    macs: int
    latency_ms: float | None
    utility: float
    feasible: bool
    arch: str  # paths relative to the run directory
    text: str
    weights: str | None
    measured_latency_ms: float | None = None  # on the run's machine, when latency_ms is predicted

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_family(out: Path, members: list[Member],
                 dropped: list[dict[str, Any]] | None = None) -> Path:
    """Write ``out/family.json`` whole (readers see the old file or the new one): the members,
    and the retrained members dropped as dominated."""
    path = out / FAMILY_FILE
    data: dict[str, Any] = {"members": [m.to_dict() for m in members]}
    if dropped:
        data["dropped"] = dropped
    partial = out / f".{FAMILY_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(partial, path)
    return path


def read_family_json(run_dir: Path) -> dict[str, Any] | None:
    """The content of ``run_dir/family.json`` as written, or None while there is none."""
    return read_json(run_dir / FAMILY_FILE, required=False)


def read_family(out: Path) -> list[Member] | None:
    """The members of ``out/family.json``; None when it is missing or unreadable."""
    try:
        return parse_family(json.loads((out / FAMILY_FILE).read_text()))
    except (OSError, ValueError):
        return None


def parse_family(data: Any) -> list[Member] | None:
    """The members of ``family.json``'s content; None when it is not one."""
    names = {f.name for f in fields(Member)}
    try:
        return [Member(**{k: v for k, v in m.items() if k in names}) for m in data["members"]]
    except (TypeError, KeyError, AttributeError):
        return None
