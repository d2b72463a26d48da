"""The supernet's candidate network computes exactly what genesynth.build computes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from genesynth.blocks.base import REGISTRY
from genesynth.blocks.torch_modules import Residual
from genesynth.errors import ShapeError
from genesynth.evaluate.supernet import SupernetError
from genesynth.evaluate.supernet.plan import (
    extreme,
    named_layers,
    plan,
    plan_samples,
    typical_fan_in,
)
from genesynth.evaluate.supernet.weights import Supernet, logits
from genesynth.net.arch import Architecture
from genesynth.net.builder import build
from genesynth.net.costs import cost
from genesynth.space import RandomChooser, load_prototype, parse_prototype

ROOT = Path(__file__).resolve().parents[2]
PROTOTYPES = sorted((ROOT / "prototypes").glob("*.gs"))
SMALL = {"input_shape": (3, 16, 16), "classes": 10}


def _randomised(supernet: Supernet, seed: int) -> Supernet:
    """Every shared tensor random (no identity or unit start can hide a wrong slice), kernels
    scaled by their fan-in so that deep plain stacks (mnasnet_space's regular convolutions)
    stay finite."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in supernet.tensors.values():
            fan_in = tensor[0].numel() if tensor.dim() > 1 else 1
            tensor.copy_(torch.randn(tensor.shape, generator=generator) / fan_in ** 0.5)
    return supernet


def _random(proto: object, count: int, seed: int) -> list[Architecture]:
    found: list[Architecture] = []
    for index in range(count * 10):
        if len(found) == count:
            break
        try:
            found.append(proto.sample(chooser=RandomChooser(seed + index)))  # type: ignore[attr-defined]
        except ShapeError:
            continue
    return found


@pytest.mark.parametrize("path", PROTOTYPES, ids=lambda p: p.stem)
def test_inherited_weights_give_the_built_network_exactly(path: Path) -> None:
    proto = load_prototype(path, **SMALL)  # type: ignore[arg-type]
    supernet = _randomised(Supernet(plan(plan_samples(proto, count=8)), seed=1), seed=1)
    x = torch.randn(2, *proto.input_shape)
    for arch in _random(proto, 6, seed=1000):  # candidates the plan did not see
        model = build(arch).eval()
        supernet.inherit(arch, model)  # every parameter, or SupernetError
        shared = logits(build(arch).eval(), supernet.take(arch), x)
        torch.testing.assert_close(shared, model.forward_logits(x))


def test_many_attonet_samples_share_and_train_the_shared_tensors() -> None:
    proto = load_prototype(ROOT / "prototypes" / "attonet16.gs", input_shape=(1, 8, 8))
    supernet = _randomised(Supernet(plan(plan_samples(proto, count=16)), seed=0), seed=0)
    x = torch.randn(3, 1, 8, 8)
    for arch in _random(proto, 12, seed=5000):
        reference = build(arch).eval()
        supernet.inherit(arch, reference)
        out = logits(build(arch).eval(), supernet.take(arch), x)
        torch.testing.assert_close(out, reference.forward_logits(x))
    arch = _random(proto, 1, seed=77)[0]
    logits(build(arch), supernet.take(arch), x).sum().backward()
    used = {layer.key for layer in named_layers(arch)}
    for name, tensor in supernet.tensors.items():
        assert (tensor.grad is not None) == (name.split("/")[0] in used), name


def test_options_have_their_own_weights_and_skip_none() -> None:
    proto = load_prototype(ROOT / "prototypes" / "mobilenetv2_space.gs", **SMALL)  # type: ignore[arg-type]
    keys = {layer.key for arch in plan_samples(proto, count=8) for layer in named_layers(arch)}
    assert {"m01.expand.0:conv", "m01.dw.0:conv", "m01.project.0:conv"} <= keys
    attonet = load_prototype(ROOT / "prototypes" / "attonet16.gs", input_shape=(1, 8, 8))
    keys = {layer.key for arch in plan_samples(attonet, count=8) for layer in named_layers(arch)}
    assert {"m05.shortcut.0:conv", "m05.8.1.0:conv"} <= keys  # projection; optional pwconv


def test_the_typical_fan_in_is_the_median_over_the_samples_settings() -> None:
    conv = REGISTRY["conv"]
    shape = (16, 8, 8)
    seen = [(conv.complete({"out": 16, "kernel": k, "groups": g}, shape), shape)
            for k, g in ((3, 1), (3, 4), (5, 8), (3, 4), (5, 1))]
    # fan-ins (in / groups x kernel area): 144, 36, 50, 36, 400 -> median 50
    assert typical_fan_in("conv", seen) == {"weight": 50}
    assert typical_fan_in("bn", [({}, shape)]) == {}  # vectors keep their own init


def test_shared_weights_start_at_the_scale_of_a_typical_setting() -> None:
    proto = load_prototype(ROOT / "prototypes" / "attonet16.gs", input_shape=(1, 8, 8))
    layout = plan(plan_samples(proto, count=32))
    supernet = Supernet(layout, seed=0)
    sizes, fan_in = layout.tensor_sizes(), layout.tensor_fan_in()
    name = "m13.3:conv/weight"  # the grouped kxk conv: a typical slice is far below the whole
    assert fan_in[name] < math.prod(sizes[name][1:]) / 4
    bound = 1 / math.sqrt(fan_in[name])  # PyTorch's Kaiming-uniform bound for that fan-in
    top = float(supernet.tensors[name].detach().abs().max())
    assert 0.95 * bound < top <= bound
    assert all(len(sizes[n]) > 1 for n in fan_in)  # every weight, no vector


def test_a_projecting_shortcut_starts_as_a_copy_of_its_input() -> None:
    proto = load_prototype(ROOT / "prototypes" / "attonet16.gs", input_shape=(1, 8, 8))
    layout = plan(plan_samples(proto, count=32))
    supernet = Supernet(layout, seed=0)
    weight = supernet.tensors["m05.shortcut.0:conv/weight"]  # out [24, 32, 48], stride [1, 2]
    assert weight.shape == (48, 32, 1, 1)
    torch.testing.assert_close(weight[:, :, 0, 0], torch.eye(48, 32))
    assert supernet.tensors["m05.shortcut.1:bn/weight"].eq(1).all()  # vectors: PyTorch's
    x = torch.randn(2, 32, 4, 4)
    seen = set()
    for arch in _random(proto, 40, seed=11):  # each setting's slice, strided or not
        model = build(arch)
        supernet.inherit(arch, model)
        conv = model.body.m05.shortcut[0] if arch.modules[4].shortcut == "project" else None
        if conv is None:
            continue
        c_in, stride = conv.in_channels, conv.stride[0]
        seen.add((conv.out_channels > c_in, conv.out_channels < c_in, stride))
        out = conv(x[:, :c_in])
        n = min(conv.out_channels, c_in)
        torch.testing.assert_close(out[:, :n], x[:, :n, ::stride, ::stride])
        assert out[:, n:].eq(0).all()
    assert {wider for wider, _, _ in seen} == {True, False} and {s for *_, s in seen} == {1, 2}


def _initialised(name: str, count: int) -> tuple[Supernet, list[Architecture]]:
    """The supernet of ``count`` random networks of ``name``, started as the evaluator does."""
    shape = (1, 8, 8) if name == "attonet16" else (3, 16, 16)
    proto = load_prototype(ROOT / "prototypes" / f"{name}.gs", input_shape=shape)
    samples = _random(proto, count, seed=5)
    return Supernet(plan(samples), seed=0), samples


@pytest.mark.parametrize("name", ["attonet16", "mnasnet_space"])
def test_every_batch_norm_of_every_network_starts_with_a_varying_input(name: str) -> None:
    """attonet16's optional last layer, absent, makes the batch norm before it end the body;
    mnasnet_space's ``skip=none`` leaves a body without a shortcut. A shared scale zeroed
    for the network it ends was zero inside the others' bodies too: the next batch norm saw a
    constant input, so it and every layer before it never got a gradient (the old init: all
    16 bodies of attonet16's largest network dead)."""
    supernet, samples = _initialised(name, 6)
    x = torch.randn(4, *samples[0].input_shape, generator=torch.Generator().manual_seed(0))
    for arch in samples:
        model = build(arch)
        supernet.inherit(arch, model)
        seen: list[tuple[str, float]] = []
        for where, norm in model.named_modules():
            if isinstance(norm, torch.nn.BatchNorm2d):
                norm.register_forward_hook(
                    lambda _m, given, _out, where=where, seen=seen: seen.append(
                        (where, float(given[0].var()))))
        with torch.no_grad():
            model.train()(x)
        constant = [where for where, variance in seen if variance == 0]
        assert seen and not constant, f"{arch.name}: {constant[:3]}"


@pytest.mark.parametrize("name", ["attonet16", "mnasnet_space"])
def test_only_the_batch_norm_that_ends_a_residual_body_starts_at_zero(name: str) -> None:
    supernet, samples = _initialised(name, 6)
    ends = 0
    for arch in samples:
        model = build(arch)
        supernet.inherit(arch, model)
        last = {id([m for m in module.body.modules() if isinstance(m, torch.nn.BatchNorm2d)][-1])
                for module in model.modules()
                if isinstance(module, Residual) and module.shortcut is not None}
        for norm in model.modules():
            if isinstance(norm, torch.nn.BatchNorm2d):
                assert norm.weight.eq(0.0 if id(norm) in last else 1.0).all()
        ends += len(last)
    assert ends > 0


def test_the_largest_and_smallest_networks_bound_the_samples() -> None:
    proto = load_prototype(ROOT / "prototypes" / "attonet16.gs", input_shape=(1, 8, 8))
    big, small = cost(extreme(proto, largest=True)), cost(extreme(proto, largest=False))
    for arch in _random(proto, 30, seed=3):
        assert small.macs <= cost(arch).macs <= big.macs


def test_an_architecture_read_from_json_is_refused_with_a_reason() -> None:
    proto = load_prototype(ROOT / "prototypes" / "attonet16.gs", input_shape=(1, 8, 8))
    arch = proto.sample(seed=0)
    supernet = Supernet(plan([arch]))
    again = Architecture.from_json(arch.to_json())
    assert again == arch
    with pytest.raises(SupernetError, match=r"layer stem\.0 does not say where in the "
                                            r"prototype it came from"):
        supernet.take(again)


def test_a_space_too_large_to_share_is_named() -> None:
    text = ("network wide { input 3x8x8 classes 10 stem { conv(out=[64, 512]) bn relu } "
            "modules { } head { gap linear(out=classes) } }")
    proto = parse_prototype(text, "wide.gs")
    with pytest.raises(SupernetError) as error:
        plan(plan_samples(proto, count=4), limit=10_000)
    assert str(error.value) == (
        "the supernet of this prototype would hold 19,978 parameters (at most 10,000); the "
        "largest shared tensor is the conv at stem.0 (512x3x3x3): narrow its choices")


def test_a_candidate_beyond_the_plan_fails_clearly() -> None:
    proto = load_prototype(ROOT / "prototypes" / "attonet16.gs", input_shape=(1, 8, 8))
    small = extreme(proto, largest=False)
    supernet = Supernet(plan([small]))
    with pytest.raises(SupernetError, match="is larger than the supernet holds|has no weights"):
        supernet.take(extreme(proto, largest=True))
