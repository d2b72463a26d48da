"""Module kinds of an architecture (``seq``, ``residual``, ``split``) and the shape walk.

:data:`MODULE_KINDS` is the registry of module kinds: what each kind means lives in its
:class:`ModuleKind` (how its layers are walked and costed, how it is built into torch, how
it is written back in the language, where each of its layers sits in the built module, how
its branches merge, how it is named in the views). Every other module asks the registry
(:func:`module_kind`) instead of comparing a kind's name; ``tests/blocks/test_module_kinds.py``
runs every registered kind through one contract and fails when a module outside this one
compares a kind's name.

:func:`trace` walks an architecture once, passing the shape along, and returns every layer
with its input and output shapes and its analytic cost. The cost model sums it; the builder
follows the same walk; the resolver uses :func:`module_shortcut` to settle shortcuts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from torch import nn

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
    return module_kind(module).trace(module, shape, path)


def split_point(module: ModuleSpec, shape: Shape) -> int | None:
    """Channels kept by the pass-through half when the first branch is empty, else None."""
    return shape[0] // 2 if not module.branches[0] else None


def build_layers(layers: tuple[LayerSpec, ...], shape: Shape) -> nn.Sequential:
    """A sequence of layers whose settings are complete, built into torch."""
    from torch import nn

    modules = []
    for layer in layers:
        kind = kind_of(layer)
        params = kind.complete(layer.as_dict(), shape)
        modules.append(kind.build(params, shape))
        shape = kind.output_shape(params, shape)
    return nn.Sequential(*modules)


def layers_out(layers: tuple[LayerSpec, ...], shape: Shape) -> Shape:
    """The output shape of a sequence of layers (not checked: :func:`trace` checks)."""
    for layer in layers:
        kind = kind_of(layer)
        shape = kind.output_shape(kind.complete(layer.as_dict(), shape), shape)
    return shape


class ModuleKind:
    """One kind of module of an architecture; register an instance in :data:`MODULE_KINDS`.

    ``branches`` is how many branches a module of the kind has; ``takes_shortcut`` whether
    it has a shortcut (``identity``, ``project`` or ``none``); ``merge`` how its branches (and
    shortcut) join: ``""`` (a plain sequence), ``"add"``, ``"concat"``. A traced layer's path
    is ``m03.b0.2`` (branch 0), ``m03.b1.0``, ``m03.shortcut.0`` or ``m03.post.1``.
    """

    name: ClassVar[str]
    branches: ClassVar[int] = 1
    takes_shortcut: ClassVar[bool] = False
    merge: ClassVar[str] = ""

    def trace(self, module: ModuleSpec, shape: Shape, path: str
              ) -> tuple[list[Traced], Shape]:
        """Its layers with shapes and analytic costs (the cost sums them), and its output
        shape; raises LayerProblem when the module is invalid."""
        raise NotImplementedError

    def build(self, module: ModuleSpec, shape: Shape) -> nn.Module:
        """The torch module (children named as :meth:`child` says)."""
        raise NotImplementedError

    def child(self, module: ModuleSpec, where: str, index: int) -> str:
        """Where the layer ``index`` of ``where`` (``b0``, ``b1``, ``shortcut``, ``post``) sits
        in the built module: ``body.2``, ``left.0``, ``3`` (a supernet slices it there)."""
        raise NotImplementedError

    def header(self, module: ModuleSpec) -> str:
        """The module's kind as the language writes it: ``residual(shortcut=identity)``."""
        return self.name

    def shortcut(self, module: ModuleSpec) -> str:
        """Its shortcut: ``identity``, ``project`` or ``none`` (always, for a kind without)."""
        return module.shortcut if self.takes_shortcut else "none"

    def canonical(self, module: ModuleSpec) -> str:
        """The kind it builds as: a residual without a shortcut is a sequence."""
        return self.name

    def label(self, module: ModuleSpec) -> str:
        """``seq``, ``residual/identity``, ``residual/project``, ``split`` (summaries)."""
        shortcut = self.shortcut(module)
        name = self.canonical(module)
        return f"{name}/{shortcut}" if shortcut != "none" else name

    def phrase(self, module: ModuleSpec) -> str:
        """What it does, in words (an exported file's comment)."""
        raise NotImplementedError

    def _one_branch(self, module: ModuleSpec, shape: Shape, path: str) -> list[Traced]:
        if len(module.branches) != 1:
            raise LayerProblem(f"a {module.kind} module has exactly one branch")
        return run_layers(module.branches[0], shape, f"{path}.b0")


def _post(module: ModuleSpec, traced: list[Traced], out: Shape, path: str
          ) -> tuple[list[Traced], Shape]:
    post = run_layers(module.post, out, f"{path}.post")
    return traced + post, _out(post, out)


class SeqKind(ModuleKind):
    """``seq``: its layers in order, then ``post``."""

    name = "seq"

    def trace(self, module: ModuleSpec, shape: Shape, path: str
              ) -> tuple[list[Traced], Shape]:
        body = self._one_branch(module, shape, path)
        if module.shortcut != "none":
            raise LayerProblem(f"a seq module has no shortcut, but got shortcut={module.shortcut}")
        return _post(module, body, _out(body, shape), path)

    def build(self, module: ModuleSpec, shape: Shape) -> nn.Module:
        from torch import nn

        body = build_layers(module.branches[0], shape)
        post = build_layers(module.post, layers_out(module.branches[0], shape))
        return nn.Sequential(*body, *post)

    def child(self, module: ModuleSpec, where: str, index: int) -> str:
        return f"{(len(module.branches[0]) if where == 'post' else 0) + index}"

    def phrase(self, module: ModuleSpec) -> str:
        return "sequence"


