"""The language reference cannot go stale: examples parse, the layer table is the registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from genesynth import parse_prototype
from genesynth.blocks import REGISTRY
from genesynth.dsl.docs import layer_table

DOC = Path("docs/prototype-language.md").read_text()
EXAMPLES = [b for b in re.findall(r"```gs\n(.*?)```", DOC, re.S)]


def test_the_doc_has_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_every_example_loads(text: str) -> None:
    proto = parse_prototype(text, "doc.gs")
    assert proto.sample(0).classes == proto.classes


def test_layer_table_matches_the_registry() -> None:
    assert layer_table() in DOC
    kinds = re.findall(r"^\| `(\w+)` \|", layer_table(), re.M)
    assert kinds == sorted(REGISTRY)
