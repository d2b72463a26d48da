"""One short line per module of an architecture: the candidate panel, the report, ``show``.

A module reads as its layers that matter, joined by ``>``: ``pw24 > dw3x3 s2 > pw32 > se``
(batch norm, activations and dropout are left out; a grouped convolution shows its groups,
``g3x3/4 48``). The engine may use :func:`module_lines` for ``TrialStarted.modules`` so that
every view describes a candidate the same way. Each layer kind names itself
(:meth:`~genesynth.blocks.LayerKind.token`); this module only joins the names.
"""

from __future__ import annotations

from genesynth.blocks import Traced, trace_parts
from genesynth.blocks.modules import kind_of
from genesynth.blocks.modules import module_kind as registered
from genesynth.net.arch import Architecture, ModuleSpec


def layer_token(traced: Traced) -> str:
    """A compact name for one traced layer: ``pw24``, ``dw3x3 s2``, ``g3x3/4 48``, ``fc10``;
    ``""`` for a quiet kind (batch norm, activations, dropout, ...). The layer kind says it
    (:meth:`~genesynth.blocks.LayerKind.token`)."""
    kind = kind_of(traced.layer)
    settings = kind.complete(traced.layer.as_dict(), traced.in_shape)
    return kind.token(settings, traced.in_shape, traced.out_shape)


def part_tokens(layers: tuple[Traced, ...]) -> list[str]:
    """The layers of one part that matter, in order (shortcut projections left out)."""
    tokens = (layer_token(t) for t in layers if ".shortcut." not in t.path)
    return [token for token in tokens if token]


def part_layers(layers: tuple[Traced, ...]) -> str:
    """The layers of one part that matter, joined by ``>``: ``pw24 > dw3x3 s2 > pw32``."""
    return " > ".join(part_tokens(layers)) or "identity"


def module_kind(module: ModuleSpec) -> str:
    """``seq``, ``residual/identity``, ``residual/project``, ``split``."""
    if module.is_empty:
        return "skip"
    return registered(module).label(module)


def module_lines(arch: Architecture) -> tuple[str, ...]:
    """One line per body module: ``m03 atto  pw24 > g3x3/4 48 s2 > pw32  +id``."""
    parts = {p.name: p for p in trace_parts(arch)}
    lines = []
    for i, module in enumerate(arch.modules):
        name = f"m{i + 1:02d}"
        part = parts.get(name)
        body = part_layers(part.layers) if part is not None else ""
        mark = {"identity": "  +id", "project": "  +proj"}.get(
            registered(module).shortcut(module), "")
        lines.append(f"{name} {module.label:<6} {body}{mark}".rstrip())
    return tuple(lines)
