"""Every registered module kind through one contract, and no kind's name compared elsewhere.

For each example module of each kind (:data:`EXAMPLES`; a kind registered without one fails
:func:`test_every_kind_has_an_example`): the analytic parameters and MACs equal what PyTorch
counts on the built network, every traced layer sits in the built module where the kind says
(``child``, what a supernet slices), the network is written back in the language and parses
to the same architecture, and its JSON round-trips.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import genesynth
from genesynth import parse_prototype
from genesynth.blocks.base import REGISTRY
from genesynth.blocks.modules import (
    MODULE_KINDS,
    RESIDUAL,
    SEQ,
    SPLIT,
    module_kind,
    trace_parts,
)
from genesynth.dsl.writer import architecture_to_text
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec
from genesynth.net.builder import build
from genesynth.net.costs import cost


def conv(out: int, stride: int = 1, kernel: int = 3, groups: int = 1) -> LayerSpec:
    return LayerSpec.of("conv", out=out, kernel=kernel, stride=stride, groups=groups,
                        padding=kernel // 2, bias=False)


BN, RELU = LayerSpec.of("bn"), LayerSpec.of("relu")

EXAMPLES: dict[str, list[ModuleSpec]] = {
    SEQ: [ModuleSpec("plain", SEQ, ((conv(8), BN, RELU),)),
          ModuleSpec("down", SEQ, ((conv(6, stride=2),),), post=(BN, RELU))],
    RESIDUAL: [ModuleSpec("same", RESIDUAL, ((conv(4), BN),), "identity", (RELU,)),
               ModuleSpec("wider", RESIDUAL, ((conv(8, stride=2), BN),), "project", (RELU,)),
               ModuleSpec("plain", RESIDUAL, ((conv(4, groups=2), BN),), "none")],
    SPLIT: [ModuleSpec("half", SPLIT, ((), (conv(2, kernel=1), BN, RELU))),
            ModuleSpec("both", SPLIT, ((conv(2),), (conv(6, kernel=1),)), post=(RELU,))],
}
"""Example modules per registered kind, at a 4x6x6 input."""

CASES = [(name, i) for name, examples in EXAMPLES.items() for i in range(len(examples))]


def network(module: ModuleSpec) -> Architecture:
    return Architecture("net", (3, 6, 6), 5, (conv(4), BN, RELU), (module,),
                        (LayerSpec.of("gap"), LayerSpec.of("linear", out=5, bias=True)))


def test_every_kind_has_an_example() -> None:
    assert set(EXAMPLES) == set(MODULE_KINDS)


@pytest.mark.parametrize(("name", "index"), CASES)
def test_module_kind_contract(name: str, index: int) -> None:
    module = EXAMPLES[name][index]
    kind = module_kind(module)
    assert kind is MODULE_KINDS[name] and kind.name == name
    arch = network(module)
    torch.manual_seed(0)
    net = build(arch).eval()
    assert sum(p.numel() for p in net.parameters()) == cost(arch).params
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        assert tuple(net(torch.randn(1, 3, 6, 6)).shape) == (1, 5)
    assert cost(arch).macs == counter.get_total_flops() // 2
    part = trace_parts(arch)[1]
    for traced in part.layers:
        _, where, at = traced.path.split(".")
        built = net.get_submodule(f"body.m01.{kind.child(module, where, int(at))}")
        layer = REGISTRY[traced.layer.kind]
        wanted = layer.build(layer.complete(traced.layer.as_dict(), traced.in_shape),
                             traced.in_shape)
        assert type(built) is type(wanted), traced.path
    assert parse_prototype(architecture_to_text(arch)).sample() == arch
    assert Architecture.from_json(arch.to_json()) == arch
    assert kind.label(module) and kind.header(module) and kind.phrase(module)


def test_a_residual_without_shortcut_builds_and_is_named_as_a_sequence() -> None:
    module = EXAMPLES[RESIDUAL][2]
    kind = module_kind(module)
    assert (kind.shortcut(module), kind.canonical(module), kind.label(module)) == (
        "none", SEQ, SEQ)
    assert kind.label(EXAMPLES[RESIDUAL][1]) == "residual/project"
    assert network(module).key == network(ModuleSpec("plain", SEQ, module.branches)).key


def test_an_unknown_kind_is_named() -> None:
    from genesynth.blocks.base import LayerProblem

    with pytest.raises(LayerProblem) as problem:
        module_kind("dense")
    assert problem.value.message == (
        "unknown module kind 'dense' (expected one of seq, residual, split)")


# -- no module outside the registry's home compares a kind's name --------------------------------

HOME = Path(genesynth.__file__).parent
REGISTRY_HOME = HOME / "blocks" / "modules.py"


def kind_literals(source: str) -> list[int]:
    """Lines that compare a registered kind's name, or make a ModuleSpec of a literal kind."""
    names = set(MODULE_KINDS)

    def named(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in names
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(named(e) for e in node.elts)
        return False

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(named(n) for n in (node.left,
                                                                      *node.comparators)):
            found.append(node.lineno)
        elif isinstance(node, ast.match_case) and isinstance(node.pattern, ast.MatchValue) and (
                named(node.pattern.value)):
            found.append(node.pattern.lineno)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(
                node.func, "attr", "")) == "ModuleSpec" and (
                any(named(a) for a in node.args[1:2])
                or any(k.arg == "kind" and named(k.value) for k in node.keywords)):
            found.append(node.lineno)
    return found


def test_the_check_sees_each_form() -> None:
    source = ('a == "seq"\n"split" != b.kind\nc in ("x", "residual")\n'
              'ModuleSpec("l", "seq", ())\nModuleSpec("l", kind="split", branches=())\n'
              'match k:\n    case "residual":\n        pass\n'
              'ok = d == SEQ or e == "conv" or ModuleSpec("seq", SEQ, ())\n')
    assert kind_literals(source) == [1, 2, 3, 4, 5, 7]


def test_no_module_outside_the_registry_compares_a_kind_name() -> None:
    found = {str(path.relative_to(HOME)): lines for path in sorted(HOME.rglob("*.py"))
             if path != REGISTRY_HOME and (lines := kind_literals(path.read_text()))}
    assert found == {}, "ask genesynth.blocks.modules.module_kind(...) instead"
