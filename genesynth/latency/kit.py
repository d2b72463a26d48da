"""The latency kit: what must run on the target device to make its latency table.

:func:`make_kit` writes, into one folder,

* ``ops/op_NNNNN.onnx``: one ONNX model per distinct op the (bounded) space can produce
  (:mod:`genesynth.latency.space`), at batch 1;
* ``nets/net_NNN.onnx``: a few whole networks sampled from the space, spread over its MACs
  range, for calibrating the sum of the ops against what a whole network takes;
* ``ops/overhead.onnx``: a model that does next to nothing, whose time is the runtime's
  cost of one call (subtracted from every op's time, which includes it);
* ``manifest.json``: every model with its role (``op``, ``overhead`` or ``network``), its
  op key (an op) or the keys of the ops it runs (a network), and its input shapes;
* ``run_latency.py``: the runner (:mod:`genesynth.latency.runner`), which needs only Python,
  NumPy and ONNX Runtime.

Every ONNX file is exported as ``genesynth export --format onnx`` does (the legacy TorchScript
exporter, opset 17, eval mode, so batch norm is folded into the convolution before it).
"""

from __future__ import annotations

import json
import random
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesynth.errors import GenesynthError, ShapeError
from genesynth.latency.ops import Op, op_inputs, op_module, ops_of
from genesynth.latency.space import space_ops
from genesynth.net.arch import Architecture
from genesynth.net.costs import cost
from genesynth.space import Prototype
from genesynth.space.choosers import RandomChooser

KIT_FORMAT = "genesynth-latency-kit"
KIT_VERSION = 1
OPSET = 17
RUNNER = Path(__file__).with_name("runner.py")


@dataclass(frozen=True)
class Bounds:
    """The static bounds a kit covers (from a constraint): MACs and params, each optional."""

    max_macs: int | None = None
    max_params: int | None = None

    def holds(self, arch: Architecture) -> bool:
        c = cost(arch)
        return ((self.max_macs is None or c.macs <= self.max_macs)
                and (self.max_params is None or c.params <= self.max_params))

    def describe(self) -> dict[str, int]:
        return {k: v for k, v in (("max_macs", self.max_macs), ("max_params", self.max_params))
                if v is not None}


def sample_networks(prototype: Prototype, bounds: Bounds, count: int, seed: int,
                    exclude: frozenset[str] = frozenset()) -> list[Architecture]:
    """``count`` distinct networks inside ``bounds`` (not in ``exclude``), spread over the
    MACs range: drawn at random, sorted by MACs, taken at even steps."""
    rng = random.Random(seed)
    found: dict[str, Architecture] = {}
    tries = 0
    while len(found) < 8 * count and tries < 40 * count:
        tries += 1
        try:
            arch = prototype.sample(chooser=RandomChooser(rng.getrandbits(32)))
        except ShapeError:
            continue
        if arch.key not in exclude and bounds.holds(arch):
            found.setdefault(arch.key, arch)
    ranked = sorted(found.values(), key=lambda a: (cost(a).macs, a.key))
    if len(ranked) <= count:
        return ranked
    return [ranked[round(i * (len(ranked) - 1) / (count - 1))] if count > 1 else ranked[0]
            for i in range(count)]


def export_onnx(module: Any, inputs: Sequence[tuple[int, ...]], path: Path) -> None:
    """``module`` (eval mode) as an ONNX file at batch 1."""
    import torch

    names = [f"input{i}" for i in range(len(inputs))] if len(inputs) > 1 else ["input"]
    example = tuple(torch.randn(1, *shape) for shape in inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice, tracer
        torch.onnx.export(module, example, str(path), dynamo=False, opset_version=OPSET,
                          input_names=names)


def make_kit(prototype: Prototype, out: str | Path, bounds: Bounds | None = None,
             networks: int = 24, seed: int = 0,
             progress: Callable[[str], None] | None = None) -> Path:
    """Write the kit for ``prototype`` inside ``bounds`` into ``out``; its manifest's path."""
    from genesynth.net.builder import build

    bounds = bounds or Bounds()
    folder = Path(out)
    if folder.exists() and any(folder.iterdir()):
        raise GenesynthError(f"{folder}: the kit folder must be new or empty")
    (folder / "ops").mkdir(parents=True, exist_ok=True)
    (folder / "nets").mkdir(exist_ok=True)
    found = space_ops(prototype, bounds.max_macs, bounds.max_params)
    say = progress or (lambda text: None)
    say(f"{len(found.ops)} distinct ops in {found.kept:,} of {found.edges:,} module "
        "assignments inside the bounds")
    models: list[dict[str, Any]] = []
    for i, op in enumerate(found.ops, start=1):
        name = f"ops/op_{i:05d}.onnx"
        export_onnx(op_module(op), op_inputs(op), folder / name)
        models.append({"file": name, "role": "op", "key": op.key, "op": op.to_dict(),
                       "inputs": [[1, *s] for s in op_inputs(op)]})
        if i % 200 == 0:
            say(f"exported {i}/{len(found.ops)} ops")
    overhead = Op("relu", (), (1, 1, 1))  # next to no work: the cost of one call
    export_onnx(op_module(overhead), op_inputs(overhead), folder / "ops/overhead.onnx")
    models.append({"file": "ops/overhead.onnx", "role": "overhead", "key": overhead.key,
                   "inputs": [[1, 1, 1, 1]]})
    for i, arch in enumerate(sample_networks(prototype, bounds, networks, seed), start=1):
        name = f"nets/net_{i:03d}.onnx"
        export_onnx(build(arch).eval(), [arch.input_shape], folder / name)
        models.append(network_entry(name, arch))
    manifest = {
        "format": KIT_FORMAT, "version": KIT_VERSION, "prototype": prototype.name,
        "input_shape": list(prototype.input_shape), "classes": prototype.classes,
        "bounds": bounds.describe(), "models": models,
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    shutil.copyfile(RUNNER, folder / "run_latency.py")
    nets = sum(m["role"] == "network" for m in models)
    say(f"kit: {len(found.ops)} ops, the overhead model and {nets} networks in {folder}")
    return path


def network_entry(name: str, arch: Architecture) -> dict[str, Any]:
    """A whole network's manifest entry: its key, params, MACs and the keys of its ops."""
    c = cost(arch)
    return {"file": name, "role": "network", "key": arch.key, "params": c.params,
            "macs": c.macs, "ops": [op.key for op in ops_of(arch)],
            "inputs": [[1, *arch.input_shape]]}

