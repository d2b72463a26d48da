"""The run description (``run.json``) and the run directory.

A run directory is never overwritten silently: starting a run in a directory that already
holds one is refused unless ``resume`` is asked for, and resuming is refused when the stored
run differs from the one described now (another prototype, constraint, data or seed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesynth.errors import RunError
from genesynth.limits import load_json, read_text
from genesynth.record.layout import RUN_FILE
from genesynth.urls import without_password

#: Keys of run.json that define the run; anything else (trial budget, storage) may change on resume.
IDENTITY = ("prototype_text", "input_shape", "classes", "constraint", "data", "seed", "sampler",
            "evaluator")

#: The run's settings that do not define it (where it runs, how a worker joins it): typed
#: fields of :class:`RunSpec`, at the top of run.json. Runs written before they were typed
#: kept them in an ``extra`` object; those still read (``RunSpec.from_dict``, ``settings_of``).
SETTINGS = ("shared_out", "heartbeat", "device", "compile", "measure", "latency_table")
_OLD_NAMES = {"out": "shared_out"}  # a setting's name in ``extra``, where it differs


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines a synthesis run, JSON-able (stored in run.json and the study)."""

    prototype_path: str
    prototype_text: str
    input_shape: tuple[int, int, int]
    classes: int
    constraint: dict[str, Any]
    data: dict[str, Any]
    seed: int
    sampler: str
    evaluator: dict[str, Any]
    trials: int
    family_size: int
    full_epochs: int
    storage: str = ""
    study: str = ""
    #: The prototype's own ``input`` line when the data's shape replaced it, else ().
    declared_input_shape: tuple[int, ...] = ()
    #: Where a shared study's workers write the family by default (absolute); "" for a local run.
    shared_out: str = ""
    #: A shared study's heartbeat interval in seconds (PostgreSQL/MySQL); None for a local run.
    heartbeat: int | None = None
    #: Where the first process ran networks, for people (``cuda:0 (NVIDIA H100 ...)``,
    #: ``cpu (2 threads)``); "" for an evaluator that runs none (a table).
    device: str = ""
    #: The forward pass ran through ``torch.compile`` (workers compile as the run did).
    compile: bool = False
    #: What a search trial's accuracy is: ``top-1`` (trained alone) or ``score`` (a supernet's).
    measure: str = "top-1"
    #: The latency table that predicts latency (``LatencyTable.describe()``); None: measured.
    latency_table: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "prototype_path": self.prototype_path, "prototype_text": self.prototype_text,
            "input_shape": list(self.input_shape), "classes": self.classes,
            "constraint": self.constraint, "data": self.data, "seed": self.seed,
            "sampler": self.sampler, "evaluator": self.evaluator, "trials": self.trials,
            "family_size": self.family_size, "full_epochs": self.full_epochs,
            "storage": without_password(self.storage), "study": self.study,
            "declared_input_shape": list(self.declared_input_shape),
            "shared_out": self.shared_out, "heartbeat": self.heartbeat, "device": self.device,
            "compile": self.compile, "measure": self.measure, "latency_table": self.latency_table,
        }

    def settings(self) -> dict[str, Any]:
        """The fields that may change on resume without changing the run (:data:`SETTINGS`)."""
        return {name: getattr(self, name) for name in SETTINGS}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> RunSpec:
        try:
            shape = data["input_shape"]
            return RunSpec(
                prototype_path=data["prototype_path"], prototype_text=data["prototype_text"],
                input_shape=(shape[0], shape[1], shape[2]), classes=data["classes"],
                constraint=data["constraint"], data=data["data"], seed=data["seed"],
                sampler=data["sampler"], evaluator=data["evaluator"], trials=data["trials"],
                family_size=data["family_size"], full_epochs=data["full_epochs"],
                storage=data.get("storage", ""), study=data.get("study", ""),
                declared_input_shape=tuple(data.get("declared_input_shape", ())),
                **_typed_settings(settings_of(data)),
            )
        except (KeyError, TypeError, IndexError) as exc:
            raise RunError(f"the run description is incomplete or damaged ({exc})") from None

    def differences(self, other: RunSpec) -> list[str]:
        """Identity keys whose values differ between two runs."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [key for key in IDENTITY if _normal(mine[key]) != _normal(theirs[key])]


def settings_of(run: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`SETTINGS` a run.json (or a study's stored run) holds, in either form: at its
    top (since they were typed) or in its ``extra`` object (before); absent ones left out."""
    old = run.get("extra")
    found: dict[str, Any] = {}
    if isinstance(old, Mapping):
        found = {_OLD_NAMES.get(str(k), str(k)): v for k, v in old.items()}
    found = {k: v for k, v in found.items() if k in SETTINGS}
    found.update({k: run[k] for k in SETTINGS if k in run})
    return found


