"""The text of a generated model file: its module classes, one constructor per layer,
``load()`` and the main block.

The classes are the source of :mod:`genesynth.blocks.torch_modules` itself, so the file
builds the very modules genesynth builds (same state-dict keys). A layer is written as the
constructor that rebuilds it, looked up by its torch class in :data:`WRITERS`; the
activations are written as ``nn.<module>()`` for every row of the activation table.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from genesynth.blocks import torch_modules
from genesynth.blocks.activations import rows
from genesynth.blocks.torch_modules import ChannelShuffle, SqueezeExcite
from genesynth.errors import ArchitectureError

LOAD = '''def load(weights_path: str | Path | None = None) -> Network:
    """The trained network in eval mode, weights from ``weights_path`` or WEIGHTS."""
    model = build()
    path = WEIGHTS if weights_path is None else Path(weights_path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()'''

MAIN = '''if __name__ == "__main__":
    model = load() if WEIGHTS.exists() else build().eval()
    x = torch.randn(1, *INPUT_SHAPE)  # (1, C, H, W)
    with torch.no_grad():
        y = model(x)
    print(f"{NAME}: input {tuple(x.shape)} -> output {tuple(y.shape)}")'''


def class_source(name: str) -> str:
    """The source of one class of :mod:`genesynth.blocks.torch_modules` (``EXPORTED``)."""
    return inspect.getsource(getattr(torch_modules, name)).rstrip()


# -- one layer as the constructor that rebuilds it -------------------------------------------


def layer_source(m: nn.Module, used: set[str]) -> str:
    """``m`` as an explicit constructor (settings at their defaults left out); the classes of
    :mod:`genesynth.blocks.torch_modules` it needs are added to ``used``."""
    writer = WRITERS.get(type(m))
    if writer is not None:
        return writer(m, used)
    name = type(m).__name__
    elementwise = any(row.module == name for row in rows())
    if elementwise and type(m) is getattr(nn, name) and not getattr(m, "inplace", False):
        return f"nn.{name}()"
    raise ArchitectureError(
        f"cannot write the layer {name} as standalone source; "
        "add it to genesynth.export.codegen_text.WRITERS to export this architecture"
    )


def _args(*positional: object, **named: object) -> str:
    parts = [repr(v) for v in positional]
    parts += [f"{k}={v!r}" for k, v in named.items()]
    return ", ".join(parts)


def _square(value: int | tuple[int, ...]) -> int:
    if isinstance(value, int):
        return value
    if len(set(value)) != 1:
        raise ArchitectureError(f"cannot write a non-square setting {value!r} as source")
    return int(value[0])


def _conv(m: nn.Conv2d, used: set[str]) -> str:
    settings = (
        ("stride", _square(m.stride), 1),
        ("padding", _square(m.padding), 0),  # type: ignore[arg-type]
        ("groups", m.groups, 1),
        ("bias", m.bias is not None, True),
    )
    named = {k: v for k, v, default in settings if v != default}
    return f"nn.Conv2d({_args(m.in_channels, m.out_channels, _square(m.kernel_size), **named)})"


def _batch_norm(m: nn.BatchNorm1d | nn.BatchNorm2d, used: set[str]) -> str:
    settings = (("eps", m.eps, 1e-5), ("momentum", m.momentum, 0.1))
    named = {k: v for k, v, default in settings if v != default}
    return f"nn.{type(m).__name__}({_args(m.num_features, **named)})"


def _linear(m: nn.Linear, used: set[str]) -> str:
    named: dict[str, object] = {} if m.bias is not None else {"bias": False}
    return f"nn.Linear({_args(m.in_features, m.out_features, **named)})"


def _pool(m: nn.MaxPool2d | nn.AvgPool2d, used: set[str]) -> str:
    k, s, p = (_square(v) for v in (m.kernel_size, m.stride, m.padding))
    return f"nn.{type(m).__name__}({_args(k, stride=s, padding=p)})"


def _sequential(m: nn.Sequential, used: set[str]) -> str:  # e.g. global pooling: pool, flatten
    return "nn.Sequential(" + ", ".join(layer_source(c, used) for c in m.children()) + ")"


def _shuffle(m: ChannelShuffle, used: set[str]) -> str:
    used.add("ChannelShuffle")
    return f"ChannelShuffle({m.groups!r})"


def _squeeze_excite(m: SqueezeExcite, used: set[str]) -> str:
    used.add("SqueezeExcite")
    act, gate = layer_source(m.act, used), layer_source(m.gate, used)
    channels = _args(m.squeeze.in_channels, m.squeeze.out_channels)
    return f"SqueezeExcite({channels}, act={act}, gate={gate})"


def _flatten(m: nn.Flatten, used: set[str]) -> str:
    if m.end_dim == -1:
        return f"nn.Flatten({_args(m.start_dim)})"
    return f"nn.Flatten({_args(m.start_dim, m.end_dim)})"


WRITERS: dict[type[nn.Module], Callable[[Any, set[str]], str]] = {
    nn.Conv2d: _conv,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.Linear: _linear,
    nn.MaxPool2d: _pool,
    nn.AvgPool2d: _pool,
    nn.Sequential: _sequential,
    ChannelShuffle: _shuffle,
    SqueezeExcite: _squeeze_excite,
    nn.AdaptiveAvgPool2d: lambda m, used: f"nn.AdaptiveAvgPool2d({m.output_size!r})",
    nn.Flatten: _flatten,
    nn.Dropout: lambda m, used: f"nn.Dropout({m.p!r})",
    nn.Softmax: lambda m, used: f"nn.Softmax(dim={m.dim!r})",
}
"""Torch class -> the writer of its constructor; activations are written from their table."""
