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
