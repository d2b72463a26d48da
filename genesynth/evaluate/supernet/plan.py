"""The supernet's layout, decoded from a prototype: one slot of shared tensors per prototype layer.

Every layer of a sampled architecture carries its ``origin`` (where in the prototype it came
from). A *slot* is one origin and one layer kind; every sample that holds that layer takes its
weights from the slot's shared tensors, sliced by the kind's rule (:meth:`LayerKind.take`):
widths and ratios take the first channels, a smaller kernel the centre, a grouped conv the
block diagonal. Options of an alternative, optional layers and slot choices have different
origins, so each option has its own slot; ``skip`` and identity shortcuts have none. A batch
norm that ends a residual body has a slot of its own (key marked ``@end``), apart from the same
prototype layer where it sits inside the body (an optional last layer present, or no
shortcut): the two roles start and learn different scales (docs/supernet.md, *Training once*).

Which sizes a slot must hold is found from samples (:func:`plan`): the largest and smallest
networks of the space (by coordinate search on MACs) and a few hundred random ones.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from genesynth.blocks.base import REGISTRY, LayerProblem, Params, Shape, Sizes
from genesynth.blocks.modules import module_kind, trace_parts
from genesynth.errors import GenesynthError, ShapeError
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec, Value
from genesynth.net.costs import cost
from genesynth.space.choices import Alternatives, ChoiceInfo, Node, Product, space_tree
from genesynth.space.choosers import FirstChooser, FixedChooser, RandomChooser

if TYPE_CHECKING:
    from genesynth.space import Prototype

PLAN_SAMPLES = 256
#: The slot key's mark of a batch norm that ends a residual body: see :func:`named_layers`.
END = "@end"
MAX_SHARED_PARAMS = 200_000_000  # 800 MB of float32: beyond this the space cannot share


class SupernetError(GenesynthError):
    """A prototype whose choices cannot share weights, a foreign checkpoint, or a candidate
    the supernet cannot represent."""


@dataclass(frozen=True)
class NamedLayer:
    """A layer with weights, as :func:`genesynth.build` names it, and its supernet slot."""

    name: str  # prefix of its parameters in the built network, e.g. body.m03.body.4
    key: str  # the slot, e.g. m03.4:conv
    kind: str
    params: Params
    in_shape: Shape


def named_layers(arch: Architecture) -> list[NamedLayer]:
    """The layers of ``arch`` that have parameters, in build order, with their slots."""
    found: list[NamedLayer] = []
    for part in trace_parts(arch):
        module = arch.modules[int(part.name[1:]) - 1] if part.name.startswith("m") else None
        flat = ""
        for traced in part.layers:
            kind = REGISTRY[traced.layer.kind]
            params = kind.complete(traced.layer.as_dict(), traced.in_shape)
            if traced.layer.kind == "flatten" and traced.in_shape[1:] != (1, 1):
                flat = "@" + "x".join(map(str, traced.in_shape[1:]))  # see docs/supernet.md
            if not kind.param_sizes(params, traced.in_shape):
                continue
            name, origin = _where(traced.path, traced.layer, module, part.name)
            role = END if _ends_body(name, traced.layer.kind, module) else ""
            found.append(NamedLayer(name, f"{origin}:{traced.layer.kind}{flat}{role}",
                                    traced.layer.kind, params, traced.in_shape))
    return found


def _ends_body(name: str, kind: str, module: ModuleSpec | None) -> bool:
    """Whether the layer built as ``name`` is the batch norm that ends the body of a residual
    module with a shortcut (``body.m03.body.10``: the last ``bn`` of its branch)."""
    parts = name.split(".")
    if module is None or kind != "bn" or parts[2] != "body" or module.shortcut == "none":
        return False
    return int(parts[3]) == max(i for i, x in enumerate(module.branches[0]) if x.kind == "bn")


def _where(path: str, layer: LayerSpec, module: ModuleSpec | None, part: str
           ) -> tuple[str, str]:
    """(built module name, origin) of a traced layer path such as ``m03.b0.2``."""
    pieces = path.split(".")
    if module is None:  # stem.i, head.i
        return path, _origin(layer, path)
    where, index = pieces[1], int(pieces[2])
    if where == "shortcut":
        if not module.origin:
            raise _no_origin(path)
        return f"body.{part}.shortcut.{index}", f"{module.origin}.shortcut.{index}"
    child = module_kind(module).child(module, where, index)  # as the builder names it
    return f"body.{part}.{child}", _origin(layer, path)


def _origin(layer: LayerSpec, path: str) -> str:
    if not layer.origin:
        raise _no_origin(path)
    return layer.origin


def _no_origin(path: str) -> SupernetError:
    return SupernetError(
        f"layer {path} does not say where in the prototype it came from (an architecture read "
        "from JSON); the supernet scores architectures sampled from its prototype")


@dataclass(frozen=True)
class Slot:
    """One layer slot: its kind, the shapes of its shared tensors, and the fan-in a typical
    setting of each weight has (the median over the plan's samples; it sets the initial
    scale, see :class:`genesynth.evaluate.supernet.weights.Supernet`)."""

    key: str
    kind: str
    sizes: Sizes
    fan_in: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """Every slot of the supernet and the shapes of its shared tensors."""

    slots: tuple[Slot, ...]

    def tensor_sizes(self) -> dict[str, tuple[int, ...]]:
        """Flat names (``<slot>/<param>``) of every shared tensor and its shape."""
        return {f"{s.key}/{name}": size for s in self.slots for name, size in s.sizes.items()}

    def tensor_fan_in(self) -> dict[str, int]:
        """The typical fan-in of every shared weight (tensors of two or more dimensions)."""
        return {f"{s.key}/{name}": fan for s in self.slots for name, fan in s.fan_in.items()}

    @property
    def num_params(self) -> int:
        total = 0
        for size in self.tensor_sizes().values():
            count = 1
            for dim in size:
                count *= dim
            total += count
        return total

    def digest(self) -> str:
        text = json.dumps(self.tensor_sizes(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan(archs: Iterable[Architecture], limit: int = MAX_SHARED_PARAMS) -> Plan:
    """The slots that cover every layer of ``archs``; SupernetError when they cannot share."""
    settings: dict[str, list[tuple[Params, Shape]]] = {}
    kinds: dict[str, str] = {}
    for arch in archs:
        for layer in named_layers(arch):
            for key in _roles(layer):
                settings.setdefault(key, []).append((layer.params, layer.in_shape))
                kinds[key] = layer.kind
    slots = []
    for key, seen in settings.items():
        try:
            sizes = REGISTRY[kinds[key]].shared_sizes(_distinct(seen))
        except LayerProblem as problem:
            raise SupernetError(
                f"the layer at {key.split(':')[0]} ({kinds[key]}) cannot share weights between "
                f"its settings: {problem.message}") from None
        slots.append(Slot(key, kinds[key], sizes, typical_fan_in(kinds[key], seen)))
    result = Plan(tuple(slots))
    if result.num_params > limit:
        biggest = max(slots, key=lambda s: max(_count(v) for v in s.sizes.values()))
        largest = max((_count(v), v) for v in biggest.sizes.values())[1]
        shape = "x".join(map(str, largest))
        raise SupernetError(
            f"the supernet of this prototype would hold {result.num_params:,} parameters (at "
            f"most {limit:,}); the largest shared tensor is the {biggest.kind} at "
            f"{biggest.key.split(':')[0]} ({shape}): narrow its choices")
    return result


def _roles(layer: NamedLayer) -> tuple[str, ...]:
    """The slots a layer's settings size: a batch norm of a module's body sizes both its
    roles, inside the body and ending it (a sample with an optional last layer absent, or
    another shortcut choice, may hold it in the other: see :data:`END`)."""
    parts = layer.name.split(".")
    if layer.kind != "bn" or parts[0] != "body" or parts[2] != "body":
        return (layer.key,)
    base = layer.key.removesuffix(END)
    return (base, base + END)


def typical_fan_in(kind: str, seen: Sequence[tuple[Params, Shape]]) -> dict[str, int]:
    """The median fan-in of each weight of a slot over the settings ``seen`` (one per sample).

    A candidate's layer takes a slice of the shared tensor: its own fan-in (input channels /
    groups x kernel area) is often a tenth of the whole tensor's. Initialised for its full
    size, the shared tensor starts a typical candidate's kernels up to 4x smaller than its own
    initialisation would (attonet16), and AdamW's steps (about ``lr`` per element whatever the
    scale) then move them relatively that much further.
    """
    sizes_of: dict[str, Sizes] = {}
    fans: dict[str, list[int]] = {}
    for params, shape in seen:
        token = json.dumps([sorted(params.items()), shape])
        if token not in sizes_of:
            sizes_of[token] = REGISTRY[kind].param_sizes(params, shape)
        for name, size in sizes_of[token].items():
            if len(size) > 1:
                fans.setdefault(name, []).append(math.prod(size[1:]))
    return {name: statistics.median_low(values) for name, values in sorted(fans.items())}


def _distinct(seen: Sequence[tuple[Params, Shape]]) -> list[tuple[Params, Shape]]:
    unique: dict[str, tuple[Params, Shape]] = {}
    for params, shape in seen:
        unique.setdefault(json.dumps([sorted(params.items()), shape]), (params, shape))
    return list(unique.values())


def _count(size: Sequence[int]) -> int:
    total = 1
    for dim in size:
        total *= dim
    return total


# -- the samples the plan is made from --------------------------------------------------------


def plan_samples(proto: Prototype, count: int = PLAN_SAMPLES, seed: int = 0) -> list[Architecture]:
    """The largest and smallest networks of ``proto`` (first), the widest and narrowest
    values with each option of each alternative, and ``count`` random valid samples."""
    found = [extreme(proto, largest=True), extreme(proto, largest=False)]
    found += coverage_samples(proto)
    for index in range(count * 4):
        if len(found) >= count + 2:
            break
        try:
            found.append(proto.sample(chooser=RandomChooser(seed * 100_003 + index)))
        except ShapeError:
            continue
    return found


def coverage_samples(proto: Prototype) -> list[Architecture]:
    """For every option of every alternative (and of every non-numeric choice), the sample
    with all numeric choices at their highest, and the one with all at their lowest: in a
    space where widths grow with the numbers, these hold every slot's largest setting."""
    optional = _alternative_like(proto)
    names = {info.name for info in optional}
    picks: list[dict[str, Value]] = [{}]
    picks += [{info.name: option} for info in optional for option in info.options[1:]]
    found = []
    for pick in picks:
        for high in (True, False):
            try:
                found.append(proto.sample(chooser=_Bound(pick, high, names)))
            except ShapeError:
                continue
    return found


