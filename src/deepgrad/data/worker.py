"""What runs inside a DataLoader worker process, and :func:`get_worker_info` for the dataset to see it.

A worker takes tasks ``(run, task, epoch, number, indices, seed)`` from its own index queue, builds batch
``number`` of ``epoch`` exactly as the main process would with ``num_workers=0`` (same indices, same per-batch
augmentation generator), and puts ``(run, task, payload)`` on the shared result queue. Payloads cross the process
boundary as NumPy arrays (:func:`to_wire` / :func:`from_wire`); a failure crosses as a :class:`WorkerFailure`
that the main process re-raises.

Seeding, as PyTorch does: worker ``k`` of a pool seeded with ``base_seed`` seeds Python's ``random``, NumPy's
global generator (``seed % 2**32``) and deepgrad's default generator with ``base_seed + k`` before
``worker_init_fn(k)`` runs; :func:`get_worker_info` reports that seed.
"""
from __future__ import annotations

import itertools
import os
import pickle
import queue
import random
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._random import augmentation_rng, rng_for
from .collate import default_collate, default_convert
from .dataset import supports_batches

__all__ = ["WorkerInfo", "get_worker_info", "fetch_batch", "next_iterable_batch", "IterableEnd", "ITERABLE_END",
           "Unbatched", "WorkerFailure", "to_wire", "from_wire", "worker_loop"]


@dataclass(frozen=True)
class WorkerInfo:
    """Who this worker is: ``id`` in ``[0, num_workers)``, its ``seed``, and its own copy of the ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None  # set only inside a worker process


def get_worker_info() -> WorkerInfo | None:
    """The :class:`WorkerInfo` of the calling DataLoader worker process, or ``None`` in the main process.

    An :class:`~deepgrad.data.IterableDataset` uses it to give each worker its own share of the stream.

    Example:
        >>> get_worker_info() is None  # the main process
        True
    """
    return _worker_info


def _add_note(exc: BaseException, note: str) -> None:
    if hasattr(exc, "add_note"):  # Python >= 3.11
        exc.add_note(note)


def _sample(dataset, index) -> object:
    try:
        return dataset[int(index)]
    except Exception as exc:
        _add_note(exc, f"(while loading sample {int(index)} of {type(dataset).__name__})")
        raise


def fetch_batch(dataset, collate_fn: Callable | None, seed: int, epoch: int, number: int, indices):
    """Batch ``number`` of ``epoch``: the samples at ``indices``, with random transforms drawing from the
    generator of ``(seed, epoch, number)``; one ``get_batch`` fancy-index when the dataset offers it and no
    ``collate_fn`` is given, else sample by sample through ``collate_fn`` (default :func:`default_collate`).

    A failing sample re-raises its own exception with a note naming the sample index."""
    with augmentation_rng(rng_for(seed, epoch, number)):
        if collate_fn is None and supports_batches(dataset):
            idx = np.asarray(indices, dtype=np.int64)
            try:
                return default_convert(dataset.get_batch(idx))
            except Exception as exc:
                _add_note(exc, f"(while loading the batch of samples {idx.tolist()} of {type(dataset).__name__})")
                raise
        return (collate_fn or default_collate)([_sample(dataset, i) for i in indices])


class IterableEnd:
    """Marks the end of an iterable dataset's stream (in a worker: that worker's share)."""

    def __reduce__(self):
        return IterableEnd, ()


ITERABLE_END = IterableEnd()


class Unbatched:
    """The collate function of ``batch_size=None``: the single sample of each one-index "batch", through
    ``collate_fn`` when given, else :func:`default_convert` (arrays become Tensors, nothing is stacked)."""

    def __init__(self, collate_fn: Callable | None) -> None:
        self.collate_fn = collate_fn

    def __call__(self, samples: list):
        return (self.collate_fn or default_convert)(samples[0])


def next_iterable_batch(iterator: Iterator, batch_size: int | None, drop_last: bool,
                        collate_fn: Callable | None, seed: int, epoch: int, number: int):
    """The next batch of an iterable dataset's ``iterator`` (``batch_size`` samples through ``collate_fn``; one
    sample through :func:`default_convert` when ``batch_size`` is None), or :data:`ITERABLE_END`."""
    with augmentation_rng(rng_for(seed, epoch, number)):
        if batch_size is None:
            sample = next(iterator, ITERABLE_END)
            return sample if isinstance(sample, IterableEnd) else (collate_fn or default_convert)(sample)
        samples = list(itertools.islice(iterator, batch_size))
        if not samples or (drop_last and len(samples) < batch_size):
            return ITERABLE_END
        return (collate_fn or default_collate)(samples)


# ------------------------------------------------------------------------------------------------ the wire
class _TensorData:
    """A Tensor on its way between processes: only its NumPy array travels."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array


