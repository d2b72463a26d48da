"""``family.json``: the retrained family, one entry per member (docs/run-directory.md).

A run directory may come from anyone, so ``family.json`` is checked on read as ``run.json``
is: every member's fields must have their types and ranges, its label must be a plain name
(letters, digits, ``_`` and ``-``), and a member's weights carry their SHA-256 digest
(``weights_sha256``), checked by every reader that uses them (:func:`verified_weights`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import string
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from genesynth.errors import RunError
from genesynth.limits import MAX_BUILD_PARAMS
from genesynth.record.layout import FAMILY_FILE
from genesynth.record.run import inside, read_json

LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
"""A member label: a letter, then up to 31 letters, digits, ``_`` or ``-`` (A, B, A-int8)."""

MAX_MEMBERS = 1000
"""The most members one ``family.json`` may list (``--family`` is bounded alike)."""


def labels(count: int) -> list[str]:
    """The labels of a family of ``count`` members, most accurate first: A, B, C, ... (at most
    26; the dashboard's forming family and the retrained family name members alike)."""
    return list(string.ascii_uppercase[:count])

DIGEST = re.compile(r"[0-9a-f]{64}")

MAX_WEIGHTS_BYTES = 4 * MAX_BUILD_PARAMS + 2**20
"""The largest weights file read: a network genesynth may build, in float32, and a header."""


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
    #: SHA-256 of the weights file as written (None without weights, or in older runs).
    weights_sha256: str | None = None
    #: Where a reused result came from (genesynth's own record; None when measured here).
    reused: str | None = None
    #: Latency measured on the run's machine, when ``latency_ms`` is a table's prediction.
    measured_latency_ms: float | None = None
    #: How a member made after the search came to be (``genesynth adapt``: the member it was
    #: adapted from, the target, the iterations); None for a member of the search.
    lineage: dict[str, Any] | None = None
    #: Its int8 export (``genesynth export --quantize int8``): files, bytes, float and int8
    #: test top-1; None until exported.
    quantized: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("lineage", "quantized"):
            if data[key] is None:
                del data[key]
        return data


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, as lowercase hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_weights(run_dir: Path, entry: Any, label: str) -> Path | None:
    """The member's weights file, checked against the digest ``family.json`` records; None
    when the member has no weights. RunError when the file differs from what the run wrote."""
    relative = entry.get("weights") if isinstance(entry, dict) else entry.weights
    if relative is None:
        return None
    path = inside(run_dir, relative, f"member {label!r}'s weights")
    recorded = (entry.get("weights_sha256") if isinstance(entry, dict)
                else entry.weights_sha256)
    if recorded is None or not path.is_file():
        return path  # an older run (no digest), or missing: the reader says what is missing
    if path.stat().st_size > MAX_WEIGHTS_BYTES:
        raise RunError(f"{path}: member {label!r}'s weights hold {path.stat().st_size:,} "
                       f"bytes; a network genesynth builds has at most {MAX_WEIGHTS_BYTES:,}")
    try:
        found = file_digest(path)
    except OSError as exc:
        raise RunError(f"{path}: cannot read member {label!r}'s weights: "
                       f"{exc.strerror or exc}") from None
    if found != recorded:
        raise RunError(
            f"{path}: member {label!r}'s weights are not the ones the run wrote (SHA-256 "
            f"{found[:16]}..., {FAMILY_FILE} records {str(recorded)[:16]}...); they were "
            "changed or damaged; refusing to use them")
    return path


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
    data = read_family_json(out) or {"members": []}
    _check_member(entry, f"{out / FAMILY_FILE}: the new member")
    labels = [m["label"] for m in data["members"]]
    members = list(data["members"])
    if entry["label"] in labels:
        members[labels.index(entry["label"])] = entry
    else:
        members.append(entry)
    data["members"] = members
    path = out / FAMILY_FILE
    partial = out / f".{FAMILY_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(partial, path)
    return path


def read_family_json(run_dir: Path) -> dict[str, Any] | None:
    """The content of ``run_dir/family.json``, checked (RunError naming the member and key
    when it is damaged), or None while there is none."""
    path = run_dir / FAMILY_FILE
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise RunError(f"{path}: expected a file, but it is not a regular file")
    data = read_json(path, required=True, what="family")
    return None if data is None else check_family(data, str(path))


def read_family(out: Path) -> list[Member] | None:
    """The members of ``out/family.json``; None when there is none, RunError when damaged."""
    data = read_family_json(out)
    return None if data is None else members_of(data)


def parse_family(data: Any) -> list[Member] | None:
    """The members of ``family.json``'s content (a study's copy); None when it is not one."""
    try:
        return members_of(check_family(data, "the study's copy of family.json"))
    except RunError:
        return None


def members_of(checked: dict[str, Any]) -> list[Member]:
    names = {f.name for f in fields(Member)}
    return [Member(**{k: v for k, v in m.items() if k in names}) for m in checked["members"]]


# -- checking what was read -----------------------------------------------------------------

_KINDS: dict[str, tuple[str, bool]] = {  # field: (kind, may be null)
    "label": ("label", False), "trial": ("count", False), "key": ("text", False),
    "accuracy": ("percent", False), "val_accuracy": ("number", False),
    "params": ("count", False), "macs": ("count", False), "latency_ms": ("positive", True),
    "utility": ("number", False), "feasible": ("bool", False), "arch": ("text", False),
    "text": ("text", False), "weights": ("text", True), "weights_sha256": ("digest", True),
    "reused": ("text", True), "measured_latency_ms": ("positive", True),
    "lineage": ("object", True), "quantized": ("object", True),
}
_OPTIONAL = ("weights_sha256", "reused", "measured_latency_ms", "lineage", "quantized")
_REQUIRED = tuple(f.name for f in fields(Member) if f.name not in _OPTIONAL)
_EXPECTED = {"label": "a label of letters, digits, '_' or '-' starting with a letter",
             "count": "an integer >= 0", "text": "a string", "percent": "a number 0..100",
             "number": "a finite number", "positive": "a number >= 0", "bool": "true or false",
             "digest": "64 lowercase hex digits (a SHA-256)", "object": "a JSON object"}


def check_family(data: Any, where: str) -> dict[str, Any]:
    """``data`` when it is a well-formed family.json content; RunError naming what is not."""
    if not isinstance(data, dict):
        raise RunError(f"{where}: expected a JSON object, got {type(data).__name__}")
    members = data.get("members")
    if not isinstance(members, list):
        raise RunError(f"{where}: 'members' must be a list of members, but got "
                       f"{type(members).__name__}")
    if len(members) > MAX_MEMBERS:
        raise RunError(f"{where}: {len(members):,} members; at most {MAX_MEMBERS} are allowed")
    labels: set[str] = set()
    for i, member in enumerate(members):
        _check_member(member, f"{where}: members[{i}]")
        if member["label"] in labels:
            raise RunError(f"{where}: members[{i}]: label {member['label']!r} appears twice")
        labels.add(member["label"])
    return data


def _check_member(member: Any, where: str) -> None:
    if not isinstance(member, dict):
        raise RunError(f"{where}: expected an object, got {type(member).__name__}")
    missing = [key for key in _REQUIRED if key not in member]
    if missing:
        raise RunError(f"{where}: missing {', '.join(missing)}")
    for key, (kind, nullable) in _KINDS.items():
        value = member.get(key)
        if value is None and (nullable or key not in member and key not in _REQUIRED):
            continue
        if not _fits(kind, value):
            raise RunError(f"{where}: {key} must be {_EXPECTED[kind]}, but got "
                           f"{_shown(value)}")


def _fits(kind: str, value: Any) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind in ("text", "label", "digest"):
        pattern = {"label": LABEL, "digest": DIGEST}.get(kind)
        return isinstance(value, str) and (pattern is None or pattern.fullmatch(value) is not None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if kind == "count":
        return isinstance(value, int) and value >= 0
    if not math.isfinite(value):
        return False
    return {"percent": 0 <= value <= 100, "positive": value >= 0}.get(kind, True)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
