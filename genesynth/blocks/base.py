"""The layer-kind extension point: schema, shape rule, analytic cost and torch module.

A layer kind is a small class registered with :func:`register`. The prototype resolver uses
its schema and shape rule, :mod:`genesynth.net.costs` its cost, :mod:`genesynth.net.builder` its
module; all three pass the input shape explicitly. Shapes exclude the batch: ``(C, H, W)`` for maps,
``(F,)`` for vectors. Torch is imported only inside :meth:`LayerKind.build`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from genesynth.limits import MAX_NUMBER, show_number
from genesynth.spec import Value

if TYPE_CHECKING:
    import torch
    from torch import nn

Sizes = dict[str, tuple[int, ...]]
"""Parameter name (as in the built module) -> tensor shape."""

Shape = tuple[int, ...]
Params = Mapping[str, Value]
Default = Value | Callable[[Shape, Params], Value] | None


class LayerProblem(Exception):
    """A layer cannot be set up as asked; callers turn it into a located user error."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class Param:
    """One setting of a layer kind.

    ``default`` is a value, a function of ``(input shape, settings so far)``, or ``None`` when
    the setting is required. ``channels`` marks a channel count (rounded to the prototype's
    divisor when written as a ratio such as ``in * 0.25``). ``choices`` may be a live view of
    the registry (e.g. every registered activation), read when a value is checked.
    """

    name: str
    type: type
    default: Default = None
    choices: Sequence[str] = ()
    minimum: float | None = None
    maximum: float | None = None
    channels: bool = False
    doc: str = ""

    def check(self, value: Value) -> Value:
        """Return ``value`` converted to this type, or raise :class:`LayerProblem`."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        ok = isinstance(value, self.type) and not (
            self.type is not bool and isinstance(value, bool)
        )
        if not ok:
            raise LayerProblem(
                f"'{self.name}' must be {_type_name(self)}, but got {self.name}={value!r}",
                self.name,
            )
        if self.choices and value not in self.choices:
            names = ", ".join(self.choices)
            raise LayerProblem(
                f"'{self.name}' must be one of {names}, but got {self.name}={value}", self.name
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not -MAX_NUMBER <= value <= MAX_NUMBER:
                raise LayerProblem(
                    f"'{self.name}' must be at most {MAX_NUMBER}, but got "
                    f"{self.name}={show_number(value)}", self.name,
                )
            if self.minimum is not None and value < self.minimum:
                raise LayerProblem(
                    f"'{self.name}' must be >= {self.minimum:g}, but got {self.name}={value}",
                    self.name,
                )
            if self.maximum is not None and value > self.maximum:
                raise LayerProblem(
                    f"'{self.name}' must be <= {self.maximum:g}, but got {self.name}={value}",
                    self.name,
                )
        return value


def _type_name(param: Param) -> str:
    if param.choices:
        return "a name"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a name"}[
        param.type
    ]


class LayerKind:
    """Base class of layer kinds. Subclasses set ``name``, ``schema`` and ``doc``.

    Call order: :meth:`complete` (fill defaults, check types), then :meth:`output_shape`,
    :meth:`num_params`, :meth:`macs`, :meth:`build` and :meth:`token` on the completed
    settings. ``canonical`` names the kind stored in architectures (sugar kinds such as
    ``dwconv`` complete to a ``conv``). ``quiet`` kinds do not change what a module computes
    in shape (normalisation, activations, dropout, ...): one-line summaries leave them out.
    """

    name: ClassVar[str]
    schema: ClassVar[tuple[Param, ...]] = ()
    doc: ClassVar[str] = ""
    canonical: ClassVar[str | None] = None
    needs: ClassVar[str] = "any"  # "map" (C, H, W), "vector" (F,) or "any"
    quiet: ClassVar[bool] = False

    @property
    def stored_kind(self) -> str:
        return self.canonical or self.name

    def param(self, name: str) -> Param | None:
        return next((p for p in self.schema if p.name == name), None)

    def complete(self, given: Params, shape: Shape) -> dict[str, Value]:
        """Check ``given`` against the schema and fill in every default."""
        unknown = [k for k in given if self.param(k) is None]
        if unknown:
            raise LayerProblem(f"'{self.name}' has no setting '{unknown[0]}'", unknown[0])
        self.check_input(shape)
        done: dict[str, Value] = {}
        for p in self.schema:
            if p.name in given:
                done[p.name] = p.check(given[p.name])
            elif p.default is None:
                raise LayerProblem(f"'{self.name}' needs the setting '{p.name}'", p.name)
            else:
                value = p.default(shape, done) if callable(p.default) else p.default
                done[p.name] = p.check(value)
        return done

    def check_input(self, shape: Shape) -> None:
        if self.needs == "map" and len(shape) != 3:
            raise LayerProblem(
                f"'{self.name}' needs a feature map, but gets a vector of {shape[0]}"
            )
        if self.needs == "vector" and len(shape) != 1:
            raise LayerProblem(
                f"'{self.name}' needs a vector, but gets a {'x'.join(map(str, shape))} map "
                "(pool with 'gap' or 'flatten' first)"
            )

    def output_shape(self, p: Params, shape: Shape) -> Shape:
        return shape

    def num_params(self, p: Params, shape: Shape) -> int:
        return 0

    def macs(self, p: Params, shape: Shape) -> int:
        return 0

    def build(self, p: Params, shape: Shape) -> nn.Module:
        raise NotImplementedError

    def token(self, p: Params, shape: Shape, out: Shape) -> str:
        """This layer in a one-line module summary (``pw24``, ``dw3x3 s2``, ``fc10``); ``""``
        for a quiet kind, which summaries leave out."""
        return "" if self.quiet else self.name

    # -- weight sharing (the supernet): a setting's weights are a slice of larger ones -------

    def param_sizes(self, p: Params, shape: Shape) -> Sizes:
        """The shapes of the parameters :meth:`build` makes. Kinds with weights state them;
        by default the module is built once per setting and asked."""
        return dict(_built_sizes(self.name, tuple(sorted(p.items())), shape))

    def shared_sizes(self, settings: Sequence[tuple[Params, Shape]]) -> Sizes:
        """The shared tensors one layer slot holds for every setting it may take.

        By default each parameter is as large as the largest setting needs, dimension by
        dimension, and a setting takes the leading part of each (the first k channels).
        """
        merged: Sizes = {}
        for p, shape in settings:
            for name, size in self.param_sizes(p, shape).items():
                old = merged.get(name, size)
                merged[name] = tuple(max(a, b) for a, b in zip(old, size, strict=True))
        return merged

    def take(self, p: Params, shape: Shape, shared: Mapping[str, torch.Tensor]
             ) -> dict[str, torch.Tensor]:
        """This setting's parameters, named as in :meth:`build`, sliced from ``shared``
        (differentiable views, so training a setting trains the shared tensors)."""
        return {name: leading(shared, name, size)
                for name, size in self.param_sizes(p, shape).items()}


@functools.lru_cache(maxsize=4096)
def _built_sizes(kind: str, items: tuple[tuple[str, Value], ...], shape: Shape
                 ) -> tuple[tuple[str, tuple[int, ...]], ...]:
    module = REGISTRY[kind].build(dict(items), shape)
    return tuple((name, tuple(t.shape)) for name, t in module.named_parameters())


def leading(shared: Mapping[str, torch.Tensor], name: str, size: tuple[int, ...]
            ) -> torch.Tensor:
    """The leading ``size`` block of ``shared[name]``; LayerProblem when it is too small."""
    if name not in shared:
        raise LayerProblem(f"the shared weights hold no '{name}'")
    tensor = shared[name]
    if tensor.ndim != len(size) or any(s > t for s, t in zip(size, tensor.shape, strict=True)):
        raise LayerProblem(
            f"'{name}' needs {'x'.join(map(str, size))} but the shared tensor is "
            f"{'x'.join(map(str, tensor.shape))}"
        )
    return tensor[tuple(slice(0, s) for s in size)]


REGISTRY: dict[str, LayerKind] = {}


def register(cls: type[LayerKind]) -> type[LayerKind]:
    """Class decorator: add a layer kind to the registry under ``cls.name``."""
    REGISTRY[cls.name] = cls()
    return cls


def as_int(value: Any) -> int:
    """Settings typed ``int`` in the schema, read back for arithmetic."""
    return int(value)
