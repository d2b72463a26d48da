"""Every distinct op a (bounded) search space can produce, found without sampling networks.

A module's ops depend only on its own choices and the shape that reaches it, so the space is
walked as a graph: a node is the shape entering a module position (``(i, shape)``), an edge
is one assignment of that position's choices, carrying its ops, params and MACs. The stem
leaves the source node and the head reaches the sink. A network of the space is a path from
source to sink; an edge lies on a path inside the constraint's MACs and params bounds exactly
when the cheapest way to reach it, plus its own cost, plus the cheapest way on to the sink is
inside them (shortest paths on the graph, once per bound; with both bounds set the kit keeps
the edges that pass each test, a few more than strictly needed). Tied choices are enumerated
per position, so the ops found are the space's, or a few more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import networkx as nx

from genesynth.blocks.base import LayerProblem, Shape
from genesynth.blocks.modules import Traced, run_layers, trace_module
from genesynth.dsl import syntax as s
from genesynth.dsl.resolve import Model, SlotEntry
from genesynth.errors import ArchitectureError, GenesynthError, ShapeError
from genesynth.latency.ops import Op, ops_of_layers, ops_of_module
from genesynth.limits import MAX_BUILD_PARAMS
from genesynth.space import Prototype
from genesynth.space.bounds import Odometer
from genesynth.space.instantiate import Instantiator, Scope
from genesynth.spec import LayerSpec, ModuleSpec

#: The most position assignments walked (positions x shapes x assignments): a space past it
#: needs tighter bounds or fewer choices per module.
MAX_EDGES = 400_000
#: The most distinct ops a kit holds.
MAX_OPS = 50_000

SOURCE, SINK = "source", "sink"
T = TypeVar("T")


@dataclass(frozen=True)
class SpaceOps:
    """The distinct ops of a space, and how they were found."""

    ops: tuple[Op, ...]
    edges: int  # module assignments walked
    kept: int  # of them, on some network inside the bounds


def space_ops(prototype: Prototype, max_macs: int | None = None,
              max_params: int | None = None) -> SpaceOps:
    """The distinct ops of ``prototype``'s networks inside the bounds, in first-seen order."""
    graph = _graph(prototype)
    keep = [(u, v, k) for u, v, k in graph.edges(keys=True)]
    limits = {"macs": max_macs, "params": min(max_params or MAX_BUILD_PARAMS, MAX_BUILD_PARAMS)}
    for weight, bound in limits.items():
        if bound is None:
            continue
        ahead = nx.single_source_dijkstra_path_length(graph, SOURCE, weight=weight)
        behind = nx.single_source_dijkstra_path_length(graph.reverse(copy=False), SINK,
                                                       weight=weight)
        keep = [(u, v, k) for u, v, k in keep if u in ahead and v in behind
                and ahead[u] + graph.edges[u, v, k][weight] + behind[v] <= bound]
    if not keep:
        raise GenesynthError(f"the prototype '{prototype.name}' holds no network inside the "
                             "constraint's MACs and params bounds")
    found: dict[str, Op] = {}
    for u, v, k in keep:
        for op in graph.edges[u, v, k]["ops"]:
            found.setdefault(op.key, op)
    return SpaceOps(tuple(found.values()), graph.number_of_edges(), len(keep))


def _graph(prototype: Prototype) -> nx.MultiDiGraph:
    model = prototype.model
    graph = nx.MultiDiGraph()
    frontier: set[Shape] = set()
    for layers, out in _assignments(model, _run(model.network.stem, "stem"),
                                    model.input_shape):
        traced = run_layers(layers, model.input_shape, "stem")
        _edge(graph, SOURCE, (0, out), ops_of_layers(traced), traced)
        frontier.add(out)
    for i, entry in enumerate(model.slots):
        frontier = _position(graph, prototype, i, entry, frontier)
    for shape in frontier:
        for layers, out in _assignments(model, _run(model.network.head, "head"), shape):
            if out == (model.classes,):
                traced = run_layers(layers, shape, "head")
                _edge(graph, (len(model.slots), shape), SINK, ops_of_layers(traced), traced)
    if not graph.has_node(SINK):
        raise GenesynthError(f"the prototype '{prototype.name}' has no network whose head "
                             f"gives {model.classes} class scores")
    return graph


def _position(graph: nx.MultiDiGraph, prototype: Prototype, i: int, entry: SlotEntry,
              frontier: set[Shape]) -> set[Shape]:
    after: set[Shape] = set()
    for shape in sorted(frontier):
        for module, out in _assignments(prototype.model, _slot(entry), shape):
            try:
                traced, _ = trace_module(module, shape, entry.prefix)
            except LayerProblem:
                continue
            _edge(graph, (i, shape), (i + 1, out), ops_of_module(module, shape, traced), traced)
            after.add(out)
        if graph.number_of_edges() > MAX_EDGES:
            raise GenesynthError(
                f"the prototype '{prototype.name}' has more than {MAX_EDGES:,} module "
                f"assignments to walk (at {entry.prefix}); bound it with a constraint "
                "(max_macs, max_params) or fewer choices per module")
    return after


def _edge(graph: nx.MultiDiGraph, u: object, v: object, ops: list[Op],
          traced: Sequence[Traced]) -> None:
    graph.add_edge(u, v, ops=tuple(ops), macs=sum(t.macs for t in traced),
                   params=sum(t.params for t in traced))


def _run(elements: tuple[s.Element, ...], path: str
         ) -> Callable[[Instantiator, Shape], tuple[tuple[LayerSpec, ...], Shape]]:
    def make(inst: Instantiator, shape: Shape) -> tuple[tuple[LayerSpec, ...], Shape]:
        return inst.run(elements, shape, path)

    return make


def _slot(entry: SlotEntry) -> Callable[[Instantiator, Shape], tuple[ModuleSpec, Shape]]:
    def make(inst: Instantiator, shape: Shape) -> tuple[ModuleSpec, Shape]:
        return inst.slot(entry, shape)

    return make


def _assignments(model: Model, make: Callable[[Instantiator, Shape], tuple[T, Shape]],
                 shape: Shape) -> Iterator[tuple[T, Shape]]:
    """Every distinct result of ``make`` over all assignments of the choices it asks, each
    made with a fresh Instantiator whose scope is ``shape``'s channels."""
    odometer = Odometer(lambda name: True, {})
    seen: set[object] = set()
    while True:
        inst = Instantiator(model, odometer)
        inst.scope = Scope(in_channels=shape[0])
        try:
            made: tuple[T, Shape] | None = make(inst, shape)
        except (ShapeError, ArchitectureError):
            made = None
        if made is not None and made not in seen:
            seen.add(made)
            yield made
        if not odometer.advance():
            return
