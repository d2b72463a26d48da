"""Refine: a new prototype from a family member; locked modules build exactly as the member's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import genesynth
from genesynth.dsl.parser import parse
from genesynth.dsl.unparse import file_text
from genesynth.errors import GenesynthError, RunError
from genesynth.net.costs import breakdown
from genesynth.space import FixedChooser
from tests.synth.test_reuse import RULE, Counting

PROTOTYPES = sorted(str(p) for p in Path("prototypes").glob("*.gs"))


def _space(proto: Any) -> list[tuple[Any, ...]]:
    """The choices without their places in the file."""
    return [(c.name, c.kind, c.options, c.low, c.high, c.step) for c in proto.choices()]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("refine") / "run"
    genesynth.synthesize("prototypes/attonet16.gs", RULE, data="digits", trials=6,
                         family_size=2, out=out, evaluator=Counting())
    return out


@pytest.mark.parametrize("path", PROTOTYPES)
def test_the_syntax_tree_writes_back_to_the_same_space(path: str) -> None:
    proto = genesynth.load_prototype(path)
    again = genesynth.parse_prototype(file_text(parse(proto.text, path)), "again")
    assert _space(again) == _space(proto)
    assert [again.sample(seed) for seed in range(4)] == [proto.sample(seed) for seed in range(4)]


def _member(run: Path, label: str) -> genesynth.Architecture:
    return genesynth.Architecture.from_json((run / "family" / label / "arch.json").read_text())


def test_locked_modules_are_the_members_and_opened_ones_the_runs_space(run: Path) -> None:
    refined = genesynth.refine(run, member="A", open="m09-m16")
    member = _member(run, "A")
    proto = refined.prototype()
    assert refined.locked == tuple(f"m{i:02d}" for i in range(1, 9))
    assert refined.opened == tuple(f"m{i:02d}" for i in range(9, 17))
    assert refined.text.startswith(
        f"# Refined by genesynth from {run}, member A (trial {refined.trial}), "
        f"architecture {member.key}.\n# Locked as member A has them: m01-m08.\n"
        "# Opened with the run's prototype space: m09-m16.\n")
    names = {c.name.split(".")[0] for c in proto.choices()}
    assert names == set(refined.opened)
    original = genesynth.load_prototype("prototypes/attonet16.gs", (1, 8, 8), 10)
    opened_choices = [c for c in original.choices() if c.name.split(".")[0] in names]
    assert _space(proto) == [(c.name, c.kind, c.options, c.low, c.high, c.step)
                             for c in opened_choices]
    for seed in range(3):
        sample = proto.sample(seed)
        assert sample.modules[:8] == member.modules[:8]
    again = genesynth.parse_prototype(refined.text, "again")
    assert _space(again) == _space(proto) and again.sample(1) == proto.sample(1)


def test_locked_modules_build_exactly_as_the_members(run: Path) -> None:
    refined = genesynth.refine(run, member="B", lock="m01-m08")
    member = _member(run, "B")
    arch = refined.prototype().sample(seed=3)
    assert breakdown(arch)[1:9] == breakdown(member)[1:9]  # params, MACs, shapes per module
    torch.manual_seed(0)
    ours, theirs = genesynth.build(arch).eval(), genesynth.build(member).eval()
    x = torch.randn(2, 16, 8, 8)  # the stem's output
    for name in refined.locked:
        a, b = ours.body.get_submodule(name), theirs.body.get_submodule(name)
        assert {k: v.shape for k, v in a.state_dict().items()} == {
            k: v.shape for k, v in b.state_dict().items()}
        a.load_state_dict(b.state_dict())
        y = b(x)
        assert torch.equal(a(x), y)
        x = y


def test_the_member_is_in_the_refined_space_and_around_narrows_it(run: Path) -> None:
    refined = genesynth.refine(run, member="A", open="m09-m16", around=True)
    proto = refined.prototype()
    member = _member(run, "A")
    from genesynth.record.reader import locate

    trial = locate(run).load_study().trials[refined.trial]
    values = {k: v for k, v in trial.params.items() if k.split(".")[0] in refined.opened}
    assert proto.sample(chooser=FixedChooser(values)).key == member.key
    wide = genesynth.refine(run, member="A", open="m09-m16").prototype()
    assert proto.space_size < wide.space_size
    for choice in proto.choices():
        if choice.kind == "categorical" and choice.name in values and "out" in choice.name:
            assert values[choice.name] in choice.options and len(choice.options) <= 3
    assert "module atto_m09(out, stride=1)" in refined.text


def test_refine_from_a_trial(run: Path) -> None:
    refined = genesynth.refine(run, trial=0, lock="m01-m16")
    assert refined.member == "" and refined.opened == ()
    proto = refined.prototype()
    assert proto.is_fixed
    from genesynth.record.reader import locate

    arch = locate(run).load_study().trials[0].user_attrs["arch"]
    assert proto.sample().key == genesynth.Architecture.from_json(arch).key


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(member="E", open="m09"), "{run}: no family member 'E'; its members are A, B"),
    (dict(member="A", open="m09-m17"),
     "module range 'm09-m17' does not exist: the network has modules m01-m16"),
    (dict(member="A", lock="m0x"),
     "module range 'm0x': expected mNN or mNN-mNN (e.g. m09-m16); the network has modules "
     "m01-m16"),
    (dict(member="A"), "name the modules to open (--open m09-m16) or to lock (--lock m01-m08), "
     "one of the two"),
    (dict(open="m01"), "name one family member (--member B) or one trial (--trial N)"),
    (dict(trial=99, open="m01"), "{run} has no trial 99 with an architecture; trials with one: "
     "0-5"),
])
def test_bad_requests_are_clear_errors(run: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(GenesynthError) as error:
        genesynth.refine(run, **kwargs)
    assert str(error.value) == message.format(run=run)


def test_a_directory_without_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="is not a run directory"):
        genesynth.refine(tmp_path, member="A", open="m01")
