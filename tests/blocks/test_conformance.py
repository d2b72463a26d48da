"""Every registered layer kind through the same checks, parametrised over the registry.

For each case: the built module's output has the declared shape, backward reaches every
parameter, the analytic parameter count is the module's, the analytic MACs are half of what
``torch.utils.flop_counter`` counts, the weight-sharing sizes are the module's, and the module
can be written as standalone source. A kind registered without a case fails
:func:`test_every_kind_has_a_case`; an activation needs none (its case is derived).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from genesynth.blocks import REGISTRY
from genesynth.blocks.activations import ACTIVATIONS, GATES, ActivationKind
from genesynth.blocks.base import LayerKind, Shape
from genesynth.export.codegen_text import layer_source
from genesynth.spec import Value

Case = tuple[dict[str, Value], Shape]

MAP: Shape = (8, 7, 7)

CASES: dict[str, list[Case]] = {
    "conv": [({"out": 12}, MAP), ({"out": 16, "kernel": 5, "stride": 2, "bias": False}, MAP),
             ({"out": 4, "kernel": 3, "groups": 4, "padding": 0}, MAP),
             ({"out": 8, "kernel": 1, "groups": 8}, MAP)],
    "dwconv": [({}, MAP), ({"kernel": 5, "stride": 2, "bias": False}, MAP)],
    "pwconv": [({"out": 24}, MAP), ({"out": 4, "groups": 2, "stride": 2, "bias": False}, MAP)],
    "bn": [({}, MAP), ({}, (10,))],
    "shuffle": [({"groups": 2}, MAP), ({"groups": 4}, MAP)],
    "se": [({}, MAP), ({"mid": 3, "gate": "hsigmoid"}, MAP)]
    + [({"mid": 2, "act": act}, MAP) for act in ("relu", "hswish", "tanh")],
    "maxpool": [({}, MAP), ({"kernel": 2, "stride": 2, "padding": 0}, MAP)],
    "avgpool": [({}, MAP), ({"kernel": 3, "stride": 1, "padding": 1}, MAP)],
    "gap": [({}, MAP)],
    "flatten": [({}, MAP), ({}, (10,))],
    "dropout": [({"p": 0.5}, MAP), ({}, (10,))],
    "linear": [({"out": 5}, (10,)), ({"out": 3, "bias": False}, (10,))],
    "softmax": [({}, (10,))],
}
"""Settings and input shape per kind; the name of a kind not listed fails below."""


def cases(name: str) -> list[Case]:
    if isinstance(REGISTRY[name], ActivationKind):
        return [({}, MAP), ({}, (10,))]
    return CASES.get(name, [])


ALL = [(name, i) for name in sorted(REGISTRY) for i in range(len(cases(name)))]


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_kind_has_a_case(name: str) -> None:
    assert cases(name), f"no conformance case for layer kind '{name}': add one to CASES"


def test_every_activation_and_gate_is_a_squeeze_excite_setting() -> None:
    kind = REGISTRY["se"]
    for act in ACTIVATIONS:
        for gate in GATES:
            check_kind(kind, {"mid": 2, "act": act, "gate": gate}, MAP)


@pytest.mark.parametrize(("name", "index"), ALL, ids=[f"{n}-{i}" for n, i in ALL])
def test_layer_kind_conformance(name: str, index: int) -> None:
    given, shape = cases(name)[index]
    check_kind(REGISTRY[name], given, shape)


def check_kind(kind: LayerKind, given: dict[str, Value], shape: Shape) -> None:
    settings = kind.complete(given, shape)
    out = kind.output_shape(settings, shape)
    torch.manual_seed(0)
    module = kind.build(settings, shape)
    x = torch.randn(2, *shape, requires_grad=True)
    y = module.train()(x)
    assert tuple(y.shape) == (2, *out)
    (y * torch.randn_like(y)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    for param_name, p in module.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), param_name
    assert kind.num_params(settings, shape) == sum(p.numel() for p in module.parameters())
    sizes = {param_name: tuple(p.shape) for param_name, p in module.named_parameters()}
    assert kind.param_sizes(settings, shape) == sizes
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module.eval()(torch.randn(1, *shape))
    assert kind.macs(settings, shape) == counter.get_total_flops() // 2
    assert isinstance(kind.token(settings, shape, out), str)
    assert layer_source(module, set())  # exportable as standalone source
