"""One sample of a prototype: walk the checked model, make every choice, settle every shape.

The :class:`Instantiator` asks its chooser once per choice name (and caches the answer, so tied
choices and repeated names agree), completes each layer against the shape that reaches it
and raises :class:`~genesynth.errors.ShapeError` at the offending layer or setting when the
shapes do not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

from genesynth.blocks import REGISTRY
from genesynth.blocks.base import LayerProblem, Param, Shape
from genesynth.blocks.modules import skip_module
from genesynth.dsl import syntax as s
from genesynth.dsl.kinds import MODULE_KINDS, Expansion, layer_node
from genesynth.dsl.resolve import Model, SlotEntry, literal_value
from genesynth.errors import PrototypeError, ShapeError, Span
from genesynth.limits import MAX_VALUE
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec, Value
from genesynth.space.choosers import Chooser, FirstChooser


@lru_cache(maxsize=65536)
def settle(kind: str, given: tuple[tuple[str, Value], ...], shape: Shape
           ) -> tuple[tuple[tuple[str, Value], ...], Shape]:
    """A layer's completed settings (sorted) and output shape: the same few settings recur in
    every sample of a prototype, so each is completed once. Raises LayerProblem."""
    layer_kind = REGISTRY[kind]
    done = layer_kind.complete(dict(given), shape)
    return tuple(sorted(done.items())), layer_kind.output_shape(done, shape)


def make_divisible(value: float, divisor: int) -> int:
    """Round a channel count to a multiple of ``divisor`` (MobileNet's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def item_path(path: str, group: s.Group, option: int, index: int) -> str:
    """The path of item ``index`` of ``option`` of the group at ``path``."""
    filled = [o for o in group.options if o]
    if len(filled) <= 1:
        only = group.options[option]
        single = len(only) == 1 and isinstance(only[0], s.Layer)
        return path if single else f"{path}.{index}"
    return f"{path}.{option}.{index}"


def option_prefix(slot: s.SlotChoice, prefix: str, option: int) -> str:
    """The name prefix of a slot choice's option: the slot's, or ``m03.o1`` when several."""
    filled = [o for o in slot.options if not isinstance(o, s.Skip)]
    return prefix if len(filled) <= 1 else f"{prefix}.o{option}"


@dataclass
class Scope:
    params: dict[str, Value] = field(default_factory=dict)
    in_channels: int = 0


class Instantiator:
    """Makes one :class:`Architecture` from a model with a chooser."""

    def __init__(self, model: Model, chooser: Chooser) -> None:
        self.model = model
        self.chooser = chooser
        self.values: dict[str, Value] = {}
        self.scope = Scope()

    # -- choices ----------------------------------------------------------------------------

    def pick(self, name: str, options: tuple[Value, ...]) -> Value:
        if name not in self.values:
            self.values[name] = self.chooser.categorical(name, list(options))
        return self.values[name]

    def pick_int(self, name: str, low: int, high: int, step: int) -> int:
        if name not in self.values:
            self.values[name] = self.chooser.integer(name, low, high, step)
        return int(self.values[name])

    def option(self, name: str, count: int) -> int:
        return int(self.pick(name, tuple(range(count))))

    # -- errors -----------------------------------------------------------------------------

    def shape_error(self, message: str, span: Span) -> ShapeError:
        return ShapeError(message, span, self.model.file.text)

    # -- the network ------------------------------------------------------------------------

    def architecture(self) -> Architecture:
        m = self.model
        shape: Shape = m.input_shape
        self.scope = Scope(in_channels=shape[0])
        stem, shape = self.run(m.network.stem, shape, "stem")
        modules = []
        for entry in m.slots:
            module, shape = self.slot(entry, shape)
            modules.append(module)
        self.scope = Scope(in_channels=shape[0])
        head, shape = self.run(m.network.head, shape, "head")
        if shape != (m.classes,):
            raise self.shape_error(
                f"the head must end in {m.classes} class scores, but gives "
                f"{'x'.join(map(str, shape))}", m.network.head_span)
        return Architecture(m.network.name, m.input_shape, m.classes, stem, tuple(modules), head)

    def slot(self, entry: SlotEntry, shape: Shape) -> tuple[ModuleSpec, Shape]:
        slot, prefix = entry.slot, entry.prefix
        if isinstance(slot, s.SlotChoice):
            if slot.optional and self.option(prefix, 2) == 1:  # left out: the shape passes
                return skip_module(), shape
            k = self.option(slot.tie or prefix, len(slot.options))
            chosen = slot.options[k]
            if isinstance(chosen, s.Skip):
                first = next((o for o in slot.options if not isinstance(o, s.Skip)), chosen)
                return self.skipped(first, shape, prefix)
            return self.module(chosen, shape, option_prefix(slot, prefix, k))
        if isinstance(slot, s.Skip):
            return skip_module(), shape
        return self.module(slot, shape, prefix)

    def skipped(self, first: s.Call | s.Skip | s.ModuleDef, shape: Shape, prefix: str
                ) -> tuple[ModuleSpec, Shape]:
        """A skipped slot; a pwconv + bn projection when its first option changes the shape."""
        chooser, values = self.chooser, self.values
        self.chooser, self.values = FirstChooser(), {}
        try:
            args = self.arguments(first, shape, prefix) if not isinstance(first, s.Skip) else {}
        finally:
            self.chooser, self.values = chooser, values
        out, stride = args.get("out", shape[0]), args.get("stride", 1)
        if len(shape) != 3 or (out == shape[0] and stride == 1):
            return skip_module(), shape
        at = first.span
        layers = (layer_node("pwconv", at, out=out, stride=stride), layer_node("bn", at))
        self.scope = Scope(in_channels=shape[0])
        body, shape = self.run(layers, shape, f"{prefix}.skip")
        return skip_module(body, origin=prefix), shape

    def arguments(self, slot: s.Call | s.ModuleDef, shape: Shape, prefix: str
                  ) -> dict[str, Value]:
        """The template parameters (a call) or the kind arguments (an inline module)."""
        if isinstance(slot, s.ModuleDef):
            self.scope = Scope(in_channels=shape[0])
            return {a.name: self.value(a.value, f"{prefix}.{a.name}")[0] for a in slot.kind_args}
        template = self.model.templates[slot.template]
        given = {a.name: a.value for a in slot.args}
        params: dict[str, Value] = {}
        for param in template.params:
            if param.name in given:
                self.scope = Scope(in_channels=shape[0])
                expr = given[param.name]
            else:
                self.scope = Scope(dict(params), shape[0])
                expr = param.default  # type: ignore[assignment]  # the resolver checked it
            params[param.name] = self.value(expr, f"{prefix}.{param.name}")[0]
        return params

    def module(self, slot: s.Call | s.ModuleDef, shape: Shape, prefix: str
               ) -> tuple[ModuleSpec, Shape]:
        mdef = slot if isinstance(slot, s.ModuleDef) else self.model.templates[slot.template]
        params = self.arguments(slot, shape, prefix) if isinstance(slot, s.Call) else {}
        self.scope = Scope(params, shape[0])
        kind = MODULE_KINDS[mdef.kind]
        args: dict[str, Value] = {a.name: a.default for a in kind.args if a.default is not None}
        for arg in mdef.kind_args:
            value, computed = self.value(arg.value, f"{prefix}.{arg.name}")
            spec = next(a for a in kind.args if a.name == arg.name)
            if spec.problem(value):
                raise self.shape_error(spec.problem(value), arg.span)
            args[arg.name] = self.convert(value, computed, spec.type, arg.name == "out", arg.span)
        made, out = kind.expand(Expansion(mdef.name, mdef, args, shape, prefix), self)
        return replace(made, origin=prefix), out

    # -- layers -----------------------------------------------------------------------------

    def run(self, elements: tuple[s.Element, ...], shape: Shape, path: str
            ) -> tuple[tuple[LayerSpec, ...], Shape]:
        """Choose among the elements, then complete each layer from ``shape`` on."""
        picked = list(self.flatten(elements, path))
        specs: list[LayerSpec] = []
        for i, (layer, lpath) in enumerate(picked):
            kind = REGISTRY[layer.kind]
            given: dict[str, Value] = {}
            spans: dict[str, Span] = {}
            for arg in layer.args:
                param = kind.param(arg.name)
                value, computed = self.value(arg.value, f"{lpath}.{arg.name}")
                given[arg.name] = self.setting(value, computed, param, arg.span)
                spans[arg.name] = arg.span
            following = picked[i + 1][0].kind if i + 1 < len(picked) else ""
            if kind.param("bias") and "bias" not in given and following == "bn":
                given["bias"] = False
            try:
                done, out = settle(layer.kind, tuple(given.items()), shape)
            except LayerProblem as problem:
                span = spans.get(problem.param or "", layer.span)
                raise self.shape_error(problem.message, span) from None
            specs.append(LayerSpec(kind.stored_kind, done, lpath))
            shape = out
        return tuple(specs), shape

    def flatten(self, elements: tuple[s.Element, ...], path: str
                ) -> list[tuple[s.Layer, str]]:
        picked: list[tuple[s.Layer, str]] = []
        for i, element in enumerate(elements):
            here = f"{path}.{i}"
            if isinstance(element, s.Layer):
                picked.append((element, here))
                continue
            k = self.option(element.tie or here, len(element.options))
            for j, item in enumerate(element.options[k]):
                picked += self.flatten((item,), item_path(here, element, k, j))[:]
        return picked

    def setting(self, value: Value, computed: bool, param: Param | None, span: Span) -> Value:
        if param is None:  # pragma: no cover - the resolver checked every setting
            return value
        return self.convert(value, computed, param.type, param.channels, span)

    def convert(self, value: Value, computed: bool, kind: type, channels: bool, span: Span
                ) -> Value:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if kind is not int or not numeric:
            return value
        if channels and (computed or isinstance(value, float)):
            return make_divisible(float(value), self.model.divisor)
        if isinstance(value, float):
            if not value.is_integer():
                raise self.shape_error(f"this must come out whole, but gives {value:g}", span)
            return int(value)
        return value

    # -- expressions ------------------------------------------------------------------------

    def value(self, expr: s.Expr, name: str) -> tuple[Value, bool]:
        """Evaluate ``expr``; its domains are named ``name``, ``name.1``, ... (or their tie)."""
        count = [0]

        def next_name(tie: str | None) -> str:
            k, count[0] = count[0], count[0] + 1
            return tie or (name if k == 0 else f"{name}.{k}")

        def ev(e: s.Expr) -> Value:
            if isinstance(e, s.Number):
                return e.value
            if isinstance(e, s.Word):
                return self.word(e)
            if isinstance(e, s.Values):
                return self.pick(next_name(e.tie), tuple(literal_value(o) for o in e.options))
            if isinstance(e, s.Range):
                return self.pick_int(next_name(e.tie), e.low, e.high, e.step)
            if isinstance(e, s.Neg):
                return -self.number(ev(e.operand), e.span)
            return self.arith(e.op, ev(e.left), ev(e.right), e.span)

        return ev(expr), isinstance(expr, s.BinOp | s.Neg)

    def word(self, word: s.Word) -> Value:
        if word.name in self.scope.params:
            return self.scope.params[word.name]
        if word.name == "in":
            return self.scope.in_channels
        if word.name == "classes":
            return self.model.classes
        return {"true": True, "false": False}.get(word.name, word.name)

    def number(self, value: Value, span: Span) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PrototypeError(f"arithmetic needs numbers, but got {value!r}", span,
                                 self.model.file.text)
        return value

    def arith(self, op: str, left: Value, right: Value, span: Span) -> Value:
        a, b = self.number(left, span), self.number(right, span)
        if op == "/" and b == 0:
            raise self.shape_error("division by zero", span)
        result = a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a / b
        if not -MAX_VALUE <= result <= MAX_VALUE:
            raise self.shape_error(f"this comes out too large ({result:.3g}); a setting is at "
                                   f"most {MAX_VALUE:.0e}", span)
        return result