def to_wire(batch):
    """``batch`` with every Tensor replaced by its NumPy array (CuPy arrays are copied to the host)."""
    if isinstance(batch, Tensor):
        data = batch._data
        return _TensorData(data if isinstance(data, np.ndarray) else backend.to_device(data, backend.CPU))
    if isinstance(batch, Mapping):
        return {k: to_wire(v) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return type(batch)(to_wire(v) for v in batch)
    return batch


def from_wire(batch):
    """Undo :func:`to_wire`: arrays that were Tensors become Tensors again."""
    if isinstance(batch, _TensorData):
        return Tensor._wrap(batch.array)
    if isinstance(batch, Mapping):
        return {k: from_wire(v) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return type(batch)(from_wire(v) for v in batch)
    return batch


class WorkerFailure:
    """An exception raised in a worker, carried to the main process as its type and its formatted traceback."""

    def __init__(self, exc: BaseException, worker_id: int, what: str) -> None:
        kind = type(exc)
        try:  # re-raise under the same type when the main process can rebuild it
            pickle.loads(pickle.dumps(kind))
        except Exception:  # noqa: BLE001 - a local class: fall back to RuntimeError
            kind = RuntimeError
        self.kind, self.worker_id, self.pid = kind, worker_id, os.getpid()
        self.text = "".join(traceback.format_exception(exc))
        notes = " ".join(getattr(exc, "__notes__", ()))  # e.g. "(while loading sample 13 of MyDataset)"
        self.what, self.type_name = f"{what} {notes}".strip(), type(exc).__name__

    def exception(self) -> BaseException:
        message = (f"Caught {self.type_name} in DataLoader worker process {self.worker_id} (pid {self.pid}) "
                   f"{self.what}. Original traceback:\n{self.text}")
        if issubclass(self.kind, KeyError):  # KeyError's str() is the repr of its argument: keep the lines
            message = _VerbatimMessage(message)
        try:
            return self.kind(message)
        except Exception:  # noqa: BLE001 - an exception type whose constructor wants other arguments
            return RuntimeError(message)


class _VerbatimMessage(str):
    def __repr__(self) -> str:
        return str(self)


# ------------------------------------------------------------------------------------------------ the loop
@dataclass
class WorkerJob:
    """What every worker of one pool needs (picklable, for the spawn start method)."""

    dataset: object
    collate_fn: Callable | None
    iterable: bool
    batch_size: int | None
    drop_last: bool
    worker_init_fn: Callable | None
    num_workers: int


_POLL_S = 0.1  # how often an idle worker checks that its parent is still alive


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    backend.manual_seed(seed)


def worker_loop(job: WorkerJob, worker_id: int, base_seed: int, index_queue, result_queue, done_event,
                parent_pid: int) -> None:
    """The body of worker process ``worker_id``: answer tasks until told to stop or orphaned."""
    global _worker_info
    seed = base_seed + worker_id
    _seed_everything(seed)
    _worker_info = WorkerInfo(worker_id, job.num_workers, seed, job.dataset)
    init_failure = None
    if job.worker_init_fn is not None:
        try:
            job.worker_init_fn(worker_id)
        except Exception as exc:  # noqa: BLE001 - reported with the first task
            init_failure = WorkerFailure(exc, worker_id, "in worker_init_fn")
    iterator, iterator_run = None, None
    try:
        while not done_event.is_set():
            try:
                task = index_queue.get(timeout=_POLL_S)
            except queue.Empty:
                if os.getppid() != parent_pid:  # the main process died: do not linger as an orphan
                    return
                continue
            if task is None:
                return
            run, number_sent, epoch, number, indices, loader_seed = task
            if init_failure is not None:
                result_queue.put((run, number_sent, init_failure))
                continue
            try:
                if job.iterable:
                    if iterator_run != run:  # a new epoch: a fresh pass over this worker's copy
                        iterator, iterator_run = iter(job.dataset), run
                    batch = next_iterable_batch(iterator, job.batch_size, job.drop_last, job.collate_fn,
                                                loader_seed, epoch, number)
                else:
                    batch = fetch_batch(job.dataset, job.collate_fn, loader_seed, epoch, number, indices)
                payload = to_wire(batch)
            except Exception as exc:  # noqa: BLE001 - re-raised in the main process
                where = "while loading from the iterable dataset" if job.iterable else \
                    f"while loading batch {number} (samples {np.asarray(indices).tolist()})"
                payload = WorkerFailure(exc, worker_id, where)
            result_queue.put((run, number_sent, payload))
    except KeyboardInterrupt:  # the main process is handling Ctrl-C; it shuts the pool down
        pass
    finally:
        result_queue.cancel_join_thread()  # never block exit on results nobody will read
