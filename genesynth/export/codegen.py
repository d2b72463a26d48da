"""Architecture -> standalone, readable PyTorch source (needs only torch to run).

The generated file reads top to bottom like a nanoGPT model file: one class per module kind
the network uses (``ChannelShuffle``, ``SqueezeExcite``, ``Residual``, ``Split``), its
``Network`` and, when it takes data in its own units, ``Normalize`` (each the source of
:mod:`genesynth.blocks.torch_modules` itself: written once), a ``build()`` that writes
every layer out as an explicit ``nn`` constructor with shape comments
(:mod:`genesynth.export.codegen_text`), and ``load()`` for the weights saved next to it.

The layer constructors are read off the module genesynth itself builds (:func:`build`), so
the generated module tree has exactly the same ``state_dict`` keys and loads the same
weights with ``strict=True``. Every string from the architecture (names, labels) reaches the
file only inside comments and docstrings, cleaned of line breaks and quotes, or as a
``repr`` literal: the file never carries code taken from its input.
"""

from __future__ import annotations

from collections import defaultdict
from importlib import metadata

from torch import nn

from genesynth.blocks.modules import Part, Traced, module_kind, trace_parts
from genesynth.blocks.torch_modules import EXPORTED, Network, Residual, Split
from genesynth.errors import ArchitectureError
from genesynth.export.codegen_text import LOAD, MAIN, class_source, layer_source
from genesynth.net.arch import Architecture, ModuleSpec
from genesynth.net.builder import build
from genesynth.net.costs import cost

LINE = 100
"""Longest line written; a shape comment that would pass it goes on the line above."""

Normalization = tuple[tuple[float, ...], tuple[float, ...]]
"""Per-channel ``(mean, std)`` of the training data, in the data's own units."""


def generate_source(arch: Architecture, weights_name: str = "model.pt",
                    normalization: Normalization | None = None) -> str:
    """The standalone model file for ``arch``; ``load()`` reads ``weights_name`` beside it.

    With ``normalization`` the network takes data in its own units and normalises it first.
    """
    net = build(arch)
    parts = trace_parts(arch)
    writer = _Writer()
    builder = writer.build_function(arch, net, parts, normalization is not None)
    classes = [class_source(name) for name in EXPORTED if name in writer.used]
    header = _header(arch, weights_name, normalization)
    blocks = [header, *classes, builder, LOAD, MAIN]
    return "\n\n\n".join(blocks).rstrip() + "\n"


# -- the parts of the file ------------------------------------------------------------------


def _clean(text: str) -> str:
    """A string that is safe inside a comment or a docstring: one line, no quotes."""
    out = "".join(c if c.isprintable() else "?" for c in text)
    return out.replace("\\", "/").replace('"', "'")


def _literal(text: str) -> str:
    """A Python string literal for ``text``, in double quotes where that needs no escape."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1] + '"'
    return literal


def _shape(shape: tuple[int, ...]) -> str:
    return "(N, " + ", ".join(str(s) for s in shape) + ")"


def _version() -> str:
    try:
        return metadata.version("genesynth")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _input_doc(normalization: Normalization | None) -> tuple[str, str]:
    """The header's note on what the input is, and the constants that normalise it."""
    if normalization is None:
        return ("Values:       already normalised as in training (no normalisation was stored "
                "with\n              this network: apply your data's own before calling it)", "")
    mean, std = (tuple(round(float(v), 6) for v in values) for values in normalization)
    note = ("Values:       the data in its own units (e.g. pixel values 0-255), resized to the "
            "input\n              size; forward() normalises them first with MEAN and STD")
    constants = (f"\nMEAN = {mean!r}  # per input channel, of the training split\n"
                 f"STD = {std!r}")
    return note, constants


def _header(arch: Architecture, weights_name: str,
            normalization: Normalization | None = None) -> str:
    values, constants = _input_doc(normalization)
    c = cost(arch)
    c_in, h, w = arch.input_shape
    softmax = bool(arch.head) and arch.head[-1].kind == "softmax"
    returns = "class probabilities (softmax)" if softmax else "class logits"
    name = _clean(arch.name)[:60]
    return f'''"""{name}: a convolutional network designed with genesynth {_version()}.

Architecture: {name} (key {arch.key})
Input:        {c_in}x{h}x{w} (channels x height x width)
{values}
Classes:      {arch.classes}; forward() returns {returns}
Parameters:   {c.params:,}
MACs:         {c.macs:,} per image

Standalone: needs only torch. Weights are a state dict in {_clean(weights_name)} beside this
file; load() builds the network and loads them, build() gives fresh weights.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

NAME = {_literal(arch.name)}
INPUT_SHAPE = {tuple(arch.input_shape)!r}  # (C, H, W), batch excluded
CLASSES = {arch.classes}
WEIGHTS = Path(__file__).with_name({_literal(weights_name)}){constants}'''


# -- build(): every layer written out -------------------------------------------------------


