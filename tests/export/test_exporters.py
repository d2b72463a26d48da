"""Export: standalone PyTorch source run in a fresh interpreter without genesynth, ONNX, JSON."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from genesynth.dsl.writer import architecture_to_text
from genesynth.errors import ExportError, GenesynthError, RunError
from genesynth.export.codegen import generate_source
from genesynth.export.exporters import (
    export_architecture,
    export_member,
)
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec
from genesynth.net.builder import build
from genesynth.record.family import file_digest

L = LayerSpec.of


def every_kind() -> Architecture:
    """One module of each kind: residual (identity, projection, none), split, seq, skip."""
    conv_bn_relu = (L("conv", out=8, kernel=1, bias=False), L("bn"), L("relu"))
    modules = (
        ModuleSpec("bottleneck", "residual", (conv_bn_relu + (
            L("dwconv", kernel=3, bias=False), L("bn"), L("relu6"),
            L("conv", out=16, kernel=1, groups=2, bias=False), L("bn"),
        ),), shortcut="identity", post=(L("relu"),)),
        ModuleSpec("down", "residual", ((
            L("conv", out=32, kernel=3, stride=2, groups=4, bias=False), L("bn"), L("hswish"),
            L("se", mid=8, act="relu", gate="hsigmoid"),
        ),), shortcut="project", post=(L("relu"),)),
        ModuleSpec("wide split", "split", (
            (L("conv", out=16, kernel=1),),
            (L("dwconv", kernel=5), L("conv", out=16, kernel=1, bias=False), L("bn"), L("silu")),
        ), post=(L("shuffle", groups=2),)),
        ModuleSpec("shuffle unit", "split", (
            (),
            (L("conv", out=16, kernel=1, bias=False), L("bn"), L("relu"), L("se")),
        ), post=(L("shuffle", groups=4),)),
        ModuleSpec("plain", "seq", ((
            L("maxpool", kernel=3, stride=2), L("conv", out=24, kernel=3), L("bn"), L("tanh"),
        ),), post=(L("sigmoid"),)),
        ModuleSpec("skip", "seq", ((),)),
        ModuleSpec("no shortcut", "residual", ((L("avgpool", kernel=2, stride=1, padding=1),),)),
    )
    return Architecture(
        name="Every-Kind", input_shape=(3, 16, 16), classes=5,
        stem=(L("conv", out=16, kernel=3, stride=1, bias=False), L("bn"), L("relu")),
        modules=modules,
        head=(L("gap"), L("dropout", p=0.2), L("linear", out=12), L("bn"), L("swish"),
              L("linear", out=5), L("softmax")),
    )


def logits_only() -> Architecture:
    """No softmax: forward returns logits; a flatten head and a vector batch norm."""
    return Architecture(
        name="Logits", input_shape=(1, 8, 8), classes=3,
        stem=(L("conv", out=4, kernel=3, stride=2), L("relu")),
        modules=(ModuleSpec("m", "residual", ((L("conv", out=4, kernel=3),),),
                            shortcut="identity"),),
        head=(L("flatten"), L("linear", out=3, bias=False)),
    )


def trained_state(arch: Architecture, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights and batch-norm statistics, so eval mode differs from a fresh init."""
    torch.manual_seed(seed)
    net = build(arch)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if name.endswith("running_var"):
                tensor.copy_(torch.rand_like(tensor) + 0.5)
            elif tensor.is_floating_point():
                tensor.add_(torch.randn_like(tensor) * 0.1)
            else:
                tensor.fill_(7)  # num_batches_tracked
    return {k: v.clone() for k, v in net.state_dict().items()}


def make_run(root: Path, archs: dict[str, Architecture]) -> Path:
    """A fake run directory: family.json and, per member, arch.json and weights."""
    members = []
    for label, arch in archs.items():
        folder = root / "family" / label
        folder.mkdir(parents=True)
        (folder / "arch.json").write_text(arch.to_json(), encoding="utf-8")
        save_file(trained_state(arch), str(folder / "weights.safetensors"))
        members.append({
            "label": label, "trial": 0, "key": arch.key, "accuracy": 50.0, "val_accuracy": 50.0,
            "params": 1, "macs": 1, "latency_ms": None, "utility": 1.0, "feasible": True,
            "arch": f"family/{label}/arch.json", "text": f"family/{label}/arch.gs",
            "weights": f"family/{label}/weights.safetensors",
            "weights_sha256": file_digest(folder / "weights.safetensors"),
        })
    (root / "family.json").write_text(json.dumps({"members": members}), encoding="utf-8")
    return root


