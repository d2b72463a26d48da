"""adapt on a small real run: it meets the target exactly, adds a member with its lineage
that export knows, resumes after a kill to the same result, and refuses what it cannot do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

import genesynth
from genesynth.adapt import AdaptError, Target, adapt
from genesynth.cli import main
from genesynth.evaluate.train import TrainConfig
from genesynth.events import AdaptStep
from genesynth.export.exporters import InputNormalization, export_member
from genesynth.goal.constraint import Constraint
from genesynth.net.builder import build
from genesynth.net.costs import cost
from genesynth.record.family import file_digest
from genesynth.space.choosers import LastChooser
from tests.export.test_exporters import run_isolated

PROTOTYPE = """network t { input 1x8x8 classes 10 stem { conv(out=16) bn relu }
modules { m(out=16) m(out=24, stride=2) } head { gap linear(out=classes) softmax } }
module m(out, stride=1): residual(shortcut=auto) {
  pwconv(out=in * [0.5, 1.5]) bn relu conv(kernel=3, stride=stride, groups=[1, 4]) bn relu
  pwconv(out=out) bn } then { relu }
"""
FAST = {"steps": 2, "long_epochs": 1}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-trial digits run whose member A is the widest network of the prototype."""
    out = tmp_path_factory.mktemp("adapt") / "run"
    proto = genesynth.parse_prototype(PROTOTYPE)
    data = genesynth.load_data("digits", limit=240)
    genesynth.synthesize(proto, Constraint(min_accuracy=0.0), data=data, trials=1, out=out,
                         family_size=1, proxy=TrainConfig(epochs=1, batch_size=64),
                         full=TrainConfig(epochs=1, batch_size=64))
    widest = proto.sample(chooser=LastChooser())
    member = out / "family" / "A"
    (member / "arch.json").write_text(widest.to_json() + "\n")
    torch.manual_seed(0)
    save_file(build(widest).state_dict(), str(member / "weights.safetensors"))
    family = json.loads((out / "family.json").read_text())
    c = cost(widest)
    family["members"][0].update(key=widest.key, params=c.params, macs=c.macs,
                                weights_sha256=file_digest(member / "weights.safetensors"))
    (out / "family.json").write_text(json.dumps(family))
    return out


@pytest.fixture
def run(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "run"))


def _target(run: Path) -> Target:
    macs = json.loads((run / "family.json").read_text())["members"][0]["macs"]
    return Target("macs", round(macs * 0.8))


def test_adapt_meets_the_target_and_adds_a_member_export_knows(run: Path) -> None:
    target = _target(run)
    steps: list[AdaptStep] = []
    result = adapt(run, "A", target, listeners=[lambda e: isinstance(e, AdaptStep)
                                                and steps.append(e)], **FAST)
    made = result.member
    assert made.label == f"A-macs{target.slug[4:]}" and result.made_now
    arch = genesynth.Architecture.from_json((run / made.arch).read_text())
    assert made.macs == cost(arch).macs <= target.value < result.source.macs
    assert [s.iteration for s in steps] == list(range(1, len(steps) + 1))
    assert all(s.value <= s.goal for s in steps)  # every proposal meets its step
    entry = json.loads((run / "family.json").read_text())["members"][-1]
    assert entry["label"] == made.label
    lineage = entry["lineage"]
    assert lineage["adapted_from"] == "A" and lineage["target"] == {"macs": target.value}
    assert [i["iteration"] for i in lineage["iterations"]] == [s.iteration for s in steps]
    written = export_member(run, made.label, "pytorch")
    assert [p.name for p in written] == ["model.py", "model.pt"]
    x = torch.rand(3, *arch.input_shape) * 16  # digits in their own units, 0..16
    out, _, _ = run_isolated(written[0], x, run / "iso")  # a fresh interpreter, no genesynth
    net = build(arch).eval()
    net.load_state_dict(load_file(str(run / made.weights)))
    norm = InputNormalization.of_run(run)
    assert norm is not None
    mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in (norm.mean, norm.std))
    with torch.no_grad():
        torch.testing.assert_close(out["forward"], net((x - mean) / std), atol=1e-5, rtol=0)
    report = genesynth.write_report(run)[0].read_text()
    assert f"| **{made.label}** (adapted from A) |" in report
    assert f"### {made.label}: A adapted to macs <= " in report
    assert main(["diff", f"{run}:A", f"{run}:{made.label}"]) == 0
    again = adapt(run, "A", target, **FAST)  # done before: returned, nothing retrained
    assert not again.made_now and again.member == made


def test_a_killed_adapt_resumes_to_the_same_result(run: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    target = _target(run)
    unbroken = adapt(Path(shutil.copytree(run, tmp_path / "unbroken")), "A", target, **FAST)

    def kill(event: Any) -> None:
        if isinstance(event, AdaptStep) and event.iteration == 1:
            raise KeyboardInterrupt

    from genesynth.events import Emitter

    original = Emitter.__call__

    def fatal(self: Emitter, event: Any) -> None:  # a kill, not a listener error
        original(self, event)
        kill(event)

    with monkeypatch.context() as patch:
        patch.setattr(Emitter, "__call__", fatal)
        with pytest.raises(KeyboardInterrupt):
            adapt(run, "A", target, **FAST)
    saved = json.loads((run / "adapt" / unbroken.member.label / "state.json").read_text())
    assert saved["iteration"] == 1
    resumed = adapt(run, "A", target, **FAST)
    assert resumed.member.key == unbroken.member.key
    assert resumed.member.accuracy == unbroken.member.accuracy
    weights = f"family/{unbroken.member.label}/weights.safetensors"
    a, b = load_file(str(run / weights)), load_file(str(tmp_path / "unbroken" / weights))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_targets_it_cannot_reach_are_one_line_errors(run: Path, capsys: Any) -> None:
    macs = json.loads((run / "family.json").read_text())["members"][0]["macs"]
    with pytest.raises(AdaptError, match=r"^member A already meets the target: MACs "):
        adapt(run, "A", Target("macs", macs), **FAST)
    least = genesynth.parse_prototype(PROTOTYPE).cost_range().min_macs
    with pytest.raises(AdaptError) as error:
        adapt(run, "A", Target("macs", least - 1), **FAST)
    assert str(error.value) == (
        f"the target MACs {genesynth.fmt.count(least - 1, fixed=False)} is below the "
        f"smallest network of the prototype 't' (MACs "
        f"{genesynth.fmt.count(least, fixed=False)})")
    assert main(["adapt", str(run), "--target", "macs=1K", "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the target MACs 1K is below the smallest network") \
        and err.count("\n") == 1
    assert main(["adapt", str(run), "--member", "Z", "--target", "macs=1K"]) == 2
    assert "no member 'Z'" in capsys.readouterr().err
