"""docs/benchmark-tables.md: its JSON example is a valid table, its Python example makes one."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from genesynth import TableEvaluator

DOC = Path("docs/benchmark-tables.md").read_text(encoding="utf-8")


def test_the_json_example_is_a_table(tmp_path: Path) -> None:
    (block,) = re.findall(r"```json\n(.*?)```", DOC, re.S)
    path = tmp_path / "bench.json"
    path.write_text(block, encoding="utf-8")
    assert TableEvaluator(path).table == {"1bc94bae1eeddf02": 93.1, "bb3b86d3bd2b81d4": 88.4}


def test_the_python_example_makes_a_table_of_the_prototypes_keys(tmp_path: Path) -> None:
    (block,) = re.findall(r"```python\n(.*?)```", DOC, re.S)
    prototypes = Path("prototypes").resolve()
    code = block.replace('"prototypes/', f'"{prototypes}/')
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True,
                   env={"PYTHONPATH": str(Path.cwd())})
    table = TableEvaluator(tmp_path / "bench.json").table
    assert len(table) == 3 and sorted(table.values()) == [90.0, 91.0, 92.0]
    assert "1bc94bae1eeddf02" in table  # the key the doc's format example names
    assert json.loads((tmp_path / "bench.json").read_text())["1bc94bae1eeddf02"]["macs"] > 0
