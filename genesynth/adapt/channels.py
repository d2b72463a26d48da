"""Channel groups of an architecture, and cutting channels out of one with its weights kept.

A *unit* is a set of channel dimensions that must keep the same width: a layer's output
channels and every layer that reads them (a batch norm's scale, the next convolution's input),
tied across a residual stream by identity shortcuts and through depthwise convolutions. A
module contributes one unit per width it owns (an atto module: its pointwise squeeze, the
grouped convolution's output, the width between two back-to-back pointwise layers); the
residual stream between stride changes is one unit across all its modules.

Cutting ``k`` channels of a unit removes the ``k`` channels of lowest importance from every
tensor that holds them and keeps every other weight as it is. Importance is the L1 norm of the
channel's filters in each layer that produces it, each layer's norms divided by their mean (so
a wide and a narrow producer count alike), summed over the producers.

A grouped convolution that reads or writes a unit asks that the unit keep the same number of
channels in each of its groups: the unit's ``quantum`` is the least common multiple of those
group counts, its channels are split into ``quantum`` contiguous blocks, and a cut removes the
same number from each block. Units the walk cannot cut (the input image, the class scores,
channels inside a ``split`` module, a ``shuffle`` or ``se`` layer, a ``flatten`` of a map) are
frozen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import torch

from genesynth.blocks.activations import ActivationKind
from genesynth.blocks.base import Shape, as_int
from genesynth.blocks.modules import kind_of, module_kind, module_name, projection
from genesynth.errors import ArchitectureError
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec

PASSTHROUGH = ("dropout", "maxpool", "avgpool", "softmax", "gap")
BN_TENSORS = ("weight", "bias", "running_mean", "running_var")


@dataclass(frozen=True)
class Slice:
    """One tensor dimension that holds a unit's channels (``groups`` > 1: dimension 1 of a
    grouped convolution's kernel, whose input channels are split among its groups)."""

    key: str  # state-dict key of the built network, e.g. "body.m03.body.0.weight"
    dim: int
    groups: int = 1


@dataclass(frozen=True)
class Unit:
    """A set of channel dimensions that keep one width (see the module docstring)."""

    index: int
    name: str  # "m03.b0.0" (the first layer that produces it) or "stem.0+m01..m04" (a stream)
    module: str  # the part that owns it: "stem", "m03", or the first module of a stream
    width: int
    quantum: int  # cuts are multiples of it; at least this many channels stay
    frozen: str  # why it cannot be cut ("" when it can)
    edits: tuple[str, ...]  # layer paths whose ``out`` is this width (``groups`` too: depthwise)
    depthwise: tuple[str, ...]
    slices: tuple[Slice, ...]
    producers: tuple[str, ...]  # kernels whose output channels these are (for importance)

    @property
    def cuttable(self) -> int:
        """The most channels a cut may remove (a multiple of ``quantum``)."""
        return 0 if self.frozen else self.width - self.quantum


@dataclass
class _Facts:
    width: int
    frozen: str = ""
    quantum: int = 1
    edits: list[str] = field(default_factory=list)
    depthwise: list[str] = field(default_factory=list)
    slices: list[Slice] = field(default_factory=list)
    producers: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)


