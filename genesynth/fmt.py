"""Numbers for humans: ``1.23M``, ``456K``, ``97.2 %``, ``3m 05s``.

Shared by the dashboard panels, the plain log and the report so that every view writes a
number the same way.
"""

from __future__ import annotations

from typing import Any

DASH = "–"

_MARKDOWN = {"\\": "\\\\", "`": "\\`", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]",
             "#": "\\#", "<": "&lt;", ">": "&gt;", "&": "&amp;"}


def markdown(text: object) -> str:
    """``text`` as literal Markdown on one line: a name from a file (a member's label, a
    baseline's name, a module's label) can neither format the report nor inject HTML (a
    table escapes ``|`` in its cells itself)."""
    line = " ".join(str(text).split())
    return "".join(_MARKDOWN.get(c, c) for c in line)


def count(value: float | None, fixed: bool = True) -> str:
    """A parameter or MAC count to three significant digits: ``812``, ``4.51K``, ``45.1K``,
    ``456K``, ``1.20M``; without ``fixed``, trailing zeros dropped (``1.2M``, ``5M``: a label)."""
    if value is None:
        return DASH
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= scale * 0.9995:
            scaled = value / scale
            digits = 2 if abs(scaled) < 9.995 else 1 if abs(scaled) < 99.95 else 0
            text = f"{scaled:.{digits}f}"
            return (text if fixed or "." not in text else text.rstrip("0").rstrip(".")) + suffix
    return f"{value:.0f}"


def percent(value: float | None, digits: int = 1, space: bool = True) -> str:
    """An accuracy in percent: ``97.2 %`` (``97.2%`` without ``space``)."""
    if value is None:
        return DASH
    return f"{value:.{digits}f}{' ' if space else ''}%"


def score(value: float | None) -> str:
    """A utility such as NetScore: ``71.4``."""
    return DASH if value is None else f"{value:.1f}"


def latency(ms: float | None) -> str:
    """A latency: ``0.0607 ms``, ``0.41 ms``, ``12.3 ms`` (three significant digits below
    0.1 ms, where a predicted latency of a small network lies)."""
    if ms is None:
        return DASH
    if ms < 0.1:
        return f"{ms:.3g} ms"
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms"


def duration(seconds: float | None) -> str:
    """A wall time: ``8.2 s``, ``3m 05s``, ``2h 04m``."""
    if seconds is None:
        return DASH
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


#: How each bound reads: its quantity, its sign and how its value is written.
BOUND_WORDS = {
    "min_accuracy": ("top-1", "≥", lambda v: percent(v, digits=0 if v == int(v) else 1)),
    "max_macs": ("MACs", "≤", count),
    "max_params": ("params", "≤", count),
    "max_latency_ms": ("latency", "≤", latency),
}


def bounds(values: dict[str, float]) -> list[tuple[str, str, str]]:
    """``[("top-1", "≥", "90 %"), ("MACs", "≤", "5.00M")]`` for the bounds that are set."""
    return [(name, sign, write(values[key]))
            for key, (name, sign, write) in BOUND_WORDS.items() if values.get(key) is not None]


def bounds_text(values: dict[str, float]) -> str:
    """``top-1 ≥ 90 %, MACs ≤ 5.00M, params ≤ 200K`` (``no bounds`` when none is set)."""
    return ", ".join(" ".join(word) for word in bounds(values)) or "no bounds"


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 family member``, ``0 family members``, ``3 family members``."""
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


def shape(dims: tuple[int, ...]) -> str:
    """A tensor shape without the batch: ``24x16x16``."""
    return "x".join(str(d) for d in dims)


def latency_source(table: Any) -> str:
    """``predicted by phone.json (onnxruntime 1.17.1, 1 thread)`` for run.json's
    ``latency_table``; "" without one (latency is measured here)."""
    if not isinstance(table, dict):
        return ""
    name = str(table.get("path", "")).replace("\\", "/").rsplit("/", 1)[-1] or "a latency table"
    runtime = " ".join(str(table[k]) for k in ("runtime", "runtime_version") if table.get(k))
    threads = table.get("threads")
    if isinstance(threads, int):
        runtime += f", {threads} thread{'s' if threads != 1 else ''}"
    return f"predicted by {name}" + (f" ({runtime.strip(', ')})" if runtime else "")
