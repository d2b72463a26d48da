"""Export an architecture, or a member of a run's family, as PyTorch source, ONNX, JSON or text.

* ``pytorch``: a standalone, readable ``.py`` file (needs only torch; see
  :mod:`genesynth.export.codegen`) and, given weights, a ``.pt`` state dict beside it that the file
  loads with ``torch.load(..., weights_only=True)``.
* ``onnx``: the built network with its weights (legacy TorchScript exporter, opset 17, a
  dynamic batch axis). When onnxruntime is installed the file is run once and checked against
  torch. Needs the ``onnx`` extra: ``pip install genesynth[onnx]``.
* ``json`` / ``text``: :meth:`Architecture.to_json` / :func:`~genesynth.dsl.architecture_to_text`.

Weights are always loaded with ``strict=True``: weights that do not fit the architecture are
an error, never silently dropped.

A network is trained on inputs normalised with the training split's per-channel mean and
standard deviation (see :mod:`genesynth.data`). An exported member takes the data in its own
units instead (pixel values 0-255, digits 0-16, ...): its first step is that normalisation,
read from the run's ``run.json``, so the file is all a user needs to classify raw data.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from genesynth.blocks.torch_modules import Network, Normalize
from genesynth.dsl.writer import architecture_to_text
from genesynth.errors import ExportError, RunError, did_you_mean
from genesynth.export.formats import EXPORTERS, exporter
from genesynth.limits import read_text
from genesynth.net.arch import Architecture
from genesynth.net.builder import build
from genesynth.record.family import (
    MAX_WEIGHTS_BYTES,
    put_member,
    read_family_json,
    verified_weights,
)
from genesynth.record.layout import (
    FAMILY_FILE,
    MEMBER_ARCH,
    MEMBER_WEIGHTS,
    member_path,
)
from genesynth.record.run import inside, read_run

if TYPE_CHECKING:
    from genesynth.data.dataset import Dataset
    from genesynth.export.quantize import Quantized

OPSET = 17
ONNX_ATOL = 1e-4


@dataclass(frozen=True)
class InputNormalization:
    """``(x - mean) / std`` per input channel, in the data's own units (the training split's)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @staticmethod
    def of_run(run_dir: Path) -> InputNormalization | None:
        """The normalisation ``run.json`` records for the run's data (None without data)."""

        spec = read_run(run_dir)
        data = spec.data if spec is not None else {}
        mean, std = data.get("mean"), data.get("std")
        if not mean or not std:
            return None
        try:
            norm = InputNormalization(tuple(float(m) for m in mean), tuple(float(s) for s in std))
        except (TypeError, ValueError):
            raise RunError(f"{run_dir / 'run.json'}: data.mean and data.std must be lists of "
                           f"numbers, but got mean={mean!r}, std={std!r}") from None
        if len(norm.mean) != len(norm.std) or not all(s > 0 for s in norm.std):
            raise RunError(f"{run_dir / 'run.json'}: data.mean and data.std must have one "
                           f"entry per channel and std > 0, but got mean={mean!r}, std={std!r}")
        return norm


