"""The activations: one table, and every other use derived from it.

Each row names an element-wise layer kind and the ``torch.nn`` class it builds. Everything
else reads the registry, never a list of its own: the layer kind (registered from the row:
no settings, no weights, no MACs, left out of one-line summaries), the ``act=`` and
``gate=`` settings of ``se`` and ``mbconv`` (:data:`ACTIVATIONS`, :data:`GATES`, live views),
the layer table of ``docs/prototype-language.md``, and the exported PyTorch source, which
writes the layer as ``nn.<module>()``. Adding an activation is one row in :data:`TABLE`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, overload

from genesynth.blocks.base import REGISTRY, LayerKind, Params, Shape, register

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Activation:
    """One element-wise layer kind.

    ``module`` is the ``torch.nn`` class, built with no arguments. ``act``: it may be a block's
    activation (``se(act=...)``, ``mbconv(act=...)``); ``gate``: it maps into (0, 1), so it
    may gate a squeeze-excite (``se(gate=...)``).
    """

    name: str
    module: str
    doc: str
    act: bool = True
    gate: bool = False


TABLE: tuple[Activation, ...] = (
    Activation("relu", "ReLU", "max(x, 0)"),
    Activation("relu6", "ReLU6", "min(max(x, 0), 6), as in MobileNetV2"),
    Activation("hswish", "Hardswish", "x * relu6(x + 3) / 6, as in MobileNetV3"),
    Activation("hsigmoid", "Hardsigmoid", "relu6(x + 3) / 6", gate=True),
    Activation("swish", "SiLU", "x * sigmoid(x) (also called silu)"),
    Activation("silu", "SiLU", "x * sigmoid(x) (the same as swish)"),
    Activation("sigmoid", "Sigmoid", "1 / (1 + exp(-x))", gate=True),
    Activation("tanh", "Tanh", "hyperbolic tangent"),
    Activation("identity", "Identity", "passes its input through unchanged", act=False),
)


class ActivationKind(LayerKind):
    """The layer kind of one :class:`Activation` row."""

    row: ClassVar[Activation]
    quiet = True

    def build(self, p: Params, shape: Shape) -> nn.Module:
        from torch import nn

        module: nn.Module = getattr(nn, self.row.module)()
        return module


def activation_kind(row: Activation) -> type[ActivationKind]:
    """The layer-kind class for ``row`` (:func:`~genesynth.blocks.base.register` adds it)."""
    attributes = {"name": row.name, "doc": row.doc, "row": row}
    return type(row.name.title(), (ActivationKind,), attributes)


def rows() -> list[Activation]:
    """The registered activations, in registration order."""
    return [kind.row for kind in REGISTRY.values() if isinstance(kind, ActivationKind)]


class Names(Sequence[str]):
    """The names of the registered activations a predicate picks, read when asked, so an
    activation registered later is a valid choice everywhere at once."""

    def __init__(self, picks: Callable[[Activation], bool]) -> None:
        self._picks = picks

    def _names(self) -> tuple[str, ...]:
        return tuple(row.name for row in rows() if self._picks(row))

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, value: object) -> bool:
        return value in self._names()

    def __repr__(self) -> str:
        return repr(self._names())


ACTIVATIONS = Names(lambda row: row.act)
"""Valid ``act=`` settings: ``relu, relu6, hswish, hsigmoid, swish, silu, sigmoid, tanh``."""

GATES = Names(lambda row: row.gate)
"""Valid ``gate=`` settings of a squeeze-excite: ``hsigmoid, sigmoid``."""

for _row in TABLE:
    register(activation_kind(_row))
