"""An architecture as a networkx graph: layers and merge nodes, data flowing input -> output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx

from genesynth.blocks.modules import Part, Traced, module_kind, trace_parts
from genesynth.errors import GenesynthError
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

    joined = module_kind(module).merge if module is not None else ""  # add, concat
    if module is None or not joined:  # the stem, the head, a sequence
        return _chain(graph, list(part.layers), start)
    body = _chain(graph, within("b0"), start)
    merge = f"{part.name}.{joined}"
    graph.add_node(merge, kind=joined)
    graph.add_edge(body, merge)
    if joined == "concat":
        graph.add_edge(_chain(graph, within("b1"), start), merge)
    elif module.shortcut != "none":
        graph.add_edge(_chain(graph, within("shortcut"), start), merge)
    return _chain(graph, within("post"), merge)


#: ``show --graph FILE``: the formats a graph is written in, by the file's suffix.
GRAPH_FORMATS = (".graphml", ".dot")


def write_graph(arch: Architecture, path: Path) -> Path:
    """``arch``'s graph in a file a viewer opens: GraphML (yEd, Gephi, Cytoscape, networkx)
    or Graphviz DOT (``dot -Tsvg``), by ``path``'s suffix. Shapes are written ``CxHxW`` and a
    layer's parameters as JSON, since both formats hold only plain values."""
    suffix = Path(path).suffix.lower()
    if suffix not in GRAPH_FORMATS:
        raise GenesynthError(f"{path}: a graph is written as {' or '.join(GRAPH_FORMATS)}, "
                             f"but the file's suffix is {suffix or 'missing'!r}")
    graph = architecture_graph(arch)
    plain = nx.DiGraph(name=arch.name)
    for node, data in graph.nodes(data=True):
        plain.add_node(node, **{key: _plain(value) for key, value in data.items()})
    plain.add_edges_from(graph.edges)
    if suffix == ".graphml":
        nx.write_graphml(plain, path)
    else:
        Path(path).write_text(_dot(plain), encoding="utf-8")
    return Path(path)


def _plain(value: Any) -> str | int | float:
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value if isinstance(value, int | float | str) else str(value)


def _dot(graph: nx.DiGraph) -> str:
    """Graphviz DOT: one box per node, labelled with its name, kind and output shape."""
    def quoted(text: object) -> str:
        return '"' + str(text).replace('"', "'") + '"'

    newline = "\\n"  # DOT's line break inside a label
    lines = [f"digraph {quoted(graph.graph.get('name', 'network'))} {{", "  rankdir=TB;",
             "  node [shape=box, fontsize=10];"]
    for node, data in graph.nodes(data=True):
        shape = data.get("out_shape", "")
        label = f"{node}{newline}{data.get('kind', '')}" + (f" -> {shape}" if shape else "")
        lines.append(f"  {quoted(node)} [label={quoted(label)}];")
    lines += [f"  {quoted(a)} -> {quoted(b)};" for a, b in graph.edges]
    return "\n".join([*lines, "}"]) + "\n"
