from __future__ import annotations

import networkx as nx

from genesynth import load_prototype
from genesynth.net.graph import architecture_graph


def test_resnet_graph_follows_data_and_shortcuts() -> None:
    g = architecture_graph(load_prototype("prototypes/resnet18.gs").sample())
    assert nx.is_directed_acyclic_graph(g)
    assert g.nodes["m03.b0.0"]["out_shape"] == (128, 4, 4)
    assert g.nodes["m03.shortcut.0"]["kind"] == "conv"
    assert set(g.predecessors("m03.add")) == {"m03.b0.4", "m03.shortcut.1"}
    assert set(g.predecessors("m02.add")) == {"m02.b0.4", "m01.post.0"}
    assert list(g.successors("m03.add")) == ["m03.post.0"]
    assert list(g.predecessors("output")) == ["head.1"]
    layers = [n for n, d in g.nodes(data=True) if d["kind"] not in ("input", "output", "add")]
    assert sum(g.nodes[n]["n_params"] for n in layers) == 11_181_642


def test_split_graph_concatenates_two_branches() -> None:
    g = architecture_graph(load_prototype("prototypes/shufflenetv2.gs").sample())
    assert set(g.predecessors("m01.concat")) == {"m01.b0.4", "m01.b1.7"}
    assert set(g.predecessors("m02.concat")) == {"m01.post.0", "m02.b1.7"}
    assert nx.has_path(g, "input", "output") and nx.is_directed_acyclic_graph(g)
