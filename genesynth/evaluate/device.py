"""Where training runs: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, resolved once.

``auto`` is the first of CUDA, MPS and the CPU that this machine has, so a GPU is used
whenever it is there with nothing to configure. Asking for a device that is not there is a
:class:`DeviceError` naming what is available, never a torch traceback later on.
"""

from __future__ import annotations

import re

import torch

from genesynth.errors import DeviceError
from genesynth.evaluate.budgets import DEVICES


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """The torch device ``spec`` names; raises DeviceError when it is unknown or absent."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    text = (spec or "auto").strip().lower()
    if text == "auto":
        return auto_device()
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        if not _mps_available():
            raise DeviceError("`device` is 'mps', but MPS (Apple GPU) is not available here; "
                              f"available: {', '.join(available_devices())}")
        return torch.device("mps")
    match = re.fullmatch(r"cuda(?::(\d+))?", text)
    if match is None:
        raise DeviceError(f"`device` must be one of {', '.join(DEVICES)}, but got "
                          f"device={spec!r}")
    if not torch.cuda.is_available():
        why = "torch was built without CUDA" if torch.version.cuda is None else "no GPU is visible"
        raise DeviceError(f"`device` is {spec!r}, but CUDA is not available here ({why}); "
                          "use --device cpu, or --device auto to take a GPU when there is one")
    index = int(match.group(1) or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(f"`device` is {spec!r}, but this machine has {count} CUDA "
                          f"device(s): cuda:0 .. cuda:{count - 1}")
    return torch.device("cuda", index)


def auto_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", 0)
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def available_devices() -> list[str]:
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        found.append("mps")
    return found


def device_name(device: torch.device) -> str:
    """``cpu``, ``mps`` or ``cuda:0 (NVIDIA H100 80GB HBM3)``: for run.json and the dashboard."""
    if device.type == "cuda":
        index = device.index or 0
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return device.type


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
