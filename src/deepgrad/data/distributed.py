"""``DistributedSampler``: each rank of a data-parallel job reads its own share of the dataset."""
from __future__ import annotations

import math

import numpy as np

from ._random import rng_for
from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Rank ``r`` of ``R`` visits positions ``r, r + R, r + 2R, ...`` of each epoch's order.

    The order is a permutation drawn from ``(seed, epoch)`` (the same on every rank, so the shares never overlap)
    when ``shuffle``, else ``0 .. N-1``. It is padded by repeating its first indices up to a multiple of ``R``
    (``drop_last=False``) or cut to one (``drop_last=True``), so every rank gets ``ceil(N / R)`` (or ``floor``)
    samples, as in PyTorch. As in PyTorch, the order follows the sampler's own epoch: call :meth:`set_epoch` at the
    start of every epoch, or every epoch repeats the same order.

    Args:
        dataset: the dataset (only its length is used).
        num_replicas, rank: default to the initialised process group's world size and rank.
        shuffle, seed, drop_last: as above; ``seed`` must be the same on every rank.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False) -> None:
        from ..distributed import process_group as pg

        self.num_replicas = pg.get_world_size() if num_replicas is None else num_replicas
        self.rank = pg.get_rank() if rank is None else rank
        if not isinstance(self.num_replicas, int) or self.num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got {self.num_replicas!r}")
        if not isinstance(self.rank, int) or not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {self.rank!r}, rank should be in the interval "
                             f"[0, {self.num_replicas - 1}]")
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"DistributedSampler: seed must be a non-negative integer, got {seed!r}")
        self.dataset, self.shuffle, self.seed, self.drop_last = dataset, bool(shuffle), seed, bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = n // self.num_replicas
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def epoch_indices(self, epoch: int | None = None) -> np.ndarray:
        """This rank's indices for the epoch set by :meth:`set_epoch` (a DataLoader's own epoch count is ignored)."""
        n = len(self.dataset)
        order = rng_for(self.seed, self.epoch).permutation(n) if self.shuffle else np.arange(n)
        if self.total_size > n:  # pad by repeating from the start (several times if the dataset is tiny)
            order = np.resize(order, self.total_size)
        order = order[: self.total_size]
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self.epoch_indices().tolist())

    def __len__(self) -> int:
        return self.num_samples
