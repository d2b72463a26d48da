"""Architecture -> ``torch.nn.Module``.

The built :class:`~genesynth.blocks.torch_modules.Network` has ``stem``, ``body`` (one child
per module, named ``m01`` ...) and ``head``. Its ``forward`` returns class probabilities when
the head ends in ``softmax`` and logits otherwise; ``forward_logits`` always returns logits
(training uses it with cross-entropy).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from genesynth.blocks.base import LayerProblem
from genesynth.blocks.modules import build_layers, module_kind, trace_parts
from genesynth.blocks.torch_modules import Network
from genesynth.errors import ArchitectureError
from genesynth.limits import MAX_BUILD_PARAMS
from genesynth.net.arch import Architecture


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
        stem = build_layers(arch.stem, arch.input_shape)
        body = nn.Sequential(
            OrderedDict(
                (part.name, module_kind(module).build(module, part.in_shape))
                for part, module in zip(parts[1:-1], arch.modules, strict=True)
            )
        )
        head_module = build_layers(head, parts[-1].in_shape)
    except LayerProblem as problem:  # pragma: no cover - trace_parts found these first
        raise ArchitectureError(f"{arch.name}: {problem.message}") from None
    return Network(stem, body, head_module, softmax)
