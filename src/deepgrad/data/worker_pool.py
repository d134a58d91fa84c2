"""The main-process side of ``DataLoader(num_workers=N)``: a pool of worker processes and the ordered stream.

Protocol: one index queue per worker and one shared result queue. Task ``k`` of a pass goes to the workers in
turn (skipping those whose iterable stream has ended); at most ``prefetch_factor * num_workers`` tasks are out at
once; results are buffered and handed out in task order, so a map-style dataset gives the same batches in the
same order as ``num_workers=0`` (each batch is built from the same indices with the same per-batch augmentation
generator). Results of an abandoned pass are recognised by their pass number and dropped.

Shutdown: when a pass ends, is abandoned (its iterator is closed or garbage-collected) or fails, non-persistent
workers get a stop message, are joined, and terminated if they do not exit within a few seconds; persistent
workers stay until the DataLoader is garbage-collected or the interpreter exits. A worker whose main process
dies exits by itself at its next poll.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import time
import weakref
from collections.abc import Callable, Iterator

from .. import backend
from ..tensor import Tensor
from ._random import rng_for
from .worker import IterableEnd, WorkerFailure, WorkerJob, from_wire, next_iterable_batch, worker_loop

__all__ = ["check_worker_options", "WorkerPool", "worker_batches", "iterable_batches", "pin_memory"]

_JOIN_S = 5.0  # how long a stopping worker may take before it is terminated
_POLL_S = 0.1  # how often the main process checks that its workers are alive while it waits


def check_worker_options(num_workers: int, prefetch_factor: int | None, persistent_workers: bool, timeout: float,
                         multiprocessing_context, worker_init_fn: Callable | None) -> tuple[int | None, object]:
    """Validate the worker arguments as PyTorch does; returns ``(prefetch_factor, context)`` with defaults."""
    if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 0:
        raise ValueError(f"DataLoader: num_workers should be a non-negative integer, got {num_workers!r}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor needs worker processes (num_workers > 0); with num_workers=0 "
                         "use prefetch= for a background thread")
    if prefetch_factor is None:
        prefetch_factor = 2 if num_workers else None
    elif not isinstance(prefetch_factor, int) or prefetch_factor < 1:
        raise ValueError(f"DataLoader: prefetch_factor should be a positive integer, got {prefetch_factor!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers=True needs worker processes (num_workers > 0)")
    if not isinstance(timeout, int | float) or timeout < 0:
        raise ValueError(f"DataLoader: timeout should be a non-negative number of seconds, got {timeout!r}")
    if worker_init_fn is not None and not callable(worker_init_fn):
        raise TypeError(f"DataLoader: worker_init_fn should be callable, got {type(worker_init_fn).__name__}")
    context = multiprocessing_context
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"DataLoader: multiprocessing_context {context!r} is not a start method here; "
                             f"expected one of {methods}")
        context = multiprocessing.get_context(context)
    elif context is not None and not hasattr(context, "Process"):
        raise TypeError("DataLoader: multiprocessing_context should be a start method name ('fork', 'spawn', "
                        f"'forkserver') or a multiprocessing context, got {context!r}")
    if context is not None and num_workers == 0:
        raise ValueError("DataLoader: multiprocessing_context needs worker processes (num_workers > 0)")
    return prefetch_factor, context


def pin_memory(batch):
    """``batch`` with every CPU Tensor copied into page-locked host memory, when CuPy sees a GPU.

    Page-locked memory only makes host-to-GPU copies faster; without a GPU there is nothing to pin for, so the
    batch is returned unchanged."""
    if not backend.cuda_available():
        return batch
    import numpy as np

    if isinstance(batch, Tensor) and isinstance(batch._data, np.ndarray):
        import cupyx

        pinned = cupyx.empty_pinned(batch._data.shape, batch._data.dtype)
        pinned[...] = batch._data
        return Tensor._wrap(pinned)
    if isinstance(batch, dict):
        return {k: pin_memory(v) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return type(batch)(pin_memory(v) for v in batch)
    return batch


def _base_seed(seed: int, epoch: int) -> int:
    """The pool seed of ``epoch``: its own stream, apart from the sampler's ``(seed, epoch)`` and the
    augmentation's ``(seed, epoch, batch)`` streams."""
    return int(rng_for(seed, epoch, 0, 1).integers(2**62))


def _stop(workers: list, index_queues: list, result_queue, done_event) -> None:
    done_event.set()
    for q in index_queues:
        try:
            q.put(None)
        except (OSError, ValueError):  # already closed
            pass
    deadline = time.monotonic() + _JOIN_S
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()))
        if w.is_alive():
            w.terminate()
            w.join()
    for q in (*index_queues, result_queue):
        q.cancel_join_thread()
        q.close()


