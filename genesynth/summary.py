"""One short line per module of an architecture, for the candidate panel and the report.

A module reads as its layers that matter, joined by ``>``: ``pw24 > dw3x3 s2 > pw32 > se``
(batch norm, activations and dropout are left out; a grouped convolution shows its groups,
``g3x3/4 48``). The engine may use :func:`module_lines` for ``TrialStarted.modules`` so that
every view describes a candidate the same way.
"""

from __future__ import annotations

from genesynth.arch import Architecture, ModuleSpec
from genesynth.blocks import Traced, trace_parts

#: Layer kinds a summary leaves out: they do not change what a module computes in shape.
QUIET = frozenset({"bn", "relu", "relu6", "hswish", "hsigmoid", "swish", "silu", "sigmoid",
                   "dropout", "flatten", "softmax", "gelu", "tanh", "identity"})


def layer_token(traced: Traced) -> str:
    """A compact name for one traced layer: ``pw24``, ``dw3x3 s2``, ``g3x3/4 48``, ``fc10``."""
    layer = traced.layer
    p = layer.as_dict()
    stride = int(p.get("stride", 1) or 1)
    suffix = f" s{stride}" if stride > 1 else ""
    out = traced.out_shape[0]
    if layer.kind in ("conv", "pwconv", "dwconv"):
        k = int(p.get("kernel", 1 if layer.kind == "pwconv" else 3))
        groups = traced.in_shape[0] if layer.kind == "dwconv" else int(p.get("groups", 1) or 1)
        if groups > 1 and groups == traced.in_shape[0] == out:
            return f"dw{k}x{k}{suffix}"
        name = "pw" if k == 1 else f"{k}x{k} "
        if groups > 1:
            name = f"g{k}x{k}/{groups} " if k > 1 else f"gpw/{groups} "
        return f"{name}{out}{suffix}".replace("  ", " ")
    if layer.kind == "linear":
        return f"fc{out}"
    if layer.kind in ("maxpool", "avgpool"):
        return f"{layer.kind}{p.get('kernel', '')}{suffix}"
    return layer.kind


def part_layers(layers: tuple[Traced, ...]) -> str:
    """The layers of one part that matter, joined by ``>`` (shortcut projections left out)."""
    tokens = [
        layer_token(t) for t in layers
        if t.layer.kind not in QUIET and ".shortcut." not in t.path
    ]
    return " > ".join(tokens) if tokens else "identity"


def module_kind(module: ModuleSpec) -> str:
    """``seq``, ``residual/identity``, ``residual/project``, ``split``."""
    if module.is_empty:
        return "skip"
    if module.kind == "residual":
        return f"residual/{module.shortcut}" if module.shortcut != "none" else "seq"
    return module.kind


def module_lines(arch: Architecture) -> tuple[str, ...]:
    """One line per body module: ``m03 atto  pw24 > g3x3/4 48 s2 > pw32  +id``."""
    parts = {p.name: p for p in trace_parts(arch)}
    lines = []
    for i, module in enumerate(arch.modules):
        name = f"m{i + 1:02d}"
        part = parts.get(name)
        body = part_layers(part.layers) if part is not None else ""
        mark = {"identity": "  +id", "project": "  +proj"}.get(
            module.shortcut if module.kind == "residual" else "", ""
        )
        lines.append(f"{name} {module.label:<6} {body}{mark}".rstrip())
    return tuple(lines)
