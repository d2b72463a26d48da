"""Doc examples that show a shipped file are that file, byte for byte (no stale copies)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = sorted(Path("docs").glob("*.md")) + [Path("README.md")]
BLOCK = re.compile(r"```(?:toml|gs|json)\n(.*?)```", re.S)
SHIPPED = re.compile(r"\A(?:#|//) ((?:constraints|prototypes)/[\w.-]+)")


def shipped_examples() -> list[tuple[str, str, str]]:
    """(doc, shipped path, block text) of every fenced block whose first line names a file."""
    found = []
    for doc in DOCS:
        for block in BLOCK.findall(doc.read_text(encoding="utf-8")):
            match = SHIPPED.match(block)
            if match:
                found.append((str(doc), match.group(1), block))
    return found


EXAMPLES = shipped_examples()


def test_the_constraint_doc_shows_shipped_files() -> None:
    shown = {(doc, path) for doc, path, _ in EXAMPLES}
    assert ("docs/constraints.md", "constraints/digits.toml") in shown
    assert ("docs/constraints.md", "constraints/latency.toml") in shown


@pytest.mark.parametrize(("doc", "path", "block"), EXAMPLES,
                         ids=[f"{d}:{p}" for d, p, _ in EXAMPLES])
def test_doc_example_equals_the_shipped_file(doc: str, path: str, block: str) -> None:
    assert block == Path(path).read_text(encoding="utf-8"), f"{doc} shows a stale {path}"


def test_the_dashboard_docs_plain_lines_are_what_the_log_writes() -> None:
    import io

    from genesynth.dashboard.plain import PlainLog, trial_line
    from genesynth.events import FamilyStarted, RunFinished, RunStarted
    from genesynth.record.snapshot import TrialRow

    doc = Path("docs/dashboard.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"## The plain log\n.*?```\n(.*?)```", doc, re.S)
    trial, family, finished = block.splitlines()
    row = TrialRow(12, "complete", 97.22, 45_100, 1_200_000, None, 71.4, True, seconds=8.2)
    assert trial.startswith(trial_line(row) + " [13/40, ETA ")
    stream = io.StringIO()
    log = PlainLog(stream)
    for event in (RunStarted("p.gs", "c.toml", "digits", "tpe", 0, "runs/attonet16", 40,
                             time=1.0), FamilyStarted(("A", "B", "C"), 15),
                  RunFinished("runs/attonet16", 3, time=313.0)):
        log(event)
    lines = stream.getvalue().splitlines()
    assert lines[1] == family
    assert lines[2] == finished.replace("40 trials", "0 trials")  # no trial ran here
