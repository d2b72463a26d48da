"""Static checks of a parsed prototype, at load time: syntax tree -> :class:`Model`.

Everything that can be wrong without knowing shapes is reported here, located in the file:
unknown layer kinds, settings, templates and names (with a did-you-mean), missing or unknown
template arguments, duplicate templates, empty choices, bad ranges, tied choices whose domains
differ, bodies that do not fit the module kind, misplaced softmax, bad network settings.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from genesynth.blocks import REGISTRY
from genesynth.blocks.base import LayerProblem
from genesynth.dsl import syntax as s
from genesynth.dsl.kinds import MODULE_KINDS, KindArg
from genesynth.errors import GenesynthError, PrototypeError, Span, did_you_mean
from genesynth.limits import MAX_MODULES, MAX_NUMBER


@dataclass(frozen=True)
class SlotEntry:
    """One module position after repeats are expanded: its name (``m03``) and slot."""

    prefix: str
    slot: s.Call | s.Skip | s.SlotChoice | s.ModuleDef


@dataclass(frozen=True)
class Model:
    """A checked prototype: the network, its templates and settled network settings."""

    file: s.File
    network: s.Network
    templates: Mapping[str, s.ModuleDef]
    input_shape: tuple[int, int, int]
    classes: int
    divisor: int
    slots: tuple[SlotEntry, ...]


NETWORK_WORDS = ("in", "classes")


def resolve(
    file: s.File,
    input_shape: tuple[int, int, int] | None = None,
    classes: int | None = None,
) -> Model:
    """Check ``file`` and return its model; raises PrototypeError at the first mistake."""
    checker = _Checker(file)
    network = checker.network()
    templates = checker.templates()
    shape = _given_shape(input_shape) if input_shape is not None else (
        checker.input_shape(network))
    n_classes = _given_classes(classes) if classes is not None else checker.classes(network)
    divisor = network.divisor.value[0] if network.divisor else 1
    if network.divisor and divisor < 1:
        raise checker.fail(f"'divisor' must be >= 1, but got divisor={divisor}",
                           network.divisor.span)
    checker.elements(network.stem, NETWORK_WORDS, "stem")
    checker.elements(network.head, NETWORK_WORDS, "head")
    checker.softmax(network)
    slots = tuple(checker.slots(network.slots, templates))
    return Model(file, network, templates, shape, n_classes, divisor, slots)


def retarget(
    model: Model,
    input_shape: tuple[int, int, int] | None = None,
    classes: int | None = None,
) -> Model:
    """``model`` at another input shape or class count, without checking the file again:
    nothing :func:`resolve` checks depends on them (shapes are settled when sampling)."""
    shape = _given_shape(input_shape) if input_shape is not None else model.input_shape
    n_classes = _given_classes(classes) if classes is not None else model.classes
    return replace(model, input_shape=shape, classes=n_classes)


def _whole(value: object) -> int | None:
    """``value`` as an int when it is a whole number from 1 to MAX_NUMBER (numpy's too)."""
    if isinstance(value, bool):
        return None
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None
    return number if 1 <= number <= MAX_NUMBER else None


def _given_shape(shape: object) -> tuple[int, int, int]:
    """An input shape passed through the API: three whole numbers from 1 to MAX_NUMBER."""
    items = tuple(_whole(v) for v in shape) if isinstance(shape, tuple | list) else ()
    if len(items) != 3 or None in items:
        raise GenesynthError(f"`input_shape` must be three whole numbers (C, H, W) from 1 to "
                             f"{MAX_NUMBER}, but got input_shape={_short(shape)}")
    c, h, w = items
    return c, h, w  # type: ignore[return-value]


def _given_classes(classes: object) -> int:
    number = _whole(classes)
    if number is None:
        raise GenesynthError(f"`classes` must be a whole number from 1 to {MAX_NUMBER}, but "
                             f"got classes={_short(classes)}")
    return number


def _short(value: object) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a long integer"
    return text if len(text) <= 60 else text[:57] + "..."


class _Checker:
    def __init__(self, file: s.File) -> None:
        self.file = file
        self.tie_domains: dict[str, tuple[object, Span]] = {}

    def fail(self, message: str, span: Span) -> PrototypeError:
        return PrototypeError(message, span, self.file.text)

    # -- network ----------------------------------------------------------------------------

    def network(self) -> s.Network:
        if not self.file.networks:
            raise self.fail("the file has no 'network' block", Span(self.file.path, 1, 1))
        if len(self.file.networks) > 1:
            raise self.fail("a file holds exactly one 'network' block", self.file.networks[1].span)
        return self.file.networks[0]

    def input_shape(self, network: s.Network) -> tuple[int, int, int]:
        if network.input is None:
            raise self.fail("the network needs 'input CxHxW'", network.span)
        c, h, w = network.input.value
        if min(c, h, w) < 1:
            raise self.fail(f"'input' must be positive, but got input={c}x{h}x{w}",
                            network.input.span)
        return c, h, w

    def classes(self, network: s.Network) -> int:
        if network.classes is None:
            raise self.fail("the network needs 'classes N'", network.span)
        if network.classes.value[0] < 1:
            raise self.fail(f"'classes' must be >= 1, but got classes={network.classes.value[0]}",
                            network.classes.span)
        return network.classes.value[0]

    def softmax(self, network: s.Network) -> None:
        for path, layer in _all_layers(self.file):
            last = path == "head" and layer is (network.head[-1] if network.head else None)
            if layer.kind == "softmax" and not last:
                raise self.fail("'softmax' must be the last layer of the head", layer.span)

    # -- templates --------------------------------------------------------------------------

    def templates(self) -> dict[str, s.ModuleDef]:
        found: dict[str, s.ModuleDef] = {}
        for template in self.file.templates:
            if template.name in found:
                first = found[template.name].span
                raise self.fail(f"template '{template.name}' is defined twice (first at line "
                                f"{first.line})", template.span)
            found[template.name] = template
            self.module(template)
        return found

    def module(self, module: s.ModuleDef) -> None:
        words = ["in", "classes"]
        for param in module.params:
            if param.name in words:
                raise self.fail(f"parameter '{param.name}' is given twice or shadows a name",
                                param.span)
            if param.default is not None:
                self.expr(param.default, tuple(words))
            words.append(param.name)
        refs = tuple(words)
        kind = MODULE_KINDS.get(module.kind)
        if kind is None:
            raise self.fail(f"unknown module kind '{module.kind}'"
                            + did_you_mean(module.kind, MODULE_KINDS), module.kind_span)
        self.arguments(module.kind_args, {a.name: a for a in kind.args}, refs,
                       f"module kind '{kind.name}'", module.kind_span, kind=True)
        self.body(module, kind.body, refs)
        self.elements(module.post, refs, "then")

    def body(self, module: s.ModuleDef, form: str, refs: tuple[str, ...]) -> None:
        if form == "none" and (module.body or module.branches):
            raise self.fail(f"a '{module.kind}' module has no body; write '{{ }}'", module.span)
        if form == "branches" and len(module.branches) != 2:
            raise self.fail(f"a split module needs exactly two 'branch {{ }}' blocks, but got "
                            f"{len(module.branches)}", module.span)
        if form != "branches" and module.branches:
            raise self.fail(f"only a split module has 'branch' blocks, not '{module.kind}'",
                            module.span)
        for elements in (module.body, *module.branches):
            self.elements(elements, refs, "body")

    def arguments(self, args: tuple[s.Arg, ...], wanted: Mapping[str, KindArg | s.Param],
                  refs: tuple[str, ...], what: str, span: Span, kind: bool = False) -> None:
        seen: set[str] = set()
        for arg in args:
            if arg.name in seen:
                raise self.fail(f"argument '{arg.name}' is given twice", arg.span)
            seen.add(arg.name)
            spec = wanted.get(arg.name)
            if spec is None:
                raise self.fail(f"{what} has no argument '{arg.name}'"
                                + did_you_mean(arg.name, wanted), arg.span)
            self.expr(arg.value, refs)
            if isinstance(spec, KindArg):
                self.kind_value(spec, arg.value, refs)
        for name, spec in wanted.items():
            if spec.default is None and name not in seen:
                raise self.fail(f"{what} needs the argument '{name}'", span)

    def kind_value(self, spec: KindArg, value: s.Expr, refs: tuple[str, ...]) -> None:
        for literal, span in _literal_values(value, refs):
            problem = spec.problem(literal)
            if problem:
                raise self.fail(problem, span)

    # -- slots ------------------------------------------------------------------------------

    def slots(self, slots: tuple[s.Slot, ...], templates: Mapping[str, s.ModuleDef]
              ) -> Iterator[SlotEntry]:
        index = 0
        for slot in slots:
            count = 1
            if isinstance(slot, s.Repeat):
                if slot.count < 1:
                    raise self.fail(f"a slot repeats at least once, but got * {slot.count}",
                                    slot.span)
                count, slot = slot.count, slot.slot
            if index + count > MAX_MODULES:
                raise self.fail(f"a network has at most {MAX_MODULES} module slots, but this "
                                f"one reaches {index + count}", slot.span)
            self.slot(slot, templates)
            for _ in range(count):
                index += 1
                yield SlotEntry(f"m{index:02d}", slot)

    def slot(self, slot: s.Slot, templates: Mapping[str, s.ModuleDef]) -> None:
        if isinstance(slot, s.SlotChoice):
            if slot.tie:
                self.tie(slot.tie, ("slots", len(slot.options)), slot.span)
            for option in slot.options:
                self.slot(option, templates)
        elif isinstance(slot, s.ModuleDef):
            self.module(slot)
        elif isinstance(slot, s.Call):
            template = templates.get(slot.template)
            if template is None:
                raise self.fail(f"unknown template '{slot.template}'"
                                + did_you_mean(slot.template, templates), slot.span)
            params = {p.name: p for p in template.params}
            self.arguments(slot.args, params, NETWORK_WORDS, f"template '{template.name}'",
                           slot.span)

    # -- layers and expressions -------------------------------------------------------------

    def elements(self, elements: tuple[s.Element, ...], refs: tuple[str, ...], where: str
                 ) -> None:
        for element in elements:
            if isinstance(element, s.Group):
                if element.tie:
                    self.tie(element.tie, ("group", len(element.options)), element.span)
                for option in element.options:
                    self.elements(option, refs, where)
            else:
                self.layer(element, refs)

    def layer(self, layer: s.Layer, refs: tuple[str, ...]) -> None:
        kind = REGISTRY.get(layer.kind)
        if kind is None:
            raise self.fail(f"unknown layer kind '{layer.kind}'"
                            + did_you_mean(layer.kind, REGISTRY), layer.span)
        seen: set[str] = set()
        for arg in layer.args:
            param = kind.param(arg.name)
            if param is None:
                names = [p.name for p in kind.schema]
                raise self.fail(f"'{layer.kind}' has no setting '{arg.name}'"
                                + did_you_mean(arg.name, names), arg.span)
            if arg.name in seen:
                raise self.fail(f"setting '{arg.name}' is given twice", arg.span)
            seen.add(arg.name)
            self.expr(arg.value, refs)
            for literal in _literal_values(arg.value, refs):
                try:
                    param.check(literal[0])
                except LayerProblem as problem:
                    word = isinstance(literal[0], str)
                    hint = did_you_mean(str(literal[0]), refs) if word else ""
                    raise self.fail(problem.message + hint, literal[1]) from None

    def expr(self, expr: s.Expr, refs: tuple[str, ...], arithmetic: bool = False) -> None:
        if isinstance(expr, s.Word) and arithmetic and expr.name not in refs:
            raise self.fail(f"unknown name '{expr.name}' in an expression"
                            + did_you_mean(expr.name, refs), expr.span)
        if isinstance(expr, s.BinOp):
            self.expr(expr.left, refs, True)
            self.expr(expr.right, refs, True)
        elif isinstance(expr, s.Neg):
            self.expr(expr.operand, refs, True)
        elif isinstance(expr, s.Values):
            self.values(expr, refs)
        elif isinstance(expr, s.Range):
            if expr.low > expr.high:
                raise self.fail(f"a range needs low <= high, but got {expr.low}..{expr.high}",
                                expr.span)
            if expr.step < 1:
                raise self.fail(f"a range needs step >= 1, but got step {expr.step}", expr.span)
            if expr.tie:
                self.tie(expr.tie, ("range", expr.low, expr.high, expr.step), expr.span)

    def values(self, expr: s.Values, refs: tuple[str, ...]) -> None:
        if not expr.options:
            raise self.fail("a choice needs at least one value", expr.span)
        for option in expr.options:
            if not _is_literal(option):
                raise self.fail("a choice lists plain values (numbers or names)",
                                option.span)
        if expr.tie:
            self.tie(expr.tie, ("values", tuple(literal_value(o) for o in expr.options)),
                     expr.span)

    def tie(self, name: str, domain: object, span: Span) -> None:
        first = self.tie_domains.setdefault(name, (domain, span))
        if first[0] != domain:
            raise self.fail(f"tied choice '{name}' has a different domain here than at line "
                            f"{first[1].line}", span)


def _is_literal(expr: s.Expr) -> bool:
    return isinstance(expr, s.Number | s.Word) or (
        isinstance(expr, s.Neg) and isinstance(expr.operand, s.Number)
    )


def literal_value(expr: s.Expr) -> int | float | bool | str:
    """The value of a literal option: a number, true/false or a name."""
    if isinstance(expr, s.Number):
        return expr.value
    if isinstance(expr, s.Neg) and isinstance(expr.operand, s.Number):
        return -expr.operand.value
    if isinstance(expr, s.Word):
        return {"true": True, "false": False}.get(expr.name, expr.name)
    raise TypeError(expr)  # pragma: no cover - the checker allows only literals


def _literal_values(expr: s.Expr, refs: tuple[str, ...]
                    ) -> Iterator[tuple[int | float | bool | str, Span]]:
    """Plain values a setting may take, when they are written out (not refs or arithmetic)."""
    if isinstance(expr, s.Values):
        for option in expr.options:
            yield literal_value(option), option.span
    elif isinstance(expr, s.Range):
        yield expr.low, expr.span
    elif _is_literal(expr) and not (isinstance(expr, s.Word) and expr.name in refs):
        yield literal_value(expr), expr.span


def _all_layers(file: s.File) -> Iterator[tuple[str, s.Layer]]:
    def walk(elements: tuple[s.Element, ...], where: str) -> Iterator[tuple[str, s.Layer]]:
        for element in elements:
            if isinstance(element, s.Group):
                for option in element.options:
                    yield from walk(option, where)
            else:
                yield where, element

    def module(m: s.ModuleDef) -> Iterator[tuple[str, s.Layer]]:
        for elements in (m.body, *m.branches, m.post):
            yield from walk(elements, "module")

    for network in file.networks:
        yield from walk(network.stem, "stem")
        yield from walk(network.head, "head")
        for slot in network.slots:
            inner = slot.slot if isinstance(slot, s.Repeat) else slot
            options = inner.options if isinstance(inner, s.SlotChoice) else (inner,)
            for option in options:
                if isinstance(option, s.ModuleDef):
                    yield from module(option)
    for template in file.templates:
        yield from module(template)
