"""Adding an activation is one row of one table: with a ``gelu`` row registered (and nothing
else edited), the language, building, costing, export, summaries, ``show`` and the docs all
take it. The shipped vocabulary is exactly the table, and no module keeps a list of its own.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from rich.console import Console
from torch.utils.flop_counter import FlopCounterMode

from genesynth.blocks import REGISTRY
from genesynth.blocks.activations import (
    ACTIVATIONS,
    GATES,
    TABLE,
    Activation,
    ActivationKind,
    activation_kind,
)
from genesynth.commands.show import table
from genesynth.dsl.docs import layer_table
from genesynth.errors import ArchitectureError, PrototypeError
from genesynth.export.codegen import generate_source
from genesynth.net.arch import Architecture
from genesynth.net.builder import build
from genesynth.net.costs import cost
from genesynth.net.summary import module_lines
from genesynth.space import parse_prototype

GELU = Activation("gelu", "GELU", "x * Phi(x), as in transformers")

PROTOTYPE = """
network with_gelu {
  input 3x8x8
  classes 4
  stem { conv(out=8) bn gelu }
  modules {
    ir
    block
  }
  head { gap linear(out=4) }
}

module ir: mbconv(out=8, expand=2, act=gelu, se=0.5) { }
module block: residual { pwconv(out=8) bn gelu se(mid=2, act=gelu) } then { gelu }
"""


@pytest.fixture
def gelu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Activation]:
    """The registry with one more row, as adding it to TABLE would make it."""
    monkeypatch.setitem(REGISTRY, GELU.name, activation_kind(GELU)())
    yield GELU


def with_gelu() -> Architecture:
    return parse_prototype(PROTOTYPE, "gelu.gs").sample()


def test_the_language_refuses_it_unregistered() -> None:
    with pytest.raises(PrototypeError) as info:
        with_gelu()
    assert str(info.value).splitlines()[0] == (
        "gelu.gs:13:40: 'act' must be one of relu, relu6, hswish, hsigmoid, swish, silu, "
        "sigmoid, tanh, but got act=gelu")


def test_a_new_row_is_a_layer_and_a_setting_everywhere(gelu: Activation) -> None:
    assert "gelu" in ACTIVATIONS and "gelu" not in GATES
    arch = with_gelu()
    assert [layer.kind for layer in arch.stem] == ["conv", "bn", "gelu"]
    acts = {path: layer.get("act") for path, layer in arch.iter_layers() if layer.kind == "se"}
    assert acts == {"m01.b0.6": "relu", "m02.b0.3": "gelu"}  # mbconv's se keeps its default
    assert Architecture.from_json(arch.to_json()) == arch
    model = build(arch).eval()
    assert sum(isinstance(m, torch.nn.GELU) for m in model.modules()) == 6
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, *arch.input_shape))
    assert cost(arch).macs == counter.get_total_flops() // 2
    assert cost(arch).params == sum(p.numel() for p in model.parameters())
    assert "| `gelu` | none | x * Phi(x), as in transformers |" in layer_table()


def test_a_new_row_is_left_out_of_summaries_and_show(gelu: Activation) -> None:
    arch = with_gelu()
    assert module_lines(arch) == (
        "m01 ir     pw16 > dw3x3 > se > pw8  +id",
        "m02 block  pw8 > se  +id",
    )
    console = Console(width=120, record=True)
    console.print(table(arch, "a table"))
    shown = console.export_text()
    assert "gelu" not in shown and "pw16 · dw3x3 · se · pw8" in shown


def test_a_new_row_is_exported_as_its_torch_module(gelu: Activation, tmp_path: Path) -> None:
    arch = with_gelu()
    source = generate_source(arch)
    assert "nn.GELU()" in source and "act=nn.GELU(), gate=nn.Sigmoid()" in source
    path = tmp_path / "model.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("exported_gelu", path)
    assert spec is not None and spec.loader is not None
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    torch.manual_seed(0)
    ours = build(arch).eval()
    theirs = exported.build().eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, *arch.input_shape)
    with torch.no_grad():
        torch.testing.assert_close(theirs(x), ours(x))


def test_an_inplace_module_is_not_written_as_a_fresh_one(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    class InplaceRelu(ActivationKind):
        name = "relu_"
        row = Activation("relu_", "ReLU", "in place")

        def build(self, p, shape):  # type: ignore[no-untyped-def]
            return torch.nn.ReLU(inplace=True)

    monkeypatch.setitem(REGISTRY, "relu_", InplaceRelu())
    arch = parse_prototype(PROTOTYPE.replace("gelu", "relu_"), "inplace.gs").sample()
    with pytest.raises(ArchitectureError, match="cannot write the layer ReLU as standalone"):
        generate_source(arch)


def test_the_shipped_activations_are_the_table() -> None:
    registered = [kind.row for kind in REGISTRY.values() if isinstance(kind, ActivationKind)]
    assert registered == list(TABLE)
    assert tuple(ACTIVATIONS) == ("relu", "relu6", "hswish", "hsigmoid", "swish", "silu",
                                  "sigmoid", "tanh")
    assert tuple(GATES) == ("hsigmoid", "sigmoid")


def test_no_module_keeps_its_own_list_of_activations() -> None:
    package = Path(__file__).resolve().parents[2] / "genesynth"
    words = {word for row in TABLE for word in (row.name, row.module)} - {"identity"}  # a shortcut

    def names_in(node: ast.AST) -> int:
        return sum(isinstance(item, ast.Constant) and item.value in words
                   for item in ast.iter_child_nodes(node))

    lists = sorted(
        f"{path.relative_to(package)}:{node.lineno}" for path in package.rglob("*.py")
        if path.name != "activations.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict) and names_in(node) > 1
    )
    assert lists == []


def test_the_language_docs_name_the_act_and_gate_choices() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "prototype-language.md").read_text()
    text = " ".join(docs.split())
    acts = ", ".join(f"`{name}`" for name in ACTIVATIONS)
    assert f"takes any activation of the table ({acts})" in text
    assert "the `gate` of `se` takes `hsigmoid` or `sigmoid`" in text
    assert tuple(GATES) == ("hsigmoid", "sigmoid")
