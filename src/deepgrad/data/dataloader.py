"""``DataLoader``: batches from a dataset, in a reproducible, resumable order, optionally prefetched."""
from __future__ import annotations

import numbers
import queue
import threading
from collections.abc import Callable, Iterable, Iterator

from .. import backend
from ..tensor import Tensor
from ._random import SeedLike, resolve_seed
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler
from .worker import Unbatched, fetch_batch
from .worker_pool import check_worker_options, iterable_batches, pin_memory, worker_batches

__all__ = ["DataLoader", "batch_to_device"]


def batch_to_device(batch, device):
    """The Tensors of a batch (a Tensor, or tuples, lists and dicts of them, nested) on ``device``; everything
    else, and everything when ``device`` is None, as it is."""
    if device is None:
        return batch
    if isinstance(batch, Tensor):
        return batch.to(device=device)
    if isinstance(batch, dict):
        return {k: batch_to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return type(batch)(batch_to_device(v, device) for v in batch)
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
        dataset: a map-style dataset (``__getitem__`` + ``__len__``) or an :class:`IterableDataset`.
        batch_size: samples per batch.
        shuffle: a new random order every epoch (a :class:`RandomSampler` seeded from ``generator``).
        sampler: the index order to use instead (excludes ``shuffle``).
        batch_sampler: yields whole lists of indices (excludes ``batch_size``, ``shuffle``, ``sampler``,
            ``drop_last``).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
        num_workers: worker processes that build the batches (0: the calling process). The batches and their
            order are those of ``num_workers=0``; see :mod:`deepgrad.data.worker_pool`.
        pin_memory: copy each batch into page-locked host memory, which makes its copy to a GPU faster (with
            CuPy and a GPU); without a GPU there is nothing to pin for, so it changes nothing.
        timeout: seconds to wait for a batch from the workers before raising (0: wait for ever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after it is seeded.
        multiprocessing_context: ``"fork"``, ``"spawn"``, ``"forkserver"`` or a context (default: the platform's).
        generator: seed source for shuffling and for random transforms (an int, a :class:`deepgrad.Generator`,
            or ``None`` for deepgrad's default generator, so ``deepgrad.manual_seed`` fixes everything).
        prefetch_factor: tasks queued per worker (default 2 with workers).
        persistent_workers: keep the workers (and their dataset copies) alive from one epoch to the next.
        in_order: with workers, False hands out each batch as soon as it is ready instead of in sampler order.
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

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = False, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None, generator: SeedLike = None,
                 *, prefetch_factor: int | None = None, persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True, prefetch: int = 0, device=None) -> None:
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
        self.prefetch_factor, self.multiprocessing_context = check_worker_options(
            num_workers, prefetch_factor, persistent_workers, timeout, multiprocessing_context, worker_init_fn)
        self.num_workers, self.pin_memory, self.pin_memory_device = num_workers, bool(pin_memory), pin_memory_device
        self.timeout, self.worker_init_fn, self.persistent_workers = timeout, worker_init_fn, bool(persistent_workers)
        self._worker_pool, self._iterable = None, isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle or sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader: an IterableDataset sets its own order; shuffle, sampler and "
                                 f"batch_sampler are not accepted (got shuffle={shuffle!r}, sampler={sampler!r}, "
                                 f"batch_sampler={batch_sampler!r})")
            self.sampler = self.batch_sampler = None
            self.batch_size, self.drop_last = batch_size, bool(drop_last)
        elif batch_sampler is None:
            if sampler is None:
                sampler = RandomSampler(dataset, generator=self.seed) if shuffle else SequentialSampler(dataset)
            if batch_size is None:  # automatic batching off, as PyTorch: one sample at a time, converted not stacked
                if drop_last:
                    raise ValueError("DataLoader: batch_size=None yields single samples; drop_last=True does not apply")
                batch_sampler, self.collate_fn = BatchSampler(sampler, 1), Unbatched(collate_fn)
            else:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if not self._iterable:
            self.sampler = getattr(batch_sampler, "sampler", sampler)
            self.batch_sampler = batch_sampler
            self.batch_size = getattr(batch_sampler, "batch_size", None)
            self.drop_last = getattr(batch_sampler, "drop_last", False)
            if isinstance(self.collate_fn, Unbatched):
                self.batch_size = None
        self.in_order = bool(in_order)
        self._epoch, self._position, self._in_progress, self._resume = 0, 0, False, False

    def __len__(self) -> int:
        if self._iterable:  # as PyTorch: from the dataset's own length, when it has one
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
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
        """Continue from a :meth:`state_dict`: the next ``iter`` yields batch ``position`` of epoch ``epoch``.

        Checked first: a dict with integer ``epoch >= 0``, ``0 <= position < len(self)`` (a position at the end is
        stored as the next epoch's start) and ``seed``; a bad state raises with a sentence and changes nothing."""
        if not isinstance(state, dict) or not {"epoch", "position", "seed"} <= set(state):
            raise TypeError("DataLoader.load_state_dict: expected a dict with 'epoch', 'position' and 'seed' as made "
                            f"by state_dict(), got {type(state).__name__} {str(state)[:60]}")
        for key in ("epoch", "position", "seed"):
            v = state[key]
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                raise ValueError(f"DataLoader.load_state_dict: {key} must be a non-negative integer, got {v!r}")
        try:
            n = len(self)
        except TypeError:  # an iterable dataset of unknown length
            n = None
        if n is not None and not (state["position"] < n or state["position"] == 0):
            raise ValueError(f"DataLoader.load_state_dict: position {state['position']} is outside this loader's "
                             f"{n} batches per epoch (the state comes from another loader or batch size)")
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
        batch = fetch_batch(self.dataset, self.collate_fn, self.seed, epoch, number, indices)
        if self.pin_memory:
            batch = pin_memory(batch)
        return batch_to_device(batch, self.device)

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
        if self.num_workers:
            source = worker_batches(self, epoch, self._position)
        elif self._iterable:
            source = iterable_batches(self, epoch, self._position)
        else:
            source = self._batches(epoch, self._position)
        if self.device is not None and (self.num_workers or self._iterable):
            source = (batch_to_device(batch, self.device) for batch in source)
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
