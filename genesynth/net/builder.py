"""Architecture -> ``torch.nn.Module``.

The built :class:`~genesynth.blocks.torch_modules.Network` has ``stem``, ``body`` (one child
per module, named ``m01`` ...) and ``head``. Its ``forward`` returns class probabilities when
the head ends in ``softmax`` and logits otherwise; ``forward_logits`` always returns logits
(training uses it with cross-entropy).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from genesynth.blocks.base import LayerProblem, Shape
from genesynth.blocks.modules import (
    body_stride,
    kind_of,
    projection,
    run_layers,
    split_point,
    trace_parts,
)
from genesynth.blocks.torch_modules import Network, Residual, Split
from genesynth.errors import ArchitectureError
from genesynth.limits import MAX_BUILD_PARAMS
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec


def build(arch: Architecture) -> Network:
    """Build ``arch`` as a torch module (raises ArchitectureError for an invalid one)."""
    parts = trace_parts(arch)  # validates every shape before any module is made
    params = sum(layer.params for part in parts for layer in part.layers)
    if params > MAX_BUILD_PARAMS:
        from genesynth.fmt import count

        raise ArchitectureError(
            f"{arch.name}: {count(params)} parameters cannot be built in memory "
            f"(at most {count(MAX_BUILD_PARAMS)})")
    head = arch.head
    softmax = bool(head) and head[-1].kind == "softmax"
    if softmax:
        head = head[:-1]
    try:
        stem = _sequence(arch.stem, arch.input_shape)
        body = nn.Sequential(
            OrderedDict(
                (part.name, _module(module, part.in_shape))
                for part, module in zip(parts[1:-1], arch.modules, strict=True)
            )
        )
        head_module = _sequence(head, parts[-1].in_shape)
    except LayerProblem as problem:  # pragma: no cover - trace_parts found these first
        raise ArchitectureError(f"{arch.name}: {problem.message}") from None
    return Network(stem, body, head_module, softmax)


def _sequence(layers: tuple[LayerSpec, ...], shape: Shape) -> nn.Sequential:
    modules: list[nn.Module] = []
    for layer in layers:
        kind = kind_of(layer)
        params = kind.complete(layer.as_dict(), shape)
        modules.append(kind.build(params, shape))
        shape = kind.output_shape(params, shape)
    return nn.Sequential(*modules)


def _output(layers: tuple[LayerSpec, ...], shape: Shape) -> Shape:
    for layer in layers:
        kind = kind_of(layer)
        shape = kind.output_shape(kind.complete(layer.as_dict(), shape), shape)
    return shape


def _module(module: ModuleSpec, shape: Shape) -> nn.Module:
    if module.kind == "split":
        return _split(module, shape)
    body = _sequence(module.branches[0], shape)
    out = _output(module.branches[0], shape)
    post = _sequence(module.post, out)
    if module.kind == "seq":
        return nn.Sequential(*body, *post)
    shortcut: nn.Module | None = None
    if module.shortcut == "identity":
        shortcut = nn.Identity()
    elif module.shortcut == "project":
        stride = body_stride(run_layers(module.branches[0], shape, "body"))
        shortcut = _sequence(projection(shape, out, stride), shape)
    return Residual(body, shortcut, post)


def _split(module: ModuleSpec, shape: Shape) -> nn.Module:
    at = split_point(module, shape)
    left_in = shape if at is None else (at, *shape[1:])
    right_in = shape if at is None else (shape[0] - at, *shape[1:])
    left, right = module.branches
    a, b = _output(left, left_in), _output(right, right_in)
    merged = (a[0] + b[0], *b[1:])
    post = _sequence(module.post, merged)
    return Split(_sequence(left, left_in), _sequence(right, right_in), at, post)
