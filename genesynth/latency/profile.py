"""Kit, measure and fit in one step, on this machine: ``genesynth latency profile``.

Three runtimes: ``onnxruntime`` (the kit's own runner, in this process), ``torch`` (the same
ops and networks as torch modules on the CPU) and ``torch-cuda`` (on the GPU, synchronised
after every call). Each gives a results file of the runner's format, so ``fit`` treats them
alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from genesynth.errors import GenesynthError
from genesynth.latency.kit import Bounds, make_kit, sample_networks
from genesynth.latency.ops import Op, op_inputs, op_module, ops_of
from genesynth.latency.runner import FORMAT, VERSION, load_average, stats
from genesynth.latency.runner import parser as runner_parser
from genesynth.latency.runner import run as run_kit
from genesynth.latency.settings import RUNTIMES
from genesynth.latency.space import space_ops
from genesynth.space import Prototype


def measure(prototype: Prototype, runtime: str = "onnxruntime", bounds: Bounds | None = None,
            threads: int = 1, networks: int = 24, seed: int = 0, kit: str | Path | None = None,
            rounds: int = 2, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The results (the runner's format) of every op and ``networks`` calibration networks
    of ``prototype`` inside ``bounds``, measured here with ``runtime``."""
    bounds = bounds or Bounds()
    if runtime not in RUNTIMES:
        raise GenesynthError(f"`runtime` must be one of {', '.join(RUNTIMES)}, but got "
                             f"runtime={runtime!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise GenesynthError(f"`threads` must be at least 1, but got threads={threads!r}")
    args = runner_parser().parse_args(["-", "--threads", str(threads), "--rounds", str(rounds),
                                       "--seed", str(seed)])
    args.progress = progress is not None
    if runtime == "onnxruntime":
        if kit is not None:
            return run_kit(make_kit(prototype, kit, bounds, networks, seed, progress).parent,
                           args)
        with tempfile.TemporaryDirectory(prefix="genesynth-kit-") as folder:
            return run_kit(make_kit(prototype, folder, bounds, networks, seed, progress).parent,
                           args)
    return _measure_torch(prototype, runtime, bounds, networks, seed, args)


def measure_networks(archs: Sequence[Any], runtime: str = "onnxruntime", threads: int = 1,
                     rounds: int = 2, seed: int = 0) -> dict[str, Any]:
    """Results (the runner's format) of whole networks only, timed as a kit's are: for
    checking a table's predictions on networks it was not fitted to."""
    from genesynth.latency.kit import KIT_FORMAT, KIT_VERSION, export_onnx, network_entry
    from genesynth.net.builder import build

    args = runner_parser().parse_args(["-", "--threads", str(threads), "--rounds", str(rounds),
                                       "--seed", str(seed), "--quiet"])
    entries = [network_entry(f"nets/net_{i:04d}.onnx", a) for i, a in enumerate(archs, 1)]
    if runtime == "onnxruntime":
        with tempfile.TemporaryDirectory(prefix="genesynth-nets-") as folder:
            (Path(folder) / "nets").mkdir()
            for entry, arch in zip(entries, archs, strict=True):
                export_onnx(build(arch).eval(), [arch.input_shape], Path(folder) / entry["file"])
            manifest = {"format": KIT_FORMAT, "version": KIT_VERSION, "models": entries}
            (Path(folder) / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
            return run_kit(Path(folder), args)
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        device = "cuda" if runtime == "torch-cuda" else "cpu"
        times = _time_all([(build(a).eval(), [a.input_shape]) for a in archs], device, args)
    finally:
        torch.set_num_threads(previous)
    return {"format": FORMAT, "version": VERSION, "runtime": runtime, "threads": threads,
            "models": [{**e, **stats(t)} for e, t in zip(entries, times, strict=True)]}


def measure_here(arch: Any, runtime: str, threads: int = 1) -> float | None:
    """Median milliseconds of ``arch`` measured on this machine with ``runtime`` (a table's:
    ``onnxruntime``, ``torch``, ``torch-cuda``), as the kit's runner times a network; None
    for a runtime this machine lacks (another one, or CUDA without a GPU)."""
    import importlib.util

    if runtime not in RUNTIMES or (runtime == "onnxruntime"
                                   and importlib.util.find_spec("onnxruntime") is None):
        return None
    if runtime == "torch-cuda":
        import torch

        if not torch.cuda.is_available():
            return None
    results = measure_networks([arch], runtime, threads)
    return float(results["models"][0]["median_ms"])


def _measure_torch(prototype: Prototype, runtime: str, bounds: Bounds, networks: int,
                   seed: int, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from genesynth.net.builder import build

    device = "cuda" if runtime == "torch-cuda" else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise GenesynthError("runtime 'torch-cuda' needs a CUDA GPU, but torch sees none")
    ops = list(space_ops(prototype, bounds.max_macs, bounds.max_params).ops)
    ops.append(Op("relu", (), (1, 1, 1)))
    entries: list[dict[str, Any]] = [
        {"role": "op", "key": op.key, "op": op.to_dict()} for op in ops[:-1]]
    entries.append({"role": "overhead", "key": ops[-1].key})
    modules: list[tuple[Any, Sequence[tuple[int, ...]]]] = [(op_module(op), op_inputs(op))
                                                             for op in ops]
    for arch in sample_networks(prototype, bounds, networks, seed):
        entries.append({"role": "network", "key": arch.key,
                        "ops": [op.key for op in ops_of(arch)]})
        modules.append((build(arch).eval(), [arch.input_shape]))
    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    began, before = time.time(), load_average()
    try:
        times = _time_all(modules, device, args)
    finally:
        torch.set_num_threads(previous)
    return {
        "format": FORMAT, "version": VERSION, "runtime": runtime,
        "runtime_version": torch.__version__, "threads": args.threads,
        "kit": {"prototype": prototype.name, "input_shape": list(prototype.input_shape),
                "classes": prototype.classes, "bounds": bounds.describe()},
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": os.cpu_count(), "python": platform.python_version(),
                    **({"gpu": torch.cuda.get_device_name()} if device == "cuda" else {})},
        "load_average": {"before": before, "after": load_average()},
        "settings": {"rounds": args.rounds, "warmup": args.warmup, "min_runs": args.min_runs,
                     "min_time_s": args.min_time},
        "seconds": round(time.time() - began, 1),
        "models": [{**entry, **stats(t)} for entry, t in zip(entries, times, strict=True)],
    }


def _time_all(modules: Sequence[tuple[Any, Sequence[tuple[int, ...]]]], device: str,
              args: argparse.Namespace) -> list[list[float]]:
    """Per-call milliseconds of every module, in rounds of a shuffled order (as the runner)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    ready = [(module.to(device), tuple(torch.randn(1, *s, generator=gen).to(device)
                                       for s in shapes)) for module, shapes in modules]
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times: list[list[float]] = [[] for _ in ready]
    order = list(range(len(ready)))
    shuffle = random.Random(args.seed)
    with torch.inference_mode():
        for round_ in range(args.rounds):
            shuffle.shuffle(order)
            for i in order:
                module, xs = ready[i]
                for _ in range(args.warmup):
                    module(*xs)
                sync()
                start = time.perf_counter()
                while (len(times[i]) < args.min_runs * (round_ + 1)
                       or time.perf_counter() - start < args.min_time):
                    t0 = time.perf_counter()
                    module(*xs)
                    sync()
                    times[i].append((time.perf_counter() - t0) * 1e3)
    return times
