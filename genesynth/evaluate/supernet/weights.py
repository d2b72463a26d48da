"""The supernet's shared tensors, a candidate's slice of them, and the safetensors checkpoint.

A candidate runs as the very network :func:`genesynth.build` makes for it: :meth:`Supernet.take`
gives its parameters as slices (views) of the shared tensors, :func:`logits` runs the built
network on them with ``torch.func.functional_call`` (gradients flow into the shared tensors),
and :meth:`Supernet.inherit` copies them into the built network for scoring or fine-tuning.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from genesynth.blocks.base import REGISTRY, LayerProblem
from genesynth.evaluate.supernet.plan import Plan, SupernetError, named_layers
from genesynth.net.arch import Architecture

FORMAT = "genesynth-supernet/1"


class Supernet:
    """Shared tensors for every slot of ``plan``, initialised from ``seed``.

    Each weight starts as PyTorch would start a typical candidate's layer of that slot
    (Kaiming-uniform for the slot's median fan-in, :func:`plan.typical_fan_in`), not for the
    whole shared tensor: a candidate then starts at the scale its own training would. The
    weights of a residual module's projecting shortcut start as the identity
    (:func:`_identity`), and the scale of a batch norm that ends a residual body at zero
    (as a candidate's own training starts, Goyal et al. 2017: deep stacks start as
    near-identities; such a batch norm has its own slot, :data:`plan.END`): see
    docs/supernet.md, *Training once*.
    """

    def __init__(self, plan: Plan, seed: int = 0) -> None:
        self.plan = plan
        generator = torch.Generator().manual_seed(seed)
        fan_in = plan.tensor_fan_in()
        self.tensors: dict[str, nn.Parameter] = {
            name: nn.Parameter(_identity(size) if _projects(name, size) else
                               _initial(name, size, generator, fan_in.get(name)))
            for name, size in plan.tensor_sizes().items()
        }
        self.slots: dict[str, dict[str, nn.Parameter]] = {}  # slot key -> its own tensors
        for name, tensor in self.tensors.items():
            key, own = name.split("/", 1)
            self.slots.setdefault(key, {})[own] = tensor

    def to(self, device: torch.device) -> Supernet:
        """Every shared tensor moved to ``device`` in place (the same Parameter objects, so
        slots and an optimizer keep them)."""
        with torch.no_grad():
            for tensor in self.tensors.values():
                tensor.data = tensor.data.to(device)
        return self

    def parameters(self) -> list[nn.Parameter]:
        return list(self.tensors.values())

    def take(self, arch: Architecture) -> dict[str, torch.Tensor]:
        """Every parameter of ``build(arch)``, by its name there, as a slice of the shared ones."""
        taken: dict[str, torch.Tensor] = {}
        for layer in named_layers(arch):
            shared = self.slots.get(layer.key)
            if shared is None:
                raise SupernetError(f"{arch.name}: the supernet has no weights for the layer "
                                    f"{layer.key} (a setting its plan never saw)")
            try:
                own = REGISTRY[layer.kind].take(layer.params, layer.in_shape, shared)
            except LayerProblem as problem:
                raise SupernetError(f"{arch.name}: layer {layer.key} is larger than the "
                                    f"supernet holds: {problem.message}") from None
            taken.update({f"{layer.name}.{name}": t for name, t in own.items()})
        return taken

    def inherit(self, arch: Architecture, model: nn.Module) -> None:
        """Copy ``arch``'s slices into ``model`` (built by ``genesynth.build(arch)``)."""
        taken = self.take(arch)
        expected = dict(model.named_parameters())
        if set(taken) != set(expected):
            missing = sorted(set(expected) - set(taken))[:3]
            raise SupernetError(f"{arch.name}: the supernet does not cover {missing}")
        with torch.no_grad():
            for name, tensor in taken.items():
                expected[name].copy_(tensor)

    # -- checkpoint -------------------------------------------------------------------------

    def save(self, path: Path, header: Mapping[str, Any], extra: Mapping[str, torch.Tensor]
             ) -> None:
        """Write the shared tensors (and ``extra``, e.g. optimizer state) atomically."""
        tensors = {f"w/{k}": v.detach().cpu().contiguous() for k, v in self.tensors.items()}
        tensors.update({f"x/{k}": v.detach().cpu().contiguous() for k, v in extra.items()})
        meta = {"format": FORMAT, "header": json.dumps(dict(header), sort_keys=True)}
        part = path.with_name(path.name + ".part")
        save_file(tensors, str(part), metadata=meta)
        part.replace(path)

    def load(self, path: Path, expect: Mapping[str, Any]) -> tuple[dict[str, Any],
                                                                  dict[str, torch.Tensor]]:
        """Read a checkpoint written by :meth:`save`; refuse one of another prototype or data.

        Returns its header and extra tensors.
        """
        header, tensors = read_checkpoint(path)
        for key, wanted in expect.items():
            if header.get(key) != wanted:
                raise SupernetError(
                    f"{path}: this supernet checkpoint was trained for "
                    f"{_mismatch(key, header.get(key), wanted)}; delete it or use another run "
                    "directory")
        with torch.no_grad():
            for name, param in self.tensors.items():
                stored = tensors.get(f"w/{name}")
                if stored is None or stored.shape != param.shape:
                    raise SupernetError(f"{path}: the checkpoint does not match this supernet "
                                        f"(tensor {name})")
                param.copy_(stored)
        extra = {k[2:]: v for k, v in tensors.items() if k.startswith("x/")}
        return header, extra


def _mismatch(key: str, found: Any, wanted: Any) -> str:
    """``another prototype ('3f2a…', this run has '9c41…')``; for settings (dicts), only
    those that differ: ``other training settings (lr=0.02, this run has lr=0.01)``."""
    if not (isinstance(found, dict) and isinstance(wanted, dict)):
        return f"another {key} ({found!r}, this run has {wanted!r})"
    differ = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))

    def said(settings: dict[str, Any]) -> str:
        return ", ".join(f"{k}={settings[k]!r}" if k in settings else f"{k} unset"
                         for k in differ)

    return f"other {key} settings ({said(found)}, this run has {said(wanted)})"


