"""Module kinds of an architecture (``seq``, ``residual``, ``split``) and the shape walk.

:func:`trace` walks an architecture once, passing the shape along, and returns every layer
with its input and output shapes and its analytic cost. The cost model sums it; the builder
follows the same walk; the resolver uses :func:`module_shortcut` to settle shortcuts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from genesynth.blocks.base import REGISTRY, LayerKind, LayerProblem, Shape, as_int
from genesynth.errors import ArchitectureError
from genesynth.spec import LayerSpec, ModuleSpec


class ArchitectureLike(Protocol):
    """What the walk reads of a network: an :class:`~genesynth.net.arch.Architecture`, which
    sits above the registry (reading one checks it with :func:`trace`)."""

    @property
    def name(self) -> str: ...
    @property
    def input_shape(self) -> tuple[int, int, int]: ...
    @property
    def classes(self) -> int: ...
    @property
    def stem(self) -> tuple[LayerSpec, ...]: ...
    @property
    def modules(self) -> tuple[ModuleSpec, ...]: ...
    @property
    def head(self) -> tuple[LayerSpec, ...]: ...


@dataclass(frozen=True)
class Traced:
    """One layer as the walk saw it."""

    path: str  # stem.0, m03.b0.2, m03.shortcut.0, m03.post.0, head.1
    layer: LayerSpec
    in_shape: Shape
    out_shape: Shape
    params: int
    macs: int


def kind_of(layer: LayerSpec) -> LayerKind:
    try:
        return REGISTRY[layer.kind]
    except KeyError:
        raise LayerProblem(f"unknown layer kind '{layer.kind}'") from None


def step(layer: LayerSpec, shape: Shape, path: str) -> Traced:
    """Shape and cost of one layer whose settings are complete."""
    kind = kind_of(layer)
    kind.check_input(shape)
    params = kind.complete(layer.as_dict(), shape)
    out = kind.output_shape(params, shape)
    return Traced(path, layer, shape, out, kind.num_params(params, shape), kind.macs(params, shape))


def run_layers(layers: tuple[LayerSpec, ...], shape: Shape, path: str) -> list[Traced]:
    traced: list[Traced] = []
    for i, layer in enumerate(layers):
        traced.append(step(layer, shape, f"{path}.{i}"))
        shape = traced[-1].out_shape
    return traced


def _out(traced: list[Traced], shape: Shape) -> Shape:
    return traced[-1].out_shape if traced else shape


def body_stride(body: list[Traced]) -> int:
    """The product of the strides of a traced body: every kind with a ``stride`` setting, at
    its completed value (a ``dwconv(stride=2)``, a ``maxpool`` at its default 2)."""
    stride = 1
    for t in body:
        written = t.layer.get("stride")  # written out in every sampled architecture
        if written is not None:
            stride *= as_int(written)
        elif kind_of(t.layer).param("stride") is not None:  # left at its default
            stride *= as_int(kind_of(t.layer).complete(t.layer.as_dict(), t.in_shape)["stride"])
    return stride


def projection(in_shape: Shape, out_shape: Shape, stride: int) -> tuple[LayerSpec, LayerSpec]:
    """The 1x1 conv + batch norm that maps a module's input onto its output shape."""
    conv = LayerSpec.of(
        "conv", out=out_shape[0], kernel=1, stride=stride, groups=1, padding=0, bias=False
    )
    return conv, LayerSpec.of("bn")


def module_shortcut(module: ModuleSpec, in_shape: Shape, out_shape: Shape, wanted: str) -> str:
    """Settle a wanted shortcut (auto, identity, project, match, none) for these shapes."""
    same = in_shape == out_shape
    table = {
        "auto": "identity" if same else "project",
        "identity": "identity" if same else "project",
        "match": "identity" if same else "none",
        "project": "project",
        "none": "none",
    }
    return table[wanted]


def trace_module(module: ModuleSpec, shape: Shape, path: str) -> tuple[list[Traced], Shape]:
    """Walk one module; returns its traced layers and output shape."""
    if module.kind == "split":
        return _trace_split(module, shape, path)
    if len(module.branches) != 1:
        raise LayerProblem(f"a {module.kind} module has exactly one branch")
    body = run_layers(module.branches[0], shape, f"{path}.b0")
    out = _out(body, shape)
    traced = body
    if module.kind == "residual":
        traced = body + _trace_shortcut(module, shape, out, path, body)
    elif module.shortcut != "none":
        raise LayerProblem(f"a seq module has no shortcut, but got shortcut={module.shortcut}")
    post = run_layers(module.post, out, f"{path}.post")
    return traced + post, _out(post, out)