class _Writer:
    """Writes ``build()`` from the built network and the shape walk, noting classes used."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def build_function(self, arch: Architecture, net: Network, parts: list[Part],
                       normalizes: bool = False) -> str:
        lines = [
            "def build() -> Network:",
            '    """The network with fresh weights; load() fills in the trained ones."""',
            f"    # stem: {_shape(parts[0].in_shape)} -> {_shape(parts[0].out_shape)}",
        ]
        lines += self.assign("stem", _sequence(net.stem, list(parts[0].layers), 4, self))
        names = []
        for part, spec in zip(parts[1:-1], arch.modules, strict=True):
            names.append(part.name)
            lines.append(_module_comment(part, spec))
            lines += self.assign(part.name, self.module(net.body.get_submodule(part.name), part))
        head = parts[-1]
        lines.append(f"    # head: {_shape(head.in_shape)} -> {_shape(head.out_shape)}")
        head_layers = list(head.layers)
        if head_layers and head_layers[-1].layer.kind == "softmax":
            head_layers.pop()  # Network.forward applies it
        lines += self.assign("head", _sequence(net.head, head_layers, 4, self))
        if names:
            lines.append("    body = nn.Sequential(OrderedDict([")
            lines += [f'        ("{n}", {n}),' for n in names]
            lines.append("    ]))")
        else:
            lines.append("    body = nn.Sequential()  # no modules")
        normalize = ", normalize=Normalize(MEAN, STD)" if normalizes else ""
        lines.append(f"    return Network(stem, body, head, softmax={net.softmax}{normalize})")
        self.used.update(("Network", "Normalize") if normalizes else ("Network",))
        return "\n".join(lines)

    def assign(self, name: str, expr: list[str]) -> list[str]:
        return [f"    {name} = {expr[0].lstrip()}", *expr[1:]]

    def module(self, module: nn.Module, part: Part) -> list[str]:
        groups: dict[str, list[Traced]] = defaultdict(list)
        for t in part.layers:
            groups[t.path.split(".")[1]].append(t)
        if isinstance(module, Residual):
            self.used.add("Residual")
            shortcut = (
                ["        shortcut=None,"] if module.shortcut is None
                else _keyword("shortcut", module.shortcut, groups["shortcut"], self)
            )
            return [
                "    Residual(",
                *_keyword("body", module.body, groups["b0"], self),
                *shortcut,
                *_keyword("post", module.post, groups["post"], self),
                "    )",
            ]
        if isinstance(module, Split):
            self.used.add("Split")
            return [
                "    Split(",
                *_keyword("left", module.left, groups["b0"], self),
                *_keyword("right", module.right, groups["b1"], self),
                f"        split_at={module.split_at!r},",
                *_keyword("post", module.post, groups["post"], self),
                "    )",
            ]
        if isinstance(module, nn.Sequential):
            return _sequence(module, groups["b0"] + groups["post"], 4, self)
        raise ArchitectureError(f"{part.name}: cannot write {type(module).__name__} as source")


def _module_comment(part: Part, spec: ModuleSpec) -> str:
    params = sum(t.params for t in part.layers)
    macs = sum(t.macs for t in part.layers)
    what = "skipped (identity)" if spec.is_empty else module_kind(spec).phrase(spec)
    pieces = [
        f"{part.name} '{_clean(spec.label)[:40]}': {what}",
        f"{_shape(part.in_shape)} -> {_shape(part.out_shape)}",
        f"{params:,} params, {macs:,} MACs",
    ]
    lines = [f"    # {pieces[0]}"]
    for piece in pieces[1:]:
        if len(f"{lines[-1]}; {piece}") <= LINE:
            lines[-1] += f"; {piece}"
        else:
            lines.append(f"    #   {piece}")
    return "\n".join(lines)


def _keyword(name: str, seq: nn.Module, traced: list[Traced], writer: _Writer) -> list[str]:
    if isinstance(seq, nn.Identity):
        return [f"        {name}=nn.Identity(),"]
    if not isinstance(seq, nn.Sequential):
        raise ArchitectureError(f"cannot write {type(seq).__name__} as source")
    lines = _sequence(seq, traced, 8, writer)
    lines[0] = f"        {name}={lines[0].lstrip()}"
    lines[-1] += ","
    return lines


def _sequence(seq: nn.Module, traced: list[Traced], indent: int, writer: _Writer) -> list[str]:
    """``nn.Sequential(...)`` with one layer a line and its output shape as a comment."""
    children = list(seq.children())
    if not children:
        return [" " * indent + "nn.Sequential()"]
    if len(children) != len(traced):
        raise ArchitectureError(  # pragma: no cover - the builder follows the same walk
            f"{len(children)} built layers but {len(traced)} traced at {traced[0].path}"
        )
    pad = " " * (indent + 4)
    lines = [" " * indent + "nn.Sequential("]
    for child, t in zip(children, traced, strict=True):
        code = f"{pad}{layer_source(child, writer.used)},"
        comment = f"  # {_shape(t.out_shape)}" if t.out_shape != t.in_shape else ""
        if len(code + comment) <= LINE:
            lines.append(code + comment)
        else:
            lines += [f"{pad}# {t.path}: {_shape(t.out_shape)}", code]
    lines.append(" " * indent + ")")
    inner = [line.strip() for line in lines[1:-1]]
    flat = " " * indent + "nn.Sequential(" + " ".join(inner).rstrip(",") + ")"
    if len(inner) <= 3 and not any("#" in line for line in inner) and len(flat) < LINE - 8:
        return [flat]  # short and with no shape change: one line
    return lines