def _alternative_like(proto: Prototype) -> list[ChoiceInfo]:
    def numeric(value: Value) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    alternatives: set[str] = set()

    def visit(node: Node) -> None:
        if isinstance(node, Alternatives):
            alternatives.add(node.info.name)
        children = node.parts if isinstance(node, Product) else (
            node.options if isinstance(node, Alternatives) else ())
        for child in children:
            visit(child)

    visit(space_tree(proto.model))
    return [info for info in proto.choices() if info.kind == "categorical" and (
        info.name in alternatives or not all(numeric(o) for o in info.options))]


class _Bound(FirstChooser):
    """Numeric choices at their highest (or lowest); the others as ``pick`` says or first."""

    def __init__(self, pick: dict[str, Value], high: bool, alternatives: set[str]) -> None:
        self.pick = pick
        self.high = high
        self.alternatives = alternatives

    def categorical(self, name: str, options: Sequence[Value]) -> Value:
        if name in self.alternatives:
            return self.pick.get(name, options[0])
        numbers = [o for o in options if isinstance(o, int | float) and not isinstance(o, bool)]
        return (max(numbers) if self.high else min(numbers)) if numbers else options[0]

    def integer(self, name: str, low: int, high: int, step: int) -> int:
        return low + (high - low) // step * step if self.high else low