class WorkerPool:
    """``num_workers`` processes, each answering the tasks of its index queue on one shared result queue."""

    def __init__(self, job: WorkerJob, base_seed: int, context, prefetch_factor: int, timeout: float) -> None:
        ctx = context or multiprocessing.get_context()
        self.prefetch_factor, self.timeout, self._pass = prefetch_factor, float(timeout), 0
        self.result_queue = ctx.Queue()
        self.done_event = ctx.Event()
        self.index_queues, self.workers = [], []
        for k in range(job.num_workers):
            q = ctx.Queue()
            w = ctx.Process(target=worker_loop, name=f"deepgrad-data-worker-{k}", daemon=True,
                            args=(job, k, base_seed, q, self.result_queue, self.done_event, os.getpid()))
            w.start()
            self.index_queues.append(q)
            self.workers.append(w)
        self._finalizer = weakref.finalize(self, _stop, self.workers, self.index_queues, self.result_queue,
                                           self.done_event)

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    def shutdown(self) -> None:
        """Stop and join every worker (idempotent)."""
        self._finalizer()

    def _receive(self):
        waited = 0.0
        while True:
            try:
                return self.result_queue.get(timeout=_POLL_S)
            except queue.Empty:
                waited += _POLL_S
            for k, w in enumerate(self.workers):
                if not w.is_alive():
                    self.shutdown()
                    raise RuntimeError(
                        f"DataLoader worker {k} (pid {w.pid}) exited unexpectedly with exit code {w.exitcode}: a "
                        "negative code is the signal that killed it (e.g. -9: out of memory); otherwise see its "
                        "error output (under the spawn and forkserver start methods a script's top level must "
                        "sit under `if __name__ == '__main__':`)")
            if self.timeout and waited >= self.timeout:
                raise RuntimeError(f"DataLoader: no batch came from the {len(self.workers)} worker(s) within "
                                   f"timeout={self.timeout:g} seconds")

    def batches(self, tasks: Iterator[tuple], seed: int, in_order: bool = True) -> Iterator:
        """Run ``tasks`` (``(epoch, number, indices)``; endless for an iterable dataset) and yield their batches
        in task order (or as they come, without ``in_order``); an iterable pass ends when every worker's stream
        has ended."""
        self._pass += 1
        run, n = self._pass, len(self.workers)
        active = [True] * n
        cursor, sent, next_out = 0, 0, 0
        owner: dict[int, int] = {}
        ready: dict[int, object] = {}
        exhausted = False
        while True:
            while not exhausted and len(owner) < self.prefetch_factor * n and any(active):
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                while not active[cursor]:
                    cursor = (cursor + 1) % n
                self.index_queues[cursor].put((run, sent, *task, seed))
                owner[sent], sent, cursor = cursor, sent + 1, (cursor + 1) % n
            key = next_out if in_order else next(iter(ready), None)
            if key in ready:
                payload = ready.pop(key)
                worker = owner.pop(key)
                next_out += 1
                if isinstance(payload, WorkerFailure):
                    raise payload.exception()
                if isinstance(payload, IterableEnd):
                    active[worker] = False
                    continue
                yield from_wire(payload)
                continue
            if not owner:
                return
            got_run, number_sent, payload = self._receive()
            if got_run == run:
                ready[number_sent] = payload


def worker_batches(loader, epoch: int, start: int) -> Iterator:
    """The batches of ``epoch`` from position ``start``, built by ``loader``'s worker processes."""
    iterable = loader._iterable
    if iterable:
        tasks = ((epoch, number, None) for number in _count(start))
    else:
        tasks = ((epoch, number, indices) for number, indices in enumerate(loader._index_batches(epoch))
                 if number >= start)
    pool = loader._worker_pool if loader.persistent_workers else None
    if pool is None:
        job = WorkerJob(loader.dataset, loader.collate_fn, iterable, loader.batch_size, loader.drop_last,
                        loader.worker_init_fn, loader.num_workers)
        pool = WorkerPool(job, _base_seed(loader.seed, epoch), loader.multiprocessing_context,
                          loader.prefetch_factor, loader.timeout)
        if loader.persistent_workers:
            loader._worker_pool = pool
    try:
        for batch in pool.batches(tasks, loader.seed, loader.in_order):
            yield pin_memory(batch) if loader.pin_memory else batch
    except GeneratorExit:  # the pass was abandoned: persistent workers stay, its late results are dropped
        raise
    except BaseException:
        pool.shutdown()  # a failed pool is never reused
        if loader.persistent_workers:
            loader._worker_pool = None
        raise
    finally:
        if not loader.persistent_workers:
            pool.shutdown()


def _count(start: int) -> Iterator[int]:
    number = start
    while True:
        yield number
        number += 1


def iterable_batches(loader, epoch: int, start: int) -> Iterator:
    """The batches of an iterable dataset in the main process (``num_workers=0``), from position ``start``."""
    iterator = iter(loader.dataset)
    for number in _count(0):
        batch = next_iterable_batch(iterator, loader.batch_size, loader.drop_last, loader.collate_fn, loader.seed,
                                    epoch, number)
        if isinstance(batch, IterableEnd):
            return
        if number >= start:
            yield pin_memory(batch) if loader.pin_memory else batch
