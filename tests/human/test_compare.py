"""``genesynth.diff``: what differs, module by module, with both sides' costs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import optuna
import pytest

import genesynth
from genesynth.errors import GenesynthError
from genesynth.net.arch import LayerSpec, ModuleSpec
from genesynth.net.costs import breakdown
from genesynth.record.reader import locate
from tests.human.test_refine import run  # noqa: F401 - the module-scoped run fixture


def _change(module: ModuleSpec, index: int, **settings: int) -> ModuleSpec:
    branch = list(module.branches[0])
    layer = branch[index]
    branch[index] = LayerSpec.of(layer.kind, **{**layer.as_dict(), **settings})
    return ModuleSpec(module.label, module.kind, (tuple(branch),), module.shortcut, module.post)


def test_each_kind_of_difference_is_named() -> None:
    proto = genesynth.load_prototype("prototypes/attonet16.gs", (1, 8, 8), 10)
    a = proto.sample(seed=0)
    modules = list(a.modules)
    modules[1] = _change(modules[1], 3, kernel=5 if modules[1].branches[0][3]["kernel"] == 3
                         else 3, padding=2 if modules[1].branches[0][3]["kernel"] == 3 else 1)
    first = modules[2]
    modules[2] = ModuleSpec(first.label, first.kind, first.branches,
                            "project" if first.shortcut == "identity" else "identity", first.post)
    b = genesynth.Architecture(a.name, a.input_shape, a.classes, a.stem, tuple(modules), a.head)
    result = genesynth.diff(a, b)
    differs = {p.part: p.differs for p in result.parts}
    assert differs["m02"] == ("kernels",)
    assert differs["m03"] == ("shortcut",)
    assert all(not d for part, d in differs.items() if part not in ("m02", "m03"))
    costs_a, costs_b = breakdown(a), breakdown(b)
    for part, ca, cb in zip(result.parts, costs_a, costs_b, strict=True):
        assert (part.part, part.a.params, part.a.macs) == (ca.part, ca.params, ca.macs)
        assert (part.b.params, part.b.macs) == (cb.params, cb.macs)


def test_members_trials_and_files_are_compared(run: Path, tmp_path: Path) -> None:  # noqa: F811
    member = run / "family" / "A" / "arch.json"
    by_file = genesynth.diff(str(member), f"{run}:B").to_dict()
    by_label = genesynth.diff(f"{run}:A", f"{run}:B").to_dict()
    assert by_file["parts"] == by_label["parts"]
    assert by_file["a"]["key"] == genesynth.Architecture.from_json(member.read_text()).key
    trial = json.loads((run / "family.json").read_text())["members"][0]["trial"]
    same = genesynth.diff(f"{run}#{trial}", f"{run}:A")
    assert all(not p.differs for p in same.parts)


@pytest.mark.parametrize(("spec", "message"), [
    ("{run}:Z", "{run}: no family member 'Z'; its members are A, B"),
    ("{run}#77", "{run}: no trial 77 with an architecture (trials 0-5)"),
    ("{run}#x", "'{run}#x': expected RUN#N with a trial number N"),
    ("nothing", "'nothing': expected RUN:MEMBER (e.g. runs/a:B), RUN#TRIAL (e.g. runs/a#12) "
     "or an architecture .json file"),
])
def test_a_side_that_does_not_exist_is_a_clear_error(
        run: Path, spec: str, message: str) -> None:  # noqa: F811
    with pytest.raises(GenesynthError) as error:
        genesynth.diff(spec.format(run=run), f"{run}:A")
    assert str(error.value) == message.format(run=run)


def test_a_trial_whose_recorded_architecture_is_damaged_has_none(
        run: Path, tmp_path: Path) -> None:  # noqa: F811
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    study = locate(str(copy)).load_study()
    number = len(study.trials)
    study.add_trial(optuna.trial.create_trial(value=1.0, user_attrs={"arch": 17},
                                              distributions={}, params={}))
    with pytest.raises(GenesynthError) as error:
        genesynth.diff(f"{copy}#{number}", f"{copy}:A")
    assert str(error.value) == f"{copy}: no trial {number} with an architecture (trials 0-5)"


def test_a_member_arch_outside_the_run_directory_is_refused(tmp_path: Path) -> None:
    """Issue 25: `diff RUN:A` followed a member's arch path outside the run directory."""
    from genesynth.human.compare import diff
    from tests.commands.demo_runs import copy_run

    demo = copy_run(tmp_path)
    outside = tmp_path / "outside.json"
    shutil.copy(demo / "family" / "A" / "arch.json", outside)
    family = json.loads((demo / "family.json").read_text())
    for escape in (str(outside), "../outside.json"):
        family["members"][0]["arch"] = escape
        (demo / "family.json").write_text(json.dumps(family))
        with pytest.raises(GenesynthError, match=r"member 'A''s arch .* points outside the run "
                                                 r"directory; refusing to follow it"):
            diff(f"{demo}:A", f"{demo}:B")
    family["members"][0]["arch"] = "family/A/arch.json"
    (demo / "family/A/arch.json").write_bytes(bytes(range(256)))  # random bytes
    (demo / "family.json").write_text(json.dumps(family))
    with pytest.raises(GenesynthError,
                       match=r"arch.json:2:118: the architecture is not UTF-8 text \(byte 0x80\)"):
        diff(f"{demo}:A", f"{demo}:B")
