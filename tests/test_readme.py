"""The README as a newcomer reads it: tables whole, commands that run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_commands_table_is_one_table() -> None:
    lines = _section("Commands").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    last = max(i for i, line in enumerate(lines) if line.startswith("|"))
    assert all(line.startswith("|") for line in lines[first:last + 1])


def test_commands_without_the_venv_path_say_the_venv_is_activated() -> None:
    quick = _section("Quick start")
    then = quick.split("Then, ", 1)[1].split("\n\n", 1)[0]
    assert "`genesynth report" in then and ". .venv/bin/activate" in then
    rounds = _section("Two rounds: look, refine, synthesize again")
    assert rounds.index(". .venv/bin/activate") < rounds.index("genesynth synthesize")


def test_onnx_export_names_its_extra() -> None:
    assert re.search(r"--format onnx` needs the ONNX extra \(`[^`]*\.\[onnx\]", README)


def test_the_evaluation_cache_and_its_variable_are_named() -> None:
    quick = _section("Quick start")
    assert "evaluation cache" in quick and "GENESYNTH_CACHE" in quick
