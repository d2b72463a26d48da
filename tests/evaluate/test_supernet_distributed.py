"""The supernet trained by two torch.distributed processes (gloo, on the CPU) ends with the
same weights as one process given the same samples: every shard of every batch."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from genesynth.data import load_data
from genesynth.evaluate.supernet import SupernetConfig
from genesynth.evaluate.supernet.plan import plan
from genesynth.evaluate.supernet.space import BoundedSpace, SpaceBounds
from genesynth.evaluate.supernet.train import SandwichTrainer, World, shards
from genesynth.evaluate.supernet.weights import Supernet
from genesynth.evaluate.train import Tensors
from genesynth.space import parse_prototype
from tests.evaluate.tiny_space import TINY

CONFIG = SupernetConfig(epochs=2, batch_size=32, random=1, plan_samples=8)


def trained(parts: int) -> dict[str, torch.Tensor]:
    """The shared tensors after two epochs on 100 digits (a last batch of 4 images)."""
    proto = parse_prototype(TINY, "tiny.gs")
    data = Tensors.of(load_data("digits", limit=150).train)
    data = Tensors(data.x[:100], data.y[:100])
    space = BoundedSpace(proto, SpaceBounds(), CONFIG.plan_samples, CONFIG.seed)
    samples = space.plan_samples(CONFIG.plan_samples, CONFIG.seed)
    supernet = Supernet(plan(samples), CONFIG.seed)
    trainer = SandwichTrainer(supernet, space, samples[0], samples[1], CONFIG, parts=parts)
    for epoch in (1, 2):
        trainer.train_epoch(epoch, data)
    return {k: v.detach().clone() for k, v in supernet.tensors.items()}


def _worker(rank: int, folder: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank,
                            world_size=2)
    try:
        found = trained(parts=1)  # the world's size splits each batch
        if rank == 0:
            save_file(found, os.path.join(folder, "weights.safetensors"))
    finally:
        dist.destroy_process_group()


def test_shards_split_a_batch_between_the_processes() -> None:
    index = torch.arange(10)
    assert [s.tolist() for s in shards(index, 2, World())] == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]]
    assert [s.tolist() for s in shards(index, 2, World(1, 2))] == [[1, 3, 5, 7, 9]]
    assert [s.tolist() for s in shards(torch.arange(1), 2, World(1, 2))] == []
    assert [s.tolist() for s in shards(index, 1, World())] == [list(range(10))]


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_two_processes_end_with_the_weights_of_one_given_the_same_samples() -> None:
    alone = trained(parts=2)
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_worker, args=(folder,), nprocs=2, join=True)
        together = load_file(str(Path(folder) / "weights.safetensors"))
    assert set(together) == set(alone)
    for name, tensor in alone.items():
        torch.testing.assert_close(together[name], tensor, rtol=1e-4, atol=1e-5, msg=name)
    moved = trained(parts=1)  # and the shards matter: whole batches give other weights
    assert any(not torch.allclose(moved[k], alone[k], atol=1e-5) for k in alone)


def test_it_never_runs_alone_with_a_world(tmp_path: Any) -> None:
    assert World.current() == World()  # no process group in the test process