def has_text_writer() -> bool:
    try:
        return importlib.util.find_spec("genesynth.dsl.writer") is not None
    except ModuleNotFoundError:
        return False


def reference(arch: Architecture, state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    net = build(arch)
    net.load_state_dict(state, strict=True)
    with torch.no_grad():
        return net.eval()(x)


RUNNER = '''
import importlib.util, json, runpy, sys
sys.path[:0] = json.loads(sys.argv[1])  # site-packages only: no .pth, no editable genesynth
assert importlib.util.find_spec("genesynth") is None, "genesynth must not be importable"
sys.modules["genesynth"] = None  # and any attempt to import it fails
import torch
spec = importlib.util.spec_from_file_location("exported", sys.argv[2])
model_file = importlib.util.module_from_spec(spec)
spec.loader.exec_module(model_file)
model = model_file.load()
x = torch.load(sys.argv[3], weights_only=True)
with torch.no_grad():
    out = {"forward": model(x), "logits": model.forward_logits(x)}
torch.save(out, sys.argv[4])
json.dump(sorted(model.state_dict()), open(sys.argv[5], "w"))
runpy.run_path(sys.argv[2], run_name="__main__")
'''


def run_isolated(model_py: Path, x: torch.Tensor, work: Path) -> tuple[dict, list[str], str]:
    """Run the generated file in a fresh interpreter that cannot import genesynth."""
    work.mkdir(exist_ok=True)
    torch.save(x, work / "x.pt")
    site = str(Path(torch.__file__).resolve().parent.parent)
    runner = work / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    args = [json.dumps([site]), str(model_py), "x.pt", "out.pt", "keys.json"]
    done = subprocess.run(  # -S: no site, so no .pth file installs the editable genesynth
        [sys.executable, "-S", str(runner), *args], cwd=work, env={"PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = torch.load(work / "out.pt", weights_only=True)
    return out, json.loads((work / "keys.json").read_text()), done.stdout


@pytest.mark.parametrize("make", [every_kind, logits_only])
def test_pytorch_export_runs_standalone_and_matches(make, tmp_path: Path) -> None:
    arch = make()
    run = make_run(tmp_path / "run", {"A": arch})
    written = export_member(run, "A", "pytorch", out=tmp_path / "out" / "net.py")
    model_py = tmp_path / "out" / "net.py"
    assert written == [model_py, tmp_path / "out" / "net.pt"]
    source = model_py.read_text()
    assert "genesynth" not in source.replace("designed with genesynth", "")
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports == [
        "from __future__ import annotations", "from collections import OrderedDict",
        "from pathlib import Path", "import torch", "from torch import nn",
    ]
    state = trained_state(arch)
    x = torch.randn(4, *arch.input_shape, generator=torch.Generator().manual_seed(3))
    out, keys, stdout = run_isolated(model_py, x, tmp_path / "iso")
    net = build(arch).eval()
    assert keys == sorted(net.state_dict())
    torch.testing.assert_close(out["forward"], reference(arch, state, x), atol=1e-5, rtol=0)
    with torch.no_grad():
        net.load_state_dict(state)
        torch.testing.assert_close(out["logits"], net.forward_logits(x), atol=1e-5, rtol=0)
    shape = ", ".join(map(str, arch.input_shape))
    assert f"input (1, {shape}) -> output (1, {arch.classes})" in stdout


def test_generated_source_is_readable_and_clean(tmp_path: Path) -> None:
    arch = every_kind()
    (path,) = export_architecture(arch, tmp_path / "model.py", "pytorch")
    source = path.read_text()
    for name in ("class ChannelShuffle", "class SqueezeExcite", "class Residual", "class Split",
                 "class Network", "def build()", "def load(", 'if __name__ == "__main__":'):
        assert name in source
    assert "nn.Conv2d(16, 32, 3, stride=2, padding=1, groups=4, bias=False)" in source
    assert "# m03 'wide split': split;" in source
    assert "# m06 'skip': skipped (identity)" in source
    assert "torch.load(path, map_location=\"cpu\", weights_only=True)" in source
    assert "Parameters:" in source and "MACs:" in source and "Classes:      5" in source
    assert "    return Network(stem, body, head, softmax=True)" in source
    lean = export_architecture(logits_only(), tmp_path / "lean.py", "pytorch")[0].read_text()
    assert "class Split" not in lean and "class SqueezeExcite" not in lean
    assert "    return Network(stem, body, head, softmax=False)" in lean
    assert "class Normalize" not in source + lean  # no normalisation was given
    ruff = importlib.util.find_spec("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    config = Path(__file__).resolve().parents[2] / "pyproject.toml"
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--config", str(config), str(path),
         str(tmp_path / "lean.py")], capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_network_and_normalize_are_written_once() -> None:
    """The exported file's Network and Normalize are genesynth's own classes, copied."""
    from genesynth.export.codegen_text import class_source

    source = generate_source(logits_only(), normalization=((0.5,), (2.0,)))
    for name in ("Network", "Normalize"):
        assert class_source(name) in source
    assert source.count("class Network(") == source.count("class Normalize(") == 1
    assert ("    return Network(stem, body, head, softmax=False, "
            "normalize=Normalize(MEAN, STD))") in source


def test_names_cannot_inject_code(tmp_path: Path) -> None:
    arch = Architecture(
        name='x"""\nimport os  # \\', input_shape=(1, 8, 8), classes=3,
        stem=(), modules=(ModuleSpec("a\nimport os", "seq", ((L("relu"),),)),),
        head=(L("flatten"), L("linear", out=3)),
    )
    source = export_architecture(arch, tmp_path / "m.py", "pytorch")[0].read_text()
    assert "\nimport os" not in source
    compile(source, "m.py", "exec")  # parses; never run here


def test_onnx_export_matches_onnxruntime(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    arch = every_kind()
    run = make_run(tmp_path / "run", {"A": arch})
    (path,) = export_member(run, "A", "onnx")
    assert path == run / "family" / "A" / "model.onnx"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(5, *arch.input_shape, generator=torch.Generator().manual_seed(4))
    (got,) = session.run(None, {"input": x.numpy()})
    want = reference(arch, trained_state(arch), x)
    torch.testing.assert_close(torch.from_numpy(got), want, atol=1e-5, rtol=1e-4)


def test_onnx_without_the_extra_says_what_to_install(tmp_path, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a)
    )
    with pytest.raises(GenesynthError, match=r"genesynth\[onnx\]"):
        export_architecture(logits_only(), tmp_path / "m.onnx", "onnx")


def test_json_and_text(tmp_path: Path) -> None:
    arch = every_kind()
    (path,) = export_architecture(arch, tmp_path / "a.json", "json")
    assert Architecture.from_json(path.read_text()) == arch
    if not has_text_writer():
        pytest.skip("genesynth.dsl.writer (to_text) is not written yet")
    (text,) = export_architecture(arch, tmp_path / "a.gs", "text")
    assert text.read_text() == architecture_to_text(arch)


def test_run_directory_errors(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="no run directory"):
        export_member(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="has no family.json"):
        export_member(tmp_path / "empty")
    run = make_run(tmp_path / "run", {"A": logits_only(), "B": logits_only()})
    with pytest.raises(RunError, match="no member 'E' in .*family.json; members: A, B"):
        export_member(run, "E")
    (run / "family" / "B" / "weights.safetensors").unlink()
    with pytest.raises(RunError, match=r"no file .*weights.safetensors; .* holds: arch.json"):
        export_member(run, "B", "pytorch")
    assert export_member(run, "B", "json")[0].name == "model.json"  # weights not needed
    with pytest.raises(ExportError, match="did you mean 'onnx'"):
        export_member(run, "A", "onx")


def test_weights_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    state = trained_state(logits_only())
    state["stem.0.extra"] = torch.zeros(1)
    with pytest.raises(ExportError, match="do not fit"):
        export_architecture(logits_only(), tmp_path / "m.py", "pytorch", state)
    assert not (tmp_path / "m.py").exists()


def test_exported_members_take_raw_data(tmp_path: Path) -> None:
    """A real digits run: the exported PyTorch file and ONNX model, given the data in its own
    units (digits 0-16), classify the test split as the run measured it."""
    import numpy as np

    import genesynth
    from genesynth.evaluate.train import TrainConfig
    from genesynth.goal.constraint import Constraint

    data = genesynth.load_data("digits", limit=400)
    proto = genesynth.parse_prototype(
        "network t { input 1x8x8 classes 10 stem { conv(out=16) bn relu }\n"
        "modules { m } head { gap linear(out=classes) softmax } }\n"
        "module m: residual(shortcut=auto) { conv(out=16) bn relu conv(out=16) bn } then { relu }"
    )
    rule = Constraint(min_accuracy=0.0, max_macs=None, max_params=None, max_latency_ms=None)
    result = genesynth.synthesize(
        proto, rule, data=data, trials=1, out=tmp_path / "run", family_size=1,
        proxy=TrainConfig(epochs=1, batch_size=64), full=TrainConfig(epochs=6, batch_size=64),
    )
    (member,) = result.family
    mean = np.array(data.mean, dtype=np.float32)[:, None, None]
    std = np.array(data.std, dtype=np.float32)[:, None, None]
    raw = np.round(data.test.x * std + mean)  # the digits as the source holds them: 0..16
    assert raw.min() == 0 and raw.max() == 16
    x = torch.from_numpy(raw.astype(np.float32))
    want = torch.from_numpy(data.test.y)
    tolerance = 100 / len(want) + 1e-9  # one image: mean/std are stored rounded to 6 digits

    export_member(tmp_path / "run", member.label, "pytorch", out=tmp_path / "m.py")
    assert "forward() normalises them first with MEAN and STD" in (tmp_path / "m.py").read_text()
    spec = importlib.util.spec_from_file_location("exported_raw", tmp_path / "m.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with torch.no_grad():
        top1 = float((module.load()(x).argmax(1) == want).float().mean()) * 100
    assert abs(top1 - member.accuracy) <= tolerance
    assert top1 > 50  # 14 % (chance level) when the normalisation was left out

    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    (onnx_path,) = export_member(tmp_path / "run", member.label, "onnx", out=tmp_path / "m.onnx")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (probs,) = session.run(None, {"input": x.numpy()})
    assert abs(float((probs.argmax(1) == data.test.y).mean()) * 100 - member.accuracy) <= tolerance


def test_the_normalisation_is_the_first_step(tmp_path: Path) -> None:
    arch = every_kind()
    run = make_run(tmp_path / "run", {"A": arch})
    mean, std = [10.0, 20.0, 30.0], [2.0, 4.0, 8.0]
    (run / "run.json").write_text(json.dumps({
        "prototype_path": "", "prototype_text": "", "input_shape": [3, 16, 16], "classes": 5,
        "constraint": {}, "data": {"mean": mean, "std": std}, "seed": 0, "sampler": "tpe",
        "evaluator": {}, "trials": 1, "family_size": 1, "full_epochs": 1,
    }), encoding="utf-8")
    export_member(run, "A", "pytorch", out=tmp_path / "out" / "net.py")
    raw = torch.rand(4, *arch.input_shape, generator=torch.Generator().manual_seed(3)) * 255
    normalised = (raw - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    out, keys, _ = run_isolated(tmp_path / "out" / "net.py", raw, tmp_path / "iso")
    assert keys == sorted(build(arch).state_dict())  # buffers stay out of the weights
    want = reference(arch, trained_state(arch), normalised)
    torch.testing.assert_close(out["forward"], want, atol=1e-5, rtol=0)
    bad = {"prototype_path": "", "data": {"mean": [1.0], "std": [0.0]}}
    (run / "run.json").write_text(json.dumps({**json.loads((run / "run.json").read_text()),
                                              **bad}), encoding="utf-8")
    with pytest.raises(RunError, match=r"std > 0, but got mean=\[1.0\], std=\[0.0\]"):
        export_member(run, "A", "pytorch", out=tmp_path / "out2.py")


def test_untrusted_paths_stay_inside_the_run_directory(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", {"A": logits_only()})
    family = json.loads((run / "family.json").read_text())
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "arch.json").write_text(logits_only().to_json(), encoding="utf-8")
    escapes = (str(outside / "arch.json"), "../outside/arch.json", "family/../../outside/a.json")
    for bad in escapes:
        family["members"][0]["arch"] = bad
        (run / "family.json").write_text(json.dumps(family), encoding="utf-8")
        with pytest.raises(RunError, match="points outside the run directory; refusing"):
            export_member(run, "A", "json", out=tmp_path / "a.json")
    family["members"][0].update(arch="family/A/arch.json", weights="../../w.safetensors")
    (run / "family.json").write_text(json.dumps(family), encoding="utf-8")
    with pytest.raises(RunError, match="member 'A''s weights '../../w.safetensors' points outside"):
        export_member(run, "A", "pytorch", out=tmp_path / "a.py")
    # a crafted label: the member's folder (where exports go by default) must stay inside too
    family["members"][0].update(label="../../../x", weights="family/A/weights.safetensors")
    (run / "family.json").write_text(json.dumps(family), encoding="utf-8")
    with pytest.raises(RunError, match=r"members\[0\]: label must be a label of letters, "
                                       r"digits, '_' or '-' starting with a letter, but got "
                                       r"'../../../x'"):
        export_member(run, "../../../x", "json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside", "run"]


def test_export_never_overwrites_silently(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", {"A": logits_only()})
    target = tmp_path / "m.py"
    assert export_member(run, "A", "pytorch", out=target) == [target, tmp_path / "m.pt"]
    (tmp_path / "m.py").unlink()  # the weights beside it are enough to refuse
    with pytest.raises(ExportError, match=r"m.pt already exists; pass --force to overwrite"):
        export_member(run, "A", "pytorch", out=target)
    assert export_member(run, "A", "pytorch", out=target, overwrite=True)[0] == target
    with pytest.raises(ExportError, match=r"m.py, .*m.pt already exist; pass --force"):
        export_member(run, "A", "pytorch", out=target)
    with pytest.raises(ExportError, match=r"weights.pt: a pytorch export is a .py file with .pt "
                                          r"beside it \(model.py, model.pt\); name the .py file"):
        export_member(run, "A", "pytorch", out=tmp_path / "weights.pt")
    assert not (tmp_path / "weights.pt").exists()


def test_export_never_writes_through_a_link_out_of_the_run_directory(tmp_path: Path) -> None:
    """Issue 25: `export --force` wrote through family/A/model.py linked to a file outside."""
    run = make_run(tmp_path / "run", {"A": logits_only()})
    victim = tmp_path / "victim.py"
    victim.write_text("mine")
    link = run / "family" / "A" / "model.py"
    link.symlink_to(victim)
    for force in (False, True):
        with pytest.raises(RunError, match=r"model.py is a link to .*victim.py, outside the run "
                                           r"directory .*; refusing to write through it"):
            export_member(run, "A", "pytorch", overwrite=force)
    link.unlink()
    link.symlink_to(tmp_path / "new.py")  # dangling: would create a file outside
    with pytest.raises(RunError, match="refusing to write through it"):
        export_member(run, "A", "pytorch")
    assert victim.read_text() == "mine" and not (tmp_path / "new.py").exists()
    link.unlink()
    assert export_member(run, "A", "pytorch")[0] == link  # an ordinary file is written


def test_weights_larger_than_any_network_are_refused_unread(tmp_path: Path) -> None:
    """Issue 25's probe: a sparse 20 GB weights file was read until memory ran out."""
    run = make_run(tmp_path / "run", {"A": logits_only()})
    weights = run / "family" / "A" / "weights.safetensors"
    with open(weights, "wb") as stream:
        stream.truncate(20 * 2**30)
    with pytest.raises(RunError, match=r"weights.safetensors: member 'A''s weights hold "
                                       r"21,474,836,480 bytes; a network genesynth builds has "
                                       r"at most 4,001,048,576"):
        export_member(run, "A", "pytorch", out=tmp_path / "m.py")
