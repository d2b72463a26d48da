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
    #: How a member made after the search came to be (``genesynth adapt``: the member it was
    #: adapted from, the target, the iterations); None for a member of the search.
    lineage: dict[str, Any] | None = None
    #: Its int8 export (``genesynth export --quantize int8``): file, bytes, float and int8
    #: test top-1; None until exported.
    quantized: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("lineage", "quantized"):
            if data[key] is None:
                del data[key]
        return data


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


def put_member(out: Path, entry: dict[str, Any]) -> Path:
    """Write ``entry`` into ``out/family.json`` in place of the member with its label, or
    after the others; the rest of the file is kept as it is (written whole, as above)."""
    data = read_family_json(out)
    if data is None or not isinstance(data.get("members"), list):
        data = {"members": []}
    members = [m for m in data["members"] if not (isinstance(m, dict)
                                                  and m.get("label") == entry["label"])]
    at = next((i for i, m in enumerate(data["members"])
               if isinstance(m, dict) and m.get("label") == entry["label"]), len(members))
    data["members"] = members[:at] + [entry] + members[at:]
    path = out / FAMILY_FILE
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
