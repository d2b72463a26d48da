"""docs/evaluators.md cannot go stale: its example runs and its table lists the registry."""

from __future__ import annotations

import re
from pathlib import Path

from genesynth.evaluate import EVALUATORS, Evaluator

DOC = Path("docs/evaluators.md").read_text()


def test_the_example_runs() -> None:
    (code,) = re.findall(r"```python\n(.*?)```", DOC, re.S)
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/evaluators.md", "exec"), namespace)  # our own doc, not input
    evaluator = namespace["SmallIsGood"]
    assert isinstance(evaluator, type) and issubclass(evaluator, Evaluator)


def test_the_table_lists_every_registered_kind() -> None:
    assert sorted(re.findall(r"^\| `(\w+)` \|", DOC, re.M)) == sorted(EVALUATORS)