def read_header(path: Path) -> dict[str, Any]:
    """The header of a supernet checkpoint, without reading its tensors."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
        header = json.loads(meta.get("header", "null"))
    except (OSError, SafetensorError, ValueError) as error:
        raise SupernetError(f"{path}: not a readable supernet checkpoint ({error})") from None
    if meta.get("format") != FORMAT or not isinstance(header, dict):
        raise SupernetError(f"{path}: not a genesynth supernet checkpoint")
    return header


def read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Header and tensors of a supernet checkpoint; SupernetError when it is not one."""
    header = read_header(path)
    try:
        tensors = load_file(str(path))
    except (OSError, SafetensorError, ValueError) as error:
        raise SupernetError(f"{path}: not a readable supernet checkpoint ({error})") from None
    return header, tensors


def _initial(name: str, size: tuple[int, ...], generator: torch.Generator,
             fan_in: int | None = None) -> torch.Tensor:
    """PyTorch's defaults: Kaiming-uniform kernels (for ``fan_in``, by default the whole
    tensor's), unit batch-norm scale, zero shifts; zero scale where a batch norm ends a
    residual body."""
    if len(size) == 1:
        return torch.ones(size) if name.endswith(":bn/weight") else torch.zeros(size)
    bound = 1.0 / math.sqrt(fan_in or math.prod(size[1:]))
    return (torch.rand(size, generator=generator) * 2 - 1) * bound


def _projects(name: str, size: tuple[int, ...]) -> bool:
    """Whether a shared tensor is the kernel of a layer in a residual module's shortcut."""
    where, own = name.split("/", 1)
    return ".shortcut." in where.split(":", 1)[0] and own == "weight" and len(size) > 1


def _identity(size: tuple[int, ...]) -> torch.Tensor:
    """A kernel that passes its first min(out, in) channels through unchanged (the centre tap
    of output channel i reads input channel i).

    A projecting shortcut then starts as a (sliced, strided) copy of the module's input, as
    an identity shortcut is. A sample whose widths or strides differ from another's replaces
    the residual stream with the same features rather than with a random mix of them, so
    both train the same downstream weights (measured in ``bench/supernet_sharing.py``:
    docs/supernet.md).
    """
    weight = torch.zeros(size)
    rows = torch.arange(min(size[0], size[1]))
    index: tuple[Any, ...] = (rows, rows, *(d // 2 for d in size[2:]))
    weight[index] = 1.0
    return weight


class _Logits(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_logits(x)  # type: ignore[operator]


def logits(model: nn.Module, params: Mapping[str, torch.Tensor], x: torch.Tensor
           ) -> torch.Tensor:
    """``model.forward_logits(x)`` with ``params`` (from :meth:`Supernet.take`) as weights."""
    named = {f"net.{k}": v for k, v in params.items()}
    return torch.func.functional_call(_Logits(model), named, (x,))