class RecordedChooser(FirstChooser):
    """The recorded values where present, the first option elsewhere."""

    def __init__(self, values: dict[str, Value]) -> None:
        self.values = values

    def categorical(self, name: str, options: Sequence[Value]) -> Value:
        value = self.values.get(name)
        return value if value is not None and value in options else options[0]

    def integer(self, name: str, low: int, high: int, step: int) -> int:
        value = self.values.get(name)
        return int(value) if isinstance(value, int) else low


def extreme(proto: Prototype, largest: bool, rounds: int = 2,
            start: Mapping[str, Value] | None = None,
            admits: Callable[[Architecture], bool] | None = None) -> Architecture:
    """The network with the most (or fewest) MACs, then parameters, by coordinate search from
    ``start`` (the choices of a network; by default every first option), moving only to
    networks ``admits`` keeps (e.g. inside a constraint's bounds)."""
    return proto.sample(chooser=FixedChooser(extreme_choices(proto, largest, rounds, start,
                                                             admits)))


def extreme_choices(proto: Prototype, largest: bool, rounds: int = 2,
                    start: Mapping[str, Value] | None = None,
                    admits: Callable[[Architecture], bool] | None = None) -> dict[str, Value]:
    """The choices of :func:`extreme`'s network."""
    sign = 1 if largest else -1
    chooser = FirstChooser() if start is None else FixedChooser(start)
    first, values = proto.sample_with_choices(chooser=chooser)
    best = _score(first, sign)
    for _ in range(rounds):
        improved = False
        for info in proto.choices():
            options = info.options or tuple(range(info.low, info.high + 1, info.step))
            for option in options:
                trial = {**values, info.name: option}
                try:
                    candidate, chosen = proto.sample_with_choices(chooser=RecordedChooser(trial))
                except ShapeError:
                    continue
                score = _score(candidate, sign)
                if score > best and (admits is None or admits(candidate)):
                    values, best, improved = chosen, score, True
        if not improved:
            break
    return values


def _score(arch: Architecture, sign: int) -> tuple[int, int]:
    c = cost(arch)
    return sign * c.macs, sign * c.params


def prototype_hash(proto: Prototype) -> str:
    """sha256 of the prototype's text without comments and spacing, with its shape."""
    text = re.sub(r"#[^\n]*", "", proto.text)
    canonical = " ".join(text.split())
    shape = "x".join(map(str, proto.input_shape))
    payload = f"{canonical}|{shape}|{proto.classes}"
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