#: Each setting's type in run.json, and its value when absent or null.
_TYPES: dict[str, tuple[type, Any]] = {
    "shared_out": (str, ""), "heartbeat": (int, None), "device": (str, ""),
    "compile": (bool, False), "measure": (str, "top-1"), "latency_table": (dict, None),
}


def _typed_settings(found: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as RunSpec fields, each checked for its type (a damaged run is refused)."""
    typed: dict[str, Any] = {}
    for name, value in found.items():
        wanted, empty = _TYPES[name]
        if value is None:
            value = empty
        elif not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise TypeError(f"{name!r} must be {wanted.__name__}, "
                            f"got {value!r}")
        typed[name] = value
    return typed


def _normal(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def read_json(path: Path, required: bool = True, what: str = "file") -> dict[str, Any] | None:
    """A JSON object from ``path``; None when it is absent and not ``required``."""
    if not path.is_file():
        if required:
            raise RunError(f"{path} is missing")
        return None
    data = load_json(read_text(path, what, RunError), str(path), RunError)
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def inside(run_dir: Path, relative: object, what: str) -> Path:
    """``run_dir / relative``, refused unless it stays inside ``run_dir``.

    A run directory may come from anyone: the paths its files name (``family.json``'s
    ``arch`` and ``weights``, a member's label) are followed only where they stay inside it.
    """
    if not isinstance(relative, str) or not relative:
        raise RunError(f"{run_dir}: {what} must be a path inside the run directory, "
                       f"but got {relative!r}")
    path = run_dir / relative
    try:
        root, real = run_dir.resolve(), path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 says RuntimeError for a symlink loop
        raise RunError(f"{run_dir}: {what} {relative!r} is a symlink loop") from None
    if Path(relative).is_absolute() or not real.is_relative_to(root):
        raise RunError(f"{run_dir}: {what} {relative!r} points outside the run directory; "
                       "refusing to follow it")
    return path


def read_run(out: Path) -> RunSpec | None:
    path = out / RUN_FILE
    if not path.exists():
        return None
    data = load_json(read_text(path, "run description", RunError), str(path), RunError)
    if not isinstance(data, dict):
        raise RunError(f"{path}: damaged run description (expected a JSON object)")
    return RunSpec.from_dict(data)


def check_run_dir(out: Path, resume: bool) -> None:
    """What :func:`prepare_run_dir` refuses without knowing the run: checked before the data is
    loaded or a view drawn (decoding CIFAR-10 takes most of a minute)."""
    try:
        out.stat()
    except (FileNotFoundError, NotADirectoryError):
        pass  # a file among its parents: said by the API's check, which names it
    except OSError as exc:  # a name too long, a loop of links, no permission
        raise RunError(f"{out}: cannot use it as the run directory: "
                       f"{exc.strerror or exc}") from None
    stored = read_run(out) if out.is_dir() else None
    if stored is None:
        if resume:
            raise RunError(f"{out}: there is no run to resume here (no {RUN_FILE})")
        if out.is_dir() and any(out.iterdir()):
            raise RunError(f"{out}: the directory is not empty and holds no genesynth run; "
                           "choose another --out")
    elif not resume:
        raise RunError(f"{out} already holds a run; pass --resume to continue it, or choose "
                       "another --out")


def prepare_run_dir(out: Path, spec: RunSpec, resume: bool) -> RunSpec:
    """Create ``out`` for ``spec``, or check it for a resume; returns the spec to use."""
    stored = read_run(out)
    if stored is None:
        if resume:
            raise RunError(f"{out}: there is no run to resume here (no {RUN_FILE})")
        if out.exists() and any(out.iterdir()):
            raise RunError(
                f"{out}: the directory is not empty and holds no genesynth run; "
                "choose another --out"
            )
        out.mkdir(parents=True, exist_ok=True)
        write_run(out, spec)
        return spec
    differences = spec.differences(stored)
    if differences:
        raise RunError(
            f"{out} holds a different run ({', '.join(differences)} differ); "
            "choose another --out"
        )
    if not resume:
        raise RunError(
            f"{out} already holds this run; pass --resume to continue it, "
            "or choose another --out"
        )
    if (spec.trials, without_password(spec.storage), spec.settings()) != (
            stored.trials, stored.storage, stored.settings()):
        write_run(out, spec)  # the budget, storage or device may change on resume
    return spec


def write_run(out: Path, spec: RunSpec) -> None:
    (out / RUN_FILE).write_text(json.dumps(spec.to_dict(), indent=2) + "\n")
