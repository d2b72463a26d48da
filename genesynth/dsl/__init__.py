"""The prototype language: grammar, parser, checks and writing back.

``parse`` (text -> syntax tree), ``resolve`` (syntax tree -> checked model) and
``architecture_to_text`` are pure; :mod:`genesynth.space` wraps them as a ``Prototype`` and
samples it.
"""

from __future__ import annotations

from genesynth.dsl.parser import parse
from genesynth.dsl.resolve import Model, resolve
from genesynth.dsl.writer import architecture_to_text

__all__ = ["Model", "architecture_to_text", "parse", "resolve"]