class ResidualKind(ModuleKind):
    """``residual``: ``post(body(x) + shortcut(x))``; the shortcut is the identity, a 1x1
    projection (conv + batch norm, at the body's stride) or none."""

    name = "residual"
    takes_shortcut = True
    merge = "add"

    def trace(self, module: ModuleSpec, shape: Shape, path: str
              ) -> tuple[list[Traced], Shape]:
        body = self._one_branch(module, shape, path)
        out = _out(body, shape)
        return _post(module, body + _trace_shortcut(module, shape, out, path, body), out, path)

    def build(self, module: ModuleSpec, shape: Shape) -> nn.Module:
        from torch import nn

        from genesynth.blocks.torch_modules import Residual as Built

        body = build_layers(module.branches[0], shape)
        out = layers_out(module.branches[0], shape)
        shortcut: nn.Module | None = None
        if module.shortcut == "identity":
            shortcut = nn.Identity()
        elif module.shortcut == "project":
            stride = body_stride(run_layers(module.branches[0], shape, "body"))
            shortcut = build_layers(projection(shape, out, stride), shape)
        return Built(body, shortcut, build_layers(module.post, out))

    def child(self, module: ModuleSpec, where: str, index: int) -> str:
        side = "body" if where == "b0" else where  # shortcut, post
        return f"{side}.{index}"

    def header(self, module: ModuleSpec) -> str:
        return f"residual(shortcut={module.shortcut})"

    def canonical(self, module: ModuleSpec) -> str:
        return self.name if module.shortcut != "none" else SEQ

    def phrase(self, module: ModuleSpec) -> str:
        shortcut = {"identity": "identity", "project": "projection"}.get(module.shortcut, "no")
        return f"residual, {shortcut} shortcut"


class SplitKind(ModuleKind):
    """``split``: two branches concatenated on channels, then ``post``; when the first branch
    is empty the input's channels are split in halves, the first half passing through."""

    name = "split"
    branches = 2
    merge = "concat"

    def trace(self, module: ModuleSpec, shape: Shape, path: str
              ) -> tuple[list[Traced], Shape]:
        if len(module.branches) != 2:
            raise LayerProblem("a split module has exactly two branches")
        if len(shape) != 3:
            raise LayerProblem("a split module needs a feature map")
        left_in, right_in = self.inputs(module, shape)
        left = run_layers(module.branches[0], left_in, f"{path}.b0")
        right = run_layers(module.branches[1], right_in, f"{path}.b1")
        a, b = _out(left, left_in), _out(right, right_in)
        if a[1:] != b[1:]:
            raise LayerProblem(
                f"the two branches give different map sizes: {_fmt(a)} and {_fmt(b)}")
        return _post(module, left + right, (a[0] + b[0], *a[1:]), path)

    def inputs(self, module: ModuleSpec, shape: Shape) -> tuple[Shape, Shape]:
        """The shapes the two branches see (halves of the channels when the first is empty)."""
        at = split_point(module, shape)
        if at is None:
            return shape, shape
        return (at, *shape[1:]), (shape[0] - at, *shape[1:])

    def build(self, module: ModuleSpec, shape: Shape) -> nn.Module:
        from genesynth.blocks.torch_modules import Split as Built

        left_in, right_in = self.inputs(module, shape)
        left, right = module.branches
        a, b = layers_out(left, left_in), layers_out(right, right_in)
        post = build_layers(module.post, (a[0] + b[0], *b[1:]))
        return Built(build_layers(left, left_in), build_layers(right, right_in),
                     split_point(module, shape), post)

    def child(self, module: ModuleSpec, where: str, index: int) -> str:
        side = {"b0": "left", "b1": "right"}.get(where, where)  # post
        return f"{side}.{index}"

    def phrase(self, module: ModuleSpec) -> str:
        return "split: half the channels pass through" if not module.branches[0] else "split"


#: The module kinds by name: what each means (see :class:`ModuleKind`).
MODULE_KINDS: dict[str, ModuleKind] = {k.name: k for k in (SeqKind(), ResidualKind(), SplitKind())}
#: The kinds' names, for code that makes a module of one kind.
SEQ, RESIDUAL, SPLIT = SeqKind.name, ResidualKind.name, SplitKind.name


def module_kind(module: ModuleSpec | str) -> ModuleKind:
    """The registered kind of ``module`` (or of that name); LayerProblem when unknown."""
    name = module if isinstance(module, str) else module.kind
    try:
        return MODULE_KINDS[name]
    except KeyError:
        raise LayerProblem(f"unknown module kind '{name}' (expected one of "
                           f"{', '.join(MODULE_KINDS)})") from None


def skip_module(body: tuple[LayerSpec, ...] = (), origin: str = "") -> ModuleSpec:
    """A skipped slot: an empty sequence (the identity), or ``body`` when it keeps layers."""
    return ModuleSpec("skip", SEQ, (body,), origin=origin)


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