class _Walk:
    """The shape walk with a union-find of channel units (one per channel dimension made)."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.facts: list[_Facts] = []

    def new(self, width: int, frozen: str = "") -> int:
        self.parent.append(len(self.parent))
        self.facts.append(_Facts(width, frozen))
        return len(self.parent) - 1

    def find(self, u: int) -> int:
        while self.parent[u] != u:
            self.parent[u] = self.parent[self.parent[u]]
            u = self.parent[u]
        return u

    def union(self, a: int, b: int) -> int:
        a, b = self.find(a), self.find(b)
        if a == b:
            return a
        low, high = min(a, b), max(a, b)
        self.parent[high] = low
        keep, gone = self.facts[low], self.facts[high]
        keep.frozen = keep.frozen or gone.frozen
        keep.quantum = math.lcm(keep.quantum, gone.quantum)
        for name in ("edits", "depthwise", "slices", "producers", "parts"):
            getattr(keep, name).extend(getattr(gone, name))
        return low

    def at(self, u: int) -> _Facts:
        return self.facts[self.find(u)]

    def freeze(self, u: int, why: str) -> None:
        facts = self.at(u)
        facts.frozen = facts.frozen or why


def channel_units(arch: Architecture, multiple: int = 1) -> list[Unit]:
    """Every unit of ``arch`` (its layers completed, see :func:`complete`), in network order.

    ``multiple``: widths stay multiples of it (8 suits int8 SIMD kernels); a unit whose width
    is not one is frozen."""
    walk = _Walk()
    u = walk.new(arch.input_shape[0], "the input image")
    shape: Shape = arch.input_shape
    u, shape = _layers(walk, arch.stem, u, shape, "stem", "stem", "stem")
    for i, module in enumerate(arch.modules):
        name = module_name(i)
        u, shape = _module(walk, module, u, shape, name)
    u, shape = _layers(walk, arch.head, u, shape, "head", "head", "head")
    walk.freeze(u, "the class scores")
    units: list[Unit] = []
    for root in sorted({walk.find(i) for i in range(len(walk.parent))}):
        f = walk.facts[root]
        f.quantum = math.lcm(f.quantum, multiple)
        if f.width % f.quantum:
            f.frozen = f.frozen or f"{f.width} channels do not split into {f.quantum} groups"
        units.append(Unit(len(units), _name(f), f.parts[0] if f.parts else "stem", f.width,
                          f.quantum, f.frozen, tuple(f.edits), tuple(f.depthwise),
                          tuple(f.slices), tuple(f.producers)))
    return units


def _name(f: _Facts) -> str:
    """The first layer that makes the channels, and the other modules that make them too."""
    if not f.edits:
        return f.depthwise[0] if f.depthwise else "input"
    first = f.edits[0].split(".")[0]
    others = sorted({p.split(".")[0] for p in f.edits[1:]} - {first})
    if not others:
        return f.edits[0]
    return f.edits[0] + "+" + (others[0] if len(others) == 1 else f"{others[0]}..{others[-1]}")


def _module(walk: _Walk, module: ModuleSpec, u: int, shape: Shape, name: str
            ) -> tuple[int, Shape]:
    kind = module_kind(module)
    if kind.merge == "concat":
        walk.freeze(u, f"{name} splits its channels")
        from genesynth.blocks.modules import trace_module

        _, out = trace_module(module, shape, name)
        return walk.new(out[0], f"{name} concatenates its branches"), out
    prefix = f"body.{name}"
    branch = module.branches[0]
    if not kind.merge:  # a sequence
        v, out = _layers(walk, branch, u, shape, f"{name}.b0", prefix, name)
        return _layers(walk, module.post, v, out, f"{name}.post", prefix, name, len(branch))
    v, out = _layers(walk, branch, u, shape, f"{name}.b0", f"{prefix}.body", name)
    if module.shortcut == "identity":
        v = walk.union(u, v)
    elif module.shortcut == "project":
        stride = math.prod(as_int(layer.get("stride", 1) or 1) for layer in branch)
        conv, bn = projection(shape, out, stride)
        w = _conv(walk, conv, u, shape, f"{name}.shortcut.0", f"{prefix}.shortcut.0", name,
                  edit=False)
        v = walk.union(v, w)
        _layer(walk, bn, v, out, f"{name}.shortcut.1", f"{prefix}.shortcut.1", name)
    return _layers(walk, module.post, v, out, f"{name}.post", f"{prefix}.post", name)


def _layers(walk: _Walk, layers: tuple[LayerSpec, ...], u: int, shape: Shape, path: str,
            prefix: str, part: str, start: int = 0) -> tuple[int, Shape]:
    for i, layer in enumerate(layers):
        u, shape = _layer(walk, layer, u, shape, f"{path}.{i}", f"{prefix}.{start + i}", part)
    return u, shape


def _layer(walk: _Walk, layer: LayerSpec, u: int, shape: Shape, path: str, key: str,
           part: str) -> tuple[int, Shape]:
    kind = kind_of(layer)
    params = kind.complete(layer.as_dict(), shape)
    out = kind.output_shape(params, shape)
    if layer.kind == "conv":
        return _conv(walk, layer, u, shape, path, key, part), out
    if layer.kind == "linear":
        walk.at(u).slices.append(Slice(f"{key}.weight", 1))
        v = walk.new(out[0])
        _produce(walk, v, path, key, part, bool(params["bias"]))
        return v, out
    if layer.kind == "bn":
        walk.at(u).slices.extend(Slice(f"{key}.{t}", 0) for t in BN_TENSORS)
        return u, out
    if layer.kind == "flatten" and len(shape) == 3 and shape[1:] != (1, 1):
        walk.freeze(u, f"{path} flattens a {shape[1]}x{shape[2]} map")
        return walk.new(out[0], f"{path} flattens a map"), out
    if isinstance(kind, ActivationKind) or layer.kind in PASSTHROUGH or layer.kind == "flatten":
        return u, out
    walk.freeze(u, f"{path} ({layer.kind}) mixes or weighs its channels")
    return walk.new(out[0], f"{path} ({layer.kind})"), out


def _conv(walk: _Walk, layer: LayerSpec, u: int, shape: Shape, path: str, key: str,
          part: str, edit: bool = True) -> int:
    p = kind_of(layer).complete(layer.as_dict(), shape)
    out, groups, bias = as_int(p["out"]), as_int(p["groups"]), bool(p["bias"])
    if groups > 1 and groups == shape[0] == out:  # depthwise: one filter per channel
        facts = walk.at(u)
        facts.depthwise.append(path)
        facts.slices.append(Slice(f"{key}.weight", 0))
        facts.producers.append(f"{key}.weight")
        if bias:
            facts.slices.append(Slice(f"{key}.bias", 0))
        return u
    walk.at(u).slices.append(Slice(f"{key}.weight", 1, groups))
    walk.at(u).quantum = math.lcm(walk.at(u).quantum, groups)
    v = walk.new(out)
    walk.at(v).quantum = groups
    if edit:
        _produce(walk, v, path, key, part, bias)
    else:  # a projection shortcut: its width follows the module's output
        walk.at(v).slices.append(Slice(f"{key}.weight", 0))
        walk.at(v).producers.append(f"{key}.weight")
    return v


def _produce(walk: _Walk, v: int, path: str, key: str, part: str, bias: bool) -> None:
    facts = walk.at(v)
    facts.edits.append(path)
    facts.parts.append(part)
    facts.slices.append(Slice(f"{key}.weight", 0))
    facts.producers.append(f"{key}.weight")
    if bias:
        facts.slices.append(Slice(f"{key}.bias", 0))


# -- completing and cutting --------------------------------------------------------------------


def complete(arch: Architecture) -> Architecture:
    """``arch`` with every layer's settings written out (a ``dwconv`` as the ``conv`` it is),
    so a cut that narrows one layer leaves the others' widths as they were. It builds the same
    network, with the same weight names."""
    from genesynth.blocks.modules import trace

    done = {t.path: _completed(t.layer, t.in_shape) for t in trace(arch)}
    return _rewrite(arch, done)


def _completed(layer: LayerSpec, shape: Shape) -> LayerSpec:
    kind = kind_of(layer)
    return LayerSpec(kind.stored_kind, tuple(sorted(kind.complete(layer.as_dict(), shape).items())),
                     layer.origin)


def _rewrite(arch: Architecture, layers: Mapping[str, LayerSpec]) -> Architecture:
    def seq(items: tuple[LayerSpec, ...], path: str) -> tuple[LayerSpec, ...]:
        return tuple(layers.get(f"{path}.{i}", x) for i, x in enumerate(items))

    modules = tuple(
        replace(m, branches=tuple(seq(b, f"{module_name(i)}.b{bi}")
                                  for bi, b in enumerate(m.branches)),
                post=seq(m.post, f"{module_name(i)}.post"))
        for i, m in enumerate(arch.modules)
    )
    return replace(arch, stem=seq(arch.stem, "stem"), modules=modules,
                   head=seq(arch.head, "head"))


def narrowed(arch: Architecture, unit: Unit, width: int) -> Architecture:
    """``arch`` (completed) with ``unit`` at ``width`` channels."""
    if width % unit.quantum or not unit.quantum <= width <= unit.width or unit.frozen:
        raise ArchitectureError(f"unit {unit.name} cannot have {width} channels (it has "
                                f"{unit.width}, in multiples of {unit.quantum})")
    found = dict(arch.iter_layers())
    changed = {p: _with(found[p], out=width) for p in unit.edits}
    changed.update({p: _with(found[p], out=width, groups=width) for p in unit.depthwise})
    return _rewrite(arch, changed)


def _with(layer: LayerSpec, **values: int) -> LayerSpec:
    return LayerSpec(layer.kind, tuple(sorted({**layer.as_dict(), **values}.items())),
                     layer.origin)


def importance(unit: Unit, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Each channel's importance: the L1 norms of its filters in every producer, each
    producer's norms divided by their mean, summed."""
    total = torch.zeros(unit.width, dtype=torch.float64)
    for key in unit.producers:
        norms = state[key].detach().double().abs().flatten(1).sum(1)
        total += norms / norms.mean().clamp_min(1e-12)
    return total


