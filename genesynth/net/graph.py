"""An architecture as a networkx graph: layers and merge nodes, data flowing input -> output."""

from __future__ import annotations

import networkx as nx

from genesynth.blocks.modules import Part, Traced, trace_parts
from genesynth.net.arch import Architecture, ModuleSpec


def architecture_graph(arch: Architecture) -> nx.DiGraph:
    """Nodes: ``input``, every layer (by its path), ``mNN.add`` / ``mNN.concat``, ``output``.

    Layer nodes carry ``kind``, ``params`` (dict), ``in_shape``, ``out_shape``, ``n_params``
    and ``macs``; edges follow the data, shortcuts and branches included.
    """
    graph = nx.DiGraph(name=arch.name)
    graph.add_node("input", kind="input", out_shape=arch.input_shape)
    last = "input"
    for part, module in zip(trace_parts(arch), (None, *arch.modules, None), strict=True):
        last = _part(graph, part, last, module)
    graph.add_node("output", kind="output", in_shape=(arch.classes,))
    graph.add_edge(last, "output")
    return graph


def _add(graph: nx.DiGraph, t: Traced) -> str:
    graph.add_node(t.path, kind=t.layer.kind, params=t.layer.as_dict(), in_shape=t.in_shape,
                   out_shape=t.out_shape, n_params=t.params, macs=t.macs)
    return t.path


def _chain(graph: nx.DiGraph, layers: list[Traced], start: str) -> str:
    for t in layers:
        graph.add_edge(start, _add(graph, t))
        start = t.path
    return start


def _part(graph: nx.DiGraph, part: Part, start: str, module: ModuleSpec | None) -> str:
    def within(tag: str) -> list[Traced]:
        return [t for t in part.layers if t.path.startswith(f"{part.name}.{tag}")]

    if module is None or module.kind == "seq":
        return _chain(graph, list(part.layers), start)
    body = _chain(graph, within("b0"), start)
    if module.kind == "split":
        merge = f"{part.name}.concat"
        graph.add_node(merge, kind="concat")
        graph.add_edge(body, merge)
        graph.add_edge(_chain(graph, within("b1"), start), merge)
    else:
        merge = f"{part.name}.add"
        graph.add_node(merge, kind="add")
        graph.add_edge(body, merge)
        if module.shortcut != "none":
            graph.add_edge(_chain(graph, within("shortcut"), start), merge)
    return _chain(graph, within("post"), merge)
