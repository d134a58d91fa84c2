"""Samplers: the order in which a :class:`~deepgrad.data.DataLoader` visits a dataset.

Every built-in sampler draws epoch ``e``'s order from its own ``(seed, e)`` stream, so an order depends on nothing
but the seed and the epoch number: ``state_dict()`` is ``{"seed": ..., "epoch": ...}`` (JSON-serialisable) and
restoring it replays the same orders bit for bit. Iterating a sampler directly moves it to the next epoch; a
DataLoader sets the epoch explicitly with :meth:`Sampler.set_epoch`.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ._random import SeedLike, resolve_seed, rng_for

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


class Sampler:
    """Base class: yields dataset indices. Built-in samplers compute a whole epoch at once with
    :meth:`epoch_indices`; a custom sampler may define ``__iter__`` and ``__len__`` only."""

    seed: int = 0
    epoch: int = 0

    def epoch_indices(self, epoch: int) -> np.ndarray:
        """All indices of epoch ``epoch``, in order, as an int64 array."""
        raise NotImplementedError(f"{type(self).__name__} must define epoch_indices or __iter__")

    def __iter__(self) -> Iterator[int]:
        order = self.epoch_indices(self.epoch)
        self.epoch += 1
        return iter(order.tolist())

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration produce epoch ``epoch``'s order."""
        self.epoch = int(epoch)

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1`` every epoch."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def epoch_indices(self, epoch: int) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random permutation each epoch (or ``num_samples`` draws with replacement).

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement.
        num_samples: indices per epoch (default ``len(data_source)``).
        generator: seed source: an int, a :class:`deepgrad.Generator`, or ``None`` for deepgrad's default
            generator (so ``deepgrad.manual_seed`` fixes the orders).
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator: SeedLike = None) -> None:
        self.data_source, self.replacement = data_source, bool(replacement)
        self._num_samples = num_samples
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, got {num_samples!r}")
        if num_samples is not None and not replacement and num_samples > len(data_source):
            raise ValueError(f"RandomSampler: num_samples={num_samples} exceeds the {len(data_source)} samples; "
                             "pass replacement=True to draw more")
        self.seed = resolve_seed(generator)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def epoch_indices(self, epoch: int) -> np.ndarray:
        rng, n = rng_for(self.seed, epoch), len(self.data_source)
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        return rng.permutation(n)[: self.num_samples].astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a fresh random order each epoch."""

    def __init__(self, indices: Sequence[int], generator: SeedLike = None) -> None:
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        self.seed = resolve_seed(generator)

    def epoch_indices(self, epoch: int) -> np.ndarray:
        return self.indices[rng_for(self.seed, epoch).permutation(self.indices.size)]

    def __len__(self) -> int:
        return int(self.indices.size)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probability proportional to ``weights``.

    Useful to rebalance classes: weight each sample by ``1 / count(its class)``.
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: SeedLike = None) -> None:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not isinstance(num_samples, int) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer, got {num_samples!r}")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} distinct indices from "
                             f"{np.count_nonzero(w)} non-zero weights without replacement")
        self.weights, self.num_samples, self.replacement = w / w.sum(), num_samples, bool(replacement)
        self.seed = resolve_seed(generator)

    def epoch_indices(self, epoch: int) -> np.ndarray:
        rng = rng_for(self.seed, epoch)
        return rng.choice(self.weights.size, size=self.num_samples, replace=self.replacement,
                          p=self.weights).astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless ``drop_last``).

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool = False) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer, got {batch_size!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, bool(drop_last)

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        """Epoch ``epoch``'s batches as int64 arrays (only for samplers with ``epoch_indices``)."""
        order = self.sampler.epoch_indices(epoch)
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        return [order[i: i + self.batch_size] for i in range(0, stop, self.batch_size)]

    def __iter__(self) -> Iterator[list[int]]:
        if hasattr(self.sampler, "epoch_indices"):
            batches = self.epoch_batches(self.epoch)
            self.epoch += 1
            yield from (b.tolist() for b in batches)
            return
        batch: list[int] = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def state_dict(self) -> dict:
        inner = self.sampler.state_dict() if hasattr(self.sampler, "state_dict") else {}
        return {"epoch": self.epoch, "sampler": inner}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        if state.get("sampler") and hasattr(self.sampler, "load_state_dict"):
            self.sampler.load_state_dict(state["sampler"])
