"""A resumable, rank-aware infinite sampler: training resumes mid-epoch exactly where it stopped.

The sample order is a pure function of (seed, epoch), each DDP rank takes every ``world``-th position,
and every yielded key carries its global position so the dataset can seed its augmentation from it.
Restarting at ``start`` (samples already consumed by this rank) replays nothing and skips nothing.
"""

from collections.abc import Iterator

import torch
import torch.distributed as dist
from torch.utils.data import Sampler


def encode_key(index: int, position: int, size: int) -> int:
    """Pack (dataset index, global stream position) into one int key for the dataset."""
    return position * size + index


def decode_key(key: int, size: int) -> tuple[int, int]:
    """Inverse of :func:`encode_key`."""
    return key % size, key // size


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class ResumableSampler(Sampler[int]):
    """Endless shuffled keys for a dataset of ``size`` items, starting after ``start`` per-rank samples."""

    def __init__(self, size: int, seed: int = 0, start: int = 0) -> None:
        self.size = size
        self.seed = seed
        self.start = start

    def __iter__(self) -> Iterator[int]:
        rank, world = _rank_world()
        position = self.start * world + rank  # global position of this rank's next sample
        epoch, order = -1, torch.empty(0, dtype=torch.long)
        while True:
            if position // self.size != epoch:
                epoch = position // self.size
                order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed + epoch))
            yield encode_key(int(order[position % self.size]), position, self.size)
            position += world
