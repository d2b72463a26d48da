"""A network as the operations a runtime executes: the unit of a latency table.

An inference runtime (ONNX Runtime, TFLite, TensorRT) folds batch norm into the convolution
before it and fuses the activation after it, so the unit that costs time is a convolution
(or linear layer) *with* its batch norm and activation, not each layer alone. :func:`ops_of`
walks an architecture and returns those units as :class:`Op` records; a residual add (with
the activation after it) and a concatenation are ops too. Dropout and identity do nothing at
inference and are left out.

Each op has a readable key, the same on every machine, which a latency table maps to
milliseconds (docs/latency.md)::

    conv(out=32,kernel=3,stride=1,groups=8,padding=1)@16x8x8+relu
    add@32x4x4+relu
    linear(out=10)@128

:func:`op_module` builds an op as a torch module (for timing in torch, or exporting to ONNX).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from genesynth.blocks.activations import ActivationKind
from genesynth.blocks.base import REGISTRY, Shape
from genesynth.blocks.modules import Traced, kind_of, module_kind, split_point, trace_parts
from genesynth.spec import ModuleSpec, Value

if TYPE_CHECKING:
    from torch import nn

    from genesynth.net.arch import Architecture

#: Kinds that absorb a following batch norm and activation.
FUSING = ("conv", "linear")
#: Kinds that do nothing at inference: no op.
NOTHING = ("dropout", "identity")
#: Settings that do not change an op's time (a folded batch norm gives every conv a bias).
IGNORED = ("bias", "p")
#: The op that splits a feature map's channels (a split module's first, pass-through half);
#: an op kind, named so in latency tables, not a module kind.
SLICE = "split"


@dataclass(frozen=True)
class Op:
    """One unit of work at inference: a layer kind with its settings, the input shape, and
    the activation fused after it (``""`` for none). ``inputs`` is 2 for ``add`` and
    ``concat`` (``settings`` then holds the second input's channels for ``concat``)."""

    kind: str
    settings: tuple[tuple[str, Value], ...]
    in_shape: Shape
    act: str = ""
    bias: bool = True  # the conv or linear has a bias (own, or a folded batch norm)

    @property
    def key(self) -> str:
        settings = ",".join(f"{k}={_show(v)}" for k, v in self.settings if k not in IGNORED)
        text = f"{self.kind}({settings})" if settings else self.kind
        text += "@" + "x".join(str(n) for n in self.in_shape)
        return f"{text}+{self.act}" if self.act else text

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "settings": dict(self.settings),
                "in_shape": list(self.in_shape), "act": self.act, "bias": self.bias}


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def ops_of(arch: Architecture) -> list[Op]:
    """Every op of ``arch`` in execution order (an op repeats as often as it runs)."""
    parts = trace_parts(arch)
    out = ops_of_layers(parts[0].layers)
    for part, module in zip(parts[1:-1], arch.modules, strict=True):
        out += ops_of_module(module, part.in_shape, part.layers)
    return out + ops_of_layers(parts[-1].layers)


def ops_of_module(module: ModuleSpec, in_shape: Shape, traced: Sequence[Traced]) -> list[Op]:
    """The ops of one module, from its traced layers (paths ``m03.b0.2``, ``m03.post.0`` ...)."""
    groups: dict[str, list[Traced]] = {}
    for t in traced:
        groups.setdefault(t.path.split(".")[1], []).append(t)
    body, post = groups.get("b0", []), groups.get("post", [])
    out = ops_of_layers(body)
    kind = module_kind(module)
    if kind.merge == "concat":
        at = split_point(module, in_shape)
        if at is not None:
            out.append(Op(SLICE, (("at", at),), in_shape))
        out += ops_of_layers(groups.get("b1", []))
        left = body[-1].out_shape if body else (at or 0, *in_shape[1:])
        right = groups["b1"][-1].out_shape if groups.get("b1") else (in_shape[0] - (at or 0),
                                                                     *in_shape[1:])
        merge: tuple[str, tuple[tuple[str, Value], ...], Shape] = (
            "concat", (("other", right[0]),), left)
    elif kind.merge == "add" and kind.shortcut(module) != "none":
        out += ops_of_layers(groups.get("shortcut", []))
        merge = ("add", (), body[-1].out_shape if body else in_shape)
    else:
        return out + ops_of_layers(post)
    act, rest = _leading_activation(post)
    return [*out, Op(merge[0], merge[1], merge[2], act), *ops_of_layers(rest)]


def _leading_activation(layers: Sequence[Traced]) -> tuple[str, Sequence[Traced]]:
    first = layers[0].layer if layers else None
    if first is not None and isinstance(kind_of(first), ActivationKind) and (
            first.kind != "identity"):
        return first.kind, layers[1:]
    return "", layers


def ops_of_layers(layers: Iterable[Traced]) -> list[Op]:
    """The ops of a plain sequence: a conv or linear layer absorbs a following batch norm and
    then an activation; every other layer is an op of its own."""
    out: list[Op] = []
    pending = list(layers)
    i = 0
    while i < len(pending):
        t = pending[i]
        i += 1
        kind = t.layer.kind
        if kind in NOTHING:
            continue
        settings = tuple((k, v) for k, v in t.layer.params if k not in IGNORED)
        bias = bool(t.layer.get("bias", True))
        act = ""
        if kind in FUSING:
            if i < len(pending) and pending[i].layer.kind == "bn":
                bias, i = True, i + 1
            if i < len(pending) and isinstance(kind_of(pending[i].layer), ActivationKind):
                act, i = pending[i].layer.kind, i + 1
        out.append(Op(kind, settings, t.in_shape, act if act != "identity" else "", bias))
    return out


def op_module(op: Op) -> nn.Module:
    """``op`` as a torch module in eval mode; ``add`` and ``concat`` take two inputs."""
    from genesynth.latency.modules import Add, Chain, Concat, Slice

    if op.kind == "add":
        main: nn.Module = Add()
    elif op.kind == "concat":
        main = Concat()
    elif op.kind == SLICE:
        main = Slice(int(dict(op.settings)["at"]))
    else:
        kind = REGISTRY[op.kind]
        params = kind.complete(dict(op.settings), op.in_shape)
        if kind.param("bias") is not None:
            params["bias"] = op.bias
        main = kind.build(params, op.in_shape)
    layers = [main] + ([REGISTRY[op.act].build({}, op.in_shape)] if op.act else [])
    module = layers[0] if len(layers) == 1 else Chain(layers[0], layers[1])
    return module.eval()


def op_inputs(op: Op) -> list[Shape]:
    """The input shapes (batch excluded) an op's module takes."""
    if op.kind == "add":
        return [op.in_shape, op.in_shape]
    if op.kind == "concat":
        other = int(dict(op.settings)["other"])
        return [op.in_shape, (other, *op.in_shape[1:])]
    return [op.in_shape]
