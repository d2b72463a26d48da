"""A network as the ops a runtime executes: fused conv + bn + activation, merges, keys, and
every distinct op of a space found without sampling."""

from __future__ import annotations

import torch

import genesynth
from genesynth.latency.ops import Op, op_inputs, op_module, ops_of
from genesynth.latency.space import space_ops
from genesynth.space.bounds import Odometer
from tests.synth.test_engine import TINY

PROTO = genesynth.parse_prototype(TINY)

FIXED = """
network fixed {
  input 1x8x8
  classes 10
  stem { conv(out=8) bn relu }
  modules { down unit tail }
  head { gap dropout(p=0.5) linear(out=classes) softmax }
}

module down: residual(shortcut=project) {
  conv(out=16, stride=2) bn relu6 pwconv(out=16) bn
} then { relu }
module unit: split { branch { } branch { pwconv(out=8) bn relu } } then { shuffle }
module tail: seq { se maxpool dropout }
"""


def test_ops_fuse_batch_norm_and_activation_and_name_each_merge() -> None:
    arch = genesynth.parse_prototype(FIXED).sample()
    assert [op.key for op in ops_of(arch)] == [
        "conv(groups=1,kernel=3,out=8,padding=1,stride=1)@1x8x8+relu",
        "conv(groups=1,kernel=3,out=16,padding=1,stride=2)@8x8x8+relu6",
        "conv(groups=1,kernel=1,out=16,padding=0,stride=1)@16x4x4",
        "conv(groups=1,kernel=1,out=16,padding=0,stride=2)@8x8x8",
        "add@16x4x4+relu",
        "split(at=8)@16x4x4",
        "conv(groups=1,kernel=1,out=8,padding=0,stride=1)@8x4x4+relu",
        "concat(other=8)@8x4x4",
        "shuffle(groups=2)@16x4x4",
        "se(act=relu,gate=sigmoid,mid=4)@16x4x4",
        "maxpool(kernel=3,padding=1,stride=2)@16x4x4",
        "gap@16x2x2",
        "linear(out=10)@16",
        "softmax@10",
    ]


def test_each_op_builds_a_module_of_its_shapes() -> None:
    arch = genesynth.parse_prototype(FIXED).sample()
    for op in ops_of(arch):
        module = op_module(op)
        xs = [torch.randn(1, *shape) for shape in op_inputs(op)]
        with torch.inference_mode():
            out = module(*xs)
        assert not module.training
        assert isinstance(out, torch.Tensor | tuple), op.key


def test_a_conv_without_batch_norm_keeps_its_own_bias() -> None:
    op = Op("conv", (("groups", 1), ("kernel", 1), ("out", 4), ("padding", 0), ("stride", 1)),
            (2, 3, 3), bias=False)
    assert op_module(op).bias is None
    assert op.key == "conv(groups=1,kernel=1,out=4,padding=0,stride=1)@2x3x3"


def _every_network(proto: genesynth.Prototype) -> list[genesynth.Architecture]:
    odometer, found = Odometer(lambda name: True, {}), {}
    while True:
        arch = proto.sample(chooser=odometer)
        found[arch.key] = arch
        if not odometer.advance():
            return list(found.values())


def test_the_space_ops_are_exactly_those_of_its_networks() -> None:
    every = {op.key for arch in _every_network(PROTO) for op in ops_of(arch)}
    assert {op.key for op in space_ops(PROTO).ops} == every


def test_a_macs_bound_keeps_exactly_the_ops_of_the_networks_inside_it() -> None:
    networks = _every_network(PROTO)
    bound = sorted(genesynth.cost(a).macs for a in networks)[len(networks) // 3]
    inside = {op.key for a in networks if genesynth.cost(a).macs <= bound for op in ops_of(a)}
    found = space_ops(PROTO, max_macs=bound)
    assert {op.key for op in found.ops} == inside
    assert found.kept < found.edges
