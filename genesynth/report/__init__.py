"""The run report: ``report.md`` (markdown), its tables of members and baselines (entries),
the family side by side (family) and the plots (plots)."""

from __future__ import annotations

from genesynth.report.markdown import write_report

__all__ = ["write_report"]
