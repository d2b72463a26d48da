"""CPU latency of a network at batch 1, as the median of ``torch.utils.benchmark`` timings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils import benchmark

from genesynth.errors import GenesynthError
from genesynth.limits import MAX_THREADS, show_number


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, int, int],
    threads: int = 1,
    min_run_time: float = 0.2,
) -> float:
    """Median milliseconds of one forward pass of a (1, C, H, W) input on the CPU.

    The model runs in eval mode under ``torch.inference_mode()`` with ``threads`` intra-op
    threads (``torch.get_num_threads()`` is restored afterwards, as is the model's training
    flag). ``blocked_autorange`` repeats blocks of calls for at least ``min_run_time`` seconds.
    The model must already be on the CPU.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        shown = show_number(threads) if isinstance(threads, int) else repr(threads)
        raise GenesynthError(f"`threads` must be from 1 to {MAX_THREADS}, but got threads={shown}")
    if isinstance(min_run_time, bool) or not isinstance(min_run_time, int | float) or not (
        min_run_time > 0
    ):
        raise GenesynthError(
            f"`min_run_time` must be positive, but got min_run_time={min_run_time!r}"
        )
    x = torch.zeros((1, *input_shape))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            model(x)  # warm-up outside the timed blocks
            timer = benchmark.Timer(
                stmt="model(x)",
                globals={"model": model, "x": x},
                num_threads=threads,
            )
            measurement = timer.blocked_autorange(min_run_time=min_run_time)
    finally:
        model.train(was_training)
    return measurement.median * 1e3


def candidate_latency(threads: int, table: str | None = None) -> Callable[[Any], float]:
    """The latency a constraint judges a candidate by: predicted from its latency ``table``
    when it names one (read now, so a missing or broken table stops the run before it
    starts), else measured here on ``threads`` CPU threads."""
    if table is not None:
        from genesynth.latency.table import cached_table

        predict: Callable[[Any], float] = cached_table(table).predict
        return predict

    def measure(arch: Any) -> float:
        from genesynth.net.builder import build

        return measure_latency(build(arch), arch.input_shape, threads=threads)

    return measure
