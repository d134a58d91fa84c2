"""``DataLoader``: batches from a dataset, in a reproducible, resumable order, optionally prefetched."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._random import SeedLike, augmentation_rng, resolve_seed, rng_for
from .collate import default_collate, default_convert
from .dataset import supports_batches
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader"]


def _to_device(batch, device: backend.Device):
    if isinstance(batch, Tensor):
        return batch.to(device=device)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


class _Prefetcher:
    """Runs ``source`` in a background thread, keeping up to ``depth`` results ready in a queue."""

    _DONE = object()

    def __init__(self, source: Iterator, depth: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), daemon=True, name="deepgrad-prefetch")
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, source: Iterator) -> None:
        try:
            for item in source:
                if not self._put((True, item)):
                    return
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consuming thread
            self._put((False, exc))
            return
        self._put((True, self._DONE))

    def __iter__(self) -> Iterator:
        try:
            while True:
                ok, item = self._queue.get()
                if not ok:
                    raise item
                if item is self._DONE:
                    return
                yield item
        finally:
            self._stop.set()
            self._thread.join(timeout=5)


class DataLoader:
    """Iterates over ``dataset`` in batches.

    Args:
        dataset: a map-style dataset (``__getitem__`` + ``__len__``).
        batch_size: samples per batch.
        shuffle: a new random order every epoch (a :class:`RandomSampler` seeded from ``generator``).
        sampler: the index order to use instead (excludes ``shuffle``).
        batch_sampler: yields whole lists of indices (excludes ``batch_size``, ``shuffle``, ``sampler``,
            ``drop_last``).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
        generator: seed source for shuffling and for random transforms (an int, a :class:`deepgrad.Generator`,
            or ``None`` for deepgrad's default generator, so ``deepgrad.manual_seed`` fixes everything).
        prefetch: batches to prepare ahead in one background thread (0: load in the calling thread).
        device: move every batch's Tensors there (e.g. ``"cuda"``).

    Fast path: without a ``collate_fn``, a dataset that has ``get_batch`` (:class:`ArrayDataset`,
    :class:`TensorDataset`, the MNIST/CIFAR datasets and their Subsets) gives each batch by one fancy-index per
    array, with its transforms applied batch-wise; other datasets are indexed sample by sample and collated.

    Reproducibility: epoch ``e``'s order depends only on the seed and ``e``; random transforms draw from a
    generator seeded by ``(seed, e, batch number)``. ``state_dict()`` records where the stream is (epoch, batches
    already yielded) as JSON-serialisable data; after ``load_state_dict`` the next ``iter`` continues from there
    with bit-identical batches. Each new ``iter`` starts the next epoch (like PyTorch, where each ``iter``
    reshuffles).

    Example:
        >>> import numpy as np
        >>> from deepgrad.data import ArrayDataset
        >>> loader = DataLoader(ArrayDataset(np.arange(10.0), np.arange(10)), batch_size=4, shuffle=True, generator=0)
        >>> [tuple(x.shape) for x, y in loader]
        [(4,), (4,), (2,)]
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, sampler=None, batch_sampler=None,
                 drop_last: bool = False, collate_fn: Callable | None = None, generator: SeedLike = None,
                 prefetch: int = 0, device=None) -> None:
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler "
                             "and drop_last")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler is mutually exclusive with shuffle (the sampler sets the order)")
        if not isinstance(prefetch, int) or prefetch < 0:
            raise ValueError(f"DataLoader: prefetch should be a non-negative integer, got {prefetch!r}")
        self.dataset, self.collate_fn, self.prefetch = dataset, collate_fn, prefetch
        self.device = backend.Device(device) if device is not None else None
        self.seed = resolve_seed(generator)
        if batch_sampler is None:
            if sampler is None:
                sampler = RandomSampler(dataset, generator=self.seed) if shuffle else SequentialSampler(dataset)
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler = getattr(batch_sampler, "sampler", sampler)
        self.batch_sampler = batch_sampler
        self.batch_size = getattr(batch_sampler, "batch_size", None)
        self.drop_last = getattr(batch_sampler, "drop_last", False)
        self._epoch, self._position, self._in_progress, self._resume = 0, 0, False, False

    def __len__(self) -> int:
        return len(self.batch_sampler)

    @property
    def epoch(self) -> int:
        """The epoch the next (or current) iteration produces."""
        return self._epoch

    # -------------------------------------------------------------------------------------- resumable state
    def state_dict(self) -> dict:
        """Where the stream is: ``{"epoch", "position", "seed", "sampler"}``, JSON-serialisable."""
        epoch, position = self._epoch, self._position
        if position >= len(self):
            epoch, position = epoch + 1, 0
        sampler = self.batch_sampler.state_dict() if hasattr(self.batch_sampler, "state_dict") else None
        return {"epoch": epoch, "position": position, "seed": self.seed, "sampler": sampler}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a :meth:`state_dict`: the next ``iter`` yields batch ``position`` of epoch ``epoch``."""
        self._epoch, self._position, self.seed = int(state["epoch"]), int(state["position"]), int(state["seed"])
        if state.get("sampler") is not None and hasattr(self.batch_sampler, "load_state_dict"):
            self.batch_sampler.load_state_dict(state["sampler"])
        self._resume, self._in_progress = True, False

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration produce epoch ``epoch`` from its start."""
        self._epoch, self._position, self._resume, self._in_progress = int(epoch), 0, True, False

    # -------------------------------------------------------------------------------------- iteration
    def _index_batches(self, epoch: int) -> Iterable:
        bs = self.batch_sampler
        if hasattr(bs, "epoch_batches") and hasattr(getattr(bs, "sampler", None), "epoch_indices"):
            return bs.epoch_batches(epoch)
        if hasattr(bs, "set_epoch"):
            bs.set_epoch(epoch)
        return iter(bs)

    def _fetch(self, epoch: int, number: int, indices):
        with augmentation_rng(rng_for(self.seed, epoch, number)):
            if self.collate_fn is None and supports_batches(self.dataset):
                batch = default_convert(self.dataset.get_batch(np.asarray(indices, dtype=np.int64)))
            else:
                collate = self.collate_fn or default_collate
                batch = collate([self.dataset[int(i)] for i in indices])
        return _to_device(batch, self.device) if self.device is not None else batch

    def _batches(self, epoch: int, start: int) -> Iterator:
        for number, indices in enumerate(self._index_batches(epoch)):
            if number >= start:
                yield self._fetch(epoch, number, indices)

    def __iter__(self) -> Iterator:
        if not self._resume and self._in_progress:  # the previous iteration was abandoned: next epoch
            self._epoch, self._position = self._epoch + 1, 0
        elif not self._resume:
            self._position = 0
        self._resume, self._in_progress = False, True
        epoch = self._epoch
        source = self._batches(epoch, self._position)
        return self._run(source if self.prefetch == 0 else iter(_Prefetcher(source, self.prefetch)), epoch)

    def _run(self, source: Iterator, epoch: int) -> Iterator:
        for batch in source:
            if self._epoch != epoch:  # another iteration took over this loader
                return
            self._position += 1
            yield batch
        if self._epoch == epoch and self._in_progress:
            self._epoch, self._position, self._in_progress = epoch + 1, 0, False

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__}[{len(self.dataset)}], batch_size={self.batch_size}, "
                f"batches={len(self)}, epoch={self._epoch})")