def keep_channels(unit: Unit, state: Mapping[str, torch.Tensor], width: int) -> torch.Tensor:
    """The channels of ``unit`` a cut to ``width`` keeps: the most important ``width /
    quantum`` of each of its ``quantum`` blocks, in order (ties: the lower index)."""
    scores = importance(unit, state)
    block, per = unit.width // unit.quantum, width // unit.quantum
    kept: list[int] = []
    for b in range(unit.quantum):
        part = scores[b * block:(b + 1) * block]
        order = sorted(range(block), key=lambda i: (-float(part[i]), i))[:per]
        kept.extend(b * block + i for i in sorted(order))
    return torch.tensor(kept, dtype=torch.long)


def cut_state(unit: Unit, state: Mapping[str, torch.Tensor], keep: torch.Tensor
              ) -> dict[str, torch.Tensor]:
    """``state`` with only the ``keep`` channels of ``unit`` in each tensor that holds them."""
    out = dict(state)
    for s in unit.slices:
        tensor = out[s.key]
        if s.groups == 1 or s.dim == 0:
            out[s.key] = tensor.index_select(s.dim, keep).contiguous()
            continue
        per_in = unit.width // s.groups  # input channels per group, before the cut
        per_out = tensor.shape[0] // s.groups
        parts = []
        for g in range(s.groups):
            local = keep[(keep >= g * per_in) & (keep < (g + 1) * per_in)] - g * per_in
            parts.append(tensor[g * per_out:(g + 1) * per_out].index_select(1, local))
        out[s.key] = torch.cat(parts).contiguous()
    return out