def _trace_shortcut(module: ModuleSpec, shape: Shape, out: Shape, path: str,
                    body: list[Traced]) -> list[Traced]:
    if module.shortcut == "identity" and shape != out:
        raise LayerProblem(
            f"an identity shortcut needs equal input and output shapes, but got "
            f"{_fmt(shape)} -> {_fmt(out)}"
        )
    if module.shortcut != "project":
        return []
    if len(shape) != 3 or len(out) != 3:
        raise LayerProblem("a projection shortcut needs feature maps")
    layers = projection(shape, out, body_stride(body))
    traced = run_layers(layers, shape, f"{path}.shortcut")
    if traced[-1].out_shape != out:
        raise LayerProblem(
            f"the projection shortcut gives {_fmt(traced[-1].out_shape)} but the body gives "
            f"{_fmt(out)}"
        )
    return traced


def split_point(module: ModuleSpec, shape: Shape) -> int | None:
    """Channels kept by the pass-through half when the first branch is empty, else None."""
    return shape[0] // 2 if not module.branches[0] else None


def _trace_split(module: ModuleSpec, shape: Shape, path: str) -> tuple[list[Traced], Shape]:
    if len(module.branches) != 2:
        raise LayerProblem("a split module has exactly two branches")
    if len(shape) != 3:
        raise LayerProblem("a split module needs a feature map")
    at = split_point(module, shape)
    left_in = shape if at is None else (at, *shape[1:])
    right_in = shape if at is None else (shape[0] - at, *shape[1:])
    left = run_layers(module.branches[0], left_in, f"{path}.b0")
    right = run_layers(module.branches[1], right_in, f"{path}.b1")
    a, b = _out(left, left_in), _out(right, right_in)
    if a[1:] != b[1:]:
        raise LayerProblem(f"the two branches give different map sizes: {_fmt(a)} and {_fmt(b)}")
    merged = (a[0] + b[0], *a[1:])
    post = run_layers(module.post, merged, f"{path}.post")
    return left + right + post, _out(post, merged)


def module_name(index: int) -> str:
    return f"m{index + 1:02d}"


@dataclass(frozen=True)
class Part:
    """One part of the network as the walk saw it: ``stem``, a module (``m01`` ...) or ``head``."""

    name: str
    label: str
    in_shape: Shape
    out_shape: Shape
    layers: tuple[Traced, ...]


def trace_parts(arch: ArchitectureLike) -> list[Part]:
    """Walk ``arch`` part by part; raises ArchitectureError when it is invalid."""
    shape: Shape = arch.input_shape
    parts: list[Part] = []
    where = "stem"
    try:
        stem = run_layers(arch.stem, shape, "stem")
        parts.append(Part("stem", "stem", shape, _out(stem, shape), tuple(stem)))
        for i, module in enumerate(arch.modules):
            where, shape = module_name(i), parts[-1].out_shape
            layers, out = trace_module(module, shape, where)
            parts.append(Part(where, module.label, shape, out, tuple(layers)))
        where, shape = "head", parts[-1].out_shape
        head = run_layers(arch.head, shape, "head")
        parts.append(Part("head", "head", shape, _out(head, shape), tuple(head)))
    except LayerProblem as problem:
        raise ArchitectureError(f"{arch.name}: {where}: {problem.message}") from None
    if parts[-1].out_shape != (arch.classes,):
        raise ArchitectureError(
            f"{arch.name}: the head must end in {arch.classes} class scores, "
            f"but gives {_fmt(parts[-1].out_shape)}"
        )
    return parts


def trace(arch: ArchitectureLike) -> list[Traced]:
    """Every layer of ``arch`` with shapes and costs; raises ArchitectureError when invalid."""
    return [layer for part in trace_parts(arch) for layer in part.layers]


def _fmt(shape: Shape) -> str:
    return "x".join(str(s) for s in shape)