def export_architecture(
    arch: Architecture,
    path: Path,
    fmt: str,
    state_dict: Mapping[str, torch.Tensor] | None = None,
    normalization: InputNormalization | None = None,
) -> list[Path]:
    """Write ``arch`` to ``path`` in format ``fmt``; returns every file written.

    ``state_dict`` holds the weights of ``genesynth.build(arch)`` (``pytorch`` writes them to
    ``path`` with suffix ``.pt``; ``onnx`` bakes them in); without it, fresh weights are
    exported for ``onnx`` and none are written for ``pytorch``. With ``normalization`` the
    exported network (``pytorch``, ``onnx``) normalises its input itself, as its first step.
    """
    chosen = exporter(fmt)
    path = Path(path)
    if path.suffix in chosen.beside:
        raise ExportError(f"{path}: a {fmt} export is a {chosen.suffix} file with "
                          f"{', '.join(chosen.beside)} beside it (model{chosen.suffix}, "
                          f"model{chosen.beside[0]}); name the {chosen.suffix} file")
    if normalization is not None and len(normalization.mean) != arch.input_shape[0]:
        raise ExportError(f"the input normalisation has {len(normalization.mean)} channels; "
                          f"{arch.name} takes {arch.input_shape[0]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return list(chosen.writer()(arch, path, state_dict, normalization))


def export_member(
    run_dir: Path, member: str = "A", fmt: str = "pytorch", out: Path | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Export one member of the family in ``run_dir`` (see docs/run-directory.md).

    ``out`` is a file, or an existing directory to write ``model.<ext>`` into; by default
    the files go into the member's directory (``family/A/model.py``, ``model.pt``, ...).
    Files that exist are refused unless ``overwrite``.
    """
    chosen = exporter(fmt)
    run_dir = Path(run_dir)
    entry, arch, state = load_member(run_dir, member, weights=chosen.needs_weights)
    target = _member_dir_target(run_dir, member, fmt, out)
    _refuse_escaping_links(target, fmt, run_dir)
    if not overwrite:
        _refuse_existing(target, fmt)
    return export_architecture(arch, target, fmt, state, InputNormalization.of_run(run_dir))


def load_member(run_dir: Path, member: str, weights: bool = True
                ) -> tuple[Mapping[str, Any], Architecture, dict[str, torch.Tensor] | None]:
    """A member of the family in ``run_dir``: its family.json entry, architecture and (with
    ``weights``) weights, checked against the digest family.json records; RunError naming
    what is missing or differs."""
    entry = _member_entry(run_dir, member)
    arch_path = inside(run_dir, entry.get("arch", member_path(member, MEMBER_ARCH)),
                       f"member {member!r}'s arch")
    arch = Architecture.from_json(_read(arch_path, run_dir, member), where=str(arch_path))
    state = None
    if weights:
        path = verified_weights(run_dir, entry, member)  # the digest family.json records
        if path is None:
            path = inside(run_dir, member_path(member, MEMBER_WEIGHTS),
                          f"member {member!r}'s weights")
        state = _load_weights(path, run_dir, member)
    return entry, arch, state


def export_quantized(
    run_dir: Path, member: str = "A", kind: str = "int8", out: Path | None = None,
    overwrite: bool = False,
) -> tuple[list[Path], Any]:
    """Export ``member`` as float ONNX and as int8 ONNX beside it (``model.int8.onnx``),
    calibrated on the run's training images; both measured on its test split
    (:mod:`genesynth.export.quantize`). The result is recorded in ``family.json`` (the member's
    ``quantized``) for the report. Returns the files written and the
    :class:`~genesynth.export.quantize.Quantized` record."""
    from genesynth.export.quantize import check_kind

    check_kind(kind)
    run_dir = Path(run_dir)
    spec = read_run(run_dir)
    if spec is None or not spec.data:
        raise ExportError(f"{run_dir}: int8 export calibrates on the run's training images and "
                          "measures its test split; this run has no training data")
    fmt = next(name for name, e in EXPORTERS.items() if kind in e.quantize)  # onnx
    target = _member_dir_target(run_dir, member, fmt, out)
    int8 = target.with_name(f"{target.stem}.int8.onnx")
    _refuse_escaping_links(int8, "onnx", run_dir)
    if not overwrite:
        _refuse_existing(int8, fmt)
    written = export_member(run_dir, member, fmt, target, overwrite)
    from genesynth.data.described import load_described

    result = _quantize_measured(target, int8, load_described(spec.data, spec.seed), spec.seed)
    entry = dict(_member_entry(run_dir, member))
    entry["quantized"] = {**result.to_dict(), "file": _relative(int8, run_dir),
                          "float_file": _relative(target, run_dir)}
    put_member(run_dir, entry)
    return [*written, int8], result


def measure_int8(arch: Architecture, state: Mapping[str, torch.Tensor], folder: Path,
                 dataset: Dataset, seed: int = 0) -> Quantized:
    """``folder/model.onnx`` and ``folder/model.int8.onnx`` of a trained network (taking the
    data in its own units), both measured on ``dataset``'s test split: what a constraint with
    ``accuracy_of = "int8"`` checks. Returns the :class:`~genesynth.export.quantize.Quantized`
    record, its files named relative to ``folder``'s parent's parent (the run directory)."""
    norm = InputNormalization(tuple(float(m) for m in dataset.mean),
                              tuple(float(s) for s in dataset.std))
    folder.mkdir(parents=True, exist_ok=True)
    export_architecture(arch, folder / "model.onnx", "onnx", state, norm)
    return _quantize_measured(folder / "model.onnx", folder / "model.int8.onnx", dataset, seed)


def _quantize_measured(float_path: Path, int8: Path, data: Dataset, seed: int) -> Quantized:
    from genesynth.export.quantize import quantize_member

    mean = np.asarray(data.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(data.std, dtype=np.float32)[:, None, None]
    return quantize_member(float_path, int8, data.train.x * std + mean,
                           data.test.x * std + mean, np.asarray(data.test.y), seed)


def _relative(path: Path, run_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(run_dir.resolve()))
    except ValueError:
        return str(path.resolve())


def _member_dir_target(run_dir: Path, member: str, fmt: str, out: Path | None) -> Path:
    target = (inside(run_dir, member_path(member), f"member {member!r}'s folder")
              / f"model{exporter(fmt).suffix}") if out is None else Path(out)
    return target / f"model{exporter(fmt).suffix}" if target.is_dir() else target


def _refuse_escaping_links(target: Path, fmt: str, run_dir: Path) -> None:
    """A file to be written inside the run directory must stay there: a run directory may
    come from anyone, and its ``family/A/model.py`` may be a symlink to ``~/.bashrc``."""
    root = run_dir.resolve()
    written = [target, target.with_suffix(".pt")] if fmt == "pytorch" else [target]
    for path in written:
        if path.parent.resolve().is_relative_to(root) and not path.resolve().is_relative_to(root):
            raise RunError(f"{path} is a link to {path.resolve()}, outside the run directory "
                           f"{run_dir}; refusing to write through it")


def _refuse_existing(target: Path, fmt: str) -> None:
    written = [target, *(target.with_suffix(s) for s in exporter(fmt).beside)]
    existing = [str(path) for path in written if path.exists()]
    if existing:
        raise ExportError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}"
                          "; pass --force to overwrite, or choose another --out")


def check_format(fmt: str) -> None:
    exporter(fmt)


def built_with(arch: Architecture, state_dict: Mapping[str, torch.Tensor] | None) -> Network:
    """``build(arch)`` in eval mode with ``state_dict`` loaded strictly (when given)."""
    net = build(arch)
    if state_dict is not None:
        try:
            net.load_state_dict(dict(state_dict), strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            raise ExportError(
                f"{arch.name}: the weights do not fit the architecture: "
                + " ".join(line.strip() for line in first[1:4])
            ) from None
    return net.eval()


# -- run directory --------------------------------------------------------------------------


def _member_entry(run_dir: Path, member: str) -> Mapping[str, Any]:
    if not run_dir.is_dir():
        raise RunError(f"no run directory {str(run_dir)!r}")
    family = run_dir / FAMILY_FILE
    if not family.is_file():
        present = ", ".join(sorted(p.name for p in run_dir.iterdir())) or "nothing"
        raise RunError(
            f"{run_dir} has no {FAMILY_FILE} (has the synthesis finished?); it holds: {present}"
        )
    data = read_family_json(run_dir)  # checked: every member's fields and label
    members = data["members"] if data is not None else []
    labels = [m["label"] for m in members]
    for entry in members:
        if entry["label"] == member:
            return entry
    listed = ", ".join(labels) or "none"
    raise RunError(
        f"no member {member!r} in {family}; members: {listed}" + did_you_mean(member, labels)
    )


def _missing(path: Path, run_dir: Path, member: str) -> RunError:
    folder = path.parent
    if folder.is_dir():
        present = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
        where = f"{folder} holds: {present}"
    else:
        where = f"there is no folder {folder}"
    return RunError(f"member {member!r} of {run_dir}: no file {path}; {where}")


def _read(path: Path, run_dir: Path, member: str) -> str:
    if not path.is_file():
        raise _missing(path, run_dir, member)
    return read_text(path, "architecture", RunError)


def _load_weights(path: Path, run_dir: Path, member: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise _missing(path, run_dir, member)
    if path.stat().st_size > MAX_WEIGHTS_BYTES:  # a sparse 20 GB file is no member's weights
        raise RunError(f"{path}: member {member!r}'s weights hold {path.stat().st_size:,} "
                       f"bytes; a network genesynth builds has at most {MAX_WEIGHTS_BYTES:,}")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise RunError(f"{path}: not a readable safetensors file: {exc}") from None


# -- formats --------------------------------------------------------------------------------


def write_json(arch: Architecture, path: Path, state_dict: Any = None,
               normalization: InputNormalization | None = None) -> list[Path]:
    """The ``json`` exporter: :meth:`Architecture.to_json` (no weights)."""
    path.write_text(arch.to_json() + "\n", encoding="utf-8")
    return [path]


def write_text(arch: Architecture, path: Path, state_dict: Any = None,
               normalization: InputNormalization | None = None) -> list[Path]:
    """The ``text`` exporter: the architecture as prototype text (no weights)."""
    path.write_text(architecture_to_text(arch), encoding="utf-8")
    return [path]


def write_pytorch(
    arch: Architecture, path: Path, state_dict: Mapping[str, torch.Tensor] | None,
    normalization: InputNormalization | None,
) -> list[Path]:
    """The ``pytorch`` exporter: standalone source and, with weights, ``.pt`` beside it."""
    from genesynth.export.codegen import generate_source

    weights = path.with_suffix(".pt")
    if state_dict is not None:
        built_with(arch, state_dict)  # the weights fit, or a clear error before writing
    norm = (normalization.mean, normalization.std) if normalization else None
    path.write_text(generate_source(arch, weights.name, norm), encoding="utf-8")
    if state_dict is None:
        return [path]
    torch.save({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, weights)
    return [path, weights]


def write_onnx(
    arch: Architecture, path: Path, state_dict: Mapping[str, torch.Tensor] | None,
    normalization: InputNormalization | None,
) -> list[Path]:
    """The ``onnx`` exporter: the network with its weights, checked with onnxruntime."""
    if importlib.util.find_spec("onnx") is None:
        raise ExportError(
            "ONNX export needs the 'onnx' package: pip install 'genesynth[onnx]' "
            "(installs onnx and onnxruntime)"
        )
    net: torch.nn.Module = built_with(arch, state_dict)
    if normalization is not None:
        net = torch.nn.Sequential(Normalize(normalization.mean, normalization.std), net).eval()
    example = torch.randn(2, *arch.input_shape, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter's notice
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            net, (example,), str(path), dynamo=False, opset_version=OPSET,
            input_names=["input"], output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        )
    if importlib.util.find_spec("onnxruntime") is not None:
        _check_onnx(net, path, arch)
    return [path]


def _check_onnx(net: torch.nn.Module, path: Path, arch: Architecture) -> None:
    """Run the exported file with onnxruntime (batch 3) and compare with torch."""
    import onnxruntime

    x = torch.randn(3, *arch.input_shape, generator=torch.Generator().manual_seed(1))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy()})
    with torch.no_grad():
        want = net(x).numpy()
    diff = float(abs(got - want).max()) if got.shape == want.shape else float("inf")
    if diff > ONNX_ATOL:
        raise ExportError(
            f"{path}: onnxruntime differs from torch by {diff:.3g} (shape {got.shape} vs "
            f"{want.shape}); tolerance {ONNX_ATOL}"
        )
