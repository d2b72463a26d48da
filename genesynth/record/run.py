"""The run description (``run.json``) and the run directory.

A run directory is never overwritten silently: starting a run in a directory that already
holds one is refused unless ``resume`` is asked for, and resuming is refused when the stored
run differs from the one described now (another prototype, constraint, data or seed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesynth.errors import RunError
from genesynth.limits import load_json, read_text
from genesynth.record.layout import RUN_FILE
from genesynth.urls import without_password

#: Keys of run.json that define the run; anything else (trial budget, storage) may change on resume.
IDENTITY = ("prototype_text", "input_shape", "classes", "constraint", "data", "seed", "sampler",
            "evaluator")


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
    extra: dict[str, Any] = field(default_factory=dict)
    #: The prototype's own ``input`` line when the data's shape replaced it, else ().
    declared_input_shape: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "prototype_path": self.prototype_path, "prototype_text": self.prototype_text,
            "input_shape": list(self.input_shape), "classes": self.classes,
            "constraint": self.constraint, "data": self.data, "seed": self.seed,
            "sampler": self.sampler, "evaluator": self.evaluator, "trials": self.trials,
            "family_size": self.family_size, "full_epochs": self.full_epochs,
            "storage": without_password(self.storage), "study": self.study, "extra": self.extra,
            "declared_input_shape": list(self.declared_input_shape),
        }

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
                extra=data.get("extra", {}),
                declared_input_shape=tuple(data.get("declared_input_shape", ())),
            )
        except (KeyError, TypeError, IndexError) as exc:
            raise RunError(f"the run description is incomplete or damaged ({exc})") from None

    def differences(self, other: RunSpec) -> list[str]:
        """Identity keys whose values differ between two runs."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [key for key in IDENTITY if _normal(mine[key]) != _normal(theirs[key])]


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
    if (spec.trials, without_password(spec.storage), spec.extra) != (
            stored.trials, stored.storage, stored.extra):
        write_run(out, spec)  # the budget, storage or device may change on resume
    return spec


def write_run(out: Path, spec: RunSpec) -> None:
    (out / RUN_FILE).write_text(json.dumps(spec.to_dict(), indent=2) + "\n")
