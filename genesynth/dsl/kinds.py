"""Module kinds of the language (``seq``, ``residual``, ``split``, ``mbconv``): a registry.

Each kind declares its arguments and body form (checked at load time) and expands one slot
into a :class:`~genesynth.net.arch.ModuleSpec` through a :class:`LayerRunner` (the instantiator),
which completes layers against the shape that reaches them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from genesynth.blocks.activations import ACTIVATIONS, GATES
from genesynth.blocks.base import Shape
from genesynth.blocks.modules import RESIDUAL, SEQ, SPLIT, module_shortcut
from genesynth.dsl import syntax as s
from genesynth.errors import Span
from genesynth.net.arch import LayerSpec, ModuleSpec, Value


@dataclass(frozen=True)
class KindArg:
    """An argument of a module kind; ``default`` None means required."""

    name: str
    type: type
    default: Value | None = None
    choices: Sequence[str] = ()  # may be a live view of the registry (ACTIVATIONS)

    def problem(self, value: Value) -> str:
        """What is wrong with ``value`` for this argument, or ``""``."""
        if self.choices:
            if isinstance(value, str) and value in self.choices:
                return ""
            return (f"'{self.name}' must be one of {', '.join(self.choices)}, but got "
                    f"{self.name}={_show(value)}")
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if self.type in (int, float) and not numeric:
            what = "an integer" if self.type is int else "a number"
            return f"'{self.name}' must be {what}, but got {self.name}={_show(value)}"
        return ""


class LayerRunner(Protocol):
    """What a kind needs from the instantiator: run layers from a shape, fail at a place."""

    def run(self, elements: tuple[s.Element, ...], shape: Shape, path: str
            ) -> tuple[tuple[LayerSpec, ...], Shape]: ...

    def shape_error(self, message: str, span: Span) -> Exception: ...


@dataclass(frozen=True)
class Expansion:
    """One slot to expand: its label, template, settled kind arguments and input shape."""

    label: str
    module: s.ModuleDef
    args: Mapping[str, Value]
    shape: Shape
    prefix: str


class ModuleKind:
    name: str
    args: tuple[KindArg, ...] = ()
    body: str = "layers"  # "layers", "branches" or "none"

    def expand(self, x: Expansion, runner: LayerRunner) -> tuple[ModuleSpec, Shape]:
        raise NotImplementedError


def _post(spec: ModuleSpec, x: Expansion, runner: LayerRunner, shape: Shape
          ) -> tuple[ModuleSpec, Shape]:
    post, out = runner.run(x.module.post, shape, f"{x.prefix}.post")
    return ModuleSpec(spec.label, spec.kind, spec.branches, spec.shortcut, post), out


class Seq(ModuleKind):
    name = SEQ

    def expand(self, x: Expansion, runner: LayerRunner) -> tuple[ModuleSpec, Shape]:
        body, out = runner.run(x.module.body, x.shape, x.prefix)
        return _post(ModuleSpec(x.label, SEQ, (body,)), x, runner, out)


class Residual(ModuleKind):
    name = RESIDUAL
    args = (KindArg("shortcut", str, "auto", ("auto", "identity", "project", "match", "none")),)

    def expand(self, x: Expansion, runner: LayerRunner) -> tuple[ModuleSpec, Shape]:
        body, out = runner.run(x.module.body, x.shape, x.prefix)
        spec = ModuleSpec(x.label, RESIDUAL, (body,))
        shortcut = module_shortcut(spec, x.shape, out, str(x.args["shortcut"]))
        if shortcut == "project" and (len(out) != 3 or len(x.shape) != 3):
            raise runner.shape_error("a projection shortcut needs a feature map", x.module.span)
        return _post(ModuleSpec(x.label, RESIDUAL, (body,), shortcut), x, runner, out)


class Split(ModuleKind):
    name = SPLIT
    body = "branches"

    def expand(self, x: Expansion, runner: LayerRunner) -> tuple[ModuleSpec, Shape]:
        first, second = x.module.branches
        if len(x.shape) != 3:
            raise runner.shape_error("a split module needs a feature map", x.module.span)
        c = x.shape[0]
        left_in = x.shape if first else (c // 2, *x.shape[1:])
        right_in = x.shape if first else (c - c // 2, *x.shape[1:])
        left, a = runner.run(first, left_in, f"{x.prefix}.b0")
        right, b = runner.run(second, right_in, f"{x.prefix}.b1")
        if len(a) != 3 or len(b) != 3 or a[1:] != b[1:]:
            raise runner.shape_error(
                f"the two branches give different map sizes: {_fmt(a)} and {_fmt(b)}",
                x.module.span,
            )
        merged = (a[0] + b[0], *a[1:])
        return _post(ModuleSpec(x.label, SPLIT, (left, right)), x, runner, merged)


class MBConv(ModuleKind):
    """MobileNetV2 inverted residual (with MnasNet's and MobileNetV3's squeeze-excite), expanded
    into plain layers with an identity shortcut when the shape is kept."""

    name = "mbconv"
    body = "none"
    args = (
        KindArg("out", int), KindArg("stride", int, 1), KindArg("expand", float, 6),
        KindArg("hidden", int, 0), KindArg("kernel", int, 3),
        KindArg("act", str, "relu6", ACTIVATIONS), KindArg("se", float, 0.0),
        KindArg("se_of", str, "hidden", ("hidden", "block_in")),
        KindArg("gate", str, "sigmoid", GATES),
        KindArg("shortcut", str, "match", ("match", "none")),
    )

    def expand(self, x: Expansion, runner: LayerRunner) -> tuple[ModuleSpec, Shape]:
        at = x.module.kind_span
        hidden = int(x.args["hidden"]) or int(round(x.shape[0] * float(x.args["expand"])))
        act = s.Layer(str(x.args["act"]), (), at)
        parts: list[tuple[str, tuple[s.Element, ...]]] = []  # each part keeps its own path
        if hidden != x.shape[0]:
            parts.append(("expand", (layer_node("pwconv", at, out=hidden), layer_node("bn", at),
                                     act)))
        parts.append(("dw", (layer_node("dwconv", at, kernel=x.args["kernel"],
                                        stride=x.args["stride"]), layer_node("bn", at), act)))
        if float(x.args["se"]) > 0:
            base = hidden if x.args["se_of"] == "hidden" else x.shape[0]
            # a float, so the network's divisor rounds it (MobileNetV3's make_divisible)
            mid = max(1.0, base * float(x.args["se"]))
            parts.append(("se", (layer_node("se", at, mid=mid, gate=x.args["gate"]),)))
        parts.append(("project", (layer_node("pwconv", at, out=x.args["out"]),
                                  layer_node("bn", at))))
        body: tuple[LayerSpec, ...] = ()
        out = x.shape
        for name, layers in parts:
            some, out = runner.run(layers, out, f"{x.prefix}.{name}")
            body += some
        spec = ModuleSpec(x.label, RESIDUAL, (body,))
        shortcut = module_shortcut(spec, x.shape, out, str(x.args["shortcut"]))
        return _post(ModuleSpec(x.label, RESIDUAL, (body,), shortcut), x, runner, out)


def layer_node(kind: str, at: Span, **args: Value) -> s.Layer:
    def literal(value: Value) -> s.Expr:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return s.Number(value, at)
        return s.Word(str(value).lower() if isinstance(value, bool) else str(value), at)

    return s.Layer(kind, tuple(s.Arg(k, literal(v), at) for k, v in args.items()), at)


def _show(value: Value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _fmt(shape: Shape) -> str:
    return "x".join(str(v) for v in shape)


MODULE_KINDS: dict[str, ModuleKind] = {k.name: k for k in (Seq(), Residual(), Split(), MBConv())}
