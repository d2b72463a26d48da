"""The layer table of ``docs/prototype-language.md``, generated from the registry."""

from __future__ import annotations

from genesynth.blocks import REGISTRY
from genesynth.blocks.base import Param


def _default(param: Param) -> str:
    if param.default is None:
        return "required"
    if callable(param.default):
        return "auto"
    if isinstance(param.default, bool):
        return "true" if param.default else "false"
    return str(param.default)


def layer_table() -> str:
    """A markdown table: every registered layer kind, its settings with defaults, its doc."""
    rows = ["| kind | settings (default) | what it does |", "|---|---|---|"]
    for name in sorted(REGISTRY):
        kind = REGISTRY[name]
        settings = ", ".join(f"`{p.name}={_default(p)}`" for p in kind.schema) or "none"
        rows.append(f"| `{name}` | {settings} | {kind.doc} |")
    return "\n".join(rows)
