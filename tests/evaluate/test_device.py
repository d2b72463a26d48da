from __future__ import annotations

import pytest
import torch

from genesynth.errors import DeviceError
from genesynth.evaluate.device import auto_device, device_name, resolve_device


def test_cpu_and_auto_resolve_here() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("auto") == auto_device() == resolve_device(None)
    assert device_name(torch.device("cpu")) == "cpu"


def test_unknown_device_is_refused_with_the_choices() -> None:
    with pytest.raises(DeviceError) as caught:
        resolve_device("gpu")
    assert str(caught.value) == (
        "`device` must be one of auto, cpu, cuda, cuda:N, mps, but got device='gpu'"
    )
    with pytest.raises(DeviceError, match="but got device='cuda:x'"):
        resolve_device("cuda:x")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a CPU-only machine")
def test_cuda_without_cuda_says_so() -> None:
    with pytest.raises(DeviceError) as caught:
        resolve_device("cuda")
    assert str(caught.value).startswith("`device` is 'cuda', but CUDA is not available here (")
    assert str(caught.value).endswith(
        "); use --device cpu, or --device auto to take a GPU when there is one")
    with pytest.raises(DeviceError, match="`device` is 'cuda:1', but CUDA is not available"):
        resolve_device("cuda:1")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_resolves_and_a_missing_index_is_refused() -> None:
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("auto").type == "cuda"
    count = torch.cuda.device_count()
    with pytest.raises(DeviceError, match=f"this machine has {count} CUDA device"):
        resolve_device(f"cuda:{count}")
