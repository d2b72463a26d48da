"""The layer vocabulary. MACs count multiply-accumulates of convolutions and linear layers
(bias additions excluded, as in ``torch.utils.flop_counter``); parameters count every
trainable parameter, batch-norm affine included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

from genesynth.blocks.activations import ACTIVATIONS, GATES
from genesynth.blocks.base import (
    REGISTRY,
    LayerKind,
    LayerProblem,
    Param,
    Params,
    Shape,
    Sizes,
    as_int,
    leading,
    register,
)

if TYPE_CHECKING:
    import torch
    from torch import nn


def _in_channels(shape: Shape, _: Params) -> int:
    return shape[0]


def _same_padding(_: Shape, p: Params) -> int:
    return (as_int(p["kernel"]) - 1) // 2


def _spatial(size: int, kernel: int, stride: int, padding: int, what: str) -> int:
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise LayerProblem(
            f"{what} with kernel {kernel}, stride {stride}, padding {padding} "
            f"shrinks a {size}x{size} map below 1x1",
            "stride",
        )
    return out


@register
class Conv(LayerKind):
    name = "conv"
    needs = "map"
    doc = "2-D convolution, 'same' padding by default; grouped when groups > 1."
    schema: ClassVar[tuple[Param, ...]] = (
        Param("out", int, _in_channels, minimum=1, channels=True, doc="output channels"),
        Param("kernel", int, 3, minimum=1, doc="kernel size (square)"),
        Param("stride", int, 1, minimum=1, doc="stride"),
        Param("groups", int, 1, minimum=1, doc="groups; in and out must be multiples"),
        Param("padding", int, _same_padding, minimum=0, doc="zero padding, default (kernel-1)//2"),
        Param("bias", bool, True, doc="bias; false by default when batch norm follows"),
    )

    def output_shape(self, p: Params, shape: Shape) -> Shape:
        c, h, w = shape
        out, groups = as_int(p["out"]), as_int(p["groups"])
        if c % groups or out % groups:
            raise LayerProblem(
                f"groups={groups} must divide both input channels ({c}) and output "
                f"channels ({out})",
                "groups",
            )
        k, s, pad = as_int(p["kernel"]), as_int(p["stride"]), as_int(p["padding"])
        return (out, _spatial(h, k, s, pad, "conv"), _spatial(w, k, s, pad, "conv"))

    def num_params(self, p: Params, shape: Shape) -> int:
        out, k = as_int(p["out"]), as_int(p["kernel"])
        weights = out * (shape[0] // as_int(p["groups"])) * k * k
        return weights + (out if p["bias"] else 0)

    def macs(self, p: Params, shape: Shape) -> int:
        out_c, out_h, out_w = self.output_shape(p, shape)
        k = as_int(p["kernel"])
        return out_c * (shape[0] // as_int(p["groups"])) * k * k * out_h * out_w

    def token(self, p: Params, shape: Shape, out: Shape) -> str:
        k, groups, stride = as_int(p["kernel"]), as_int(p["groups"]), as_int(p["stride"])
        suffix = f" s{stride}" if stride > 1 else ""
        if groups > 1 and groups == shape[0] == out[0]:
            return f"dw{k}x{k}{suffix}"
        name = "pw" if k == 1 else f"{k}x{k} "
        if groups > 1:
            name = f"g{k}x{k}/{groups} " if k > 1 else f"gpw/{groups} "
        return f"{name}{out[0]}{suffix}"

    def build(self, p: Params, shape: Shape) -> nn.Module:
        from torch import nn

        return nn.Conv2d(
            shape[0], as_int(p["out"]), as_int(p["kernel"]), stride=as_int(p["stride"]),
            padding=as_int(p["padding"]), groups=as_int(p["groups"]), bias=bool(p["bias"]),
        )

    def param_sizes(self, p: Params, shape: Shape) -> Sizes:
        out, k = as_int(p["out"]), as_int(p["kernel"])
        sizes: Sizes = {"weight": (out, shape[0] // as_int(p["groups"]), k, k)}
        if p["bias"]:
            sizes["bias"] = (out,)
        return sizes

    # Weight sharing. The shared kernel is dense (out x in x K x K) with the largest kernel:
    # a smaller kernel is its centre, a grouped conv its block-diagonal part. A slot whose
    # every setting is depthwise (groups = in > 1) keeps a compact out x 1 x K x K kernel.

    def shared_sizes(self, settings: Sequence[tuple[Params, Shape]]) -> Sizes:
        depthwise = all(_depthwise(p, shape) for p, shape in settings)
        out = max(as_int(p["out"]) for p, _ in settings)
        k = max(as_int(p["kernel"]) for p, _ in settings)
        width = 1 if depthwise else max(shape[0] for _, shape in settings)
        sizes: Sizes = {"weight": (out, width, k, k)}
        if any(p["bias"] for p, _ in settings):
            sizes["bias"] = (out,)
        return sizes

    def take(self, p: Params, shape: Shape, shared: Mapping[str, torch.Tensor]
             ) -> dict[str, torch.Tensor]:
        c, out, k, groups = shape[0], as_int(p["out"]), as_int(p["kernel"]), as_int(p["groups"])
        stored = shared["weight"]
        big = stored.shape[-1]
        if k > big:
            raise LayerProblem(f"'weight' needs kernel {k} but the shared kernel is {big}")
        if stored.shape[1] == 1 and _depthwise(p, shape):
            weight = leading(shared, "weight", (out, 1, big, big))
        else:
            weight = _block_diagonal(leading(shared, "weight", (out, c, big, big)), groups)
        at = (big - k) // 2
        taken = {"weight": weight[:, :, at : at + k, at : at + k]}
        if p["bias"]:
            taken["bias"] = leading(shared, "bias", (out,))
        return taken


def _depthwise(p: Params, shape: Shape) -> bool:
    return as_int(p["groups"]) == shape[0] > 1


def _block_diagonal(dense: torch.Tensor, groups: int) -> torch.Tensor:
    """The grouped kernel (out, in/g, k, k) that is the block diagonal of a dense one."""
    if groups == 1:
        return dense
    out, c, kh, kw = dense.shape
    blocks = dense.reshape(groups, out // groups, groups, c // groups, kh, kw)
    diagonal = blocks.diagonal(dim1=0, dim2=2)  # (out/g, in/g, k, k, g)
    return diagonal.permute(4, 0, 1, 2, 3).reshape(out, c // groups, kh, kw)


@register
class DepthwiseConv(Conv):
    name = "dwconv"
    canonical = "conv"
    doc = "Depthwise convolution: a conv with out = groups = input channels."
    schema = (
        Param("kernel", int, 3, minimum=1, doc="kernel size (square)"),
        Param("stride", int, 1, minimum=1, doc="stride"),
        Param("padding", int, _same_padding, minimum=0, doc="zero padding"),
        Param("bias", bool, True, doc="bias; false by default when batch norm follows"),
    )

    def complete(self, given: Params, shape: Shape) -> dict[str, object]:  # type: ignore[override]
        done = super().complete(given, shape)
        return {"out": shape[0], "groups": shape[0], **done}


@register
class PointwiseConv(Conv):
    name = "pwconv"
    canonical = "conv"
    doc = "Pointwise (1x1) convolution, optionally grouped."
    schema = (
        Param("out", int, _in_channels, minimum=1, channels=True, doc="output channels"),
        Param("stride", int, 1, minimum=1, doc="stride"),
        Param("groups", int, 1, minimum=1, doc="groups"),
        Param("bias", bool, True, doc="bias; false by default when batch norm follows"),
    )

    def complete(self, given: Params, shape: Shape) -> dict[str, object]:  # type: ignore[override]
        done = super().complete(given, shape)
        return {**done, "kernel": 1, "padding": 0}


@register
class BatchNorm(LayerKind):
    name = "bn"
    quiet = True
    doc = "Batch normalisation with affine scale and shift (2 parameters per channel)."

    def num_params(self, p: Params, shape: Shape) -> int:
        return 2 * shape[0]

    def param_sizes(self, p: Params, shape: Shape) -> Sizes:
        return {"weight": (shape[0],), "bias": (shape[0],)}

    def build(self, p: Params, shape: Shape) -> nn.Module:
        from torch import nn

        return nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])


@register
class Shuffle(LayerKind):
    name = "shuffle"
    needs = "map"
    doc = "Channel shuffle (ShuffleNet): interleaves channels across groups."
    schema = (Param("groups", int, 2, minimum=1, doc="groups to interleave"),)

    def output_shape(self, p: Params, shape: Shape) -> Shape:
        if shape[0] % as_int(p["groups"]):
            raise LayerProblem(
                f"groups={p['groups']} must divide the channels ({shape[0]})", "groups"
            )
        return shape

    def build(self, p: Params, shape: Shape) -> nn.Module:
        from genesynth.blocks.torch_modules import ChannelShuffle

        return ChannelShuffle(as_int(p["groups"]))


def _quarter(shape: Shape, _: Params) -> int:
    return max(1, shape[0] // 4)


@register
class SqueezeExcite(LayerKind):
    name = "se"
    needs = "map"
    doc = "Squeeze-and-excitation: global pool, 1x1 conv to mid, act, 1x1 conv back, gate, scale."
    schema = (
        Param("mid", int, _quarter, minimum=1, channels=True, doc="squeezed channels"),
        Param("act", str, "relu", choices=ACTIVATIONS, doc="activation after the squeeze"),
        Param("gate", str, "sigmoid", choices=GATES, doc="gating function"),
    )

    def num_params(self, p: Params, shape: Shape) -> int:
        c, mid = shape[0], as_int(p["mid"])
        return c * mid + mid + mid * c + c

    def param_sizes(self, p: Params, shape: Shape) -> Sizes:
        c, mid = shape[0], as_int(p["mid"])
        return {"squeeze.weight": (mid, c, 1, 1), "squeeze.bias": (mid,),
                "excite.weight": (c, mid, 1, 1), "excite.bias": (c,)}

    def macs(self, p: Params, shape: Shape) -> int:
        return 2 * shape[0] * as_int(p["mid"])

    def build(self, p: Params, shape: Shape) -> nn.Module:
        from genesynth.blocks.torch_modules import SqueezeExcite as SE

        mid = as_int(p["mid"])
        act = REGISTRY[str(p["act"])].build({}, (mid, 1, 1))
        gate = REGISTRY[str(p["gate"])].build({}, (shape[0], 1, 1))
        return SE(shape[0], mid, act, gate)


class _Pool(LayerKind):
    needs = "map"
    module_name: str
    schema = (
        Param("kernel", int, 3, minimum=1, doc="window size"),
        Param("stride", int, 2, minimum=1, doc="stride"),
        Param("padding", int, _same_padding, minimum=0, doc="zero padding"),
    )

    def output_shape(self, p: Params, shape: Shape) -> Shape:
        c, h, w = shape
        k, s, pad = as_int(p["kernel"]), as_int(p["stride"]), as_int(p["padding"])
        if 2 * pad > k:
            raise LayerProblem(f"padding={pad} must be at most half of kernel={k}", "padding")
        return (c, _spatial(h, k, s, pad, self.name), _spatial(w, k, s, pad, self.name))

    def token(self, p: Params, shape: Shape, out: Shape) -> str:
        stride = as_int(p["stride"])
        return f"{self.name}{p['kernel']}" + (f" s{stride}" if stride > 1 else "")

    def build(self, p: Params, shape: Shape) -> nn.Module:
        from torch import nn

        return getattr(nn, self.module_name)(
            as_int(p["kernel"]), stride=as_int(p["stride"]), padding=as_int(p["padding"])
        )


@register
class MaxPool(_Pool):
    name = "maxpool"
    module_name = "MaxPool2d"
    doc = "Max pooling."


@register
class AvgPool(_Pool):
    name = "avgpool"
    module_name = "AvgPool2d"
    doc = "Average pooling (zero padding counted)."


@register
class GlobalAvgPool(LayerKind):
    name = "gap"
    needs = "map"
    doc = "Global average pooling: a CxHxW map becomes a vector of C."

    def output_shape(self, p: Params, shape: Shape) -> Shape:
        return (shape[0],)

    def build(self, p: Params, shape: Shape) -> nn.Module:
        from torch import nn

        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))


@register
class Flatten(LayerKind):
    name = "flatten"
    quiet = True
    doc = "Flattens a CxHxW map into a vector of C*H*W."

    def output_shape(self, p: Params, shape: Shape) -> Shape:
        total = 1
        for size in shape:
            total *= size
        return (total,)

    def build(self, p: Params, shape: Shape) -> nn.Module:
        from torch import nn

        return nn.Flatten(1)


@register
class Dropout(LayerKind):
    name = "dropout"
    quiet = True
    doc = "Dropout during training; identity at inference."
    schema = (Param("p", float, 0.2, minimum=0.0, maximum=0.99, doc="drop probability"),)

    def build(self, p: Params, shape: Shape) -> nn.Module:
        from torch import nn

        return nn.Dropout(float(p["p"]))


@register
class Linear(LayerKind):
    name = "linear"
    needs = "vector"
    doc = "Fully connected layer."
    schema = (
        Param("out", int, None, minimum=1, channels=True, doc="output features"),
        Param("bias", bool, True, doc="bias"),
    )

    def output_shape(self, p: Params, shape: Shape) -> Shape:
        return (as_int(p["out"]),)

    def num_params(self, p: Params, shape: Shape) -> int:
        out = as_int(p["out"])
        return shape[0] * out + (out if p["bias"] else 0)

    def macs(self, p: Params, shape: Shape) -> int:
        return shape[0] * as_int(p["out"])

    def token(self, p: Params, shape: Shape, out: Shape) -> str:
        return f"fc{out[0]}"

    def param_sizes(self, p: Params, shape: Shape) -> Sizes:
        out = as_int(p["out"])
        return {"weight": (out, shape[0]), **({"bias": (out,)} if p["bias"] else {})}

    def build(self, p: Params, shape: Shape) -> nn.Module:
        from torch import nn

        return nn.Linear(shape[0], as_int(p["out"]), bias=bool(p["bias"]))


@register
class Softmax(LayerKind):
    name = "softmax"
    quiet = True
    needs = "vector"
    doc = "Softmax over classes; must be the last layer of the head. Training uses the logits."

    def build(self, p: Params, shape: Shape) -> nn.Module:
        from torch import nn

        return nn.Softmax(dim=1)
