from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from genesynth import load_prototype
from genesynth.cli import main
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


def test_the_graph_is_written_for_a_viewer(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    proto = "prototypes/resnet18.gs"
    assert main(["show", proto, "--graph", str(tmp_path / "net.graphml")]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"wrote {tmp_path / 'net.graphml'}")
    read = nx.read_graphml(tmp_path / "net.graphml")
    g = architecture_graph(load_prototype(proto).sample())
    assert sorted(read.edges) == sorted(g.edges)
    assert read.nodes["m03.b0.0"]["out_shape"] == "128x4x4"
    assert json.loads(read.nodes["m03.b0.0"]["params"])["stride"] == 2
    assert main(["show", proto, "--graph", str(tmp_path / "net.dot")]) == 0
    dot = (tmp_path / "net.dot").read_text()
    edges = [line for line in dot.splitlines() if line.endswith('";') and '" -> "' in line]
    assert dot.startswith('digraph "resnet18" {') and len(edges) == g.number_of_edges()
    assert dot.count("[label=") == g.number_of_nodes()
    assert '"m03.add" -> "m03.post.0";' in dot


def test_a_graph_file_of_another_kind_is_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "prototypes/resnet18.gs", "--graph", str(tmp_path / "net.png")]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'net.png'}: a graph is written as "
                                       ".graphml or .dot, but the file's suffix is '.png'\n")
