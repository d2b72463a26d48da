"""Evaluator kinds are known to genesynth.evaluate alone: nothing outside it names one, and a
new kind with its own command-line flag is its module plus one registry entry."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from genesynth.cli import main
from genesynth.evaluate.registry import EVALUATORS, Entry, Flag
from tests.synth.test_engine import TINY

ROOT = Path(__file__).resolve().parents[2] / "genesynth"
CLASSES = {entry.target.split(":")[1] for entry in EVALUATORS.values()}


def names_a_kind(source: str, kinds: set[str], classes: set[str]) -> list[str]:
    """Where ``source`` names a kind: compares something with a kind's name, writes a
    description ``{"kind": <kind>}``, or names a kind's class."""
    found = []
    for node in ast.walk(ast.parse(source)):
        constants: list[ast.expr] = []
        if isinstance(node, ast.Compare):
            constants = [node.left, *node.comparators]
            constants += [e for c in node.comparators if isinstance(c, ast.Tuple | ast.List |
                                                                     ast.Set) for e in c.elts]
        elif isinstance(node, ast.Dict):
            constants = [v for k, v in zip(node.keys, node.values, strict=True)
                         if isinstance(k, ast.Constant) and k.value == "kind"]
        elif isinstance(node, ast.Name | ast.alias | ast.Attribute):
            name = (node.id if isinstance(node, ast.Name) else node.attr
                    if isinstance(node, ast.Attribute) else node.asname or node.name)
            if name.rsplit(".", 1)[-1] in classes:
                found.append(f"line {node.lineno}: {name.rsplit('.', 1)[-1]}")
        found += [f"line {c.lineno}: {c.value!r}" for c in constants
                  if isinstance(c, ast.Constant) and c.value in kinds]
    return sorted(set(found))


def test_no_module_outside_evaluate_names_a_kind() -> None:
    """The root's public names (``genesynth.TableEvaluator`` ...) are the one exception."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        where = path.relative_to(ROOT)
        if where.parts[0] == "evaluate" or where == Path("__init__.py"):
            continue
        found += [f"{where} {hit}" for hit in names_a_kind(path.read_text(encoding="utf-8"),
                                                          set(EVALUATORS), CLASSES)]
    assert found == []


def test_the_check_sees_each_way_of_naming_a_kind() -> None:
    source = ('if spec["kind"] == "table":\n    pass\n'
              'if kind in ("train", "x"):\n    pass\n'
              'described = {"kind": "supernet", "path": "train"}\n'
              'from genesynth.evaluate.table import TableEvaluator\n'
              'ok = {"split": "train"}, "table"\n')
    assert names_a_kind(source, set(EVALUATORS), CLASSES) == [
        "line 1: 'table'", "line 3: 'train'", "line 5: 'supernet'", "line 6: TableEvaluator"]


TOY = '''
from genesynth.evaluate.base import Evaluator
from genesynth.net.costs import cost
from genesynth.net.measurement import Measurement


class ToyEvaluator(Evaluator):
    """Every network scores ``level``: a kind with its own flag (--toy-level)."""

    needs_data = False
    prunable = False

    def __init__(self, level):
        self.level = float(level)

    def evaluate(self, arch, report):
        report(1, None, self.level)
        c = cost(arch)
        return Measurement(self.level, c.params, c.macs, curve=(self.level,))

    def describe(self):
        return {"kind": "toy", "level": self.level}

    @classmethod
    def from_description(cls, described, data):
        return cls(described.get("level", 50.0))
'''


def test_a_new_kind_with_its_own_flag_is_its_module_and_one_registry_entry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "toy_kind.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(EVALUATORS, "toy", Entry(
        "toy_kind:ToyEvaluator", "every network scores --toy-level",
        flags=(Flag("--toy-level", "level", "the score of every network", kind=float),)))
    proto, rule = tmp_path / "tiny.gs", tmp_path / "rule.toml"
    proto.write_text(TINY)
    rule.write_text("[bounds]\nmin_accuracy = 10\n")
    out = tmp_path / "run"
    code = main(["synthesize", str(proto), "--constraint", str(rule), "--evaluator", "toy",
                 "--toy-level", "42.5", "--trials", "3", "--family", "1", "--out", str(out),
                 "--plain", "--no-cache"])
    assert code == 0, capsys.readouterr().err
    run = json.loads((out / "run.json").read_text())
    assert run["evaluator"] == {"kind": "toy", "level": 42.5}
    family = json.loads((out / "family.json").read_text())
    assert [m["accuracy"] for m in family["members"]] == [42.5]
    with pytest.raises(SystemExit):
        main(["synthesize", "--help"])
    assert "--toy-level" in capsys.readouterr().out
    assert main(["synthesize", str(proto), "--constraint", str(rule), "--toy-level", "1",
                 "--out", str(tmp_path / "other"), "--plain"]) == 2
    assert capsys.readouterr().err == "error: `--toy-level` applies to --evaluator toy only\n"
    sys.modules.pop("toy_kind", None)
