"""The static shape of a search space: which choices exist, how they nest, how many.

A tree of :class:`Domain` (a value choice), :class:`Alternatives` (pick one option; only the
chosen option's choices matter) and :class:`Product` (independent parts). Names follow the
instantiator (:mod:`genesynth.space.instantiate`), so the listing matches what samples record.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from genesynth.dsl import syntax as s
from genesynth.dsl.resolve import Model, literal_value
from genesynth.errors import PrototypeError, Span
from genesynth.space.instantiate import item_path, option_prefix


@dataclass(frozen=True)
class ChoiceInfo:
    """One choice: ``categorical`` (``options``) or ``int`` (``low..high step``)."""

    name: str
    kind: str
    options: tuple[int | float | bool | str, ...] = ()
    low: int = 0
    high: int = 0
    step: int = 1
    span: Span | None = None

    @property
    def size(self) -> int:
        if self.kind == "categorical":
            return len(self.options)
        return (self.high - self.low) // self.step + 1


@dataclass(frozen=True)
class Domain:
    info: ChoiceInfo
    tie: str | None


@dataclass(frozen=True)
class Alternatives:
    info: ChoiceInfo
    tie: str | None
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Product:
    parts: tuple[Node, ...] = ()


Node = Domain | Alternatives | Product


def space_tree(model: Model) -> Product:
    """The choice tree of a whole prototype."""
    net = model.network
    walker = _Walker(model)
    parts: list[Node] = [walker.elements(net.stem, "stem")]
    parts += [walker.slot(e.slot, e.prefix) for e in model.slots]
    parts.append(walker.elements(net.head, "head"))
    return Product(tuple(parts))


class _Walker:
    def __init__(self, model: Model) -> None:
        self.templates = model.templates

    def slot(self, slot: s.Slot, prefix: str) -> Node:
        if isinstance(slot, s.SlotChoice):
            options = tuple(
                self.module(o, option_prefix(slot, prefix, k)) for k, o in enumerate(slot.options)
            )
            tied = _alternatives(slot.tie or prefix, len(options), slot.tie, options, slot.span)
            if slot.optional:  # the slot's presence: 0 keeps it, 1 leaves it out
                return _alternatives(prefix, 2, None, (tied, Product()), slot.span)
            return tied
        if isinstance(slot, s.Call | s.ModuleDef | s.Skip):
            return self.module(slot, prefix)
        return Product()  # pragma: no cover - repeats are expanded by the resolver

    def module(self, slot: s.Call | s.Skip | s.ModuleDef, prefix: str) -> Node:
        if isinstance(slot, s.Skip):
            return Product()
        parts: list[Node] = []
        if isinstance(slot, s.Call):
            mdef = self.templates[slot.template]
            given = {a.name: a.value for a in slot.args}
            for param in mdef.params:
                expr = given.get(param.name, param.default)
                if expr is not None:
                    parts.append(_expr(expr, f"{prefix}.{param.name}"))
        else:
            mdef = slot
        parts += [_expr(a.value, f"{prefix}.{a.name}") for a in mdef.kind_args]
        parts.append(self.elements(mdef.body, prefix))
        parts += [self.elements(b, f"{prefix}.b{i}") for i, b in enumerate(mdef.branches)]
        parts.append(self.elements(mdef.post, f"{prefix}.post"))
        return Product(tuple(parts))

    def elements(self, elements: tuple[s.Element, ...], path: str) -> Product:
        return Product(tuple(
            node for i, element in enumerate(elements) for node in self.at(element, f"{path}.{i}")
        ))

    def at(self, element: s.Element, path: str) -> tuple[Node, ...]:
        """The choices of one element placed at ``path`` (a layer's settings or a group)."""
        if isinstance(element, s.Layer):
            return tuple(_expr(a.value, f"{path}.{a.name}") for a in element.args)
        options = tuple(
            Product(tuple(node for j, item in enumerate(option)
                          for node in self.at(item, item_path(path, element, k, j))))
            for k, option in enumerate(element.options)
        )
        return (_alternatives(element.tie or path, len(options), element.tie, options,
                              element.span),)


def _alternatives(name: str, count: int, tie: str | None, options: tuple[Node, ...],
                  span: Span) -> Alternatives:
    info = ChoiceInfo(name, "categorical", tuple(range(count)), span=span)
    return Alternatives(info, tie, options)


def _expr(expr: s.Expr, name: str) -> Product:
    domains: list[Node] = []

    def walk(e: s.Expr) -> None:
        if isinstance(e, s.BinOp):
            walk(e.left)
            walk(e.right)
        elif isinstance(e, s.Neg):
            walk(e.operand)
        elif isinstance(e, s.Values | s.Range):
            k = len(domains)
            label = e.tie or (name if k == 0 else f"{name}.{k}")
            domains.append(Domain(_info(e, label), e.tie))

    walk(expr)
    return Product(tuple(domains))


def _info(domain: s.Values | s.Range, name: str) -> ChoiceInfo:
    if isinstance(domain, s.Range):
        return ChoiceInfo(name, "int", low=domain.low, high=domain.high, step=domain.step,
                          span=domain.span)
    options = tuple(literal_value(o) for o in domain.options)
    return ChoiceInfo(name, "categorical", options, span=domain.span)


# -- listing and counting --------------------------------------------------------------------


def list_choices(tree: Node, source: str) -> list[ChoiceInfo]:
    """Every choice once, in walk order; a name used by two different choices is an error."""
    found: dict[str, tuple[ChoiceInfo, str | None]] = {}

    def visit(node: Node) -> None:
        if isinstance(node, Domain | Alternatives):
            seen = found.get(node.info.name)
            if seen is not None and not (node.tie and seen[1] == node.tie):
                raise PrototypeError(
                    f"two choices are both named '{node.info.name}'; rename a template "
                    "parameter or a tie", node.info.span or Span("<string>", 1, 1), source)
            found.setdefault(node.info.name, (node.info, node.tie))
        children = node.parts if isinstance(node, Product) else (
            node.options if isinstance(node, Alternatives) else ())
        for child in children:
            visit(child)

    visit(tree)
    return [info for info, _ in found.values()]


Counts = dict[frozenset[tuple[str, int | None]], int]


MAX_TIE_STATES = 4096
"""The most combinations of shared tied alternatives :func:`count` keeps apart at once."""


def count(tree: Node) -> int:
    """Distinct assignments of the choices that matter (tied choices counted once).

    Alternatives whose tie appears once are summed on the spot; only ties shared by several
    places are tracked, each until the last part of the network (stem, a slot, head) that names
    it (then it is summed out), and more than MAX_TIE_STATES combinations of live ties at once
    is an error (the work would grow exponentially with their number).
    """
    sizes: dict[str, int] = {}
    shared = _shared_ties(tree)

    def merge(a: Counts, b: Counts) -> Counts:
        out: Counts = {}
        for ka, va in a.items():
            for kb, vb in b.items():
                key = ka | kb
                if len({name for name, _ in key}) == len(key):
                    out[key] = out.get(key, 0) + va * vb
        return out

    def walk(node: Node) -> Counts:
        if isinstance(node, Domain):
            if node.tie:
                sizes[node.tie] = node.info.size
                return {frozenset({(node.tie, None)}): 1}
            return {frozenset(): node.info.size}
        if isinstance(node, Product):
            total: Counts = {frozenset(): 1}
            for part in node.parts:
                total = merge(total, walk(part))
                if len(total) > MAX_TIE_STATES:
                    raise PrototypeError(
                        f"too many tied choices to count the space: more than "
                        f"{MAX_TIE_STATES:,} combinations of shared ties",
                        _first_span(part) or Span("<string>", 1, 1))
            return total
        total = {}
        for k, option in enumerate(node.options):
            sub = walk(option)
            if node.tie in shared:
                sub = merge(sub, {frozenset({(node.tie, k)}): 1})
            for key, value in sub.items():
                total[key] = total.get(key, 0) + value
        if len(total) > MAX_TIE_STATES:
            raise PrototypeError(
                f"too many tied choices to count the space: more than {MAX_TIE_STATES:,} "
                "combinations of shared ties", node.info.span or Span("<string>", 1, 1))
        return total

    counts: Counts = {frozenset(): 1}
    parts = tree.parts if isinstance(tree, Product) else (tree,)
    last = {name: i for i, part in enumerate(parts) for name in _ties_in(part)}
    for i, part in enumerate(parts):
        counts = merge(counts, walk(part))
        counts = _sum_out(counts, {name for name, at in last.items() if at == i}, sizes)
        if len(counts) > MAX_TIE_STATES:
            raise PrototypeError(
                f"too many tied choices to count the space: more than {MAX_TIE_STATES:,} "
                "combinations of shared ties", _first_span(part) or Span("<string>", 1, 1))
    return sum(v * prod(sizes[n] for n, o in key if o is None) for key, v in counts.items())


def _sum_out(counts: Counts, done: set[str], sizes: dict[str, int]) -> Counts:
    """``counts`` with the ties in ``done`` summed out (no later part names them)."""
    out: Counts = {}
    for key, value in counts.items():
        gone = {(name, o) for name, o in key if name in done}
        out[key - gone] = out.get(key - gone, 0) + value * prod(
            sizes[name] for name, o in gone if o is None)
    return out


def _ties_in(tree: Node) -> set[str]:
    """The tie names of the domains and alternatives in ``tree``."""
    names: set[str] = set()
    stack: list[Node] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Domain | Alternatives) and node.tie:
            names.add(node.tie)
        if isinstance(node, Alternatives):
            stack.extend(node.options)
        elif isinstance(node, Product):
            stack.extend(node.parts)
    return names


def _shared_ties(tree: Node) -> set[str]:
    """Tie names of alternatives that appear in more than one place."""
    seen: dict[str, int] = {}
    stack: list[Node] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Alternatives):
            if node.tie:
                seen[node.tie] = seen.get(node.tie, 0) + 1
            stack.extend(node.options)
        elif isinstance(node, Product):
            stack.extend(node.parts)
    return {name for name, n in seen.items() if n > 1}


def _first_span(node: Node) -> Span | None:
    if isinstance(node, Domain | Alternatives):
        return node.info.span
    return next((s for s in map(_first_span, node.parts) if s is not None), None)
