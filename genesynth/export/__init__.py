"""Exports: a member or an architecture written as a runnable file (the exporters), and the
self-contained PyTorch source (codegen, codegen_text)."""

from __future__ import annotations

from genesynth.export.exporters import export_architecture, export_member

__all__ = ["export_architecture", "export_member"]
